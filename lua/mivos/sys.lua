-- mivos.sys: the few POSIX calls the Lua layer needs (LuaJIT has no file
-- system library), through the FFI on libc. Linux / glibc.
--
--   sys.isatty(fd)            -> boolean
--   sys.now()                 -> seconds (monotonic clock, sub-millisecond)
--   sys.mkdir_p(path)         -> true | nil, message   (like mkdir -p)
--   sys.is_dir(path), sys.exists(path) -> boolean
--   sys.list_dir(path [, pattern]) -> sorted names (no "." / ".."), or nil, message;
--                                    pattern: a Lua pattern the names must match
--   sys.dirname(path), sys.basename(path), sys.join(a, b, ...)
--   sys.strerror()            -> message of the last errno
local ffi = require("ffi")

local sys = {}

-- Declared one by one so that another module declaring the same libc
-- function first does not make this one fail.
local declarations = {
  "int isatty(int fd);",
  "int mkdir(const char *path, unsigned int mode);",
  "char *strerror(int errnum);",
  "typedef struct mivos_timespec { long tv_sec; long tv_nsec; } mivos_timespec;",
  "int clock_gettime(int clock, mivos_timespec *ts);",
  "typedef struct mivos_dir mivos_dir;",
  "mivos_dir *opendir(const char *name);",
  "int closedir(mivos_dir *dir);",
  -- glibc's struct dirent on 64-bit Linux (same layout as dirent64)
  "typedef struct mivos_dirent { uint64_t d_ino; int64_t d_off; unsigned short d_reclen;"
    .. " unsigned char d_type; char d_name[256]; } mivos_dirent;",
  "mivos_dirent *readdir(mivos_dir *dir);",
  "int access(const char *path, int mode);",
}
for _, d in ipairs(declarations) do pcall(ffi.cdef, d) end

local C = ffi.C
local CLOCK_MONOTONIC = 1
local EEXIST = 17

function sys.strerror()
  return ffi.string(C.strerror(ffi.errno()))
end

function sys.isatty(fd)
  return C.isatty(fd) == 1
end

local ts = ffi.new("mivos_timespec")
function sys.now()
  C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

function sys.is_dir(path)
  local d = C.opendir(path)
  if d == nil then return false end
  C.closedir(d)
  return true
end

function sys.exists(path)
  return C.access(path, 0) == 0
end

function sys.mkdir_p(path)
  if path == "" or sys.is_dir(path) then return true end
  local parent = sys.dirname(path)
  if parent ~= path and parent ~= "." and parent ~= "/" then
    local ok, err = sys.mkdir_p(parent)
    if not ok then return nil, err end
  end
  if C.mkdir(path, tonumber("755", 8)) ~= 0 then
    local errno = ffi.errno()
    if errno == EEXIST and sys.is_dir(path) then return true end
    return nil, string.format("cannot create folder '%s': %s", path,
                              ffi.string(C.strerror(errno)))
  end
  return true
end

function sys.list_dir(path, pattern)
  local d = C.opendir(path)
  if d == nil then
    return nil, string.format("cannot open folder '%s': %s", path, sys.strerror())
  end
  local names = {}
  while true do
    local e = C.readdir(d)
    if e == nil then break end
    local name = ffi.string(e.d_name)
    if name ~= "." and name ~= ".." and (not pattern or name:match(pattern)) then
      names[#names + 1] = name
    end
  end
  C.closedir(d)
  table.sort(names)
  return names
end

function sys.dirname(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

function sys.basename(path)
  return (path:gsub("/+$", ""):match("([^/]*)$"))
end

function sys.join(...)
  local parts = { ... }
  local out = parts[1]
  for i = 2, #parts do
    local p = parts[i]
    if p:sub(1, 1) == "/" then
      out = p
    elseif out == "" or out:sub(-1) == "/" then
      out = out .. p
    else
      out = out .. "/" .. p
    end
  end
  return out
end

return sys
