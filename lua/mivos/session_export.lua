-- A session's outputs: masks and overlays written to disk (at the working
-- size or another, e.g. the source size), the label volume and scoring
-- against ground truth. Methods of mivos.session's sessions, added here.
local ffi = require("ffi")
local lib = require("mivos.lib")
local array = require("mivos.array")
local io_ = require("mivos.io")
local metrics = require("mivos.metrics")
local sys = require("mivos.sys")
local mask_dilate = require("mivos.mask_dilate")
local session_module = require("mivos.session")

local C, check, raise, live = lib.C, lib.check, lib.raise, lib.live
local argument_error, string_arg, options_arg = lib.argument_error, lib.string_arg,
  lib.options_arg
local int_arg = lib.int_arg
local image = array.image
local Video = io_.VideoClass
local Session = session_module.SessionClass

-- mkdir -p, failing with E_IO.
local function make_dir(dir, fn)
  local ok, err = sys.mkdir_p(dir)
  if not ok then raise(C.MV_E_IO, fn .. ": " .. err) end
end

-- The output size of save_masks / export_overlay: options.video, a video
-- of the same frames at another size (e.g. the source, opened with
-- short_side = 0), or the session's own video.
local function output_video(self, options, fn)
  local video = options.video
  if video == nil then return self.video, false end
  if getmetatable(video) ~= Video then
    argument_error("%s: video must be a video from mivos.open_video, got %s", fn, type(video))
  end
  if video.frame_count ~= self.frame_count then
    argument_error("%s: video has %d frames, the session %d", fn, video.frame_count,
                   self.frame_count)
  end
  return video, video.width ~= self.width or video.height ~= self.height
end

-- options.first / options.last (default: the whole video), checked.
local function frame_range(self, options, fn)
  local first = options.first ~= nil and int_arg(options.first, "first", fn) or 0
  local last = options.last ~= nil and int_arg(options.last, "last", fn) or self.frame_count - 1
  if first < 0 or last >= self.frame_count or first > last then
    argument_error("%s: frames %d..%d are not within the video's 0..%d", fn, first, last,
                   self.frame_count - 1)
  end
  return first, last
end

-- Writes every frame's labels as DAVIS palette PNGs DIR/00000.png, ...
-- options: soft = true also writes DIR/soft/<object id>/00000.png (grey
-- probabilities), alpha = true DIR/alpha/<object id>/00000.png (RGBA
-- mattes), binary = true DIR/binary/<object id>/00000.png (0/255 per
-- object) grown by dilate = r pixels (a square, default 0), video = the
-- same frames at the size to write (e.g. the source size: probabilities
-- resized before the labels are taken, see mask_resized), first / last =
-- the frames to write (default all; names stay the video's frame
-- numbers), on_progress(done, total). Returns the number of frames
-- written.
function Session:save_masks(dir, options)
  local fn = "session:save_masks"
  string_arg(dir, "dir", fn)
  options = options_arg(options, { soft = true, alpha = true, binary = true, dilate = true,
                                   video = true, first = true, last = true, on_progress = true },
                        fn)
  local video, resize = output_video(self, options, fn)
  local w, h = video.width, video.height
  local first, last = frame_range(self, options, fn)
  local dilate = options.dilate ~= nil and int_arg(options.dilate, "dilate", fn) or 0
  if dilate < 0 then argument_error("%s: dilate must be >= 0, got %d", fn, dilate) end
  make_dir(dir, fn)
  local ids = self:object_ids()
  if options.soft or options.alpha or options.binary then
    for _, k in ipairs(ids) do
      for _, kind in ipairs({ "soft", "alpha", "binary" }) do
        if options[kind] then
          make_dir(sys.join(dir, kind, tostring(k)), fn)
        end
      end
    end
  end
  local labels = image(w, h)
  local prob = (options.soft or options.alpha) and image(w, h, 1, "float")
  local binary, scratch = options.binary and image(w, h), options.binary and image(w, h)
  local name
  local ptr = live(self, "session")
  local total = last - first + 1
  for f = first, last do
    name = string.format("%05d.png", f)
    if resize then self:mask_resized(f, w, h, labels) else self:mask(f, labels) end
    io_.write_labels(sys.join(dir, name), labels)
    if binary then
      for _, k in ipairs(ids) do
        mask_dilate.object_mask(labels, k, dilate, binary, scratch, w, h)
        io_.write_binary(sys.join(dir, "binary", tostring(k), name), binary)
      end
    end
    if prob then
      for _, k in ipairs(ids) do
        check(C.mv_session_probabilities_resized(ptr, f, k, w, h, prob.data))
        if options.soft then io_.write_soft(sys.join(dir, "soft", tostring(k), name), prob) end
        if options.alpha then
          io_.write_matte(sys.join(dir, "alpha", tostring(k), name), video:frame(f), prob)
        end
      end
    end
    if options.on_progress then options.on_progress(f - first + 1, total) end
  end
  return total
