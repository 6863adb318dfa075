-- The session API of issue #13 items 3-6 from Lua, on the first 12 frames
-- of DAVIS libby at a 120-pixel working size (to stay fast): the
-- propagation iterator (equal to the one-shot call, paused and continued,
-- left early), progress with the frame index, memory control, stable
-- object ids, the box prompt, per-object mask import, output at the source
-- size (Lua and `mivos segment --output-size`), and argument errors.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local ffi = require("ffi")
local mivos = require("mivos")
local sys = require("mivos.sys")

local SEQ = t.shared .. "/data/davis2016"
local FRAMES = 12
local tmp = t.tempdir()
local frames_dir = tmp .. "/frames"
assert(sys.mkdir_p(frames_dir))
for i = 0, FRAMES - 1 do
  local name = string.format("%05d.jpg", i)
  os.execute(string.format("ln -s %s %s", t.quote(SEQ .. "/JPEGImages/480p/libby/" .. name),
                           t.quote(frames_dir .. "/" .. name)))
end

local video = mivos.open_video(frames_dir, { short_side = 120 })
local W, H = video.width, video.height
-- The dog on frame 0: the ground-truth mask (0/255 PNG, read as object 1).
local GT0 = SEQ .. "/Annotations/480p/libby/00000.png"

local function new_session(objects)
  local s = mivos.session(video, { objects = objects or 1 })
  s:load_mask(0, GT0)
  return s
end

local function same_mask(a, b)
  return ffi.string(a.data, W * H) == ffi.string(b.data, W * H)
end

local reference = new_session()
reference:propagate(0)

