-- mivos.metrics: the DAVIS measures (J, F, per-frame, per-sequence) and the
-- scribble robot (core/eval/robot.c). This is the one Lua binding of the
-- robot: mivos.robot_interact / robot_next_frame and lua/mivos/eval/robot.lua
-- both call it.
-- Public through the entry module: boundary_tolerance, jaccard, boundary_f,
-- evaluate_frame, evaluate_sequence, robot_interact, robot_next_frame.
-- For lua/mivos/eval/: robot_scribble, robot_free, robot_frame,
-- robot_write_json (the scribble as cdata).
local ffi = require("ffi")
local lib = require("mivos.lib")
local array = require("mivos.array")

local C, check = lib.C, lib.check
local int_arg, table_arg = lib.int_arg, lib.table_arg
local image_pointer, sized = array.pointer, array.sized

local metrics = {}

function metrics.boundary_tolerance(width, height)
  return C.mv_boundary_tolerance(width, height)
end

-- One measure of two binary masks (images or pointers) of width x height.
local function measure(c_fn, fn, pred, gt, width, height)
  local p, w, h = sized(pred, width, height, fn)
  local g = image_pointer(gt, "uint8_t", w * h, "gt", fn)
  local out = ffi.new("double[1]")
  check(c_fn(p, g, w, h, out))
  return out[0]
end

-- pred, gt: binary masks (images or pointers) of width x height.
function metrics.jaccard(pred, gt, width, height)
  return measure(C.mv_jaccard, "mivos.jaccard", pred, gt, width, height)
end

function metrics.boundary_f(pred, gt, width, height)
  return measure(C.mv_boundary_f, "mivos.boundary_f", pred, gt, width, height)
end

-- Per-object J and F of one frame's label maps: two lists (object k at k).
function metrics.evaluate_frame(pred, gt, objects, width, height)
  local p, w, h = sized(pred, width, height, "mivos.evaluate_frame")
  local g = image_pointer(gt, "uint8_t", w * h, "gt", "mivos.evaluate_frame")
  int_arg(objects, "objects", "mivos.evaluate_frame")
  local j, f = ffi.new("double[?]", math.max(objects, 1)), ffi.new("double[?]", math.max(objects, 1))
  check(C.mv_evaluate_frame(p, g, w, h, objects, j, f))
  local jl, fl = {}, {}
  for k = 1, objects do jl[k], fl[k] = j[k - 1], f[k - 1] end
  return jl, fl
end

-- Label volumes (frame_count x height x width pointers) -> the summary
-- described at Session:evaluate. frames: "all" (default) or
-- "semi-supervised" (1..T-2).
function metrics.evaluate_sequence(pred, gt, frame_count, width, height, objects, frames)
  local n = frame_count * objects
  local j, f = ffi.new("double[?]", n), ffi.new("double[?]", n)
  check(C.mv_evaluate_sequence(pred, gt, frame_count, width, height, objects, j, f))
  local scores = ffi.new("mv_object_score[?]", objects)
  local which = frames == "semi-supervised" and C.MV_EVAL_SEMI_SUPERVISED or C.MV_EVAL_ALL_FRAMES
  check(C.mv_evaluate_objects(j, f, frame_count, objects, which, scores))
  local dj, df, djf = ffi.new("double[1]"), ffi.new("double[1]"), ffi.new("double[1]")
  check(C.mv_evaluate_dataset(scores, objects, dj, df, djf))
  local result = { j = dj[0], f = df[0], jf = djf[0], frames = frame_count, objects = {},
                   per_frame = {} }
  for k = 1, objects do
    local s = scores[k - 1]
    result.objects[k] = { j = s.j.mean, f = s.f.mean, jf = s.jf, j_recall = s.j.recall,
                          f_recall = s.f.recall, j_decay = s.j.decay, f_decay = s.f.decay }
  end
  for t = 0, frame_count - 1 do
    local fj, ff = {}, {}
    for k = 1, objects do
      fj[k], ff[k] = j[t * objects + k - 1], f[t * objects + k - 1]
    end
    result.per_frame[t + 1] = { j = fj, f = ff }
  end
  return result
end

-- ---- the scribble robot ---------------------------------------------------------------

local ROBOT_OPTIONS = { "kernel_size", "max_kernel_radius", "min_nb_nodes", "nb_points" }

