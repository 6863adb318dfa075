-- Regenerates libby.rounds.json from the ground truth with the DAVIS
-- interactive robot (how the shipped rounds file was made):
--   round 1: the robot's scribbles on frame 0 against an empty mask
--            (positive strokes inside the dog) plus one negative polyline
--            around the dog's box, then propagate;
--   round 2: the middle frame, where the propagation has drifted, is
--            cleared ("reset") and the dog's outline drawn as a lasso
--            polygon (traced from the ground truth), then propagate.
--            (With the weight-free modules, robot correction scribbles did
--            not raise J&F here: the graphcut colour models are fitted on
--            the drifted mask too, and a correction near the end of the
--            clip propagates back over frames that were fine.)
-- Run from the repository root:
--   build/mivos-lua examples/data/make_rounds.lua   (or: luajit with LUA_PATH=lua/?.lua
--   and MIVOS_LIBRARY set)
-- It prints the J&F after each round and writes examples/data/libby.rounds.json.
-- Arguments (optional): the working short side (480), the output path.
local mivos = require("mivos")
local json = require("mivos.json")

local here = "examples/data"
local video = mivos.open_video(here .. "/libby.mp4", { short_side = tonumber(arg[1]) or 480 })
local T, W, H = video.frame_count, video.width, video.height
local gt = mivos.read_label_volume(here .. "/libby/gt", T, W, H)
local session = mivos.session(video, { objects = 1 })

