-- mivos.io: video input (files, folders of frames, printf patterns), mask
-- and image files (DAVIS palette PNGs, soft masks, mattes), overlays, the
-- video writer, and ground-truth label volumes.
-- Public through the entry module: VideoClass, open_video, palette,
-- mask_size, read_labels, read_soft, write_labels, write_binary,
-- write_soft, write_matte, write_png, overlay, overlay_png, video_writer,
-- read_label_volume.
local ffi = require("ffi")
local lib = require("mivos.lib")
local array = require("mivos.array")
local sys = require("mivos.sys")

local C, check, raise, live, close_handle = lib.C, lib.check, lib.raise, lib.live,
                                             lib.close_handle
local int_arg, number_arg, string_arg = lib.int_arg, lib.number_arg, lib.string_arg
local options_arg = lib.options_arg
local image, image_pointer, sized = array.image, array.pointer, array.sized

local M = {}

-- ---- video input ---------------------------------------------------------

local Video = {}
Video.__index = Video
M.VideoClass = Video

-- REPL: "video: libby.mp4, 49 frames, 854x480" ("video: ... (closed)").
function Video:__tostring()
  local name = self.path:match("([^/]+)/*$") or self.path
  if rawget(self, "_ptr") == nil then return "video: " .. name .. " (closed)" end
  return string.format("video: %s, %d frames, %dx%d", name, self.frame_count, self.width,
                       self.height)
end

-- A frame view: an image of a frame in the video's cache (no copy) whose
-- `data` is looked up at each use, so a view whose frame the cache has
-- since evicted or recycled raises E_STATE instead of showing other pixels.
local FrameView = setmetatable({ _image = true }, { __index = array.Image })
FrameView.__tostring = array.Image.__tostring
FrameView.__index = function(view, key)
  if key ~= "data" then return FrameView[key] end
  local video, pointer = rawget(view, "owner"), rawget(view, "_pointer")
  local handle = rawget(video, "_ptr")
  if handle == nil or C.mv_video_frame_is_current(handle, view.index, pointer) == 0 then
    raise(C.MV_E_STATE, string.format(
      "frame view of frame %d of '%s' is stale: the video's frame cache has reused it "
        .. "(a view lasts until the next frame read on the video; video:copy_frame(%d) keeps one)",
      view.index, video.path, view.index))
  end
  return pointer
end

-- Opens a video file, a folder of frames or a printf pattern.
-- options: short_side (working size of the shorter side, default 480, 0 =
-- native), cache_mib (decoded-frame cache, default 256), fps (reported for
-- image sequences, default 25).
function M.open_video(path, options)
  string_arg(path, "path", "mivos.open_video")
  options = options_arg(options, { short_side = true, cache_mib = true, cache_bytes = true,
                                   fps = true }, "mivos.open_video")
  local o = ffi.new("mv_video_options")
  C.mv_video_options_default(o)
  if options.short_side ~= nil then
    o.short_side = int_arg(options.short_side, "short_side", "mivos.open_video")
  end
  if options.cache_mib ~= nil then
    o.cache_bytes = number_arg(options.cache_mib, "cache_mib", "mivos.open_video") * 1048576
  end
  if options.cache_bytes ~= nil then
    o.cache_bytes = number_arg(options.cache_bytes, "cache_bytes", "mivos.open_video")
  end
  if options.fps ~= nil then
    o.sequence_fps = number_arg(options.fps, "fps", "mivos.open_video")
  end
  local out = ffi.new("mv_video*[1]")
  check(C.mv_video_open(path, o, out))
  local self = setmetatable({ _ptr = ffi.gc(out[0], C.mv_video_close), path = path,
                              _sessions = setmetatable({}, { __mode = "k" }) }, Video)
  local info = self:info()
  self.frame_count, self.width, self.height, self.fps =
    info.frame_count, info.width, info.height, info.fps
  return self
end

function Video:info()
  local info = ffi.new("mv_video_info")
  check(C.mv_video_get_info(live(self, "video"), info))
  return {
    frame_count = info.frame_count, width = info.width, height = info.height,
    source_width = info.source_width, source_height = info.source_height,
    rotation = info.rotation, fps = info.fps, is_image_sequence = info.is_image_sequence ~= 0,
    first_bad_frame = info.first_bad_frame, cache_capacity = tonumber(info.cache_capacity),
    cache_used = tonumber(info.cache_used), codec = ffi.string(info.codec),
  }
