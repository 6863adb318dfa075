-- mivos devices: lists the OpenCL devices (and optionally checks one).
local common = require("mivos.cli.common")

local M = {}

M.summary = "list the OpenCL compute devices (and check one)"

M.usage = [[
usage: mivos devices [--json] [--device D --self-check]

Lists every OpenCL device of every platform with the spec that selects it
("P:D" = platform and device index) and marks the one a session would use
(--device, else $MIVOS_DEVICE, else the first GPU, else the first CPU).

  --device D     select D ("P:D", "gpu", "cpu" or a name substring) as the
                 current device
  --self-check   run every operator on the current device against the CPU
                 reference and print the report (exit 1 if one fails)
  --json         print the list as JSON (an array of objects)
  -h, --help     this text

exit codes: 0 success, 1 failure (no OpenCL platform, self-check failed),
            2 usage error
]]

local spec = {
  name = "devices", usage = M.usage, positionals = {},
  options = { ["--json"] = {}, ["--device"] = { arg = "D" }, ["--self-check"] = {} },
}

function M.run(args)
  local options = common.parse(args, spec)
  local mivos = common.mivos()
  local devices = mivos.devices()
  if options.device then mivos.select_device(options.device) end
  local current = mivos.current_device()
  if options.json then
    local json = require("mivos.json")
    for _, d in ipairs(devices) do d.current = d.spec == current.spec end
    common.say("%s", json.encode(json.array(devices), { indent = "  " }))
  else
    if #devices == 0 then common.fail("no OpenCL device found (is an OpenCL driver installed?)") end
    for _, d in ipairs(devices) do
      common.say("%s %-5s %s", d.spec == current.spec and "*" or " ", d.spec, d.name)
      common.say("        %s, %d compute units, %.1f GiB (max allocation %.1f GiB), fp16 %s",
                 d.is_gpu and "GPU" or "not a GPU", d.compute_units, d.global_memory / 2 ^ 30,
                 d.max_allocation / 2 ^ 30, d.fp16 and "yes" or "no")
      common.say("        vendor %s, platform %s, driver %s, %s", d.vendor, d.platform, d.driver,
                 d.version)
    end
    common.say("* = the device in use (select with --device or MIVOS_DEVICE)")
  end
  if options.self_check then
    local ok, report = pcall(mivos.self_check)
    if not ok then common.fail("self-check on %s failed: %s", current.name, common.message(report)) end
    io.stdout:write(report, report:sub(-1) == "\n" and "" or "\n")
  end
  return 0
end

return M