-- The robot's scribble on label volumes (frame_count x height x width
-- pointers; gt 255 = void) as an mv_robot_scribble* freed by the garbage
-- collector (or at once with metrics.robot_free). frame: 0-based, or -1 for
-- the frame with the lowest mean J. options: nil (the robot's defaults) or
-- a table of kernel_size, max_kernel_radius, min_nb_nodes, nb_points.
function metrics.robot_scribble(gt, pred, frame_count, width, height, objects, frame, options)
  local o = nil
  if options ~= nil then
    options = table_arg(options, "options", "mivos.robot_interact")
    o = ffi.new("mv_robot_options")
    C.mv_robot_options_default(o)
    for _, key in ipairs(ROBOT_OPTIONS) do
      if options[key] ~= nil then o[key] = options[key] end
    end
  end
  local out = ffi.new("mv_robot_scribble*[1]")
  check(C.mv_robot_interact(gt, pred, frame_count, width, height, objects, frame, o, out))
  return ffi.gc(out[0], C.mv_robot_scribble_free)
end

function metrics.robot_free(scribble)
  if scribble ~= nil then
    ffi.gc(scribble, nil)
    C.mv_robot_scribble_free(scribble)
  end
end

-- The DAVIS scribble JSON of a scribble (temporary name, then renamed).
function metrics.robot_write_json(scribble, sequence, path)
  check(C.mv_robot_write_json(scribble, sequence, path))
end

-- The robot's next frame (worst-frame rule) from per-frame scores: j, f
-- double arrays laid out frame-major (frame_count x objects); metric "jf",
-- "j" or "f"; candidates a Lua list of the 0-based frames allowed (nil =
-- all); used a uint8 array of frame_count flags (1 = drawn on), updated.
function metrics.robot_frame(j, f, frame_count, objects, metric, candidates, used)
  local m = ({ jf = C.MV_EVAL_METRIC_JF, j = C.MV_EVAL_METRIC_J, f = C.MV_EVAL_METRIC_F })[
    metric or "jf"]
  local list, count = nil, 0
  if candidates then
    count = #candidates
    list = ffi.new("int[?]", math.max(count, 1))
    for i, c in ipairs(candidates) do list[i - 1] = c end
  end
  local out = ffi.new("int[1]")
  check(C.mv_robot_next_frame(j, f, frame_count, objects, m, list, count, used, out))
  return out[0]
end

-- The robot on label volumes (see robot_scribble) with the strokes as Lua
-- tables: {frame = f, strokes = {{object = id (0 = background, a negative
-- stroke), points = {{x, y}, ...}}, ...}} with points in PIXELS of the
-- working size (the robot's normalised x * width, y * height).
function metrics.robot_interact(gt, pred, frame_count, width, height, objects, frame, options)
  local scribble = metrics.robot_scribble(gt, pred, frame_count, width, height, objects, frame,
                                          table_arg(options, "options", "mivos.robot_interact"))
  local result = { frame = scribble.frame, strokes = {} }
  for i = 0, scribble.stroke_count - 1 do
    local s = scribble.strokes[i]
    local points = {}
    for p = 0, s.point_count - 1 do
      points[p + 1] = { s.points[2 * p] * width, s.points[2 * p + 1] * height }
    end
    result.strokes[i + 1] = { object = s.object_id, points = points }
  end
  metrics.robot_free(scribble)
  return result
end

-- The robot's next frame from per-frame J and F lists as Session:evaluate
-- returns them (result.per_frame); used: a Lua set of frames already used
-- ({[f] = true}, updated); metric "jf" (default), "j" or "f"; candidates: a
-- list of the frames allowed (nil = all). Returns the 0-based frame.
function metrics.robot_next_frame(per_frame, objects, used, metric, candidates)
  local T = #per_frame
  local j, f = ffi.new("double[?]", T * objects), ffi.new("double[?]", T * objects)
  for t = 1, T do
    for k = 1, objects do
      j[(t - 1) * objects + k - 1] = per_frame[t].j[k]
      f[(t - 1) * objects + k - 1] = per_frame[t].f[k]
    end
  end
  local flags = ffi.new("uint8_t[?]", T)
  for frame in pairs(used or {}) do
    if frame >= 0 and frame < T then flags[frame] = 1 end
  end
  local frame = metrics.robot_frame(j, f, T, objects, metric, candidates, flags)
  if used then used[frame] = true end
  return frame
end

return metrics
