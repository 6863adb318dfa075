/* What the workspace and snapshot code (workspace.c, snapshot.c) needs from
 * a session beyond the public API; implemented at the end of session.c. */
#ifndef MV_SESSION_INTERNAL_H
#define MV_SESSION_INTERNAL_H

#include "mivos.h"
#include "session/engine.h"
#include "session/snapshot.h"

typedef struct mv_workspace mv_workspace;

mv_engine *mv_session_engine(mv_session *session);
mv_video *mv_session_video(mv_session *session);
/* The weights folder the session was opened with (NULL: none). */
const char *mv_session_weights(const mv_session *session);
mv_workspace *mv_session_workspace(const mv_session *session);
/* Attaches (or with NULL detaches) the workspace the session logs to. */
void mv_session_set_workspace(mv_session *session, mv_workspace *workspace);
/* Ends (and logs) the propagation run the session has open, if any. */
mv_status mv_session_end_run(mv_session *session);
/* 1 when nothing has been done yet: no pending map, no undo history, no
 * frame interacted on in the engine. */
int mv_session_is_fresh(mv_session *session);

/* The pending maps and undo history of every frame, and the stroke memory. */
void mv_session_export_edits(const mv_session *session, mv_snapshot_writer *w);
/* Reads what mv_session_export_edits wrote, all of it before replacing
 * the session's maps (on failure nothing changes). */
mv_status mv_session_import_edits(mv_session *session, mv_snapshot_reader *r);

#endif