end

-- Frame `index` (0-based) as an RGB image that points into the video's
-- cache (no copy): valid until the cache evicts the frame (a later frame /
-- copy_frame / check call on this video, or a session reading its frames),
-- after which using the view raises E_STATE. Use copy_frame for a frame to keep.
function Video:frame(index)
  int_arg(index, "frame", "video:frame")
  local rgb = ffi.new("const uint8_t*[1]")
  check(C.mv_video_frame(live(self, "video"), index, rgb))
  return setmetatable({ _pointer = rgb[0], index = index, width = self.width,
                        height = self.height, channels = 3, ctype = "uint8_t",
                        owner = self }, FrameView)
end

-- Frame `index` copied into `into` (an RGB image of the video's size) or
-- into a new image.
function Video:copy_frame(index, into)
  int_arg(index, "frame", "video:copy_frame")
  into = into or image(self.width, self.height, 3)
  local ptr = image_pointer(into, "uint8_t", self.width * self.height * 3, "into",
                            "video:copy_frame")
  check(C.mv_video_copy_frame(live(self, "video"), index, ptr))
  return into
end

-- for index, image in video:frames() do ... end   (views, see frame())
function Video:frames(first, last)
  local i = (first or 0) - 1
  last = last or self.frame_count - 1
  return function()
    i = i + 1
    if i > last then return nil end
    return i, self:frame(i)
  end
end

function Video:frame_time(index)
  int_arg(index, "frame", "video:frame_time")
  local t = ffi.new("double[1]")
  check(C.mv_video_frame_time(live(self, "video"), index, t))
  return t[0]
end

-- Decodes every frame once; returns the first bad frame or nil.
function Video:check()
  local bad = ffi.new("int[1]")
  check(C.mv_video_check(live(self, "video"), bad))
  if bad[0] < 0 then return nil end
  return bad[0]
end

function Video:handle() return live(self, "video") end

-- Closes the video; sessions still open on it are closed first.
function Video:close()
  for session in pairs(self._sessions) do session:close() end
  close_handle(self, C.mv_video_close)
end

-- ---- masks, images and overlays --------------------------------------------

function M.palette()
  local rgb = ffi.new("uint8_t[768]")
  C.mv_palette_davis(rgb)
  return rgb
end

-- Size of a PNG file: width, height.
function M.mask_size(path)
  string_arg(path, "path", "mivos.mask_size")
  local w, h = ffi.new("int[1]"), ffi.new("int[1]")
  check(C.mv_mask_size(path, w, h))
  return w[0], h[0]
end

-- Label ids of a mask PNG (palette, 0/255, grey or RGB), resized nearest-
-- neighbour to width x height (default: the file's size).
function M.read_labels(path, width, height)
  string_arg(path, "path", "mivos.read_labels")
  if width == nil then width, height = M.mask_size(path) end
  local img = image(width, height)
  check(C.mv_mask_read_labels(path, width, height, img.data))
  return img
end

-- Probabilities in [0, 1] of a grey PNG (or its alpha channel).
function M.read_soft(path, width, height)
  string_arg(path, "path", "mivos.read_soft")
  if width == nil then width, height = M.mask_size(path) end
  local img = image(width, height, 1, "float")
  check(C.mv_mask_read_soft(path, width, height, img.data))
  return img
end

-- Writers (temporary name + rename; MV_E_IO naming the file on failure).
-- `img` is a mivos image (its size is used) or a pointer plus width, height.
function M.write_labels(path, img, width, height)
  local p, w, h = sized(img, width, height, "mivos.write_labels")
  check(C.mv_mask_write_labels(path, p, w, h))
end

function M.write_binary(path, img, width, height)
  local p, w, h = sized(img, width, height, "mivos.write_binary")
  check(C.mv_mask_write_binary(path, p, w, h))
end

function M.write_soft(path, img, width, height)
  local p, w, h = sized(img, width, height, "mivos.write_soft")
  check(C.mv_mask_write_soft(path, p, w, h))
end

function M.write_matte(path, rgb, alpha, width, height)
  local p, w, h = sized(rgb, width, height, "mivos.write_matte")
  local a = image_pointer(alpha, "float", w * h, "alpha", "mivos.write_matte")
  check(C.mv_mask_write_matte(path, p, a, w, h))
end

function M.write_png(path, rgb, width, height)
  local p, w, h = sized(rgb, width, height, "mivos.write_png")
  check(C.mv_image_write_png(path, p, w, h))
end

-- The DAVIS overlay of labels on an RGB frame, as a new RGB image.
function M.overlay(rgb, labels, into)
  local p, w, h = sized(rgb, nil, nil, "mivos.overlay")
  local l = image_pointer(labels, "uint8_t", w * h, "labels", "mivos.overlay")
  into = into or image(w, h, 3)
  check(C.mv_overlay_draw(p, l, w, h, image_pointer(into, "uint8_t", w * h * 3, "into",
                                                    "mivos.overlay")))
  return into
end

function M.overlay_png(path, rgb, labels)
  local p, w, h = sized(rgb, nil, nil, "mivos.overlay_png")
  local l = image_pointer(labels, "uint8_t", w * h, "labels", "mivos.overlay_png")
  check(C.mv_overlay_write_png(path, p, l, w, h))
end

-- ---- video writer ------------------------------------------------------------

local VideoWriter = {}
VideoWriter.__index = VideoWriter

-- REPL: "video writer: out.mp4, 12 frames, 854x480".
function VideoWriter:__tostring()
  return string.format("video writer: %s, %d frames, %dx%d%s", self.path, self.frames, self.width,
                       self.height, rawget(self, "_ptr") == nil and " (closed)" or "")
end

-- options: codec (default libx264 if present, else mpeg4), quality, gop,
-- max_b_frames (see mv_video_writer_options).
function M.video_writer(path, width, height, fps, options)
  string_arg(path, "path", "mivos.video_writer")
  int_arg(width, "width", "mivos.video_writer")
  int_arg(height, "height", "mivos.video_writer")
  number_arg(fps, "fps", "mivos.video_writer")
  options = options_arg(options, { codec = true, quality = true, gop = true, max_b_frames = true },
                        "mivos.video_writer")
  local o = ffi.new("mv_video_writer_options")
  local codec = options.codec
  o.codec = codec
  o.quality = options.quality or 0
  o.gop = options.gop or 0
  o.max_b_frames = options.max_b_frames or 0
  local out = ffi.new("mv_video_writer*[1]")
  check(C.mv_video_writer_open(path, width, height, fps, o, out))
  return setmetatable({ _ptr = ffi.gc(out[0], C.mv_video_writer_close), path = path,
                        width = width, height = height, frames = 0 }, VideoWriter)
end

function VideoWriter:add(rgb)
  local p = image_pointer(rgb, "uint8_t", self.width * self.height * 3, "rgb", "writer:add")
  check(C.mv_video_writer_add(live(self, "video writer"), p))
  self.frames = self.frames + 1
end

function VideoWriter:codec()
  return ffi.string(C.mv_video_writer_codec(live(self, "video writer")))
end

-- Completes the file (renamed to its final name) and frees the writer.
function VideoWriter:finish()
  check(C.mv_video_writer_finish(live(self, "video writer")))
  self:close()
end

-- Frees the writer; an unfinished file is deleted.
function VideoWriter:close() close_handle(self, C.mv_video_writer_close) end

-- Ground-truth masks of a sequence as one volume (frame_count x height x
-- width bytes): the PNGs of `dir` in name order (e.g. DAVIS 00000.png ...),
-- exactly frame_count of them, read as labels (0/255 masks -> 0/1) and
-- resized nearest-neighbour to width x height.
function M.read_label_volume(dir, frame_count, width, height)
  local fn = "mivos.read_label_volume"
  string_arg(dir, "dir", fn)
  local names, err = sys.list_dir(dir, "%.[pP][nN][gG]$")
  if not names then raise(C.MV_E_IO, fn .. ": " .. err) end
  if #names ~= frame_count then
    raise(C.MV_E_MISMATCH, string.format("%s: '%s' has %d PNG masks, expected %d (one per frame)",
                                         fn, dir, #names, frame_count))
  end
  local plane = width * height
  local volume = ffi.new("uint8_t[?]", frame_count * plane)
  for t = 0, frame_count - 1 do
    check(C.mv_mask_read_labels(sys.join(dir, names[t + 1]), width, height, volume + t * plane))
  end
  return volume
end

return M
