-- Regenerates libby.rounds.json from the ground truth with the DAVIS
-- interactive robot (how the shipped rounds file was made):
--   round 1: the robot's scribbles on frame 0 against an empty mask
--            (positive strokes inside the dog) plus one negative polyline
--            around the dog's box, then propagate;
--   round 2: the robot picks the worst frame of the result and scribbles
--            the corrections there (positive on missed parts, negative on
--            false positives), then propagate.
-- Run from the repository root:
--   build/mivos-lua examples/data/make_rounds.lua   (or: luajit with LUA_PATH=lua/?.lua
--   and MIVOS_LIBRARY set)
-- It prints the J&F after each round and writes examples/data/libby.rounds.json.
local mivos = require("mivos")
local json = require("mivos.json")

local here = "examples/data"
local video = mivos.open_video(here .. "/libby.mp4")
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

local function run_round(frame, scribbles)
  local strokes = {}
  for i, s in ipairs(scribbles) do strokes[i] = s end
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

local used = { [0] = true }
local worst = mivos.robot_next_frame(score.per_frame, 1, used)
local second = mivos.robot_interact(gt, session:label_volume(), T, W, H, 1, worst)
local round2 = scribbles_of(second)
score = run_round(worst, round2)

local doc = {
  comment = "libby (DAVIS 2016): two robot rounds made by examples/data/make_rounds.lua;"
            .. " pixel coordinates of the 854x480 frames, frames 0-based",
  objects = 1,
  rounds = json.array({
    { frame = 0, object = 1, scribbles = json.array(round1), propagate = true },
    { frame = worst, object = 1, scribbles = json.array(round2), propagate = true },
  }),
}
for _, r in ipairs(doc.rounds) do
  for _, s in ipairs(r.scribbles) do s.points = json.array(s.points) end
end
local f = assert(io.open(here .. "/libby.rounds.json", "w"))
f:write(json.encode(doc, { indent = "  " }), "\n")
f:close()
print("wrote " .. here .. "/libby.rounds.json")