-- Polylines with points at least `step` pixels apart, rounded to 0.5 px.
local function simplify(points, step)
  local out, last = {}, nil
  for i, p in ipairs(points) do
    local x, y = math.floor(p[1] * 2 + 0.5) / 2, math.floor(p[2] * 2 + 0.5) / 2
    if not last or i == #points or (x - last[1]) ^ 2 + (y - last[2]) ^ 2 >= step * step then
      last = { x, y }
      out[#out + 1] = last
    end
  end
  return out
end

local function scribbles_of(robot)
  local list = {}
  for _, s in ipairs(robot.strokes) do
    list[#list + 1] = { points = simplify(s.points, 6), positive = s.object == 1 }
  end
  return list
end

-- A negative rectangle around the object's box on frame t, grown by `pad`,
-- keeping only the corners that fall on background.
local function box_stroke(t, pad)
  local x0, y0, x1, y1 = W, H, -1, -1
  local plane = gt + t * W * H
  for y = 0, H - 1 do
    for x = 0, W - 1 do
      if plane[y * W + x] ~= 0 then
        x0, y0 = math.min(x0, x), math.min(y0, y)
        x1, y1 = math.max(x1, x), math.max(y1, y)
      end
    end
  end
  x0, y0 = math.max(x0 - pad, 2), math.max(y0 - pad, 2)
  x1, y1 = math.min(x1 + pad, W - 3), math.min(y1 + pad, H - 3)
  return { points = { { x0, y0 }, { x1, y0 }, { x1, y1 }, { x0, y1 }, { x0, y0 } },
           positive = false }
end

local function run_round(frame, scribbles, reset)
  local strokes = {}
  for i, s in ipairs(scribbles) do strokes[i] = s end
  if reset then session:reset_frame(frame) end
  session:scribble(frame, 1, { strokes = strokes })
  session:propagate(frame, { on_progress = function(d, t) io.stderr:write("\r", d, "/", t) end })
  io.stderr:write("\n")
  local score = mivos.evaluate_sequence(session:label_volume(), gt, T, W, H, 1)
  print(string.format("after the round on frame %d: J&F %.4f (J %.4f, F %.4f)", frame,
                      score.jf, score.j, score.f))
  return score
end

local empty = mivos.ffi.new("uint8_t[?]", T * W * H)
local first = mivos.robot_interact(gt, empty, T, W, H, 1, 0)
local round1 = scribbles_of(first)
round1[#round1 + 1] = box_stroke(0, 24)
local score = run_round(0, round1)

-- Moore-neighbour tracing of one part, then Douglas-Peucker.
local function trace(component, best, best_start)
  local function inside(x, y)
    return x >= 0 and y >= 0 and x < W and y < H and component[y * W + x] == best
  end
  -- Moore neighbours clockwise from west (y down)
  local dirs = { { -1, 0 }, { -1, -1 }, { 0, -1 }, { 1, -1 }, { 1, 0 }, { 1, 1 }, { 0, 1 }, { -1, 1 } }
  local sx, sy = best_start % W, math.floor(best_start / W)
  local points = { { sx, sy } }
  local x, y, back = sx, sy, 1   -- we entered the start pixel from the west
  for _ = 1, 4 * W * H do
    local found = false
    for k = 0, 7 do
      local d = (back + k) % 8
      local nx, ny = x + dirs[d + 1][1], y + dirs[d + 1][2]
      if inside(nx, ny) then
        -- next search starts at the last background pixel seen, as seen
        -- from the new pixel
        back = d % 2 == 1 and (d + 5) % 8 or (d + 6) % 8
        x, y = nx, ny
        found = true
        break
      end
    end
    if not found or (x == sx and y == sy) then break end
    points[#points + 1] = { x, y }
  end
  local function simplify_dp(first, last, out)
    local ax, ay = points[first][1], points[first][2]
    local bx, by = points[last][1], points[last][2]
    local len = math.sqrt((bx - ax) ^ 2 + (by - ay) ^ 2)
    local far, far_d = nil, 1.0
    for i = first + 1, last - 1 do
      local px, py = points[i][1], points[i][2]
      local d = len > 0 and math.abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / len
                or math.sqrt((px - ax) ^ 2 + (py - ay) ^ 2)
      if d > far_d then far, far_d = i, d end
    end
    if far then
      simplify_dp(first, far, out)
      simplify_dp(far, last, out)
    else
      out[#out + 1] = points[last]
    end
  end
  local half = math.floor(#points / 2)
  local polygon = { points[1] }
  simplify_dp(1, half, polygon)
  simplify_dp(half, #points, polygon)
  table.remove(polygon)  -- the last point repeats the first
  return polygon
end

-- The outlines of the object's 8-connected parts (of 50 pixels or more) on
-- frame t, traced through the boundary pixels' centres (Moore
-- neighbourhood) and simplified (Douglas-Peucker, 1 pixel): what a user's
-- lasso around each part gives.
local function outlines(t)
  local plane = gt + t * W * H
  local component = mivos.ffi.new("int32_t[?]", W * H)
  local parts = {}
  local id = 0
  for start = 0, W * H - 1 do
    if plane[start] ~= 0 and component[start] == 0 then
      id = id + 1
      local stack, size = { start }, 0
      component[start] = id
      while #stack > 0 do
        local p = table.remove(stack)
        size = size + 1
        local x, y = p % W, math.floor(p / W)
        for dy = -1, 1 do
          for dx = -1, 1 do
            local nx, ny = x + dx, y + dy
            if nx >= 0 and ny >= 0 and nx < W and ny < H then
              local q = ny * W + nx
              if plane[q] ~= 0 and component[q] == 0 then
                component[q] = id
                stack[#stack + 1] = q
              end
            end
          end
        end
      end
      if size >= 50 then parts[#parts + 1] = { id = id, start = start } end
    end
  end
  local polygons = {}
  for _, part in ipairs(parts) do
    polygons[#polygons + 1] = trace(component, part.id, part.start)
  end
  return polygons
end

-- Round 2 corrects the middle frame, where the propagation from frame 0
-- has drifted, with a lasso: the frame is cleared and the polygon filled.
local middle = math.floor(T / 2)
local polygons = outlines(middle)
session:reset_frame(middle)
local vertices = 0
for _, polygon in ipairs(polygons) do
  session:draw(middle, 1, polygon)
  vertices = vertices + #polygon
end
session:propagate(middle, { on_progress = function(d, t) io.stderr:write("\r", d, "/", t) end })
io.stderr:write("\n")
score = mivos.evaluate_sequence(session:label_volume(), gt, T, W, H, 1)
print(string.format("after the lasso on frame %d (%d polygons, %d vertices): J&F %.4f (J %.4f,"
                    .. " F %.4f)", middle, #polygons, vertices, score.jf, score.j, score.f))

local doc = {
  comment = "libby (DAVIS 2016): round 1: DAVIS robot scribbles, round 2: a lasso of the middle frame; made by examples/data/make_rounds.lua;"
            .. " pixel coordinates of the 854x480 frames (\"size\"), frames 0-based",
  objects = 1,
  size = json.array({ W, H }),
  rounds = json.array({
    { frame = 0, object = 1, scribbles = json.array(round1), propagate = true },
    { frame = middle, object = 1, reset = true, polygons = json.array(polygons), propagate = true },
  }),
}
for _, s in ipairs(doc.rounds[1].scribbles) do s.points = json.array(s.points) end
for k, p in ipairs(polygons) do polygons[k] = json.array(p) end
local f = assert(io.open(arg[2] or (here .. "/libby.rounds.json"), "w"))
f:write(json.encode(doc, { indent = "  " }), "\n")
f:close()
print("wrote " .. (arg[2] or (here .. "/libby.rounds.json")))
