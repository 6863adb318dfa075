-- Error translation: every C failure becomes a Lua error object carrying
-- the C library's message and status; Lua-side argument checks use the same
-- object; closed objects refuse use.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local ffi = require("ffi")
local mivos = require("mivos")
local sys = require("mivos.sys")

local CLIP = t.source .. "/examples/data/libby.mp4"
local GT0 = t.source .. "/examples/data/libby/gt/00000.png"
local tmp = t.tempdir()

-- fn must raise a mivos error with this code whose message contains every
-- given fragment; returns it.
local function fails(code, fn, ...)
  local ok, err = pcall(fn)
  if ok then
    t.check(false, "expected " .. code .. ", nothing raised")
    return nil
  end
  if not t.check(mivos.is_error(err), "a mivos.Error, got " .. type(err) .. ": " .. tostring(err)) then
    return err
  end
  t.eq(err.code, code, "code of '" .. err.message .. "'")
  t.eq(err.status, mivos[code], "status number")
  for _, fragment in ipairs({ ... }) do
    t.check(err.message:find(fragment, 1, true), "message '" .. err.message .. "' names '" .. fragment .. "'")
  end
  return err
end

t.case("error object", function()
  local err = fails("E_IO", function() mivos.open_video(tmp .. "/missing.mp4") end,
                    "mv_video_open", tmp .. "/missing.mp4")
  if err then
    t.eq(tostring(err), err.message, "tostring is the message")
    t.eq(err.message, ffi.string(mivos.C.mv_error_message()), "the C library's own message")
    t.eq(err.name, "i/o error", "status name from mv_status_name")
    t.check(("x: " .. err):find("mv_video_open", 1, true), "concatenates like a string")
  end
  t.check(pcall(mivos.check, 0), "check(MV_OK) passes")
  fails("E_FORMAT", function() mivos.check(mivos.C.MV_E_FORMAT) end)
end)

t.case("video and mask files", function()
  fails("E_FORMAT", function() mivos.open_video(t.source .. "/lua/mivos.lua") end, "mivos.lua")
  fails("E_IO", function() mivos.read_labels(tmp .. "/none.png") end, "none.png")
  fails("E_FORMAT", function() mivos.read_labels(t.source .. "/lua/mivos.lua", 4, 4) end, "mivos.lua")
  fails("E_IO", function() mivos.read_npy(tmp .. "/none.npy") end, "none.npy")
  fails("E_FORMAT", function() mivos.read_npy(GT0) end, "00000.png")
  fails("E_FORMAT", function() mivos.checkpoint(GT0) end, "00000.png")
  local img = mivos.image(8, 8)
  fails("E_IO", function() mivos.write_labels(tmp .. "/no/such/dir/x.png", img) end, "x.png")
  fails("E_UNSUPPORTED", function()
    mivos.video_writer(tmp .. "/v.mp4", 16, 16, 25, { codec = "no-such-codec" })
  end, "no-such-codec")
end)

t.case("arguments checked by C", function()
  local video = mivos.open_video(CLIP, { short_side = 120 })
  fails("E_ARGUMENT", function() video:frame(video.frame_count) end, tostring(video.frame_count))
  fails("E_ARGUMENT", function() video:frame(-1) end, "-1")
  fails("E_ARGUMENT", function() mivos.session(video, { objects = 0 }) end, "objects", "0")
  fails("E_ARGUMENT", function() mivos.session(video, { propagation = "magic" }) end, "magic")
  fails("E_ARGUMENT", function() mivos.session(video, { interaction = "s2m" }) end, "weights")
  fails("E_ARGUMENT", function() mivos.session(video, { interaction = "nope" }) end, "nope")
  fails("E_IO", function() mivos.session(video, { weights = tmp .. "/noweights", fusion = "network" }) end,
        "noweights")
  local s = mivos.session(video, { objects = 2 })
  fails("E_ARGUMENT", function() s:click(video.frame_count, 1, 1, 1) end,
        "frame " .. video.frame_count, "0.." .. (video.frame_count - 1))
  fails("E_ARGUMENT", function() s:click(0, 3, 1, 1) end, "object 3", "objects: 1, 2")
  fails("E_ARGUMENT", function() s:click(0, 1, 5000, 1) end, "outside")
  fails("E_ARGUMENT", function() s:set_interaction("nope") end, "nope")
  fails("E_ARGUMENT", function() s:propagate(-1) end, "frame -1")
  fails("E_ARGUMENT", function() s:local_region(0, { 10, 10, 5000, 20 }, function(r) r:click(1, 12, 12) end) end,
        "region")
  fails("E_STATE", function() s:undo(0) end)
  fails("E_ARGUMENT", function() mivos.unregister_backend("never-registered") end, "never-registered")
  s:close()
  video:close()
end)

