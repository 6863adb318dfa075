-- What the REPL shows: objects print what they are (__tostring), and a frame
-- view whose frame the video's cache has evicted or recycled raises E_STATE
-- instead of showing another frame's pixels.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local ffi = require("ffi")
local mivos = require("mivos")

local CLIP = t.source .. "/examples/data/libby.mp4"
local FRAME_BYTES = 854 * 480 * 3
local tmp = t.tempdir()

t.case("objects print what they are", function()
  local video = mivos.open_video(CLIP)
  t.eq(tostring(video), "video: libby.mp4, 49 frames, 854x480", "video")
  t.eq(tostring(mivos.image(4, 3)), "image 4x3x1 uint8_t", "image")
  t.eq(tostring(video:frame(0)), "image view 854x480x3 uint8_t", "frame view")
  t.eq(tostring(mivos.array("float32", { 2, 3 })), "array float32 [2, 3]", "array")
  local pth = t.shared .. "/fixtures/golden/fusion_hashinit.pth"
  local checkpoint = mivos.checkpoint(pth)
  t.eq(tostring(checkpoint), string.format("checkpoint: fusion_hashinit.pth, %d tensors",
                                           checkpoint:count()), "checkpoint")
  checkpoint:close()
  t.eq(tostring(checkpoint), "checkpoint: fusion_hashinit.pth (closed)", "closed checkpoint")
  local writer = mivos.video_writer(tmp .. "/w.mp4", 64, 48, 25)
  t.eq(tostring(writer), "video writer: " .. tmp .. "/w.mp4, 0 frames, 64x48", "writer")
  writer:close()
  local session = mivos.session(video, { objects = 2 })
  t.eq(tostring(session), "session: libby.mp4, 49 frames, 854x480, 2 objects, "
                          .. table.concat({ mivos.builtin_modules("interaction")[1],
                                            mivos.builtin_modules("propagation")[1],
                                            mivos.builtin_modules("fusion")[1] }, " + "),
       "session")
  video:close()
  t.eq(tostring(session), "session: libby.mp4 (closed)", "session closed with its video")
  t.eq(tostring(video), "video: libby.mp4 (closed)", "closed video")
end)

t.case("frame views: recycled frames raise", function()
  -- A cache of one frame: reading frame 1 evicts frame 0, and the evicted
  -- buffer is reused for frame 1 (the same address).
  local video = mivos.open_video(CLIP, { cache_bytes = FRAME_BYTES })
  local view0 = video:frame(0)
  local copy0 = video:copy_frame(0)
  t.eq(view0:get(10, 20, 1), copy0:get(10, 20, 1), "a fresh view reads its frame")
  local view1 = video:frame(1)
  t.check(view1.data ~= nil, "the new view is valid")
  t.eq(ffi.cast("uintptr_t", view1.data), ffi.cast("uintptr_t", rawget(view0, "_pointer")),
       "frame 1 landed in frame 0's buffer (the case a plain pointer would show wrongly)")
  for what, use in pairs({
    data = function() return view0.data end,
    get = function() return view0:get(0, 0) end,
    copy = function() return view0:copy() end,
    write_png = function() mivos.write_png(tmp .. "/stale.png", view0) end,
  }) do
    local err = t.raises(use, "frame view of frame 0 of '" .. CLIP .. "' is stale", what)
    t.check(mivos.is_error(err) and err.code == "E_STATE", what .. ": E_STATE")
  end
  t.check(io.open(tmp .. "/stale.png") == nil, "nothing written from a stale view")
  -- Reading frame 0 again makes a new view; the old one stays refused only
  -- while its buffer holds another frame.
  local again = video:frame(0)
  t.eq(again:get(10, 20, 1), copy0:get(10, 20, 1), "a new view of frame 0")
  t.raises(function() return view1.data end, "frame view of frame 1", "frame 1 evicted now")
  video:close()
  t.raises(function() return again.data end, "is stale", "views die with the video")

  -- With room for every frame, views stay valid across reads.
  local roomy = mivos.open_video(CLIP, { cache_bytes = 4 * FRAME_BYTES })
  local a = roomy:frame(0)
  roomy:frame(1)
  roomy:frame(2)
  t.eq(a:get(10, 20, 1), copy0:get(10, 20, 1), "still valid while cached")
  roomy:close()
end)

t.finish()