t.case("iterator: frames in order, labels equal the one-shot call", function()
  local s = new_session()
  local seen = {}
  for frame, labels in s:propagation(0, { direction = "forward", to = 6 }) do
    seen[#seen + 1] = frame
    t.eq(labels.width * 1000 + labels.height, W * 1000 + H, "labels image at the working size")
    t.check(same_mask(labels, reference:mask(frame)), "frame " .. frame .. " as the one-shot call")
  end
  t.eq(table.concat(seen, ","), "1,2,3,4,5,6", "forward to 6")
  seen = {}
  for frame in s:propagation(0, { direction = "backward", labels = false }) do
    seen[#seen + 1] = frame
  end
  t.eq(#seen, 0, "backward from frame 0: nothing to do")
  s:close()
end)

t.case("iterator: paused, continued and left early", function()
  local s = new_session()
  local it = s:propagation(0, { count = 20 })
  local first = { it(), it(), it() }
  t.eq(first[1] * 100 + first[2] * 10 + first[3], 123, "three steps: frames 1, 2, 3")
  s:draw(0, 1, { 1, 1, 5, 1, 5, 5 })   -- an edit while paused, undone
  s:undo(0)
  local rest = 0
  for frame in it do rest = rest + 1 end
  t.eq(rest, FRAMES - 4, "the rest of the run (count 20 > the frames left)")
  t.eq(it(), nil, "an ended iterator returns nil")
  for f = 1, FRAMES - 1 do
    t.check(same_mask(s:mask(f), reference:mask(f)), "continued run: frame " .. f)
  end
  -- Leaving a loop early: a later propagation ends the run cleanly.
  for frame in s:propagation(0, { direction = "forward" }) do
    if frame == 2 then break end
  end
  local frames = {}
  s:propagate(0, { direction = "forward", count = 3, on_progress = function(done, total, frame)
    frames[#frames + 1] = string.format("%d/%d@%d", done, total, frame)
  end })
  t.eq(table.concat(frames, " "), "1/3@1 2/3@2 3/3@3", "on_progress gets the frame index")
  local it2 = s:propagation(0, { direction = "forward" })
  it2()
  s:clear_memory()
  t.raises(function() it2() end, "ended by a later propagation", "a superseded iterator raises")
  s:close()
end)

t.case("memory control", function()
  local s = new_session()
  s:propagate(0)
  s:propagate(0)
  local list = s:memory_frames()
  t.eq(#list, 1, "propagating twice from frame 0: one entry")
  t.check(list[1].frame == 0 and list[1].interacted, "frame 0, interacted")
  s:propagate(6)
  list = s:memory_frames()
  t.check(#list == 2 and list[2].frame == 6 and not list[2].interacted,
          "frame 6 propagated as it was: not interacted")
  s:clear_memory({ keep_interacted = true })
  list = s:memory_frames()
  t.check(#list == 1 and list[1].frame == 0, "clear keeping interacted frames keeps frame 0")
  s:forget_memory(0)
  t.eq(#s:memory_frames(), 0, "forget frame 0 empties the memory")
  t.raises(function() s:forget_memory(0) end, "no memory entry", "forgetting twice")
  s:close()
end)

t.case("stable ids, box, per-object masks", function()
  -- graphcut's GrabCut on the ground-truth bounding box (grown by 2 px) of
  -- DAVIS dog, frame 0. Measured: J 0.820 (the box prompt on the first
  -- frames of the 10 DAVIS sequences at 120 and 240 px: see the README).
  local dog = mivos.open_video(SEQ .. "/JPEGImages/480p/dog", { short_side = 120 })
  local gt0 = mivos.read_labels(SEQ .. "/Annotations/480p/dog/00000.png", dog.width, dog.height)
  local x0, y0, x1, y1 = dog.width, dog.height, -1, -1
  for y = 0, dog.height - 1 do
    for x = 0, dog.width - 1 do
      if gt0:get(x, y) ~= 0 then
        x0, y0, x1, y1 = math.min(x0, x), math.min(y0, y), math.max(x1, x), math.max(y1, y)
      end
    end
  end
  local g = mivos.session(dog)
  g:box(0, 1, { math.max(x0 - 2, 0), math.max(y0 - 2, 0), math.min(x1 + 2, dog.width - 1),
                math.min(y1 + 2, dog.height - 1) })
  local j_box = mivos.jaccard(g:mask(0), gt0)
  io.stdout:write(string.format("  graphcut box on dog frame 0: J %.4f\n", j_box))
  t.check(j_box > 0.75, "the box gives the dog: J " .. j_box)
  g:close()
  dog:close()

  local s = new_session(3)
  s:set_interaction("freehand")
  s:box(0, 3, { 5, 5, 30, 30 })
  t.eq(s:mask(0):count(3), 26 * 26, "freehand box: the filled box")
  s:set_interaction("graphcut")
  s:delete_object(2)
  t.eq(table.concat(s:object_ids(), ","), "1,3", "ids after deleting 2")
  t.eq(s:add_object(), 4, "new id = highest ever + 1")
  local m = s:mask(0)
  io.stdout:write(string.format("  frame 0: object 1 %d px, object 3 (box) %d px\n", m:count(1),
                                m:count(3)))
  t.check(m:count(1) > 300 and m:count(3) > 0, "objects 1 and 3 keep their pixels")
  -- per-object import from a PNG: object 4 = the file's nonzero pixels
  local mask = mivos.image(W, H)
  for y = 100, 110 do for x = 150, 170 do mask:set(x, y, 1) end end
  mivos.write_labels(tmp .. "/object.png", mask)
  local before = s:mask(0)
  s:load_mask(0, tmp .. "/object.png", 4)
  local after = s:mask(0)
  t.eq(after:count(4), 11 * 21, "object 4 = the imported pixels")
  t.eq(after:count(1), before:count(1), "object 1 unchanged")
  s:propagate(0)
  t.check(s:mask(5):count(1) > 200, "object 1 propagated with its id")
  t.raises(function() s:box(0, 2, { 0, 0, 5, 5 }) end, "not an object", "a deleted id")
  t.raises(function() s:box(0, 1, { 0, 0, W, 5 }) end, "not inside", "a box outside the frame")
  t.raises(function() s:propagation(0, { direction = "sideways" }) end, "direction",
           "an unknown direction")
  t.raises(function() s:propagation(0, { to = 5 }) end, "one direction", "to with both")
  s:close()
end)

t.case("output at the source size", function()
  local source = mivos.open_video(frames_dir, { short_side = 0 })
  t.eq(source.width * 1000 + source.height, 854 * 1000 + 480, "source size")
  local out = tmp .. "/masks"
  reference:save_masks(out, { video = source, soft = true })
  local w, h = mivos.mask_size(out .. "/00005.png")
  t.eq(w * 1000 + h, 854 * 1000 + 480, "masks at the source size")
  w, h = mivos.mask_size(out .. "/soft/1/00005.png")
  t.eq(w * 1000 + h, 854 * 1000 + 480, "soft maps at the source size")
  local written = mivos.read_labels(out .. "/00005.png", 854, 480)
  local direct = reference:mask_resized(5, 854, 480)
  t.check(ffi.string(written.data, 854 * 480) == ffi.string(direct.data, 854 * 480),
          "written masks = mask_resized")
  -- against the ground truth at 480p: better than the working-size mask upscaled
  local gt = mivos.read_labels(SEQ .. "/Annotations/480p/libby/00005.png", 854, 480)
  local j_source = mivos.jaccard(direct, gt)
  local small = reference:mask(5)
  local nearest = mivos.image(854, 480)
  for y = 0, 479 do
    for x = 0, 853 do
      nearest:set(x, y, small:get(math.floor(x * W / 854), math.floor(y * H / 480)))
    end
  end
  local j_nearest = mivos.jaccard(nearest, gt)
  io.stdout:write(string.format("  frame 5 J at 854x480: %.4f resized probabilities, %.4f "
                                .. "nearest-upscaled labels\n", j_source, j_nearest))
  t.check(j_source >= j_nearest - 0.005, "resized probabilities are no worse than upscaled labels")
  reference:export_overlay(tmp .. "/ov/%05d.png", { video = source })
  w, h = mivos.mask_size(tmp .. "/ov/00003.png")
  t.eq(w * 1000 + h, 854 * 1000 + 480, "overlay at the source size")
  t.raises(function() reference:save_masks(out, { video = "x" }) end, "video must be",
           "video option type")
  source:close()
end)

t.case("mivos segment --output-size", function()
  local rounds = tmp .. "/rounds.json"
  local f = assert(io.open(rounds, "w"))
  f:write([==[{"size": [854, 480], "rounds": [{"frame": 0, "propagate": true,
    "polygons": [[[300, 230], [420, 215], [470, 250], [440, 300], [320, 300]]]}]}]==])
  f:close()
  local cli = t.quote(t.build .. "/mivos") .. " segment " .. t.quote(frames_dir) ..
              " --rounds " .. t.quote(rounds) .. " --short-side 120 --quiet --out "
  local code, _, err = t.run(cli .. t.quote(tmp .. "/cli-working") .. " --output-size working")
  t.eq(code, 0, "working: exit code (" .. err .. ")")
  local w, h = mivos.mask_size(tmp .. "/cli-working/00004.png")
  t.eq(w * 1000 + h, W * 1000 + H, "--output-size working")
  code, _, err = t.run(cli .. t.quote(tmp .. "/cli-source") .. " --overlay " ..
                       t.quote(tmp .. "/cli-ov/%05d.png"))
  t.eq(code, 0, "source: exit code (" .. err .. ")")
  w, h = mivos.mask_size(tmp .. "/cli-source/00004.png")
  t.eq(w * 1000 + h, 854 * 1000 + 480, "default: the source size")
  w, h = mivos.mask_size(tmp .. "/cli-ov/00004.png")
  t.eq(w * 1000 + h, 854 * 1000 + 480, "overlay at the source size")
  code, _, err = t.run(cli .. t.quote(tmp .. "/cli-bad") .. " --output-size huge")
  t.eq(code, 2, "a bad --output-size is a usage error")
  t.check(err:find("--output-size", 1, true), "the message names the option: " .. err)
end)

reference:close()
video:close()
t.finish()