t.case("arguments checked in Lua", function()
  local video = mivos.open_video(CLIP, { short_side = 120 })
  local s = mivos.session(video)
  fails("E_ARGUMENT", function() s:click("0", 1, 2, 2) end, "frame must be an integer")
  fails("E_ARGUMENT", function() s:click(0.5, 1, 2, 2) end, "frame must be an integer")
  fails("E_ARGUMENT", function() s:scribble(0, 1, { pos = { { 1, 2, 3 } } }) end, "odd number")
  fails("E_ARGUMENT", function() s:scribble(0, 1, {}) end, "no pos or neg strokes")
  fails("E_ARGUMENT", function() s:scribble(0, 1, { pos = { { 1, 1 } }, thicknes = 2 }) end,
        "unknown option 'thicknes'")
  fails("E_ARGUMENT", function() s:set_labels(0, mivos.image(3, 3)) end, "9 elements")
  fails("E_ARGUMENT", function() s:propagate(0, { on_progres = print }) end, "on_progres")
  fails("E_ARGUMENT", function() mivos.open_video(42) end, "path must be a string")
  fails("E_ARGUMENT", function() mivos.open_video(CLIP, { short = 3 }) end, "unknown option 'short'")
  fails("E_ARGUMENT", function() mivos.array("complex64", { 2 }) end, "complex64")
  fails("E_ARGUMENT", function() mivos.session({}) end, "video must be a video")
  fails("E_ARGUMENT", function() mivos.register_backend("x", 3) end, "fn must be a function")
  s:close()
  video:close()
end)

t.case("closed objects", function()
  local video = mivos.open_video(CLIP, { short_side = 120 })
  video:close()
  video:close()
  fails("E_STATE", function() video:info() end, "video is closed")
  fails("E_STATE", function() mivos.session(video) end, "video is closed")
  local a = mivos.array("float32", { 3 })
  a:close()
  fails("E_STATE", function() a:numel() end, "array is closed")
  t.eq(a.data, nil, "no data after close")
  local c = mivos.checkpoint(t.shared .. "/fixtures/golden/fusion_hashinit.pth")
  t.eq(c:count(), 12, "fusion checkpoint entries")
  c:close()
  fails("E_STATE", function() c:keys() end, "checkpoint is closed")
  local w = mivos.video_writer(tmp .. "/w.mp4", 16, 16, 25)
  w:close()
  fails("E_STATE", function() w:add(mivos.image(16, 16, 3)) end, "video writer is closed")
  t.check(not sys.exists(tmp .. "/w.mp4"), "an unfinished video leaves no file")
end)

t.case("built-in modules from the library's table", function()
  local names, needs_weights = mivos.builtin_modules("interaction")
  t.check(#names >= 1, "built-in interaction backends: " .. table.concat(names, ", "))
  t.check(not needs_weights[names[1]], "the first (the weight-free default) needs no weights")
  local listed = mivos.backends()
  for i, n in ipairs(names) do t.eq(listed[i], n, "backends() lists the built-in ones first") end
  for _, kind in ipairs({ "propagation", "fusion" }) do
    local list = mivos.builtin_modules(kind)
    t.check(#list >= 1, kind .. ": " .. table.concat(list, ", "))
  end
  local video = mivos.open_video(CLIP, { short_side = 120 })
  local info = mivos.session(video):info()
  t.eq(info.propagation, mivos.builtin_modules("propagation")[1], "default propagation")
  t.eq(info.fusion, mivos.builtin_modules("fusion")[1], "default fusion")
  t.eq(info.interaction, names[1], "default interaction")
  video:close()
  fails("E_ARGUMENT", function() mivos.builtin_modules("colour") end, "kind must be")
end)

t.case("devices", function()
  local list = mivos.devices()
  t.check(#list >= 1, "at least one OpenCL device")
  fails("E_ARGUMENT", function() mivos.select_device("no-such-device-xyz") end, "no-such-device-xyz")
end)

t.finish()
