-- `mivos segment` command-line conventions (issue #13 item 7): --init-mask
-- without a rounds file, --frames A:B, --binary with --dilate, --progress
-- json, and a non-empty --out (refused without --force; --force removes only
-- what an earlier run wrote). On the shipped clip at a 120-pixel working size
-- (a few seconds a run).
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local mivos = require("mivos")
local json = require("mivos.json")
local sys = require("mivos.sys")

local MIVOS = t.build .. "/mivos"
local DATA = t.source .. "/examples/data"
local CLIP = DATA .. "/libby.mp4"
local ROUNDS = DATA .. "/libby.rounds.json"
local GT = DATA .. "/libby/gt"
local tmp = t.tempdir()
local OUT = tmp .. "/out"

local function segment(args)
  return t.run(t.quote(MIVOS) .. " segment " .. t.quote(CLIP) .. " --short-side 120 " .. args)
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function lines(text)
  local list = {}
  for line in text:gmatch("[^\n]+") do list[#list + 1] = line end
  return list
end

-- Pixels with label k in a mask PNG.
local function count(path, k)
  return mivos.read_labels(path):count(k)
end

-- Intersection over union of label k in two mask PNGs of one size.
local function iou(a_path, b_path, k)
  local a, b = mivos.read_labels(a_path), mivos.read_labels(b_path)
  local inter, union = 0, 0
  for i = 0, a.width * a.height - 1 do
    local x, y = a.data[i] == k, b.data[i] ~= 0
    if x and y then inter = inter + 1 end
    if x or y then union = union + 1 end
  end
  return union > 0 and inter / union or 1
end

t.case("--init-mask, --frames, --binary --dilate, --progress json", function()
  local code, stdout, stderr = segment(table.concat({
    "--init-mask", t.quote("15:" .. GT .. "/00015.png"), "--frames 10:20",
    "--binary --dilate 3 --progress json --out", t.quote(OUT),
    "--overlay", t.quote(tmp .. "/ov/%05d.png") }, " "))
  t.eq(code, 0, "exit code (stderr: " .. stderr:sub(-600) .. ")")
  -- only frames 10..20, with the video's frame numbers
  local names = sys.list_dir(OUT, "%.png$") or {}
  t.eq(#names, 11, "frames 10..20 written")
  t.eq(names[1], "00010.png", "first name = video frame 10")
  t.eq(names[11], "00020.png", "last name = video frame 20")
  t.check(stdout:find("masks    " .. OUT, 1, true), "stdout names the masks")
  t.eq(table.concat(sys.list_dir(tmp .. "/ov") or {}, " "):sub(1, 9), "00010.png",
       "the overlay covers the range too")
  t.eq(#(sys.list_dir(tmp .. "/ov") or {}), 11, "overlay frames 10..20")
  -- the init mask is the frame's mask (IoU with the ground truth measured
  -- 0.936 after the round trip through the 120-pixel working size) and the
  -- propagation carries the object to the range's ends (the weight-free
  -- default measured 0.574 on frame 10, 0.525 on frame 20; an empty or
  -- unpropagated mask scores 0)
  t.check(iou(OUT .. "/00015.png", GT .. "/00015.png", 1) > 0.9, "frame 15 = the init mask")
  for _, f in ipairs({ 10, 20 }) do
    local name = string.format("%05d.png", f)
    local v = iou(OUT .. "/" .. name, GT .. "/" .. name, 1)
    t.check(v > 0.45, "frame " .. f .. " propagated from the init mask: IoU " .. v)
  end
  -- binary masks: 0/255, one folder per object, grown by the dilation
  local bnames = sys.list_dir(OUT .. "/binary/1", "%.png$") or {}
  t.eq(#bnames, 11, "binary/1 holds frames 10..20")
  local labels_px = count(OUT .. "/00012.png", 1)
  local bin = mivos.read_labels(OUT .. "/binary/1/00012.png")
  local on = bin:count(255) + bin:count(1)   -- 0/255 read back as ids
  t.eq(on + bin:count(0), bin.width * bin.height, "binary mask: only 0 and 255")
  t.check(on > labels_px, string.format("dilated by 3 px: %d > %d pixels", on, labels_px))
  -- JSON progress: every stderr line one object; start, rounds, frames, end
  local events = {}
  for _, line in ipairs(lines(stderr)) do
    local ok, e = pcall(json.decode, line)
    t.check(ok and type(e) == "table" and e.event, "a JSON event per line: " .. line)
    if ok then events[#events + 1] = e end
  end
  t.eq(events[1].event, "start", "start event first")
  t.eq(events[1].first * 100 + events[1].last, 1020, "start names the range")
  t.eq(events[#events].event, "end", "end event last")
  local frames = {}
  for _, e in ipairs(events) do
    if e.event == "frame" then
      frames[#frames + 1] = e
      t.check(e.frame >= 10 and e.frame <= 20 and e.frame ~= 15, "propagated frame in range")
      t.eq(e.done, #frames, "done counts the frames")
      t.eq(e.total, 10, "total: 5 frames each way")
    end
  end
  t.eq(#frames, 10, "one event per propagated frame (16..20, 14..10)")
end)

t.case("a non-empty --out: refused without --force; --force removes only mivos' files", function()
  t.check(sys.exists(OUT .. "/00010.png"), "the earlier run's masks are there")
  write(OUT .. "/notes.txt", "mine")
  local base = "--init-mask " .. t.quote("13:" .. GT .. "/00013.png") .. " --frames 12:14 --out "
               .. t.quote(OUT)
  local code, stdout, stderr = segment(base .. " --quiet")
  t.eq(code, 2, "non-empty --out without --force: usage error")
  t.check(stderr:find("is not empty", 1, true) and stderr:find("--force", 1, true),
          "the message says why and what to do: " .. stderr)
  t.eq(#lines(stderr), 1, "one line")
  t.check(sys.exists(OUT .. "/00010.png"), "nothing removed by the refused run")
  code, stdout, stderr = segment(base .. " --quiet --force")
  t.eq(code, 0, "--force (stderr: " .. stderr:sub(-600) .. ")")
  t.eq(table.concat(sys.list_dir(OUT, "%.png$"), " "), "00012.png 00013.png 00014.png",
       "only this run's frames: no stale frame left")
  t.check(not sys.exists(OUT .. "/binary"), "the earlier run's binary/ is removed")
  t.check(sys.exists(OUT .. "/notes.txt"), "other files are kept")
end)

t.case("--init-mask comes before the rounds file's rounds", function()
  local out = tmp .. "/both"
  local code, _, stderr = segment(table.concat({
    "--rounds", t.quote(ROUNDS), "--init-mask", t.quote("30:" .. GT .. "/00030.png"),
    "--frames 20:40 --progress json --out", t.quote(out) }, " "))
  t.eq(code, 1, "the rounds file's frame 0 is outside --frames 20:40")
  t.check(stderr:find("round 1: frame 0 is outside --frames 20:40", 1, true), stderr)
  write(tmp .. "/inside.json", '{"objects": 1, "rounds": [{"frame": 25, "object": 1, '
        .. '"clicks": [[60, 60, false]], "propagate": true}]}')
  code, _, stderr = segment(table.concat({
    "--rounds", t.quote(tmp .. "/inside.json"), "--init-mask", t.quote("30:" .. GT .. "/00030.png"),
    "--frames 20:40 --progress json --out", t.quote(out) }, " "))
  t.eq(code, 0, "exit code (stderr: " .. stderr:sub(-600) .. ")")
  local rounds_seen = {}
  for _, line in ipairs(lines(stderr)) do
    local e = json.decode(line)
    if e.event == "round" then rounds_seen[#rounds_seen + 1] = e.frame end
  end
  t.eq(table.concat(rounds_seen, ","), "30,25", "the init mask is round 1, the file's next")
  t.eq(#sys.list_dir(out, "%.png$"), 21, "frames 20..40")
end)

t.case("--frames cuts a one-way round's propagation at the range end", function()
  write(tmp .. "/forward.json", '{"objects": 1, "rounds": [{"frame": 12, "mask": "'
        .. GT .. '/00012.png", "propagate": true, "direction": "forward", "to": 30}]}')
  local code, _, stderr = segment("--rounds " .. t.quote(tmp .. "/forward.json") .. " --frames 10:20"
                                  .. " --progress json --out " .. t.quote(tmp .. "/forward"))
  t.eq(code, 0, "exit code (stderr: " .. stderr:sub(-600) .. ")")
  local propagated = {}
  for _, line in ipairs(lines(stderr)) do
    local e = json.decode(line)
    if e.event == "frame" then propagated[#propagated + 1] = e.frame end
  end
  t.eq(table.concat(propagated, ","), "13,14,15,16,17,18,19,20", "forward from 12 to 20, not 30")
end)

t.case("--workspace: inside --out it is not content; a resume replaces the masks", function()
  local out = tmp .. "/resume"
  local args = "--init-mask " .. t.quote("20:" .. GT .. "/00020.png") .. " --quiet --out "
               .. t.quote(out) .. " --workspace " .. t.quote(out .. "/work")
  local code, _, stderr = segment(args)
  t.eq(code, 0, "first run (stderr: " .. stderr:sub(-600) .. ")")
  -- as if stopped before the masks were written: only the workspace is left
  for _, name in ipairs(sys.list_dir(out, "%.png$")) do os.remove(out .. "/" .. name) end
  local stdout
  code, stdout, stderr = segment(args)
  t.eq(code, 0, "the same command again (stderr: " .. stderr:sub(-600) .. ")")
  t.check(stdout:find("2 operations restored", 1, true), "resumed from the workspace: " .. stdout)
  t.eq(#sys.list_dir(out, "%.png$"), 49, "the masks written")
  -- a resume replaces the workspace's own masks (the same command again)
  -- and, as --force, leaves no stale output of the earlier run
  t.check(sys.exists(out .. "/binary") == false, "no binary/ yet")
  code, stdout, stderr = segment(args .. " --binary")
  t.eq(code, 0, "a resume with masks in --out (stderr: " .. stderr:sub(-600) .. ")")
  code, stdout, stderr = segment(args)
  t.eq(code, 0, "again, without --binary (stderr: " .. stderr:sub(-600) .. ")")
  t.check(not sys.exists(out .. "/binary"), "the earlier run's binary/ is removed")
  t.eq(#sys.list_dir(out, "%.png$"), 49, "the masks rewritten")
  -- without the workspace the same --out is refused
  code, _, stderr = segment("--init-mask " .. t.quote("20:" .. GT .. "/00020.png")
                            .. " --quiet --out " .. t.quote(out))
  t.eq(code, 2, "no workspace: a non-empty --out is refused")
  t.check(stderr:find("is not empty", 1, true), stderr)
end)

t.case("--dilate: the square dilation matches a brute-force one", function()
  local dilate = require("mivos.mask_dilate")
  local w, h = 23, 17
  local labels, out, scratch = mivos.image(w, h), mivos.image(w, h), mivos.image(w, h)
  local seed = 7
  for i = 0, w * h - 1 do
    seed = (seed * 1103515245 + 12345) % 2147483648
    labels.data[i] = seed % 7 == 0 and 2 or (seed % 11 == 0 and 1 or 0)
  end
  for _, r in ipairs({ 0, 1, 2, 5, 30 }) do
    dilate.object_mask(labels, 2, r, out, scratch, w, h)
    local wrong = 0
    for y = 0, h - 1 do
      for x = 0, w - 1 do
        local near = false
        for yy = math.max(0, y - r), math.min(h - 1, y + r) do
          for xx = math.max(0, x - r), math.min(w - 1, x + r) do
            if labels.data[yy * w + xx] == 2 then near = true end
          end
        end
        if out.data[y * w + x] ~= (near and 255 or 0) then wrong = wrong + 1 end
      end
    end
    t.eq(wrong, 0, "radius " .. r .. ": pixels that differ from the brute force")
  end
end)

-- A bad invocation: exit code and one line on stderr naming the problem.
local function bad(args, want_code, fragment, what)
  local code, stdout, stderr = segment(args)
  t.eq(code, want_code, what .. ": exit code (stderr: " .. stderr .. ")")
  t.eq(#lines(stderr), 1, what .. ": one line on stderr: " .. stderr)
  t.check(stderr:find(fragment, 1, true), what .. ": '" .. stderr .. "' names '" .. fragment .. "'")
  t.eq(stdout, "", what .. ": nothing on stdout")
end

t.case("bad conventions", function()
  local out = " --out " .. t.quote(tmp .. "/bad") .. " --quiet"
  local init = " --init-mask " .. t.quote("5:" .. GT .. "/00005.png")
  bad(out, 2, "--rounds FILE or --init-mask FRAME:FILE is required", "neither rounds nor mask")
  bad(out .. " --init-mask 5", 2, "--init-mask expects FRAME:FILE", "bad --init-mask")
  bad(out .. " --init-mask " .. t.quote("5:" .. tmp .. "/none.png"), 1, "none.png",
      "missing init mask")
  bad(out .. " --init-mask " .. t.quote("60:" .. GT .. "/00005.png"), 1, "frame 60 is out of range",
      "init mask frame out of range")
  local two = mivos.read_labels(GT .. "/00005.png")   -- the object split into ids 1 and 2
  for i = 0, two.width * two.height - 1 do
    if two.data[i] ~= 0 then two.data[i] = i % two.width < two.width / 2 and 1 or 2 end
  end
  mivos.write_labels(tmp .. "/two.png", two)
  bad(out .. " --init-mask " .. t.quote("5:" .. tmp .. "/two.png") .. " --objects 1", 1,
      "the mask holds object id 2, but there are 1 object", "init mask with more objects")
  bad(out .. init .. " --frames 5", 2, "--frames expects A:B", "bad --frames")
  bad(out .. init .. " --frames 9:3", 2, "3 is before 9", "reversed --frames")
  bad(out .. init .. " --frames 0:49", 1, "the video has 49 frames", "--frames past the end")
  bad(out .. init .. " --frames 6:9", 1, "frame 5 is outside --frames 6:9", "init mask outside")
  bad(out .. init .. " --frames 0:9 --gt " .. t.quote(GT), 2, "--frames and --gt", "--frames --gt")
  bad(out .. init .. " --dilate 2", 2, "--dilate grows the --binary masks", "--dilate alone")
  bad(out .. init .. " --progress xml", 2, "--progress must be one of text, json", "bad --progress")
  bad(out .. init .. " --workspace " .. t.quote(tmp .. "/bad"), 2, "must be different folders",
      "--workspace = --out")
  t.check(not sys.exists(tmp .. "/bad/00000.png"), "nothing written by the failed runs")
end)

t.finish()
