-- The Lua API end to end on a DAVIS sequence (the first 10 frames of libby
-- at a 240-pixel working size, to stay fast): video access without copies,
-- scribbles from the DAVIS robot, clicks, drawing, undo, local control with
-- a Lua backend, propagation with progress, exports and J&F.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local ffi = require("ffi")
local mivos = require("mivos")
local sys = require("mivos.sys")

local SEQ = t.shared .. "/data/davis2016"
local FRAMES = 10

-- A folder with the first FRAMES frames (and masks) of libby, as links.
local tmp = t.tempdir()
local frames_dir, gt_dir = tmp .. "/frames", tmp .. "/gt"
assert(sys.mkdir_p(frames_dir) and sys.mkdir_p(gt_dir))
for i = 0, FRAMES - 1 do
  local name = string.format("%05d", i)
  os.execute(string.format("ln -s %s %s", t.quote(SEQ .. "/JPEGImages/480p/libby/" .. name .. ".jpg"),
                           t.quote(frames_dir .. "/" .. name .. ".jpg")))
  os.execute(string.format("ln -s %s %s", t.quote(SEQ .. "/Annotations/480p/libby/" .. name .. ".png"),
                           t.quote(gt_dir .. "/" .. name .. ".png")))
end

local video, session, gt
local W, H

local function jaccard_at(frame)
  local m = session:mask(frame)
  return mivos.jaccard(m, gt + frame * W * H)
end

local function same(a, b, n)
  return ffi.string(a, n) == ffi.string(b, n)
end

t.case("video: frames as FFI arrays without copies", function()
  video = mivos.open_video(frames_dir, { short_side = 240 })
  W, H = video.width, video.height
  t.eq(video.frame_count, FRAMES, "frame count")
  t.eq(H, 240, "working height")
  t.eq(W, 427, "working width (854 * 240 / 480 rounded)")
  local info = video:info()
  t.eq(info.source_width, 854, "source width")
  t.check(info.is_image_sequence, "an image sequence")
  local view = video:frame(3)
  t.check(ffi.istype("const uint8_t *", view.data), "frame() is a pointer into the cache")
  t.eq(view.width * view.height * view.channels, W * H * 3, "view size")
  local copy = video:copy_frame(3)
  t.check(ffi.istype("uint8_t[?]", copy.data) or type(copy.data) == "cdata", "copy is an FFI array")
  t.check(same(view.data, copy.data, W * H * 3), "view and copy hold the same pixels")
  local n = 0
  for i, img in video:frames(0, 2) do
    n = n + 1
    t.eq(img.width, W, "frames() iterator frame " .. i)
  end
  t.eq(n, 3, "frames(0, 2) yields 3 frames")
  t.near(video:frame_time(1) - video:frame_time(0), 1 / 25, 1e-6, "sequence frame times at 25 fps")
  gt = mivos.read_label_volume(gt_dir, FRAMES, W, H)
end)

t.case("session: options and info", function()
  t.raises(function() mivos.session(video, { objcts = 2 }) end, "unknown option 'objcts'",
           "misspelt option")
  session = mivos.session(video, { objects = 1, interaction = "graphcut",
                                   propagation = "labelprop", fusion = "linear" })
  local info = session:info()
  t.eq(info.objects, 1, "objects")
  t.eq(info.interaction, "graphcut", "interaction")
  t.eq(info.propagation, "labelprop", "propagation")
  t.eq(info.fusion, "linear", "fusion")
  t.eq(info.frame_count, FRAMES, "frames")
  t.eq(session.width, W, "width")
end)

