-- mivos.array: images and host arrays, the two kinds of FFI data the API
-- hands out (never Lua tables).
--   Image: a row-major FFI array with width, height, channels, ctype
--          ("uint8_t" or "float") and get / set / count / copy / fill.
--   Array: an mv_array (any dtype and shape) owned by the garbage collector
--          or closed with :close(); data, dtype, ndim, shape, numel,
--          write_npy.
-- Public through the entry module: Image, image, image_view, ArrayClass,
-- array, read_npy. For the other modules: array.pointer (an image or
-- pointer argument as a checked pointer), array.sized (an image, or a
-- pointer with its size), array.wrap (an mv_array* owned by Lua).
local ffi = require("ffi")
local lib = require("mivos.lib")

local C = lib.C
local check, live, close_handle = lib.check, lib.live, lib.close_handle
local argument_error, int_arg, table_arg = lib.argument_error, lib.int_arg, lib.table_arg
local string_arg = lib.string_arg

local array = {}

-- ---- images: FFI arrays with their size ---------------------------------

local Image = { _image = true }  -- _image: also set by kinds of image (io's frame views)
Image.__index = Image
array.Image = Image

-- An Image or a kind of image (a table whose metatable derives from Image).
function array.is_image(value)
  local mt = type(value) == "table" and getmetatable(value)
  return mt and mt._image == true or false
end

-- A zero-filled image owned by Lua: channels 1 (default) or 3, ctype
-- "uint8_t" (default) or "float".
function array.image(width, height, channels, ctype)
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
function array.image_view(pointer, width, height, channels, ctype, owner)
  return setmetatable({ data = pointer, width = width, height = height,
                        channels = channels or 1, ctype = ctype or "uint8_t",
                        owner = owner }, Image)
end

-- REPL: "image 854x480x3 uint8_t" (or "image view ..." for memory owned elsewhere).
function Image:__tostring()
  return string.format("image%s %dx%dx%d %s", rawget(self, "owner") and " view" or "",
                       self.width, self.height, self.channels, self.ctype)
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
  local out = array.image(self.width, self.height, self.channels, self.ctype)
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

-- An image argument as its data pointer (checked against ctype and, when
-- given, size); FFI pointers pass as they are, nil stays nil.
function array.pointer(value, ctype, size, what, fn)
  if value == nil then return nil end
  if array.is_image(value) then
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

-- An image, or a raw pointer with its width and height: pointer, width, height.
function array.sized(img, width, height, fn)
  if array.is_image(img) then return img.data, img.width, img.height end
  if width == nil or height == nil then
    argument_error("%s: width and height are needed with a raw pointer", fn)
  end
  return img, width, height
end

-- ---- host arrays --------------------------------------------------------

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
array.ArrayClass = Array

-- REPL: "array float32 [2, 3]" ("array (closed)" once closed).
Array.__tostring = function(self)
  if rawget(self, "_ptr") == nil then return "array (closed)" end
  return string.format("array %s [%s]", self.dtype, table.concat(self.shape, ", "))
end

-- An mv_array* from the library, owned by Lua from now on.
function array.wrap(ptr)
  return setmetatable({ _ptr = ffi.gc(ptr, C.mv_array_free) }, Array)
end

-- A zero-filled array: dtype "float32", "uint8", ... ; shape a list of sizes.
function array.array(dtype, shape)
  local d = dtype_numbers[dtype]
  if d == nil then argument_error("mivos.array: unknown dtype %s", tostring(dtype)) end
  table_arg(shape, "shape", "mivos.array")
  local dims = ffi.new("int64_t[?]", math.max(#shape, 1))
  for i, n in ipairs(shape) do dims[i - 1] = int_arg(n, "shape[" .. i .. "]", "mivos.array") end
  local out = ffi.new("mv_array*[1]")
  check(C.mv_array_new(d, #shape, dims, out))
  return array.wrap(out[0])
end

function array.read_npy(path)
  string_arg(path, "path", "mivos.read_npy")
  local out = ffi.new("mv_array*[1]")
  check(C.mv_npy_read(path, out))
  return array.wrap(out[0])
end

function Array:numel() return tonumber(C.mv_array_numel(live(self, "array"))) end
function Array:write_npy(path) check(C.mv_npy_write(path, live(self, "array"))) end
function Array:handle() return live(self, "array") end
function Array:close() close_handle(self, C.mv_array_free) end

return array
