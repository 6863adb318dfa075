-- mivos: LuaJIT binding of libmivos (MiVOS interactive video object
-- segmentation), through the FFI on the one public header core/mivos.h.
--
-- CONVENTIONS (the same everywhere in this module, the CLI and the README)
--   * Frame indices are 0-BASED, as in the C API and the DAVIS file names:
--     frame 0 is 00000.jpg / 00000.png, the last frame is frame_count - 1.
--   * Object ids are 1..objects; 0 is the background.
--   * Pixel coordinates: x to the right, y down, in the video's WORKING size
--     (video.width x video.height, see open_video's short_side), in pixels.
--   * Images are FFI arrays, row-major without padding: an RGB frame is
--     height x width x 3 bytes, a label map height x width bytes, a
--     probability map height x width floats. Nothing is copied into Lua
--     tables; index them as img.data[(y * width + x) * channels + c].
--   * Every C failure raises a Lua error object (mivos.Error) whose message
--     is the C library's message (it names the call, the argument or file
--     and what was expected); tostring(err) gives that message, err.status
--     the mv_status number, err.code its name ("E_IO", ...). Errors of
--     wrong Lua arguments use the same object with status E_ARGUMENT.
--   * Objects (videos, sessions, arrays, checkpoints, writers) are freed by
--     the garbage collector (ffi.gc), or at once with obj:close(); using a
--     closed object raises E_STATE. Closing twice is fine.
--
-- The library is found through, in order: the environment variable
-- MIVOS_LIBRARY (a path), the build folder next to the sources
-- (<repo>/build/libmivos.so, what the generated launcher sets), the system
-- name "mivos" (libmivos.so on the loader's path).
--
-- Overview (details at each function):
--   mivos.open_video(path [, {short_side, cache_mib, fps}]) -> Video
--   mivos.session(video [, {objects, interaction, propagation, fusion,
--                 weights, device, memory_every, ...}])     -> Session
--   Session: scribble, click, draw, interact_maps, set_labels, load_mask,
--            local_region, mask, probabilities, propagate, undo,
--            reset_frame, reset_object, add_object, delete_object,
--            set_interaction, info, save_masks, export_overlay, evaluate,
--            close
--   mivos.register_backend(name, fn) / unregister_backend(name) / backends()
--   mivos.devices(), select_device(spec), current_device(), self_check()
--   mivos.image(width, height [, channels [, ctype]]), read_labels,
--   read_soft, mask_size, write_labels, write_binary, write_soft,
--   write_matte, write_png, overlay, overlay_png, palette
--   mivos.video_writer(path, width, height, fps [, opts]) -> VideoWriter
--   mivos.array(dtype, shape), read_npy(path), checkpoint(path),
--   checkpoint_hashinit(manifest, salt)
--   mivos.jaccard, boundary_f, boundary_tolerance, evaluate_frame,
--   evaluate_sequence
--   mivos.C (the raw library), mivos.check(status), mivos.Error
local ffi = require("ffi")
local sys = require("mivos.sys")

local mivos = { _VERSION = "0.1.0" }

ffi.cdef(require("mivos.cdef"))

-- ---- loading the library ----------------------------------------------

local function module_dir()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) ~= "@" then return nil end
  return sys.dirname(src:sub(2))
end