end

-- Writes the DAVIS overlay of every frame: a video file (.mp4, .mkv, ...;
-- options codec, quality, fps) or, for a path containing "%", one PNG per
-- frame (printf pattern of the 0-based frame index, e.g. "ov/%05d.png").
-- options.video: the same frames at the size to write (e.g. the source
-- size; labels as mask_resized), first / last (the frames to write,
-- default all), on_progress(done, total). Returns the path.
function Session:export_overlay(path, options)
  local fn = "session:export_overlay"
  string_arg(path, "path", fn)
  options = options_arg(options, { codec = true, quality = true, fps = true, video = true,
                                   first = true, last = true, on_progress = true }, fn)
  local video, resize = output_video(self, options, fn)
  local first, last = frame_range(self, options, fn)
  local w, h = video.width, video.height
  make_dir(sys.dirname(path), fn)
  local labels = image(w, h)
  local out = image(w, h, 3)
  local pattern = path:find("%", 1, true) ~= nil
  local writer
  if not pattern then
    writer = io_.video_writer(path, w, h, options.fps or (video.fps > 0 and video.fps or 25),
                                { codec = options.codec, quality = options.quality })
  end
  for f = first, last do
    if resize then self:mask_resized(f, w, h, labels) else self:mask(f, labels) end
    local rgb = video:frame(f)
    if pattern then
      io_.overlay_png(string.format(path, f), rgb, labels)
    else
      io_.overlay(rgb, labels, out)
      writer:add(out)
    end
    if options.on_progress then options.on_progress(f - first + 1, last - first + 1) end
  end
  if writer then writer:finish() end
  return path
end

-- Every frame's labels as one volume: frame_count x height x width bytes
-- (an FFI array; frame t starts at t * width * height).
function Session:label_volume()
  local plane = self.width * self.height
  local volume = ffi.new("uint8_t[?]", self.frame_count * plane)
  local ptr = live(self, "session")
  for t = 0, self.frame_count - 1 do check(C.mv_session_labels(ptr, t, volume + t * plane)) end
  return volume
end

-- Scores the session's masks against ground-truth PNGs in gt_dir (see
-- mivos.read_label_volume; every frame is scored, the interactive
-- protocol). Returns {j, f, jf, frames, objects = {{j, f, jf, ...}, ...},
-- per_frame = {{j = {...}, f = {...}}, ...} (frame t at index t + 1)}.
function Session:evaluate(gt_dir, options)
  local fn = "session:evaluate"
  string_arg(gt_dir, "gt_dir", fn)
  options = options_arg(options, { objects = true, frames = true }, fn)
  local gt = io_.read_label_volume(gt_dir, self.frame_count, self.width, self.height)
  -- ids 1..the highest id (stable ids may have gaps: a missing id is empty)
  local ids = self:object_ids()
  local objects = options.objects or ids[#ids]
  return metrics.evaluate_sequence(self:label_volume(), gt, self.frame_count, self.width,
                                 self.height, objects, options.frames)
end

return {}
