-- Minimal test harness for the Lua tests (run by ctest under luajit).
--   local t = require("testlib")
--   t.case("name", function() t.check(cond, "what") ... end)
--   t.finish()   -- prints "N passed, N failed" and exits 0 / 1
-- Every check counts; a case that raises counts as one failure.
-- t.source / t.build / t.shared: the repository, build and shared folders
-- (from MIVOS_SOURCE_DIR, MIVOS_BUILD_DIR, MIVOS_SHARED or guessed).
local t = { passed = 0, failed = 0 }

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return (os.getenv("PWD") or ".") .. "/" .. path
end

local function here()
  local src = debug.getinfo(1, "S").source:sub(2)
  return absolute(src:match("^(.*)/[^/]*$") or ".")
end

t.dir = here()
t.source = os.getenv("MIVOS_SOURCE_DIR") or (t.dir .. "/../..")
t.build = os.getenv("MIVOS_BUILD_DIR") or (t.source .. "/build")
t.shared = absolute(os.getenv("MIVOS_SHARED") or (t.source .. "/../shared"))
t.luajit = os.getenv("MIVOS_LUAJIT") or "luajit"
package.path = t.dir .. "/?.lua;" .. t.source .. "/lua/?.lua;" .. package.path

-- Under ASan (MIVOS_ASAN=1) the library is opened once more with
-- RTLD_NODELETE so that it stays mapped after LuaJIT's dlclose at exit:
-- LeakSanitizer runs after that and needs it to symbolise and suppress.
if os.getenv("MIVOS_ASAN") == "1" and os.getenv("MIVOS_LIBRARY") then
  local ffi = require("ffi")
  pcall(ffi.cdef, "void *dlopen(const char *file, int mode);")
  local RTLD_NOW, RTLD_GLOBAL, RTLD_NODELETE = 0x2, 0x100, 0x1000
  for _, lib in ipairs({ os.getenv("MIVOS_LIBRARY"), "libOpenCL.so.1", "libpocl.so.2" }) do
    ffi.C.dlopen(lib, RTLD_NOW + RTLD_GLOBAL + RTLD_NODELETE)
  end
end

local current = "(top level)"

local function report(ok, message, level)
  if ok then
    t.passed = t.passed + 1
  else
    t.failed = t.failed + 1
    local info = debug.getinfo(level or 3, "Sl")
    io.stdout:write(string.format("FAIL [%s] %s:%d: %s\n", current,
                                  info and info.short_src or "?",
                                  info and info.currentline or 0, tostring(message)))
  end
  return ok
end

function t.check(cond, message)
  return report(cond and true or false, message or "check failed")
end

function t.eq(got, want, message)
  return report(got == want, string.format("%s: got %s, want %s", message or "eq",
                                           tostring(got), tostring(want)))
end

function t.near(got, want, tol, message)
  return report(type(got) == "number" and math.abs(got - want) <= tol,
                string.format("%s: got %s, want %s +- %s", message or "near", tostring(got),
                              tostring(want), tostring(tol)))
end

-- fn must raise; returns the error value. pattern (plain text) must occur in
-- tostring(err) when given.
function t.raises(fn, pattern, message)
  local ok, err = pcall(fn)
  if ok then
    report(false, (message or "expected an error") .. " (none raised)")
    return nil
  end
  if pattern and not tostring(err):find(pattern, 1, true) then
    report(false, string.format("%s: error '%s' does not contain '%s'", message or "raises",
                                tostring(err), pattern))
    return err
  end
  report(true)
  return err
end

function t.case(name, fn)
  current = name
  local start = os.clock()
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    t.failed = t.failed + 1
    io.stdout:write(string.format("FAIL [%s] raised: %s\n", name, tostring(err)))
  end
  io.stdout:write(string.format("case %-40s %s (%.2f s cpu)\n", name, ok and "done" or "ERROR",
                                os.clock() - start))
  io.stdout:flush()
  current = "(top level)"
end

-- Runs a shell command; returns exit code, stdout, stderr.
local counter = 0
function t.run(command)
  counter = counter + 1
  local base = os.tmpname()
  local out_path, err_path = base .. ".out", base .. ".err"
  local ok, how, code = os.execute(command .. " >" .. out_path .. " 2>" .. err_path)
  -- LuaJIT without 5.2 compatibility returns the raw wait status
  if type(ok) == "number" then
    code = ok
    if code > 255 then code = math.floor(code / 256) end
  elseif how == "signal" then
    code = 128 + code
  end
  local function slurp(path)
    local f = io.open(path, "rb")
    local s = f and f:read("*a") or ""
    if f then f:close() end
    os.remove(path)
    return s
  end
  local out, err = slurp(out_path), slurp(err_path)
  os.remove(base)
  return code, out, err
end

function t.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A fresh temporary folder (removed by t.cleanup()).
local temp_dirs = {}
function t.tempdir()
  local base = os.tmpname()
  os.remove(base)
  assert(os.execute("mkdir -p " .. t.quote(base)) == 0 or true)
  temp_dirs[#temp_dirs + 1] = base
  return base
end

function t.cleanup()
  for _, d in ipairs(temp_dirs) do os.execute("rm -rf " .. t.quote(d)) end
  temp_dirs = {}
end

function t.finish()
  t.cleanup()
  io.stdout:write(string.format("%d passed, %d failed\n", t.passed, t.failed))
  io.stdout:flush()
  os.exit(t.failed == 0 and 0 or 1, true)
end

return t