local function load_library()
  local env = os.getenv("MIVOS_LIBRARY")
  if env and env ~= "" then
    local ok, lib = pcall(ffi.load, env)
    if ok then return lib, env end
    error(string.format("mivos: cannot load the library MIVOS_LIBRARY=%s: %s", env,
                        tostring(lib)), 0)
  end
  local tried = {}
  local dir = module_dir()
  if dir then
    -- <repo>/lua/mivos.lua -> <repo>/build/libmivos.so
    local root = dir == "." and ".." or sys.dirname(dir)
    local candidate = sys.join(root, "build/libmivos.so")
    if sys.exists(candidate) then
      local ok, lib = pcall(ffi.load, candidate)
      if ok then return lib, candidate end
      tried[#tried + 1] = candidate .. " (" .. tostring(lib) .. ")"
    else
      tried[#tried + 1] = candidate .. " (missing)"
    end
  end
  local ok, lib = pcall(ffi.load, "mivos")
  if ok then return lib, "mivos" end
  tried[#tried + 1] = "libmivos.so on the loader path (" .. tostring(lib) .. ")"
  error("mivos: cannot find the library libmivos.so; set MIVOS_LIBRARY to its path. Tried: "
        .. table.concat(tried, "; "), 0)
end

local C, library_path = load_library()
mivos.C = C
mivos.library_path = library_path
mivos.ffi = ffi

-- ---- errors --------------------------------------------------------------

local status_codes = {
  [0] = "OK", "E_ARGUMENT", "E_IO", "E_FORMAT", "E_MEMORY", "E_DEVICE",
  "E_UNSUPPORTED", "E_MISMATCH", "E_STATE",
}
for number, name in pairs(status_codes) do mivos[name] = number end

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.message end
Error.__concat = function(a, b) return tostring(a) .. tostring(b) end
mivos.Error = Error

local function new_error(status, message)
  return setmetatable({
    status = status,
    code = status_codes[status] or ("status " .. tostring(status)),
    name = ffi.string(C.mv_status_name(status)),
    message = message,
  }, Error)
end

function mivos.is_error(value)
  return getmetatable(value) == Error
end

-- Raises the error of a failed C call (the library's message) or of a Lua
-- argument check.
local function raise(status, message, level)
  if message == nil or message == "" then
    message = ffi.string(C.mv_error_message())
    if message == "" then message = ffi.string(C.mv_status_name(status)) end
  end
  error(new_error(status, message), level or 0)
end
mivos.raise = raise

local function check(status)
  if status ~= 0 then raise(tonumber(status)) end
end
mivos.check = check

local function argument_error(fmt, ...)
  raise(C.MV_E_ARGUMENT, string.format(fmt, ...))
end

local function int_arg(value, what, fn)
  if type(value) ~= "number" or value % 1 ~= 0 then
    argument_error("%s: %s must be an integer, got %s", fn, what,
                   type(value) == "number" and tostring(value) or type(value))
  end
  return value
end

local function number_arg(value, what, fn)
  if type(value) ~= "number" or value ~= value then
    argument_error("%s: %s must be a number, got %s", fn, what, tostring(value))
  end
  return value
end

local function string_arg(value, what, fn)
  if type(value) ~= "string" then
    argument_error("%s: %s must be a string, got %s", fn, what, type(value))
  end
  return value
end

local function table_arg(value, what, fn)
  if value == nil then return {} end
  if type(value) ~= "table" then
    argument_error("%s: %s must be a table, got %s", fn, what, type(value))
  end
  return value
end

-- Unknown option names are errors (a typo must not be ignored silently).
local function check_options(options, allowed, fn)
  for key in pairs(options) do
    if not allowed[key] then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      table.sort(names)
      argument_error("%s: unknown option '%s' (known: %s)", fn, tostring(key),
                     table.concat(names, ", "))
    end
  end
end

-- ---- owned handles --------------------------------------------------------

-- Every wrapper keeps its C handle in self._ptr (nil once closed).
local function live(self, what)
  local ptr = rawget(self, "_ptr")
  if ptr == nil then raise(C.MV_E_STATE, what .. " is closed") end
  return ptr
end

local function close_handle(self, free)
  local ptr = rawget(self, "_ptr")
  if ptr ~= nil then
    self._ptr = nil
    ffi.gc(ptr, nil)
    free(ptr)
  end
end

-- ---- images: FFI arrays with their size ---------------------------------

local Image = {}
Image.__index = Image
mivos.Image = Image

-- A zero-filled image owned by Lua: channels 1 (default) or 3, ctype
-- "uint8_t" (default) or "float".
function mivos.image(width, height, channels, ctype)
  int_arg(width, "width", "mivos.image")
  int_arg(height, "height", "mivos.image")
  channels = channels or 1
  ctype = ctype or "uint8_t"
  if width <= 0 or height <= 0 then
    argument_error("mivos.image: size %dx%d must be positive", width, height)
  end
  if ctype ~= "uint8_t" and ctype ~= "float" then
    argument_error("mivos.image: ctype must be 'uint8_t' or 'float', got %s", tostring(ctype))
  end
  local data = ffi.new(ctype .. "[?]", width * height * channels)
  return setmetatable({ data = data, width = width, height = height, channels = channels,
                        ctype = ctype }, Image)
end

-- Wraps memory owned elsewhere (no copy); `owner` is kept alive with it.
function mivos.image_view(pointer, width, height, channels, ctype, owner)
  return setmetatable({ data = pointer, width = width, height = height,
                        channels = channels or 1, ctype = ctype or "uint8_t",
                        owner = owner }, Image)
end

function Image:size() return self.width * self.height * self.channels end
function Image:bytes() return self:size() * ffi.sizeof(self.ctype) end

function Image:get(x, y, c)
  return self.data[(y * self.width + x) * self.channels + (c or 0)]
end

function Image:set(x, y, value, c)
  self.data[(y * self.width + x) * self.channels + (c or 0)] = value
end

function Image:copy()
  local out = mivos.image(self.width, self.height, self.channels, self.ctype)
  ffi.copy(out.data, self.data, self:bytes())
  return out
end

-- Number of elements equal to `value` (e.g. the area of a label).
function Image:count(value)
  local n, data = 0, self.data
  for i = 0, self:size() - 1 do
    if data[i] == value then n = n + 1 end
  end
  return n
end

function Image:fill(value)
  if self.ctype == "uint8_t" then
    ffi.fill(self.data, self:size(), value)
  else
    for i = 0, self:size() - 1 do self.data[i] = value end
  end
  return self
end

local function image_pointer(value, ctype, size, what, fn)
  if value == nil then return nil end
  if getmetatable(value) == Image then
    if value.ctype ~= ctype then
      argument_error("%s: %s must hold %s, not %s", fn, what, ctype, value.ctype)
    end
    if size and value:size() ~= size then
      argument_error("%s: %s has %d elements, expected %d", fn, what, value:size(), size)
    end
    return value.data
  end
  if type(value) == "cdata" then return value end
  argument_error("%s: %s must be a mivos image or an FFI pointer, got %s", fn, what,
                 type(value))
end

-- ---- devices ---------------------------------------------------------------

local function device_table(d)
  return {
    platform_index = d.platform_index,
    device_index = d.device_index,
    spec = string.format("%d:%d", d.platform_index, d.device_index),
    is_gpu = d.is_gpu ~= 0,
    fp16 = d.fp16 ~= 0,
    compute_units = d.compute_units,
    global_memory = tonumber(d.global_memory),
    max_allocation = tonumber(d.max_allocation),
    platform = ffi.string(d.platform),
    name = ffi.string(d.name),
    vendor = ffi.string(d.vendor),
    driver = ffi.string(d.driver),
    version = ffi.string(d.version),
  }
end

-- All OpenCL devices: a list of tables (spec "P:D", name, vendor, platform,
-- is_gpu, fp16, compute_units, global_memory, max_allocation, driver,
-- version).
function mivos.devices()
  local count = ffi.new("int[1]")
  check(C.mv_device_list(nil, 0, count))
  local n = count[0]
  local list = {}
  if n == 0 then return list end
  local infos = ffi.new("mv_device_info[?]", n)
  check(C.mv_device_list(infos, n, count))
  for i = 0, math.min(n, count[0]) - 1 do list[#list + 1] = device_table(infos[i]) end
  return list
end

-- "P:D", "gpu", "cpu" or a name substring; nil = $MIVOS_DEVICE or default.
function mivos.select_device(spec)
  if spec ~= nil then string_arg(spec, "spec", "mivos.select_device") end
  check(C.mv_device_select(spec))
end

function mivos.current_device()
  local info = ffi.new("mv_device_info")
  check(C.mv_device_current(info))
  return device_table(info)
end

-- Runs every operator against the CPU reference; returns the report.
function mivos.self_check()
  local buffer = ffi.new("char[?]", 65536)
  local status = C.mv_device_self_check(buffer, 65536)
  local report = ffi.string(buffer)
  if status ~= 0 then raise(tonumber(status)) end
  return report
end

-- ---- host arrays and checkpoints -----------------------------------------

local dtype_ctypes = {
  [0] = "float", "uint16_t", "double", "int64_t", "int32_t", "int16_t", "uint8_t", "uint8_t",
}
local dtype_numbers = {
  float32 = 0, float16 = 1, float64 = 2, int64 = 3, int32 = 4, int16 = 5, uint8 = 6, bool = 7,
}

local Array = {}
Array.__index = function(self, key)
  local method = Array[key]
  if method ~= nil then return method end
  local ptr = rawget(self, "_ptr")
  if ptr == nil then return nil end
  if key == "data" then
    return ffi.cast(dtype_ctypes[tonumber(ptr.dtype)] .. "*", ptr.data)
  elseif key == "dtype" then
    return ffi.string(C.mv_dtype_name(ptr.dtype))
  elseif key == "ndim" then
    return ptr.ndim
  elseif key == "shape" then
    local shape = {}
    for i = 0, ptr.ndim - 1 do shape[#shape + 1] = tonumber(ptr.shape[i]) end
    return shape
  end
end
mivos.ArrayClass = Array

local function wrap_array(ptr)
  return setmetatable({ _ptr = ffi.gc(ptr, C.mv_array_free) }, Array)
end

-- A zero-filled array: dtype "float32", "uint8", ... ; shape a list of sizes.
function mivos.array(dtype, shape)
  local d = dtype_numbers[dtype]
  if d == nil then argument_error("mivos.array: unknown dtype %s", tostring(dtype)) end
  table_arg(shape, "shape", "mivos.array")
  local dims = ffi.new("int64_t[?]", math.max(#shape, 1))
  for i, n in ipairs(shape) do dims[i - 1] = int_arg(n, "shape[" .. i .. "]", "mivos.array") end
  local out = ffi.new("mv_array*[1]")
  check(C.mv_array_new(d, #shape, dims, out))
  return wrap_array(out[0])
end

function mivos.read_npy(path)
  string_arg(path, "path", "mivos.read_npy")
  local out = ffi.new("mv_array*[1]")
  check(C.mv_npy_read(path, out))
  return wrap_array(out[0])
end

function Array:numel() return tonumber(C.mv_array_numel(live(self, "array"))) end
function Array:write_npy(path) check(C.mv_npy_write(path, live(self, "array"))) end
function Array:handle() return live(self, "array") end
function Array:close() close_handle(self, C.mv_array_free) end

local Checkpoint = {}
Checkpoint.__index = Checkpoint

local function wrap_checkpoint(ptr)
  return setmetatable({ _ptr = ffi.gc(ptr, C.mv_checkpoint_close) }, Checkpoint)
end

-- A PyTorch state dict (.pth, zip or legacy format).
function mivos.checkpoint(path)
  string_arg(path, "path", "mivos.checkpoint")
  local out = ffi.new("mv_checkpoint*[1]")
  check(C.mv_checkpoint_open(path, out))
  return wrap_checkpoint(out[0])
end

-- A synthetic checkpoint from a manifest (spec/checkpoints/NAME.tsv).
function mivos.checkpoint_hashinit(manifest, salt)
  string_arg(manifest, "manifest", "mivos.checkpoint_hashinit")
  local out = ffi.new("mv_checkpoint*[1]")
  check(C.mv_checkpoint_hashinit(manifest, salt, out))
  return wrap_checkpoint(out[0])
end

function Checkpoint:count() return C.mv_checkpoint_count(live(self, "checkpoint")) end

function Checkpoint:keys()
  local ptr, keys = live(self, "checkpoint"), {}
  for i = 0, C.mv_checkpoint_count(ptr) - 1 do
    keys[#keys + 1] = ffi.string(C.mv_checkpoint_key(ptr, i))
  end
  return keys
end

function Checkpoint:get(key)
  string_arg(key, "key", "checkpoint:get")
  local out = ffi.new("mv_array*[1]")
  check(C.mv_checkpoint_get(live(self, "checkpoint"), key, out))
  return wrap_array(out[0])
end

function Checkpoint:check(manifest)
  check(C.mv_checkpoint_check(live(self, "checkpoint"), manifest))
end

function Checkpoint:close() close_handle(self, C.mv_checkpoint_close) end

-- ---- video input ---------------------------------------------------------

local Video = {}
Video.__index = Video
mivos.VideoClass = Video

-- Opens a video file, a folder of frames or a printf pattern.
-- options: short_side (working size of the shorter side, default 480, 0 =
-- native), cache_mib (decoded-frame cache, default 256), fps (reported for
-- image sequences, default 25).
function mivos.open_video(path, options)
  string_arg(path, "path", "mivos.open_video")
  options = table_arg(options, "options", "mivos.open_video")
  check_options(options, { short_side = true, cache_mib = true, cache_bytes = true, fps = true },
                "mivos.open_video")
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
-- cache (no copy): valid until the next frame / copy_frame / check / close
-- call on this video, or the next call of a session on it (sessions read
-- their frames from the video). Use copy_frame for a frame to keep.
function Video:frame(index)
  int_arg(index, "frame", "video:frame")
  local rgb = ffi.new("const uint8_t*[1]")
  check(C.mv_video_frame(live(self, "video"), index, rgb))
  return mivos.image_view(rgb[0], self.width, self.height, 3, "uint8_t", self)
end

-- Frame `index` copied into `into` (an RGB image of the video's size) or
-- into a new image.
function Video:copy_frame(index, into)
  int_arg(index, "frame", "video:copy_frame")
  into = into or mivos.image(self.width, self.height, 3)
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

function mivos.palette()
  local rgb = ffi.new("uint8_t[768]")
  C.mv_palette_davis(rgb)
  return rgb
end

-- Size of a PNG file: width, height.
function mivos.mask_size(path)
  string_arg(path, "path", "mivos.mask_size")
  local w, h = ffi.new("int[1]"), ffi.new("int[1]")
  check(C.mv_mask_size(path, w, h))
  return w[0], h[0]
end

-- Label ids of a mask PNG (palette, 0/255, grey or RGB), resized nearest-
-- neighbour to width x height (default: the file's size).
function mivos.read_labels(path, width, height)
  string_arg(path, "path", "mivos.read_labels")
  if width == nil then width, height = mivos.mask_size(path) end
  local img = mivos.image(width, height)
  check(C.mv_mask_read_labels(path, width, height, img.data))
  return img
end

-- Probabilities in [0, 1] of a grey PNG (or its alpha channel).
function mivos.read_soft(path, width, height)
  string_arg(path, "path", "mivos.read_soft")
  if width == nil then width, height = mivos.mask_size(path) end
  local img = mivos.image(width, height, 1, "float")
  check(C.mv_mask_read_soft(path, width, height, img.data))
  return img
end

local function sized(img, width, height, fn)
  if getmetatable(img) == Image then return img.data, img.width, img.height end
  if width == nil or height == nil then
    argument_error("%s: width and height are needed with a raw pointer", fn)
  end
  return img, width, height
end

-- Writers (temporary name + rename; MV_E_IO naming the file on failure).
-- `img` is a mivos image (its size is used) or a pointer plus width, height.
function mivos.write_labels(path, img, width, height)
  local p, w, h = sized(img, width, height, "mivos.write_labels")
  check(C.mv_mask_write_labels(path, p, w, h))
end

function mivos.write_binary(path, img, width, height)
  local p, w, h = sized(img, width, height, "mivos.write_binary")
  check(C.mv_mask_write_binary(path, p, w, h))
end

function mivos.write_soft(path, img, width, height)
  local p, w, h = sized(img, width, height, "mivos.write_soft")
  check(C.mv_mask_write_soft(path, p, w, h))
end

function mivos.write_matte(path, rgb, alpha, width, height)
  local p, w, h = sized(rgb, width, height, "mivos.write_matte")
  local a = image_pointer(alpha, "float", w * h, "alpha", "mivos.write_matte")
  check(C.mv_mask_write_matte(path, p, a, w, h))
end

function mivos.write_png(path, rgb, width, height)
  local p, w, h = sized(rgb, width, height, "mivos.write_png")
  check(C.mv_image_write_png(path, p, w, h))
end

-- The DAVIS overlay of labels on an RGB frame, as a new RGB image.
function mivos.overlay(rgb, labels, into)
  local p, w, h = sized(rgb, nil, nil, "mivos.overlay")
  local l = image_pointer(labels, "uint8_t", w * h, "labels", "mivos.overlay")
  into = into or mivos.image(w, h, 3)
  check(C.mv_overlay_draw(p, l, w, h, image_pointer(into, "uint8_t", w * h * 3, "into",
                                                    "mivos.overlay")))
  return into
end

function mivos.overlay_png(path, rgb, labels)
  local p, w, h = sized(rgb, nil, nil, "mivos.overlay_png")
  local l = image_pointer(labels, "uint8_t", w * h, "labels", "mivos.overlay_png")
  check(C.mv_overlay_write_png(path, p, l, w, h))
end

-- ---- video writer ------------------------------------------------------------

local VideoWriter = {}
VideoWriter.__index = VideoWriter

-- options: codec (default libx264 if present, else mpeg4), quality, gop,
-- max_b_frames (see mv_video_writer_options).
function mivos.video_writer(path, width, height, fps, options)
  string_arg(path, "path", "mivos.video_writer")
  int_arg(width, "width", "mivos.video_writer")
  int_arg(height, "height", "mivos.video_writer")
  number_arg(fps, "fps", "mivos.video_writer")
  options = table_arg(options, "options", "mivos.video_writer")
  check_options(options, { codec = true, quality = true, gop = true, max_b_frames = true },
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

-- ---- user interaction backends ------------------------------------------------

-- One C callback serves every Lua backend: the `user` pointer carries the
-- backend's id, so registering and unregistering never runs out of FFI
-- callback slots and a stale id can never call freed code.
local lua_backends = {}      -- id -> {name, fn}
local backend_ids = {}       -- name -> id
local next_backend_id = 0

local BUILTIN_BACKENDS = { "graphcut", "s2m", "freehand" }

local function run_backend(user, rgb, width, height, previous, positive, negative, out)
  local id = tonumber(ffi.cast("intptr_t", user))
  local backend = lua_backends[id]
  if backend == nil then
    C.mv_backend_set_error("the Lua interaction backend was unregistered")
    return C.MV_E_STATE
  end
  local ok, result = pcall(backend.fn, rgb, width, height,
                           previous ~= nil and previous or nil,
                           positive ~= nil and positive or nil,
                           negative ~= nil and negative or nil, out)
  if not ok then
    C.mv_backend_set_error("Lua error: " .. tostring(result))
    return C.MV_E_STATE
  end
  if result ~= nil and result ~= out then
    local pointer = result
    if getmetatable(result) == Image then
      if result.ctype ~= "float" or result:size() ~= width * height then
        C.mv_backend_set_error(string.format(
          "the Lua function returned a %s image of %d elements, expected %d floats",
          result.ctype, result:size(), width * height))
        return C.MV_E_STATE
      end
      pointer = result.data
    elseif type(result) ~= "cdata" then
      C.mv_backend_set_error(string.format(
        "the Lua function returned a %s; return nothing (after writing out),"
        .. " a float FFI array or a float mivos image", type(result)))
      return C.MV_E_STATE
    end
    ffi.copy(out, pointer, width * height * ffi.sizeof("float"))
  end
  return C.MV_OK
end

local backend_callback = ffi.cast("mv_backend_fn", run_backend)

-- Registers a Lua function as an interaction backend `name`, usable like the
-- built-in ones (session option interaction=name, set_interaction, local
-- control). The function is called as
--   fn(rgb, width, height, previous, positive, negative, out)
-- with FFI pointers: rgb height x width x 3 bytes; previous the object's
-- previous probabilities (height x width floats, or nil when empty);
-- positive / negative the scribble maps (height x width bytes, nonzero =
-- marked, or nil when empty); out height x width floats to fill with the
-- object's probabilities in [0, 1]. It returns nothing (having written out),
-- or a probability map (float FFI array or float mivos image of width x
-- height) that is copied to out. A Lua error in it makes the interaction
-- call fail with E_STATE and a message carrying the Lua error (and naming
-- the call, frame, object and backend). Registering
-- a name again replaces the function.
function mivos.register_backend(name, fn)
  string_arg(name, "name", "mivos.register_backend")
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn)
                                     and getmetatable(fn).__call) then
    argument_error("mivos.register_backend: fn must be a function, got %s", type(fn))
  end
  local id = backend_ids[name]
  if id then
    lua_backends[id].fn = fn
    return
  end
  next_backend_id = next_backend_id + 1
  id = next_backend_id
  lua_backends[id] = { name = name, fn = fn }
  local status = C.mv_backend_register(name, backend_callback, ffi.cast("void*", id))
  if status ~= 0 then
    lua_backends[id] = nil
    raise(tonumber(status))
  end
  backend_ids[name] = id
end
jit.off(mivos.register_backend)

function mivos.unregister_backend(name)
  string_arg(name, "name", "mivos.unregister_backend")
  check(C.mv_backend_unregister(name))
  local id = backend_ids[name]
  if id then
    backend_ids[name] = nil
    lua_backends[id] = nil
  end
end

-- Names usable as `interaction`: the built-in ones, then the Lua ones.
function mivos.backends()
  local names = {}
  for _, n in ipairs(BUILTIN_BACKENDS) do names[#names + 1] = n end
  local lua_names = {}
  for n in pairs(backend_ids) do lua_names[#lua_names + 1] = n end
  table.sort(lua_names)
  for _, n in ipairs(lua_names) do names[#names + 1] = n end
  return names
end

-- ---- progress callbacks ---------------------------------------------------------

local progress_handlers = {}  -- id -> {fn, error}
local next_progress_id = 0

local progress_callback = ffi.cast("mv_progress_fn", function(user, done, total)
  local handler = progress_handlers[tonumber(ffi.cast("intptr_t", user))]
  if handler == nil then return 0 end
  local ok, stop = pcall(handler.fn, done, total)
  if not ok then
    handler.error = stop
    return 1
  end
  if stop then
    handler.stopped = true
    return 1
  end
  return 0
end)

-- ---- interactive sessions ---------------------------------------------------------

local Session = {}
Session.__index = Session
mivos.SessionClass = Session

-- Calls a session function that may call back into Lua (a Lua backend or
-- a progress function): never from a JIT-compiled trace (LuaJIT forbids
-- callbacks from compiled FFI calls), hence jit.off.
local function session_call(status_fn, ...)
  local status = status_fn(...)
  if status ~= 0 then raise(tonumber(status)) end
end
jit.off(session_call)

local SESSION_OPTIONS = {
  objects = true, interaction = true, propagation = true, fusion = true, weights = true,
  device = true, memory_every = true, device_memory_limit = true, host_memory_limit = true,
}

-- A session on a video (which it keeps alive). options:
--   objects      number of objects (default 1)
--   interaction  "graphcut" | "s2m" | "freehand" | a registered backend
--   propagation  "labelprop" | "network"
--   fusion       "linear" | "network" | "none"
--   weights      folder with the official propagation_model.pth, fusion.pth,
--                s2m.pth (then the defaults become s2m + network + network)
--   device       OpenCL device spec for this process ("P:D", "gpu", "cpu",
--                a name substring), selected before the session opens
--   memory_every, device_memory_limit, host_memory_limit (bytes)
function mivos.session(video, options)
  if getmetatable(video) ~= Video then
    argument_error("mivos.session: video must be a video from mivos.open_video, got %s",
                   type(video))
  end
  local vptr = live(video, "video")
  options = table_arg(options, "options", "mivos.session")
  check_options(options, SESSION_OPTIONS, "mivos.session")
  if options.device ~= nil then
    mivos.select_device(string_arg(options.device, "device", "mivos.session"))
  end
  local o = ffi.new("mv_session_options")
  C.mv_session_options_default(o)
  if options.objects ~= nil then o.objects = int_arg(options.objects, "objects", "mivos.session") end
  -- the strings stay referenced by `options` during the call
  for _, key in ipairs({ "interaction", "propagation", "fusion", "weights" }) do
    if options[key] ~= nil then o[key] = string_arg(options[key], key, "mivos.session") end
  end
  if options.memory_every ~= nil then
    o.memory_every = int_arg(options.memory_every, "memory_every", "mivos.session")
  end
  if options.device_memory_limit ~= nil then o.device_memory_limit = options.device_memory_limit end
  if options.host_memory_limit ~= nil then o.host_memory_limit = options.host_memory_limit end
  local out = ffi.new("mv_session*[1]")
  check(C.mv_session_open(vptr, o, out))
  -- The finalizer references the video handle, so the video cannot be
  -- collected before the session is closed.
  local ptr = ffi.gc(out[0], function(p)
    C.mv_session_close(p)
    return vptr
  end)
  local self = setmetatable({ _ptr = ptr, video = video }, Session)
  video._sessions[self] = true
  local info = self:info()
  self.frame_count, self.width, self.height = info.frame_count, info.width, info.height
  return self
end

function Session:info()
  local info = ffi.new("mv_session_info")
  check(C.mv_session_get_info(live(self, "session"), info))
  return {
    frame_count = info.frame_count, width = info.width, height = info.height,
    objects = info.objects, interacted_frames = info.interacted_frames,
    interaction = ffi.string(info.interaction), propagation = ffi.string(info.propagation),
    fusion = ffi.string(info.fusion),
  }
end

function Session:objects() return self:info().objects end

function Session:set_interaction(name)
  string_arg(name, "name", "session:set_interaction")
  check(C.mv_session_set_interaction(live(self, "session"), name))
end

-- Boxes for local control: {x0, y0, x1, y1 [, margin = m]} or
-- {x0 = , y0 = , x1 = , y1 = , margin = }; inclusive pixel coordinates.
-- Referencing a value after a C call keeps it alive during the call.
local function keep_alive(...) return ... end

local function make_region(box, fn)
  if box == nil then return nil end
  if type(box) == "cdata" then return box end
  table_arg(box, "region", fn)
  local r = ffi.new("mv_region")
  r.x0 = int_arg(box.x0 or box[1], "region x0", fn)
  r.y0 = int_arg(box.y0 or box[2], "region y0", fn)
  r.x1 = int_arg(box.x1 or box[3], "region x1", fn)
  r.y1 = int_arg(box.y1 or box[4], "region y1", fn)
  r.margin = int_arg(box.margin or box[5] or 0, "region margin", fn)
  return r
end
mivos.region = make_region

-- Points of a polyline / polygon: a flat list {x1, y1, x2, y2, ...}, a list
-- of pairs {{x1, y1}, {x2, y2}, ...} or of {x = , y = } tables.
local function make_points(points, what, fn)
  if type(points) ~= "table" then
    argument_error("%s: %s must be a list of points, got %s", fn, what, type(points))
  end
  local flat = {}
  if type(points[1]) == "number" then
    if #points % 2 ~= 0 then
      argument_error("%s: %s has an odd number of coordinates (%d)", fn, what, #points)
    end
    flat = points
  else
    for i, p in ipairs(points) do
      if type(p) ~= "table" then
        argument_error("%s: %s point %d must be {x, y}, got %s", fn, what, i, type(p))
      end
      flat[#flat + 1] = p.x or p[1]
      flat[#flat + 1] = p.y or p[2]
    end
  end
  local n = #flat / 2
  if n < 1 then argument_error("%s: %s has no points", fn, what) end
  local xy = ffi.new("float[?]", #flat)
  for i = 1, #flat do xy[i - 1] = number_arg(flat[i], what .. " coordinate", fn) end
  return xy, n
end
mivos.points = make_points

-- Strokes of a scribble: spec.pos / spec.neg are lists of polylines (one
-- flat list of numbers is taken as a single polyline), spec.thickness in
-- pixels (default 3); or spec.strokes = {{points = polyline, positive =
-- true|false, thickness = t}, ...}. Returns the mv_stroke array, its count
-- and the anchors that keep the coordinate arrays alive.
local function make_strokes(spec, fn)
  local list, anchors = {}, {}
  local function add(line, positive, thickness, what)
    local xy, n = make_points(line, what, fn)
    anchors[#anchors + 1] = xy
    list[#list + 1] = { xy = xy, count = n, positive = positive and 1 or 0,
                        thickness = thickness or spec.thickness or 0 }
  end
  for _, sign in ipairs({ "pos", "neg" }) do
    local lines = spec[sign]
    if lines ~= nil then
      table_arg(lines, sign, fn)
      if type(lines[1]) == "number" then lines = { lines } end
      for i, line in ipairs(lines) do
        add(line, sign == "pos", nil, string.format("%s stroke %d", sign, i))
      end
    end
  end
  if spec.strokes ~= nil then
    for i, s in ipairs(table_arg(spec.strokes, "strokes", fn)) do
      if type(s) ~= "table" or s.points == nil then
        argument_error("%s: stroke %d must be {points = ..., positive = true|false}", fn, i)
      end
      add(s.points, s.positive ~= false, s.thickness, string.format("stroke %d", i))
    end
  end
  local strokes = ffi.new("mv_stroke[?]", math.max(#list, 1))
  for i, s in ipairs(list) do
    local st = strokes[i - 1]
    st.xy, st.count, st.positive, st.thickness = s.xy, s.count, s.positive, s.thickness
  end
  return strokes, #list, anchors
end

-- Scribbles on a frame for one object:
--   s:scribble(frame, obj, {pos = {polyline, ...}, neg = {polyline, ...},
--                          thickness = 3, region = box})
-- (or {strokes = {...}}, see make_strokes above); polylines as in draw.
function Session:scribble(frame, object, spec)
  local fn = "session:scribble"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  spec = table_arg(spec, "strokes", fn)
  check_options(spec, { pos = true, neg = true, thickness = true, region = true, strokes = true },
                fn)
  local strokes, count, anchors = make_strokes(spec, fn)
  if count == 0 then argument_error("%s: no pos or neg strokes given", fn) end
  local region = make_region(spec.region, fn)
  session_call(C.mv_session_scribble, live(self, "session"), frame, object, strokes, count,
               region)
  keep_alive(anchors)
end
jit.off(Session.scribble)

-- A click at (x, y): positive (default true) or negative; region optional.
function Session:click(frame, object, x, y, positive, region)
  local fn = "session:click"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  number_arg(x, "x", fn)
  number_arg(y, "y", fn)
  session_call(C.mv_session_click, live(self, "session"), frame, object, x, y,
               positive == false and 0 or 1, make_region(region, fn))
end
jit.off(Session.click)

-- Free-hand drawing: a polygon filled into the object (erase = true removes
-- it from the object); with brush_radius > 0 a brush stroke along the points.
function Session:draw(frame, object, points, erase, brush_radius)
  local fn = "session:draw"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  local xy, n = make_points(points, "polygon", fn)
  session_call(C.mv_session_draw, live(self, "session"), frame, object, xy, n,
               brush_radius or 0, erase and 1 or 0)
end
jit.off(Session.draw)

-- Any backend input as maps (height x width bytes, nonzero = set; images or
-- pointers, either may be nil).
function Session:interact_maps(frame, object, positive, negative, region)
  local fn = "session:interact_maps"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  local size = self.width * self.height
  session_call(C.mv_session_interact_maps, live(self, "session"), frame, object,
               image_pointer(positive, "uint8_t", size, "positive", fn),
               image_pointer(negative, "uint8_t", size, "negative", fn),
               make_region(region, fn))
end
jit.off(Session.interact_maps)

-- Replaces the frame's label map (an image or pointer of height x width ids).
function Session:set_labels(frame, labels)
  local fn = "session:set_labels"
  int_arg(frame, "frame", fn)
  check(C.mv_session_set_labels(live(self, "session"), frame,
                                image_pointer(labels, "uint8_t", self.width * self.height,
                                              "labels", fn)))
end

-- Reads a mask PNG (palette, 0/255, grey ids) as the frame's label map,
-- resized nearest-neighbour to the working size.
function Session:load_mask(frame, path)
  local labels = mivos.read_labels(path, self.width, self.height)
  self:set_labels(frame, labels)
  return labels
end

-- Local control: runs fn(r) where r has the interaction methods without the
-- frame argument and restricted to the box:
--   r:scribble(obj, spec), r:click(obj, x, y, positive),
--   r:interact_maps(obj, pos, neg)
-- box: {x0, y0, x1, y1, margin = m}. Returns what fn returns.
function Session:local_region(frame, box, fn)
  int_arg(frame, "frame", "session:local_region")
  local region = make_region(box, "session:local_region")
  local session = self
  local r = {
    frame = frame, box = box, region = region,
    scribble = function(_, object, spec)
      spec = table_arg(spec, "strokes", "region:scribble")
      local copy = {}
      for k, v in pairs(spec) do copy[k] = v end
      copy.region = region
      return session:scribble(frame, object, copy)
    end,
    click = function(_, object, x, y, positive)
      return session:click(frame, object, x, y, positive, region)
    end,
    interact_maps = function(_, object, positive, negative)
      return session:interact_maps(frame, object, positive, negative, region)
    end,
  }
  if fn == nil then return r end
  if type(fn) ~= "function" then
    argument_error("session:local_region: fn must be a function, got %s", type(fn))
  end
  return fn(r)
end

-- The frame's label map (0..objects), into `into` or a new image.
function Session:mask(frame, into)
  local fn = "session:mask"
  int_arg(frame, "frame", fn)
  into = into or mivos.image(self.width, self.height)
  check(C.mv_session_labels(live(self, "session"), frame,
                            image_pointer(into, "uint8_t", self.width * self.height, "into", fn)))
  return into
end

-- One object's probabilities (0 = background) as a float image.
function Session:probabilities(frame, object, into)
  local fn = "session:probabilities"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  into = into or mivos.image(self.width, self.height, 1, "float")
  check(C.mv_session_probabilities(live(self, "session"), frame, object,
                                   image_pointer(into, "float", self.width * self.height,
                                                 "into", fn)))
  return into
end

-- Propagates the frame's mask both ways. options.on_progress(done, total)
-- is called after every frame; returning true stops the propagation after
-- the current frame (the frames done keep their result). A Lua error in it
-- stops the propagation and is raised again here. Returns true when the
-- propagation ran to the end, false when on_progress stopped it.
function Session:propagate(frame, options)
  local fn = "session:propagate"
  int_arg(frame, "frame", fn)
  options = table_arg(options, "options", fn)
  check_options(options, { on_progress = true }, fn)
  local ptr = live(self, "session")
  local on_progress = options.on_progress
  if on_progress == nil then
    session_call(C.mv_session_propagate, ptr, frame, nil, nil)
    return true
  end
  next_progress_id = next_progress_id + 1
  local id = next_progress_id
  local handler = { fn = on_progress }
  progress_handlers[id] = handler
  local ok, err = pcall(session_call, C.mv_session_propagate, ptr, frame, progress_callback,
                        ffi.cast("void*", id))
  progress_handlers[id] = nil
  if handler.error ~= nil then error(handler.error, 0) end
  if not ok then error(err, 0) end
  return not handler.stopped
end
jit.off(Session.propagate)

function Session:undo(frame)
  int_arg(frame, "frame", "session:undo")
  check(C.mv_session_undo(live(self, "session"), frame))
end

function Session:reset_frame(frame)
  int_arg(frame, "frame", "session:reset_frame")
  check(C.mv_session_reset_frame(live(self, "session"), frame))
end

function Session:reset_object(object)
  int_arg(object, "object", "session:reset_object")
  check(C.mv_session_reset_object(live(self, "session"), object))
end

-- Adds an object; returns its id.
function Session:add_object()
  local id = ffi.new("int[1]")
  check(C.mv_session_add_object(live(self, "session"), id))
  return id[0]
end

function Session:delete_object(object)
  int_arg(object, "object", "session:delete_object")
  check(C.mv_session_delete_object(live(self, "session"), object))
end

-- Writes every frame's labels as DAVIS palette PNGs DIR/00000.png, ...
-- options: soft = true also writes DIR/soft/<object>/00000.png (grey
-- probabilities), alpha = true DIR/alpha/<object>/00000.png (RGBA mattes),
-- on_progress(done, total). Returns the number of frames written.
function Session:save_masks(dir, options)
  local fn = "session:save_masks"
  string_arg(dir, "dir", fn)
  options = table_arg(options, "options", fn)
  check_options(options, { soft = true, alpha = true, on_progress = true }, fn)
  local ok, err = sys.mkdir_p(dir)
  if not ok then raise(C.MV_E_IO, fn .. ": " .. err) end
  local objects = self:info().objects
  if options.soft or options.alpha then
    for k = 1, objects do
      for _, kind in ipairs({ "soft", "alpha" }) do
        if options[kind] then
          local sub = sys.join(dir, kind, tostring(k))
          ok, err = sys.mkdir_p(sub)
          if not ok then raise(C.MV_E_IO, fn .. ": " .. err) end
        end
      end
    end
  end
  local labels = mivos.image(self.width, self.height)
  local prob = (options.soft or options.alpha) and mivos.image(self.width, self.height, 1, "float")
  local name
  for f = 0, self.frame_count - 1 do
    name = string.format("%05d.png", f)
    self:mask(f, labels)
    mivos.write_labels(sys.join(dir, name), labels)
    if prob then
      local rgb = options.alpha and self.video:frame(f)
      for k = 1, objects do
        self:probabilities(f, k, prob)
        if options.soft then mivos.write_soft(sys.join(dir, "soft", tostring(k), name), prob) end
        if options.alpha then
          mivos.write_matte(sys.join(dir, "alpha", tostring(k), name), rgb, prob)
        end
      end
    end
    if options.on_progress then options.on_progress(f + 1, self.frame_count) end
  end
  return self.frame_count
end

-- Writes the DAVIS overlay of every frame: a video file (.mp4, .mkv, ...;
-- options codec, quality, fps) or, for a path containing "%", one PNG per
-- frame (printf pattern of the 0-based frame index, e.g. "ov/%05d.png").
-- options.on_progress(done, total). Returns the path.
function Session:export_overlay(path, options)
  local fn = "session:export_overlay"
  string_arg(path, "path", fn)
  options = table_arg(options, "options", fn)
  check_options(options, { codec = true, quality = true, fps = true, on_progress = true }, fn)
  local dir = sys.dirname(path)
  local ok, err = sys.mkdir_p(dir)
  if not ok then raise(C.MV_E_IO, fn .. ": " .. err) end
  local labels = mivos.image(self.width, self.height)
  local out = mivos.image(self.width, self.height, 3)
  local pattern = path:find("%", 1, true) ~= nil
  local writer
  if not pattern then
    writer = mivos.video_writer(path, self.width, self.height,
                                options.fps or (self.video.fps > 0 and self.video.fps or 25),
                                { codec = options.codec, quality = options.quality })
  end
  for f = 0, self.frame_count - 1 do
    self:mask(f, labels)
    local rgb = self.video:frame(f)
    if pattern then
      mivos.overlay_png(string.format(path, f), rgb, labels)
    else
      mivos.overlay(rgb, labels, out)
      writer:add(out)
    end
    if options.on_progress then options.on_progress(f + 1, self.frame_count) end
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
  options = table_arg(options, "options", fn)
  check_options(options, { objects = true, frames = true }, fn)
  local gt = mivos.read_label_volume(gt_dir, self.frame_count, self.width, self.height)
  local objects = options.objects or self:info().objects
  return mivos.evaluate_sequence(self:label_volume(), gt, self.frame_count, self.width,
                                 self.height, objects, options.frames)
end

-- Closes the session (also done by the garbage collector).
function Session:close()
  local video = rawget(self, "video")
  if video and video._sessions then video._sessions[self] = nil end
  close_handle(self, C.mv_session_close)
end

function Session:handle() return live(self, "session") end

-- Ground-truth masks of a sequence as one volume (frame_count x height x
-- width bytes): the PNGs of `dir` in name order (e.g. DAVIS 00000.png ...),
-- exactly frame_count of them, read as labels (0/255 masks -> 0/1) and
-- resized nearest-neighbour to width x height.
function mivos.read_label_volume(dir, frame_count, width, height)
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

-- ---- evaluation ---------------------------------------------------------------------

function mivos.boundary_tolerance(width, height)
  return C.mv_boundary_tolerance(width, height)
end

-- pred, gt: binary masks (images or pointers) of width x height.
function mivos.jaccard(pred, gt, width, height)
  local p, w, h = sized(pred, width, height, "mivos.jaccard")
  local g = image_pointer(gt, "uint8_t", w * h, "gt", "mivos.jaccard")
  local j = ffi.new("double[1]")
  check(C.mv_jaccard(p, g, w, h, j))
  return j[0]
end

function mivos.boundary_f(pred, gt, width, height)
  local p, w, h = sized(pred, width, height, "mivos.boundary_f")
  local g = image_pointer(gt, "uint8_t", w * h, "gt", "mivos.boundary_f")
  local f = ffi.new("double[1]")
  check(C.mv_boundary_f(p, g, w, h, f))
  return f[0]
end

-- Per-object J and F of one frame's label maps: two lists (object k at k).
function mivos.evaluate_frame(pred, gt, objects, width, height)
  local p, w, h = sized(pred, width, height, "mivos.evaluate_frame")
  local g = image_pointer(gt, "uint8_t", w * h, "gt", "mivos.evaluate_frame")
  int_arg(objects, "objects", "mivos.evaluate_frame")
  local j, f = ffi.new("double[?]", math.max(objects, 1)), ffi.new("double[?]", math.max(objects, 1))
  check(C.mv_evaluate_frame(p, g, w, h, objects, j, f))
  local jl, fl = {}, {}
  for k = 1, objects do jl[k], fl[k] = j[k - 1], f[k - 1] end
  return jl, fl
end

-- Label volumes (frame_count x height x width pointers) -> the summary
-- described at Session:evaluate. frames: "all" (default) or
-- "semi-supervised" (1..T-2).
function mivos.evaluate_sequence(pred, gt, frame_count, width, height, objects, frames)
  local n = frame_count * objects
  local j, f = ffi.new("double[?]", n), ffi.new("double[?]", n)
  check(C.mv_evaluate_sequence(pred, gt, frame_count, width, height, objects, j, f))
  local scores = ffi.new("mv_object_score[?]", objects)
  local which = frames == "semi-supervised" and C.MV_EVAL_SEMI_SUPERVISED or C.MV_EVAL_ALL_FRAMES
  check(C.mv_evaluate_objects(j, f, frame_count, objects, which, scores))
  local dj, df, djf = ffi.new("double[1]"), ffi.new("double[1]"), ffi.new("double[1]")
  check(C.mv_evaluate_dataset(scores, objects, dj, df, djf))
  local result = { j = dj[0], f = df[0], jf = djf[0], frames = frame_count, objects = {},
                   per_frame = {} }
  for k = 1, objects do
    local s = scores[k - 1]
    result.objects[k] = { j = s.j.mean, f = s.f.mean, jf = s.jf, j_recall = s.j.recall,
                          f_recall = s.f.recall, j_decay = s.j.decay, f_decay = s.f.decay }
  end
  for t = 0, frame_count - 1 do
    local fj, ff = {}, {}
    for k = 1, objects do
      fj[k], ff[k] = j[t * objects + k - 1], f[t * objects + k - 1]
    end
    result.per_frame[t + 1] = { j = fj, f = ff }
  end
  return result
end

-- The DAVIS interactive robot on label volumes (frame_count x height x
-- width pointers; gt 255 = void). frame: 0-based, or -1 for the frame with
-- the lowest mean J. options: kernel_size, max_kernel_radius, min_nb_nodes,
-- nb_points. Returns {frame = f, strokes = {{object = id (0 = background,
-- a negative stroke), points = {{x, y}, ...}}, ...}} with points in PIXELS
-- of the working size (the robot's normalised x * width, y * height).
function mivos.robot_interact(gt, pred, frame_count, width, height, objects, frame, options)
  options = table_arg(options, "options", "mivos.robot_interact")
  local o = ffi.new("mv_robot_options")
  C.mv_robot_options_default(o)
  for _, key in ipairs({ "kernel_size", "max_kernel_radius", "min_nb_nodes", "nb_points" }) do
    if options[key] ~= nil then o[key] = options[key] end
  end
  local out = ffi.new("mv_robot_scribble*[1]")
  check(C.mv_robot_interact(gt, pred, frame_count, width, height, objects, frame, o, out))
  local scribble = ffi.gc(out[0], C.mv_robot_scribble_free)
  local result = { frame = scribble.frame, strokes = {} }
  for i = 0, scribble.stroke_count - 1 do
    local s = scribble.strokes[i]
    local points = {}
    for p = 0, s.point_count - 1 do
      points[p + 1] = { s.points[2 * p] * width, s.points[2 * p + 1] * height }
    end
    result.strokes[i + 1] = { object = s.object_id, points = points }
  end
  C.mv_robot_scribble_free(ffi.gc(scribble, nil))
  return result
end

-- The robot's next frame (worst-frame rule) from per-frame J and F lists
-- as Session:evaluate returns them (result.per_frame); used: a Lua set of
-- frames already used ({[f] = true}, updated); metric "jf" (default), "j"
-- or "f"; candidates: a list of the frames allowed (nil = all). Returns the
-- 0-based frame.
function mivos.robot_next_frame(per_frame, objects, used, metric, candidates)
  local T = #per_frame
  local j, f = ffi.new("double[?]", T * objects), ffi.new("double[?]", T * objects)
  for t = 1, T do
    for k = 1, objects do
      j[(t - 1) * objects + k - 1] = per_frame[t].j[k]
      f[(t - 1) * objects + k - 1] = per_frame[t].f[k]
    end
  end
  local flags = ffi.new("uint8_t[?]", T)
  for frame in pairs(used or {}) do
    if frame >= 0 and frame < T then flags[frame] = 1 end
  end
  local m = ({ jf = C.MV_EVAL_METRIC_JF, j = C.MV_EVAL_METRIC_J, f = C.MV_EVAL_METRIC_F })[
    metric or "jf"]
  local out = ffi.new("int[1]")
  local list, count = nil, 0
  if candidates then
    count = #candidates
    list = ffi.new("int[?]", math.max(count, 1))
    for i, c in ipairs(candidates) do list[i - 1] = c end
  end
  check(C.mv_robot_next_frame(j, f, T, objects, m, list, count, flags, out))
  if used then used[out[0]] = true end
  return out[0]
end

return mivos