local robot_strokes
t.case("scribble from the DAVIS robot, undo", function()
  local empty = ffi.new("uint8_t[?]", FRAMES * W * H)
  local robot = mivos.robot_interact(gt, empty, FRAMES, W, H, 1, 0)
  t.eq(robot.frame, 0, "robot frame")
  t.check(#robot.strokes >= 1, "robot strokes: " .. #robot.strokes)
  robot_strokes = {}
  for _, s in ipairs(robot.strokes) do
    robot_strokes[#robot_strokes + 1] = { points = s.points, positive = s.object == 1 }
  end
  -- a negative box around the dog
  local x0, y0, x1, y1 = W, H, 0, 0
  for y = 0, H - 1 do
    for x = 0, W - 1 do
      if gt[y * W + x] ~= 0 then
        x0, y0, x1, y1 = math.min(x0, x), math.min(y0, y), math.max(x1, x), math.max(y1, y)
      end
    end
  end
  local neg = { math.max(x0 - 12, 1), math.max(y0 - 12, 1), math.min(x1 + 12, W - 2),
                math.max(y0 - 12, 1), math.min(x1 + 12, W - 2), math.min(y1 + 12, H - 2),
                math.max(x0 - 12, 1), math.min(y1 + 12, H - 2), math.max(x0 - 12, 1),
                math.max(y0 - 12, 1) }
  robot_strokes[#robot_strokes + 1] = { points = neg, positive = false }
  t.eq(session:mask(0):count(0), W * H, "empty before")
  session:scribble(0, 1, { strokes = robot_strokes })
  local j = jaccard_at(0)
  t.check(j > 0.6, "J on frame 0 after the robot's scribble: " .. j)
  session:undo(0)
  t.eq(session:mask(0):count(0), W * H, "undo brings the empty mask back")
  t.raises(function() session:undo(0) end, "", "nothing left to undo")
  -- the pos / neg form
  local pos, negs = {}, {}
  for _, s in ipairs(robot_strokes) do
    if s.positive then pos[#pos + 1] = s.points else negs[#negs + 1] = s.points end
  end
  session:scribble(0, 1, { pos = pos, neg = negs, thickness = 3 })
  t.check(jaccard_at(0) > 0.6, "J after the pos/neg scribble " .. jaccard_at(0))
end)

t.case("click, draw, erase, probabilities", function()
  local before = session:mask(0)
  -- a negative click far from the dog must not add pixels
  session:click(0, 1, 2, 2, false)
  t.eq(session:mask(0):get(2, 2), 0, "negative click area is background")
  session:undo(0)
  -- a filled square, then erased
  session:draw(0, 1, { { 10, 10 }, { 30, 10 }, { 30, 30 }, { 10, 30 } })
  local drawn = session:mask(0)
  t.eq(drawn:get(20, 20), 1, "polygon filled into object 1")
  session:draw(0, 1, { 12, 12, 28, 12, 28, 28, 12, 28 }, true)
  t.eq(session:mask(0):get(20, 20), 0, "erase polygon removes it")
  t.eq(session:mask(0):get(10, 10), 1, "the rim stays")
  session:undo(0)
  session:undo(0)
  t.check(same(session:mask(0).data, before.data, W * H), "two undos restore the mask")
  local p = session:probabilities(0, 1)
  local lo, hi = 1, 0
  for i = 0, W * H - 1 do lo, hi = math.min(lo, p.data[i]), math.max(hi, p.data[i]) end
  t.check(lo >= 0 and hi <= 1 and hi > 0.5, string.format("probabilities in [0, 1]: %g..%g", lo, hi))
end)

local calls = {}
t.case("Lua backends: by name, in local control, errors", function()
  mivos.register_backend("test_fill", function(rgb, width, height, previous, positive, negative, out)
    calls[#calls + 1] = { width = width, height = height, rgb = rgb ~= nil,
                          previous = previous ~= nil, positive = positive ~= nil,
                          negative = negative ~= nil }
    for i = 0, width * height - 1 do out[i] = 1 end
  end)
  local names = table.concat(mivos.backends(), ",")
  t.check(names:find("test_fill", 1, true), "listed: " .. names)
  local before = session:mask(0)
  session:set_interaction("test_fill")
  t.eq(session:info().interaction, "test_fill", "selected by name")
  session:local_region(0, { 100, 50, 160, 110, margin = 8 }, function(r)
    r:scribble(1, { pos = { { 130, 80, 131, 80 } } })
  end)
  local c = calls[#calls]
  t.check(c ~= nil, "the Lua function ran")
  if c then
    -- the backend sees the box grown by the margin
    t.eq(c.width, 61 + 16, "crop width = box + 2 margins")
    t.eq(c.height, 61 + 16, "crop height")
    t.check(c.rgb and c.previous and c.positive, "rgb, previous and positive pointers passed")
  end
  session:undo(0)
  -- what is stitched back: the box less a 3-pixel border (margin 0 here:
  -- with a margin, core/local_region.c stitches the grown crop less 3
  -- pixels, which differs from the header's description)
  session:local_region(0, { 100, 50, 160, 110 }, function(r)
    r:scribble(1, { pos = { { 130, 80, 131, 80 } } })
  end)
  local after = session:mask(0)
  local outside_same, inside_set = true, true
  for y = 0, H - 1 do
    for x = 0, W - 1 do
      local inside = x >= 100 + 3 and x <= 160 - 3 and y >= 50 + 3 and y <= 110 - 3
      local within_box = x >= 100 and x <= 160 and y >= 50 and y <= 110
      if inside and after:get(x, y) ~= 1 then inside_set = false end
      if not within_box and after:get(x, y) ~= before:get(x, y) then outside_same = false end
    end
  end
  t.check(inside_set, "inside the box (less 3 px) the Lua result is stitched in")
  t.check(outside_same, "outside the box nothing changed")
  session:undo(0)
  -- a click through the same backend (the click wrapper dilates the point)
  session:click(0, 1, 200, 120, true)
  t.check(calls[#calls].positive and calls[#calls].width == W, "click ran the Lua backend on the frame")
  session:undo(0)
  -- returning a probability map instead of writing out
  mivos.register_backend("test_return", function(rgb, width, height)
    local img = mivos.image(width, height, 1, "float")
    img:set(5, 5, 1.0)
    return img
  end)
  session:set_interaction("test_return")
  session:scribble(0, 1, { pos = { { 5, 5 } } })
  t.eq(session:mask(0):get(5, 5), 1, "returned map used")
  t.eq(session:mask(0):count(1), 1, "returned map replaces the object")
  session:undo(0)
  -- errors in the Lua function
  mivos.register_backend("test_boom", function() error("boom in Lua") end)
  session:set_interaction("test_boom")
  local err = t.raises(function() session:scribble(0, 1, { pos = { { 5, 5 } } }) end, "boom in Lua",
                       "Lua error carried")
  t.check(mivos.is_error(err) and err.code == "E_STATE", "as E_STATE: " .. tostring(err and err.code))
  t.check(tostring(err):find("mv_session_scribble: frame 0, object 1, backend 'test_boom'", 1, true),
          "with the C context: " .. tostring(err))
  t.check(same(session:mask(0).data, before.data, W * H), "a failed interaction changes nothing")
  mivos.register_backend("test_bad_return", function() return 42 end)
  session:set_interaction("test_bad_return")
  t.raises(function() session:scribble(0, 1, { pos = { { 5, 5 } } }) end, "returned a number",
           "bad return value")
  -- unregistered: no longer usable by name
  mivos.unregister_backend("test_boom")
  t.raises(function() session:set_interaction("test_boom") end, "test_boom", "unregistered name")
  t.raises(function() mivos.register_backend("graphcut", function() end) end, "built-in",
           "built-in names are reserved")
  session:set_interaction("graphcut")
end)

t.case("propagate with progress, stop, errors", function()
  local seen = {}
  local done_all = session:propagate(0, { on_progress = function(done, total)
    seen[#seen + 1] = { done, total }
  end })
  t.check(done_all, "ran to the end")
  t.check(#seen >= 1, "progress called " .. #seen .. " times")
  local last = seen[#seen]
  t.check(last and last[1] == last[2], "last progress is done == total")
  t.eq(session:info().interacted_frames, 1, "one interacted frame")
  local score = session:evaluate(gt_dir)
  t.check(score.jf > 0.5, "J&F over the 10 frames: " .. score.jf)
  t.eq(score.frames, FRAMES, "frames scored")
  t.eq(#score.per_frame, FRAMES, "per-frame values")
  t.near(score.per_frame[1].j[1], jaccard_at(0), 1e-9, "per-frame J of frame 0")
  -- correction on frame 9, stopped by the progress function after 2 frames
  session:click(0 + 9, 1, 2, 2, false)
  local stopped_at
  local finished = session:propagate(9, { on_progress = function(done)
    stopped_at = done
    return done >= 2
  end })
  t.eq(finished, false, "returning true stops the propagation")
  t.eq(stopped_at, 2, "stopped after 2 frames")
  -- an error inside on_progress is raised again, the session stays usable
  t.raises(function()
    session:propagate(9, { on_progress = function() error("progress failed") end })
  end, "progress failed", "error in on_progress")
  t.check(session:mask(5):count(1) > 0, "session usable after the error")
end)

t.case("exports: masks, soft, alpha, overlay", function()
  local out = tmp .. "/out"
  t.eq(session:save_masks(out, { soft = true, alpha = true }), FRAMES, "frames written")
  for f = 0, FRAMES - 1, 3 do
    local name = string.format("%05d.png", f)
    local back = mivos.read_labels(out .. "/" .. name)
    t.check(same(back.data, session:mask(f).data, W * H), "palette PNG round trip " .. name)
    t.check(sys.exists(out .. "/soft/1/" .. name), "soft " .. name)
    t.check(sys.exists(out .. "/alpha/1/" .. name), "alpha " .. name)
  end
  local ov = tmp .. "/overlay.mp4"
  session:export_overlay(ov)
  local v2 = mivos.open_video(ov, { short_side = 0 })
  t.eq(v2.frame_count, FRAMES, "overlay video frames")
  t.eq(v2.height, H, "overlay height")
  v2:close()
  session:export_overlay(tmp .. "/ovpng/%03d.png")
  t.check(sys.exists(tmp .. "/ovpng/009.png"), "overlay PNG pattern")
end)

t.case("objects and labels", function()
  t.eq(session:add_object(), 2, "new object id")
  t.eq(session:info().objects, 2, "two objects")
  local labels = session:mask(4)
  labels:set(0, 0, 2)
  session:set_labels(4, labels)
  t.eq(session:mask(4):get(0, 0), 2, "set_labels")
  session:delete_object(2)
  t.eq(session:info().objects, 1, "deleted")
  t.eq(session:mask(4):get(0, 0), 0, "its pixels went to the background")
  session:reset_frame(4)
  t.eq(session:mask(4):count(0), W * H, "reset_frame clears")
  session:undo(4)
  t.check(session:mask(4):count(1) > 0, "undo of reset_frame")
  local loaded = session:load_mask(6, gt_dir .. "/00006.png")
  t.eq(session:mask(6):count(1), loaded:count(1), "load_mask")
  t.raises(function() session:set_labels(6, mivos.image(W, H):fill(7)) end, "label 7", "labels > objects")
end)

t.case("close", function()
  session:close()
  session:close()
  local err = t.raises(function() session:mask(0) end, "session is closed", "use after close")
  t.check(err and err.code == "E_STATE", "E_STATE")
  local s2 = mivos.session(video)
  video:close()
  t.raises(function() s2:info() end, "session is closed", "closing the video closed its session")
  t.raises(function() video:frame(0) end, "video is closed", "video closed")
end)

t.finish()
