/* Workspaces (core/session/workspace.c): the hooks session.c calls after
 * each public operation succeeds. Each hook appends the operation to the
 * workspace's interaction log (flushed to disk before it returns) and
 * writes the masks of the frames it changed; without an attached
 * workspace (or while the log is being replayed) it does nothing. */
#ifndef MV_WORKSPACE_H
#define MV_WORKSPACE_H

#include <stdint.h>

#include "mivos.h"

typedef enum mv_log_kind {
  MV_LOG_SCRIBBLE, MV_LOG_CLICK, MV_LOG_DRAW, MV_LOG_MAPS, MV_LOG_LABELS, MV_LOG_PROPAGATE,
  MV_LOG_UNDO, MV_LOG_RESET_FRAME, MV_LOG_RESET_OBJECT, MV_LOG_ADD_OBJECT, MV_LOG_DELETE_OBJECT,
  MV_LOG_BOX, MV_LOG_OBJECT_MASK, MV_LOG_FORGET_MEMORY, MV_LOG_CLEAR_MEMORY, MV_LOG_END_STROKES
} mv_log_kind;

/* One public operation with its arguments (only those of its kind are set). */
typedef struct mv_log_entry {
  mv_log_kind kind;
  int frame, object;
  const mv_stroke *strokes;     /* SCRIBBLE */
  int stroke_count;
  const mv_region *region;      /* SCRIBBLE, CLICK, MAPS; NULL = whole frame */
  float x, y;                   /* CLICK */
  int positive;
  const float *xy;              /* DRAW */
  int count;
  float brush;
  int erase;
  const uint8_t *positive_map, *negative_map;  /* MAPS */
  const uint8_t *labels;        /* LABELS; OBJECT_MASK: the object's mask */
  int frames;                   /* PROPAGATE: frames done when stopped early, -1: to the end */
  int direction, to, limit;     /* PROPAGATE: the request (MV_BOTH, -1, 0 = the default) */
  int box[4];                   /* BOX: x0, y0, x1, y1 */
  int keep_interacted;          /* CLEAR_MEMORY */
  const char *interaction;      /* the backend an interaction used (set by the hook) */
} mv_log_entry;

/* Logs a successful operation; MV_OK at once when no workspace is attached. */
mv_status mv_workspace_record(mv_session *session, const mv_log_entry *entry);
/* Marks a propagation from `frame` as running (a file in the workspace that
 * mv_workspace_record of the propagation removes), so that a process killed
 * during it is reported when the workspace is opened again. */
mv_status mv_workspace_propagation_started(mv_session *session, int frame);
typedef struct mv_workspace mv_workspace;
/* Writes the frame's mask after a propagation step produced it. */
mv_status mv_workspace_frame_done(mv_session *session, int frame);
/* Frees the attachment (from mv_session_close). */
void mv_workspace_free(mv_workspace *workspace);

#endif
