-- Workspaces from Lua and the CLI (the first 10 frames of DAVIS libby at
-- 240p): mivos.workspace resumes a folder to the same masks, the log runs
-- as a rounds file to the same masks, snapshots load, misuse raises, and
-- `mivos segment --workspace` resumes without redoing logged operations.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local ffi = require("ffi")
local mivos = require("mivos")
local rounds = require("mivos.rounds")
local sys = require("mivos.sys")

local FRAMES = 10
local tmp = t.tempdir()
local frames_dir = tmp .. "/frames"
assert(sys.mkdir_p(frames_dir))
for i = 0, FRAMES - 1 do
  local name = string.format("%05d.jpg", i)
  os.execute(string.format("ln -s %s %s",
                           t.quote(t.shared .. "/data/davis2016/JPEGImages/480p/libby/" .. name),
                           t.quote(frames_dir .. "/" .. name)))
end
local video = mivos.open_video(frames_dir, { short_side = 240 })
local W, H = video.width, video.height

local function all_labels(session)
  local parts = {}
  for f = 0, FRAMES - 1 do parts[#parts + 1] = ffi.string(session:mask(f).data, W * H) end
  return table.concat(parts)
end

-- Every kind of operation the Lua API offers.
local function operations(s)
  s:scribble(0, 1, { pos = { { 120, 60, 140, 80, 150, 100 } }, neg = { { 5, 5, W - 5, 5 } } })
  s:click(0, 1, 130, 90, true)
  s:propagate(0)
  local id = s:add_object()
  s:draw(5, id, { { 20, 20 }, { 80, 25 }, { 50, 90 } })
  local map = mivos.image(W, H, 1)
  for i = 0, W * 20 do map.data[i] = 1 end
  s:interact_maps(5, 1, map, nil)
  s:undo(5)
  s:propagate(5, { on_progress = function(done) return done >= 2 end })
  local labels = s:mask(7)
  s:set_labels(8, labels)
  s:box(2, id, { 30, 30, 120, 100 })
  s:set_object_mask(2, 1, map)
  s:propagate(2, { direction = "forward", count = 3 })
  s:forget_memory(5)
  s:delete_object(1)
end

local ws = tmp .. "/ws"
local expected

t.case("a new workspace logs every operation", function()
  local s, report = mivos.workspace(video, ws)
  t.check(report.created, "created")
  operations(s)
  expected = all_labels(s)
  s:close()
  local log = rounds.read(ws .. "/log.json")
  t.eq(#log.rounds, 14, "one log entry per operation")
  t.eq(mivos.read_manifest(ws).propagation, "labelprop", "manifest")
end)

t.case("mivos.workspace resumes to the same masks", function()
  local s, report = mivos.workspace(video, ws)
  t.eq(report.replayed, 14, "replayed")
  t.check(all_labels(s) == expected, "same labels after the replay")
  local m = mivos.read_labels(ws .. "/masks/00007.png", W, H)
  t.check(ffi.string(m.data, W * H) == ffi.string(s:mask(7).data, W * H), "masks on disk")
  s:snapshot()
  t.raises(function() s:load_snapshot(ws .. "/snapshot.mvs") end, "detach first")
  t.raises(function() s:attach(tmp .. "/other") end, "already attached")
  s:close()
  local s2, report2 = mivos.workspace(video, ws)
  t.eq(report2.from_snapshot, 14, "resumed from the snapshot")
  t.check(all_labels(s2) == expected, "same labels from the snapshot")
  s2:save_snapshot(tmp .. "/copy.mvs")
  s2:close()
  local plain = mivos.session(video, { objects = 1 })
  plain:load_snapshot(tmp .. "/copy.mvs")
  t.check(all_labels(plain) == expected, "load_snapshot on a plain session")
  t.raises(function() plain:attach(tmp .. "/late") end, "before the first interaction")
  plain:close()
end)

t.case("the log is a rounds file", function()
  local plan = rounds.check(rounds.parse(rounds.read(ws .. "/log.json"),
                                         { source = ws .. "/log.json" }),
                            { frame_count = FRAMES, width = W, height = H }, mivos.backends())
  local s = mivos.session(video, { objects = plan.objects })
  rounds.run(s, plan)
  t.check(all_labels(s) == expected, "running the log as rounds gives the same labels")
  s:close()
end)

t.case("rounds: the keys of the log are checked like the others", function()
  local function parse(text)
    return rounds.check(rounds.parse(require("mivos.json").decode(text, "r.json"), { source = "r.json" }),
                        { frame_count = FRAMES, width = W, height = H }, mivos.backends())
  end
  t.raises(function() parse('{"rounds": [{"frame": 1, "propagate": true, "direction": "up"}]}') end,
           "direction")
  t.raises(function() parse('{"rounds": [{"add_object": 2}]}') end, "\"objects\"")
  t.raises(function() parse('{"objects": 1, "rounds": [{"add_object": 3}]}') end, "gets id 2")
  t.raises(function() parse('{"objects": 1, "rounds": [{"frame": 0, "box": [1, 2, 3]}]}') end, "box")
  local plan = parse('{"objects": 1, "rounds": [{"add_object": 2}, {"frame": 2, "object": 2, '
                     .. '"polygon": [1, 1, 9, 1, 5, 9], "propagate": true, "direction": "forward", '
                     .. '"count": 3}, {"delete_object": 1}, {"clear_memory": true}]}')
  t.eq(#plan.rounds, 4, "object, memory and propagation-request rounds parse")
end)

t.case("mivos segment --workspace resumes", function()
  local MIVOS = t.build .. "/mivos"
  local rounds_file = tmp .. "/r.json"
  local f = assert(io.open(rounds_file, "w"))
  f:write('{"objects": 1, "rounds": [{"frame": 0, "clicks": [[130, 90]], "propagate": true},'
          .. '{"frame": 6, "polygon": [[20, 20], [80, 25], [50, 90]], "propagate": true}]}')
  f:close()
  local cmd = string.format("%s segment %s --rounds %s --out %s/out --workspace %s/cli "
                            .. "--short-side 240 --quiet", t.quote(MIVOS), t.quote(frames_dir),
                            t.quote(rounds_file), tmp, tmp)
  local code, out, err = t.run(cmd)
  t.eq(code, 0, "first run (" .. err .. ")")
  t.check(out:find("0 operations restored", 1, true), "nothing to restore the first time")
  code, out, err = t.run(cmd)
  t.eq(code, 0, "second run (" .. err .. ")")
  t.check(out:find("4 operations restored", 1, true), "the second run restores the 4 operations: "
          .. out)
  f = assert(io.open(rounds_file, "w"))
  f:write('{"objects": 1, "rounds": [{"frame": 3, "clicks": [[130, 90]], "propagate": true}]}')
  f:close()
  code, out, err = t.run(cmd)
  t.eq(code, 1, "other rounds on the same workspace: exit 1")
  t.check(err:find("other rounds", 1, true), "says so: " .. err)
end)

video:close()
t.finish()
