-- Ownership: thousands of C objects created from Lua and released either
-- by close() or by the garbage collector (ffi.gc), with no leak and no
-- double free.
--   * Always: the C heap in use (glibc mallinfo2) must not grow over the
--     workload once warmed up, and a deliberate leak of the same size is
--     detected by that measurement (the check can fail).
--   * As test_lua_ownership_asan (CMake option MIVOS_LUA_ASAN): the library
--     is libmivos_asan.so under AddressSanitizer (LD_PRELOAD=libasan.so);
--     a double free or use after free aborts the test, LeakSanitizer checks
--     at exit that everything was freed, and a child process that leaks on
--     purpose must be reported by LeakSanitizer.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")

-- The child mode: leak one array on purpose (run under ASan by the test).
if arg[1] == "--leak" then
  local mivos = require("mivos")
  local out = mivos.ffi.new("mv_array*[1]")
  local shape = mivos.ffi.new("int64_t[1]", 1000)
  mivos.check(mivos.C.mv_array_new(mivos.C.MV_FLOAT32, 1, shape, out))
  out[0] = nil  -- the only reference is dropped: a real leak
  print("leaked")
  os.exit(0, true)
end

local ffi = require("ffi")
local mivos = require("mivos")
local sys = require("mivos.sys")
local ASAN = os.getenv("MIVOS_ASAN") == "1"
local SCALE = ASAN and 1 or 2   -- ASan is slower: fewer rounds, LSan does the checking

local tmp = t.tempdir()
local CLIP = t.source .. "/examples/data/libby.mp4"
local FUSION_TSV = t.shared .. "/spec/checkpoints/fusion.tsv"
local FUSION_PTH = t.shared .. "/fixtures/golden/fusion_hashinit.pth"

-- Bytes the C heap holds in use (all malloc arenas plus mmap'd blocks):
-- unlike the resident size this does not hide a leak behind memory freed
-- earlier and reused.
pcall(ffi.cdef, [[
typedef struct mivos_mallinfo2 {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
} mivos_mallinfo2;
mivos_mallinfo2 mallinfo2(void);
]])
local function heap_in_use()
  local m = ffi.C.mallinfo2()
  return tonumber(m.uordblks) + tonumber(m.hblkhd)
end

local function collect()
  collectgarbage("collect")
  collectgarbage("collect")
end

-- A small image sequence for sessions (4 frames of 64x36).
local frames = tmp .. "/frames"
assert(sys.mkdir_p(frames))
do
  local v = mivos.open_video(CLIP, { short_side = 36 })
  for i = 0, 3 do mivos.write_png(string.format("%s/%05d.png", frames, i), v:frame(i * 10)) end
  v:close()
end
local npy_path = tmp .. "/a.npy"
mivos.array("float32", { 16, 16 }):write_npy(npy_path)

local created = 0

-- One round of every kind of object; half closed explicitly, half left to
-- the garbage collector.
local function workload(n)
  for i = 1, 1000 * n do
    local a = mivos.array("float32", { 128, 128 })
    ffi.fill(a.data, 128 * 128 * 4, 1)
    if i % 2 == 0 then a:close() end
    created = created + 1
  end
  for i = 1, 200 * n do
    local a = mivos.read_npy(npy_path)
    if i % 2 == 0 then a:close() end
    created = created + 1
  end
  for i = 1, 50 * n do
    local c = i % 2 == 0 and mivos.checkpoint(FUSION_PTH) or mivos.checkpoint_hashinit(FUSION_TSV, "s")
    local w = c:get("conv1.0.weight")
    created = created + 2
    if i % 3 == 0 then w:close() c:close() end
  end
  for i = 1, 40 * n do
    local v = mivos.open_video(CLIP, { short_side = 60, cache_mib = 1 })
    v:frame(i % v.frame_count)
    if i % 2 == 0 then v:close() end
    created = created + 1
  end
  for i = 1, 10 * n do
    local w = mivos.video_writer(string.format("%s/w%d.mp4", tmp, i % 3), 32, 32, 25,
                                 { codec = "mpeg4" })
    w:add(mivos.image(32, 32, 3))
    if i % 3 == 0 then w:finish() elseif i % 3 == 1 then w:close() end
    created = created + 1
  end
  for i = 1, 6 * n do
    local v = mivos.open_video(frames, { short_side = 0 })
    local s = mivos.session(v, { objects = 2 })
    s:draw(0, 1, { 5, 5, 30, 5, 30, 30 })
    s:propagate(0, { on_progress = function() end })
    if i % 2 == 0 then s:close() end
    if i % 3 == 0 then v:close() end   -- closes its session too
    created = created + 2
  end
  for i = 1, 100 * n do
    local name = "own_" .. (i % 5)
    mivos.register_backend(name, function(_, _, _, _, _, _, out) end)
    if i % 2 == 0 then mivos.unregister_backend(name) end
  end
  for i = 0, 4 do pcall(mivos.unregister_backend, "own_" .. i) end
  collect()
end

t.case("warm up", function()
  workload(1)
  collect()
end)

local baseline
t.case("thousands of objects: no growth", function()
  baseline = heap_in_use()
  local start = sys.now()
  for _ = 1, SCALE do workload(1) end
  collect()
  local growth = heap_in_use() - baseline
  io.stdout:write(string.format("  %d objects in %.1f s, C heap in use %+.1f MiB\n", created,
                                sys.now() - start, growth / 2 ^ 20))
  -- a leak of the 1000 arrays of a round alone would be 62.5 MiB
  t.check(growth < 32 * 2 ^ 20, string.format("C heap in use grew by %.1f MiB", growth / 2 ^ 20))
end)

if not ASAN then
  t.case("the measurement sees a real leak", function()
    local before = heap_in_use()
    local out = ffi.new("mv_array*[1]")
    local shape = ffi.new("int64_t[2]", 128, 128)
    local leaked = {}
    for i = 1, 1000 do
      mivos.check(mivos.C.mv_array_new(mivos.C.MV_FLOAT32, 2, shape, out))
      ffi.fill(out[0].data, 128 * 128 * 4, 1)
      leaked[i] = out[0]   -- never freed, exactly what a missing ffi.gc would do
    end
    collect()
    local growth = heap_in_use() - before
    t.check(growth > 32 * 2 ^ 20, string.format("leaking 1000 arrays of 64 KiB shows: %+.1f MiB",
                                               growth / 2 ^ 20))
    for _, p in ipairs(leaked) do mivos.C.mv_array_free(p) end
  end)
else
  t.case("LeakSanitizer reports a deliberate leak", function()
    local code, out, err = t.run(t.quote(t.luajit) .. " " .. t.quote(t.dir .. "/test_lua_ownership.lua")
                                 .. " --leak")
    t.check(out:find("leaked", 1, true), "the child ran: " .. out .. err)
    t.check(code ~= 0, "the child fails (exit " .. tostring(code) .. ")")
    t.check(err:find("LeakSanitizer", 1, true) and err:find("mv_array_new", 1, true),
            "LeakSanitizer names mv_array_new: " .. err:sub(1, 400))
  end)
end

t.finish()
