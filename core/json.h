/* The JSON reader is public: its declarations are in mivos.h, section
 * "JSON (core/json.c)". This header stays for the files that include it. */
#ifndef MV_JSON_H
#define MV_JSON_H

#include "mivos.h"

#endif
