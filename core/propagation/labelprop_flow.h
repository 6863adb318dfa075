/* labelprop-flow: labelprop (labelprop.h) with motion. The memory read is
 * labelprop's; then, where the engine names the frame just before the
 * query (mv_memory.previous), the dense optical flow between the two
 * frames (optical_flow.h, DIS, at the cell resolution on the keys'
 * lightness L) warps the previous frame's soft masks onto the query frame,
 * and where the forward and backward flows agree (not occluded) the
 * readout is blended towards that warped mask:
 *   p = (1 - prior) * readout + prior * warped      (consistent cells)
 *   p = readout                                      (elsewhere)
 * then upsampled to pixels as labelprop does. Without a previous frame
 * (the first frame of a pass reads the interacted frame, which the engine
 * names too) it is labelprop. */
#ifndef MV_LABELPROP_FLOW_H
#define MV_LABELPROP_FLOW_H

#include "propagation/labelprop.h"
#include "propagation/optical_flow.h"

typedef struct mv_labelprop_flow_options {
  mv_labelprop_options read; /* labelprop's keys and read */
  float prior;               /* weight of the warped previous mask: 0 .. 1 */
  int align;                 /* memory frames read through the flow: 0 none, 1 the previous
                                frame, 2 every frame */
  mv_flow_options flow;      /* DIS on the cells */
} mv_labelprop_flow_options;

void mv_labelprop_flow_options_default(mv_labelprop_flow_options *options);

/* options may be NULL (defaults). */
mv_status mv_propagator_labelprop_flow(const mv_labelprop_flow_options *options,
                                       mv_propagator *out);

#endif
