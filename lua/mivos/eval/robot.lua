-- mivos.eval.robot: the DAVIS scribble robot (core/eval/robot.c) from Lua, and
-- the strokes turned into the maps MiVOS feeds its interaction backend
-- (spec/EVALUATION.md 5.7): points px = int(x (W-1)), py = int(y (H-1)),
-- joined by the DAVIS Bresenham lines into a label map initialised to -1
-- (later strokes overwrite earlier ones), then each class's stroke map
-- dilated with a 3 x 3 square: positive = strokes of object k, negative =
-- strokes of any other label (background included).
--
--   robot.interact(gt, pred, T, W, H, K, frame) -> scribble (cdata, freed by GC)
--   robot.next_frame(j, f, T, K, candidates, used) -> frame (0-based)
--   robot.stroke_count(scribble), robot.write_json(scribble, sequence, path)
--   robot.rasterize(scribble, W, H [, labels]) -> int16 label map (-1 = none)
--   robot.maps(labels, W, H, object, positive, negative) -> has_positive, has_negative
local ffi = require("ffi")
local metrics = require("mivos.metrics")

local robot = {}

-- (the binding is mivos.metrics, the one the public mivos.robot_* use)
function robot.interact(gt, pred, T, W, H, K, frame)
  return metrics.robot_scribble(gt, pred, T, W, H, K, frame)
end

robot.free = metrics.robot_free

-- j, f: double arrays laid out frame-major (T x K); candidates: a Lua list
-- of 0-based frames (empty = all frames); used: uint8 array of T flags.
function robot.next_frame(j, f, T, K, candidates, used)
  return metrics.robot_frame(j, f, T, K, "jf", candidates, used)
end

function robot.stroke_count(scribble) return scribble.stroke_count end

robot.write_json = metrics.robot_write_json

-- int(v * (size - 1)), clamped into the frame (as core/raster.c does).
local function to_pixel(v, size)
  local p = v * (size - 1)
  if not (p > 0) then return 0 end
  if p >= size - 1 then return size - 1 end
  return math.floor(p)
end

-- The DAVIS tools' Bresenham: both end points, minor step when D >= 0.
local function bresenham(labels, W, x0, y0, x1, y1, value)
  local dx, dy = x1 - x0, y1 - y0
  local sx, sy = dx > 0 and 1 or -1, dy > 0 and 1 or -1
  dx, dy = math.abs(dx), math.abs(dy)
  local xx, xy, yx, yy
  if dx > dy then
    xx, xy, yx, yy = sx, 0, 0, sy
  else
    dx, dy = dy, dx
    xx, xy, yx, yy = 0, sy, sx, 0
  end
  local d = 2 * dy - dx
  local minor = 0
  for major = 0, dx do
    labels[(y0 + major * xy + minor * yy) * W + x0 + major * xx + minor * yx] = value
    if d >= 0 then
      minor = minor + 1
      d = d - 2 * dx
    end
    d = d + 2 * dy
  end
end

function robot.rasterize(scribble, W, H, labels)
  labels = labels or ffi.new("int16_t[?]", W * H)
  for i = 0, W * H - 1 do labels[i] = -1 end
  for s = 0, scribble.stroke_count - 1 do
    local stroke = scribble.strokes[s]
    local id, pts = stroke.object_id, stroke.points
    local px, py
    for p = 0, stroke.point_count - 1 do
      local x, y = to_pixel(pts[2 * p], W), to_pixel(pts[2 * p + 1], H)
      if p == 0 then
        labels[y * W + x] = id
      else
        bresenham(labels, W, px, py, x, y, id)
      end
      px, py = x, y
    end
  end
  return labels
end

local function stamp3(map, W, H, x, y)
  for yy = math.max(y - 1, 0), math.min(y + 1, H - 1) do
    for xx = math.max(x - 1, 0), math.min(x + 1, W - 1) do map[yy * W + xx] = 1 end
  end
end

-- Positive / negative maps of `object` (uint8 arrays of W x H, cleared
-- here), each class dilated by a 3 x 3 square.
function robot.maps(labels, W, H, object, positive, negative)
  ffi.fill(positive, W * H)
  ffi.fill(negative, W * H)
  local has_pos, has_neg = false, false
  for y = 0, H - 1 do
    local row = y * W
    for x = 0, W - 1 do
      local l = labels[row + x]
      if l ~= -1 then
        if l == object then
          stamp3(positive, W, H, x, y)
          has_pos = true
        else
          stamp3(negative, W, H, x, y)
          has_neg = true
        end
      end
    end
  end
  return has_pos, has_neg
end

return robot
