-- mivos.lib: loading libmivos.so (ffi.load on the declarations of
-- core/mivos.h, lua/mivos/cdef.lua), the error object every failure raises,
-- and the argument checks and handle helpers the other modules share.
--
-- The library is found through, in order: the environment variable
-- MIVOS_LIBRARY (a path), the installed library when these modules are
-- installed (mivos/install_paths.lua, written by `cmake --install`), the
-- build folder next to the sources (<repo>/build/libmivos.so, what the
-- generated launcher sets), the system name "mivos" (libmivos.so on the
-- loader's path).
--
-- Public through the entry module: C, library_path, ffi, Error, is_error,
-- raise, check, and the status numbers OK, E_ARGUMENT, ... E_STATE.
local ffi = require("ffi")
local sys = require("mivos.sys")

local lib = { ffi = ffi }

ffi.cdef(require("mivos.cdef"))

-- ---- loading the library ----------------------------------------------

-- <repo>/lua/mivos/lib.lua -> <repo>
local function source_root()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) ~= "@" then return nil end
  local lua_dir = sys.dirname(sys.dirname(src:sub(2)))
  return lua_dir == "." and ".." or sys.dirname(lua_dir)
end

-- The folder of this file (<lua dir>/mivos), nil when loaded from a string.
local function module_dir()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) ~= "@" then return nil end
  return sys.dirname(src:sub(2))
end

-- An installed copy: the library path from mivos/install_paths.lua, else nil.
local function installed_library()
  local dir = module_dir()
  local chunk = dir and loadfile(sys.join(dir, "install_paths.lua"))
  if not chunk then return nil end
  return sys.join(dir, chunk().library)
end

local function load_library()
  local env = os.getenv("MIVOS_LIBRARY")
  if env and env ~= "" then
    local ok, lib_or_err = pcall(ffi.load, env)
    if ok then return lib_or_err, env end
    error(string.format("mivos: cannot load the library MIVOS_LIBRARY=%s: %s", env,
                        tostring(lib_or_err)), 0)
  end
  local tried = {}
  local installed = installed_library()
  if installed then
    local ok, lib_or_err = pcall(ffi.load, installed)
    if ok then return lib_or_err, installed end
    tried[#tried + 1] = installed .. " (" .. tostring(lib_or_err) .. ")"
  end
  local root = not installed and source_root()
  if root then
    local candidate = sys.join(root, "build/libmivos.so")
    if sys.exists(candidate) then
      local ok, lib_or_err = pcall(ffi.load, candidate)
      if ok then return lib_or_err, candidate end
      tried[#tried + 1] = candidate .. " (" .. tostring(lib_or_err) .. ")"
    else
      tried[#tried + 1] = candidate .. " (missing)"
    end
  end
  local ok, lib_or_err = pcall(ffi.load, "mivos")
  if ok then return lib_or_err, "mivos" end
  tried[#tried + 1] = "libmivos.so on the loader path (" .. tostring(lib_or_err) .. ")"
  error("mivos: cannot find the library libmivos.so; set MIVOS_LIBRARY to its path. Tried: "
        .. table.concat(tried, "; "), 0)
end

local C, library_path = load_library()
lib.C = C
lib.library_path = library_path

-- ---- errors --------------------------------------------------------------

local status_codes = {
  [0] = "OK", "E_ARGUMENT", "E_IO", "E_FORMAT", "E_MEMORY", "E_DEVICE",
  "E_UNSUPPORTED", "E_MISMATCH", "E_STATE",
}
lib.status_codes = status_codes

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.message end
Error.__concat = function(a, b) return tostring(a) .. tostring(b) end
lib.Error = Error

local function new_error(status, message)
  return setmetatable({
    status = status,
    code = status_codes[status] or ("status " .. tostring(status)),
    name = ffi.string(C.mv_status_name(status)),
    message = message,
  }, Error)
end

function lib.is_error(value)
  return getmetatable(value) == Error
end

-- Raises the error of a failed C call (the library's message) or of a Lua
-- argument check.
function lib.raise(status, message, level)
  if message == nil or message == "" then
    message = ffi.string(C.mv_error_message())
    if message == "" then message = ffi.string(C.mv_status_name(status)) end
  end
  error(new_error(status, message), level or 0)
end
local raise = lib.raise

function lib.check(status)
  if status ~= 0 then raise(tonumber(status)) end
end

-- ---- argument checks (wrong Lua arguments raise E_ARGUMENT) ----------------

local function argument_error(fmt, ...)
  raise(C.MV_E_ARGUMENT, string.format(fmt, ...))
end
lib.argument_error = argument_error

function lib.int_arg(value, what, fn)
  if type(value) ~= "number" or value % 1 ~= 0 then
    argument_error("%s: %s must be an integer, got %s", fn, what,
                   type(value) == "number" and tostring(value) or type(value))
  end
  return value
end

function lib.number_arg(value, what, fn)
  if type(value) ~= "number" or value ~= value then
    argument_error("%s: %s must be a number, got %s", fn, what, tostring(value))
  end
  return value
end

local function typed_arg(value, lua_type, what, fn)
  if type(value) ~= lua_type then
    argument_error("%s: %s must be a %s, got %s", fn, what, lua_type, type(value))
  end
  return value
end

function lib.string_arg(value, what, fn)
  return typed_arg(value, "string", what, fn)
end

-- (nil = an empty table)
function lib.table_arg(value, what, fn)
  if value == nil then return {} end
  return typed_arg(value, "table", what, fn)
end

-- Unknown option names are errors (a typo must not be ignored silently).
function lib.check_options(options, allowed, fn)
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

-- An options table (nil = {}) whose keys must all be in `allowed`.
function lib.options_arg(options, allowed, fn)
  options = lib.table_arg(options, "options", fn)
  lib.check_options(options, allowed, fn)
  return options
end

-- ---- owned handles --------------------------------------------------------

-- Every wrapper keeps its C handle in self._ptr (nil once closed).
function lib.live(self, what)
  local ptr = rawget(self, "_ptr")
  if ptr == nil then raise(C.MV_E_STATE, what .. " is closed") end
  return ptr
end

function lib.close_handle(self, free)
  local ptr = rawget(self, "_ptr")
  if ptr ~= nil then
    self._ptr = nil
    ffi.gc(ptr, nil)
    free(ptr)
  end
end

return lib
