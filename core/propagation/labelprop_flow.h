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
 * Object translations (`object_shift`, align 2): for each memory frame and
 * object, the object's own translation searched exhaustively from its mask
 * there replaces the flow near the object where it matches clearly better
 * (object_shift.h: small objects that DIS's patches lose to the background,
 * displacements beyond its pyramid).
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
  float edge_colour;         /* upsampling of the cells' probabilities to pixels: 0 bilinear
                                (as labelprop), > 0 joint bilateral guided by the frame
                                (joint_upsample.h) with this colour bandwidth in 8-bit
                                levels */
  float edge_spatial;        /* its spatial bandwidth in cells, > 0 */
  float sharpen;             /* exponent g of p^g / (p^g + (1 - p)^g) on the cells' readout
                                before the upsampling (undoes the blur that the soft read
                                adds at every frame); 1: none, 0.25 .. 8 */
  float previous_bonus;      /* added to the read's log-weights of the previous frame's
                                entries (align >= 1): > 0 favours the nearest frame in time;
                                -10 .. 10 */
  float appearance;          /* weight b of the objects' global colour models
                                (colour_model.h, from every memory frame): logit(p) +=
                                b logit(posterior) on the readout; 0: none, 0 .. 4 */
  float occlusion_penalty;   /* subtracted from the read's log-weights of aligned memory
                                cells whose flow the reverse flow contradicts
                                (mv_flow_consistency: occluded in that frame; one more
                                flow per aligned frame); 0: none, 0 .. 20 */
  int object_shift;          /* aligned memory frames (align 2): each object's own translation,
                                searched over +- this many cells (object_shift.h), replaces the
                                flow near the object where it matches better; 0: none,
                                0 .. 128 */
} mv_labelprop_flow_options;

/* align 2, prior 0, previous_bonus 1 (no guided upsampling, sharpening,
 * colour models or occlusion penalty), labelprop's read with window 6 and
 * top_k 20 (else its defaults: stride 4, colour_weight 0.5,
 * position_weight 0.25), DIS
 * patch 8, spacing 6, iterations 10, finest level 1 (the flow searched at
 * 1/8 of the frame, upsampled to the cells). Chosen on the 10 DAVIS 2016
 * sequences of shared/data at 480p (`bench labelprop` quality: frame 0's
 * ground truth propagated, mean J over frames 1..9 / 1..29; labelprop's
 * defaults: 0.851 / 0.767 at 131 CPU ms per frame under load):
 *   align 1, prior 0.5 (window 8, top 50, DIS spacing 4, 16 iterations,
 *     finest 0)                                 0.858 / 0.785   155 ms
 *   align 1, prior 0                            0.856 / 0.786   143
 *   align 1, prior 0.8                          0.844 / 0.762   148
 *   align 0, prior 0.5                          0.855 / 0.772   151
 *   align 2, prior 0.5                          0.863 / 0.808   217
 *   align 3, prior 0.5 (chained: drifts)        0.859 / 0.795   168
 *   align 2, prior 0.5, DIS spacing 6, 10 it.   0.855 / 0.806   168
 *   + window 6, top 20                          0.853 / 0.805   143
 *   + prior 0                                   0.857 / 0.808   131
 *   + finest 1                                  0.855 / 0.806   114
 * Then (same bench, load 4-6, mean boundary F over 1..29 where measured;
 * the row above re-measured: 0.855 / 0.806, F 0.741, 115 ms):
 *   position_weight 0.5                         0.853 / 0.808   118
 *   position_weight 1                           0.851 / 0.800   116
 *   colour_weight 0.3 / 0.8                     0.849 / 0.802, 0.855 / 0.805
 *   edge_colour 20 (guided upsampling)          0.860 / 0.807, F 0.733   146
 *   edge_colour 10                              0.858 / 0.805   152
 *   sharpen 2                                   0.853 / 0.804   116
 *   previous_bonus 3                            0.852 / 0.788   137
 *   appearance 0.5 (colour models)             0.838 / 0.785   124
 *     (drift-straight 0.539 -> 0.586, breakdance 0.619 -> 0.650, dog
 *     0.890 -> 0.783: background of the object's colours)
 *   occlusion_penalty 3                         0.850 / 0.806, F 0.745   129
 *   occlusion_penalty 1, edge_colour 20         0.860 / 0.809, F 0.738   158
 *   previous_bonus 1, edge_colour 20,
 *     position_weight 0.5                       0.855 / 0.808   149
 *   previous_bonus 0.5                          0.856 / 0.808, F 0.747   117
 *   previous_bonus 1 (the defaults)             0.856 / 0.809, F 0.748   136
 *     (whole loop with conservative fusion, `mivos eval`, 10 sequences:
 *     final J&F 0.757 against 0.737 with 0.5; in test_session's blackswan
 *     loop at 240p a robot correction on frame 0 then lowers mean J
 *     0.914 -> 0.894, so that test corrects the worst new frame) */
void mv_labelprop_flow_options_default(mv_labelprop_flow_options *options);

/* options may be NULL (defaults). */
mv_status mv_propagator_labelprop_flow(const mv_labelprop_flow_options *options,
                                       mv_propagator *out);

#endif
