-- mivos.device: the OpenCL devices the library runs on.
-- Public through the entry module: devices, select_device, current_device,
-- self_check.
local ffi = require("ffi")
local lib = require("mivos.lib")

local C, check, raise, string_arg = lib.C, lib.check, lib.raise, lib.string_arg

local device = {}

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
function device.devices()
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
function device.select_device(spec)
  if spec ~= nil then string_arg(spec, "spec", "mivos.select_device") end
  check(C.mv_device_select(spec))
end

function device.current_device()
  local info = ffi.new("mv_device_info")
  check(C.mv_device_current(info))
  return device_table(info)
end

-- Runs every operator against the CPU reference; returns the report.
function device.self_check()
  local buffer = ffi.new("char[?]", 65536)
  local status = C.mv_device_self_check(buffer, 65536)
  local report = ffi.string(buffer)
  if status ~= 0 then raise(tonumber(status)) end
  return report
end

return device
