-- mivos.sys: the few file-system and process calls the Lua layer needs.
-- Folders go through LuaFileSystem (Debian package lua-filesystem, `lfs`),
-- which reads directories with the C library's own struct dirent, so no
-- libc layout is assumed here. Two calls stay on the FFI, with signatures
-- that are the same on every Linux libc (glibc, musl, bionic):
--   int isatty(int);  int clock_gettime(clockid_t, struct timespec *)
-- where struct timespec is {time_t tv_sec; long tv_nsec;} and the symbol
-- clock_gettime takes a time_t as wide as long (64-bit systems: both are
-- 64 bits; 32-bit ones keep the 32-bit symbol and name the 64-bit-time
-- variant __clock_gettime64), and CLOCK_MONOTONIC is 1 in the kernel ABI.
--
--   sys.isatty(fd)            -> boolean
--   sys.now()                 -> seconds (monotonic clock, sub-millisecond)
--   sys.mkdir_p(path)         -> true | nil, message   (like mkdir -p)
--   sys.is_dir(path), sys.exists(path) -> boolean
--   sys.list_dir(path [, pattern]) -> sorted names (no "." / ".."), or nil, message;
--                                    pattern: a Lua pattern the names must match
--   sys.dirname(path), sys.basename(path), sys.join(a, b, ...)
local ffi = require("ffi")

local function load_lfs()
  local ok, lfs = pcall(require, "lfs")
  if ok then return lfs end
  -- LuaJIT built elsewhere than Debian may not search Debian's folder
  local arch = ({ x64 = "x86_64", arm64 = "aarch64", x86 = "i386" })[jit.arch] or jit.arch
  package.cpath = package.cpath .. ";/usr/lib/" .. arch .. "-linux-gnu/lua/5.1/?.so"
                  .. ";/usr/lib/lua/5.1/?.so;/usr/local/lib/lua/5.1/?.so"
  ok, lfs = pcall(require, "lfs")
  if ok then return lfs end
  error("mivos: LuaFileSystem is missing (Debian: apt-get install lua-filesystem): "
        .. tostring(lfs), 0)
end

local lfs = load_lfs()

local sys = {}

-- Declared one by one so that another module declaring the same libc
-- function first does not make this one fail.
for _, d in ipairs({
  "int isatty(int fd);",
  "typedef struct mivos_timespec { long tv_sec; long tv_nsec; } mivos_timespec;",
  "int clock_gettime(int clock, mivos_timespec *ts);",
}) do pcall(ffi.cdef, d) end

local C = ffi.C
local CLOCK_MONOTONIC = 1

function sys.isatty(fd)
  return C.isatty(fd) == 1
end

local ts = ffi.new("mivos_timespec")
function sys.now()
  C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- (symbolic links are followed, as stat does)
function sys.is_dir(path)
  return lfs.attributes(path, "mode") == "directory"
end

function sys.exists(path)
  return lfs.attributes(path, "mode") ~= nil
end

function sys.mkdir_p(path)
  if path == "" or sys.is_dir(path) then return true end
  local parent = sys.dirname(path)
  if parent ~= path and parent ~= "." and parent ~= "/" then
    local ok, err = sys.mkdir_p(parent)
    if not ok then return nil, err end
  end
  local ok, err = lfs.mkdir(path)
  if not ok then
    if sys.is_dir(path) then return true end  -- made meanwhile by someone else
    return nil, string.format("cannot create folder '%s': %s", path, tostring(err))
  end
  return true
end

function sys.list_dir(path, pattern)
  local ok, iter, state = pcall(lfs.dir, path)
  if not ok then
    -- lfs says "cannot open PATH: REASON"
    local reason = tostring(iter)
    local at = reason:find(path .. ": ", 1, true)
    if at then reason = reason:sub(at + #path + 2) end
    return nil, string.format("cannot open folder '%s': %s", path, reason)
  end
  local names = {}
  for name in iter, state do
    if name ~= "." and name ~= ".." and (not pattern or name:match(pattern)) then
      names[#names + 1] = name
    end
  end
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
