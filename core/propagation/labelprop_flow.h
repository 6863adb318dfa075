/* labelprop-flow: labelprop (labelprop.h) with motion, from dense optical
 * flow (optical_flow.h: DIS on the cells' lightness L, the query key's and
 * the memory keys' channel 0, so at labelprop's cell resolution: 1/4 of
 * the frame by default).
 *
 * Aligned memory (`align`): memory frames are resampled into the query
 * frame's geometry before labelprop's read, through the flow b from the
 * query to that frame (query cell x shows the memory frame at x + b(x)):
 * colours and mask values warped bilinearly, positions those of x. The
 * read's window around x then covers the memory frame around x + b(x),
 * i.e. the window is centred on the flow-displaced position, so objects
 * moving farther than the window per frame are kept. 1: the frame just
 * before the query (mv_memory.previous, which the engine sets; the first
 * frame of a pass reads the interacted frame); 2: every memory frame,
 * each by a direct flow from the query; 3: every memory frame by flows
 * chained from frame to frame (one flow per query; it drifts over long
 * chains, measured below).
 *
 * Prior (`prior`): where the forward and backward flows between the
 * query and the previous frame agree (Sundaram et al.; not occluded), the
 * readout is blended towards the previous frame's soft masks warped by
 * the flow: p = (1 - prior) readout + prior warped; elsewhere p = readout.
 * Then upsampled to pixels as labelprop does.
 *
 * Without a previous frame (mv_memory.previous 0) only align 2 and 3 do
 * anything (direct flows). The flows run on the host (also with a GPU:
 * the cells are downloaded, a few hundred KB per frame). */
#ifndef MV_LABELPROP_FLOW_H
#define MV_LABELPROP_FLOW_H

#include "propagation/labelprop.h"
#include "propagation/optical_flow.h"

typedef struct mv_labelprop_flow_options {
  mv_labelprop_options read; /* labelprop's keys and read */
  float prior;               /* weight of the warped previous mask: 0 .. 1 */
  int align;                 /* memory frames read through the flow: 0 none, 1 the previous
                                frame, 2 every frame (direct flows), 3 every frame
                                (chained flows) */
  mv_flow_options flow;      /* DIS on the cells */
} mv_labelprop_flow_options;

void mv_labelprop_flow_options_default(mv_labelprop_flow_options *options);

/* options may be NULL (defaults). */
mv_status mv_propagator_labelprop_flow(const mv_labelprop_flow_options *options,
                                       mv_propagator *out);

#endif
