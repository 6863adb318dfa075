-- mivos eval: the DAVIS interactive evaluation (spec/EVALUATION.md sections
-- 4-8, "D16-robot") on a DAVIS-layout root, with a JSON report, a summary
-- table and a plot.
local common = require("mivos.cli.common")
local sys = require("mivos.sys")

local M = {}

M.summary = "interactive evaluation on a DAVIS root: J&F per interaction, AUC, J&F@60s, plot"

M.usage = [[
usage: mivos eval ROOT [--sequences a,b,c] [--out DIR] [options]
       mivos eval --from-report REPORT.json [--out DIR]

Runs the interactive protocol of spec/EVALUATION.md ("D16-robot") on every
sequence of a DAVIS-layout ROOT (ROOT/JPEGImages/480p/<seq>/*.jpg and
ROOT/Annotations/480p/<seq>/*.png, one mask per frame): the scribble robot
draws the first scribble on frame 0 against an empty prediction, then up to
8 interactions follow, each on the frame the protocol picks (the MiVOS
3-frame schedule: propagation at interactions 3, 6 and 8, new robot frames
at 4 and 7, chosen as the worst J&F frame not drawn on before). Every
interaction is timed (the algorithm's time only) and scored on all frames.

Writes DIR/report.json (per sequence and interaction: frame, J, F, J&F,
seconds), DIR/plot.png (J&F against interaction number and against time),
DIR/summary.txt and DIR/scribbles/<seq>/NN.json (the robot's strokes), and
prints the table and the summary lines (AUC-J&F, J&F@60s, final J&F, mean
seconds per interaction) on stdout. The report is rewritten after every
sequence, so an interrupted run keeps what it finished.

  --sequences a,b,c     only these sequences (default: all folders of
                        ROOT/JPEGImages/480p, name order)
  --out DIR             output folder (created; default ./mivos-eval)
  --weights DIR         folder with the official MiVOS weights: the defaults
                        become the modules that need them (below)
  --interaction NAME    the interaction backend (default: the first built-in
                        one, with --weights the first that needs them):
                        @interaction@,
                        or one registered by a --backend file
  --propagation NAME    the propagation (default as for --interaction):
                        @propagation@
  --fusion NAME         the fusion (default as for --interaction):
                        @fusion@
  --backend FILE.lua    a Lua file that registers interaction backends; it is
                        run with the mivos module as its argument (repeatable)
  --device D            OpenCL device: "P:D", "gpu", "cpu" or a name substring
  --schedule S          mivos (default: the 3-frame schedule) or free
                        (propagate after every interaction, the robot picks
                        the worst frame every time)
  --scribbles S         which strokes an interaction hands to the backend:
                        latest (only the new ones, as MiVOS), all (every
                        stroke given on that frame so far), auto (default:
                        latest for s2m, all for other backends)
  --max-interactions N  interactions per sequence (default 8, at most 16)
  --max-time S          seconds per object for a whole sequence (default 240,
                        at most 600; 0 = no limit). Later interactions are
                        not run and count with the previous values, timing 0
  --first-frame F       first (default, the protocol), middle or largest
                        (for experiments only, not for reported numbers)
  --resolution R        the DAVIS resolution folder (default 480p)
  --save-masks          also write the final masks DIR/masks/<seq>/NNNNN.png
  --from-report FILE    no run: summarise, print and plot an existing report
  --quiet               no progress lines on stderr
  -h, --help            this text

Summary numbers (spec section 6): m_i = mean J&F after interaction i over
all (sequence, object) pairs; t_i = sum of the mean timings of interactions
1..i; the curve (0,0), (t_1,m_1) .. (t_N,m_N), (t_G,m_N) with t_G = mean
objects per sequence x max-time (240 s for DAVIS 2016); AUC-J&F = area
under it / t_G; J&F@60s = the curve at 60 s. Values are fractions in [0, 1].

exit codes: 0 success; 1 failure (missing ROOT or sequence, unreadable
            frames or masks, a library error); 2 usage error
]]

local spec = {
  name = "eval", usage = M.usage, positionals = { "ROOT" }, min_positionals = 0,
  max_positionals = 1,
  options = common.with_module_options({
    ["--sequences"] = { arg = "LIST" },
    ["--out"] = { arg = "DIR" },
    ["--schedule"] = { arg = "S", choices = { "mivos", "free" } },
    ["--scribbles"] = { arg = "S", choices = { "auto", "latest", "all" } },
    ["--max-interactions"] = { arg = "N", type = "int", min = 1, max = 16 },
    ["--max-time"] = { arg = "S", type = "number", min = 0, max = 600 },
    ["--first-frame"] = { arg = "F", choices = { "first", "middle", "largest" } },
    ["--resolution"] = { arg = "R" },
    ["--save-masks"] = {},
    ["--from-report"] = { arg = "FILE" },
    ["--quiet"] = {},
    ["-q"] = { alias = "--quiet" },
  }),
}

local function read_text(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- The machine, for the report (the time axis depends on it).
local function machine(mivos)
  local m = {}
  local ok, dev = pcall(mivos.current_device)
  if ok and dev then
    m.device = dev.name
    m.device_vendor, m.platform, m.device_is_gpu = dev.vendor, dev.platform, dev.is_gpu
  end
  local cpuinfo = read_text("/proc/cpuinfo") or ""
  m.cpu = cpuinfo:match("model name%s*:%s*([^\n]+)")
  local cores = 0
  for _ in cpuinfo:gmatch("\nprocessor%s*:") do cores = cores + 1 end
  if cpuinfo:match("^processor%s*:") then cores = cores + 1 end
  m.cpu_threads = cores > 0 and cores or nil
  local loadavg = read_text("/proc/loadavg")
  m.load_average_at_start = loadavg and tonumber(loadavg:match("^(%S+)")) or nil
  return m
end

local function write_outputs(report, r, out, quiet)
  local res = report.summarize(r)
  report.write(r, sys.join(out, "report.json"))
  local text = report.table(r, res)
  local f = io.open(sys.join(out, "summary.txt"), "wb")
  if f then
    f:write(text, "\n")
    f:close()
  end
  report.plot(r, sys.join(out, "plot.png"), res)
  return text
end

local function quote_arg(s)
  if s:match("^[%w%._/%-=,:@+]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local report = require("mivos.eval.report")
  local out = options.out or "mivos-eval"
  local quiet = options.quiet

  if options.from_report then
    if positionals[1] then common.usage_error("--from-report takes no ROOT") end
    local ok, r = pcall(report.read, options.from_report)
    if not ok then common.fail("%s", common.message(r)) end
    local made, err = sys.mkdir_p(out)
    if not made then common.fail("--out %s: %s", out, err) end
    local text
    ok, text = pcall(write_outputs, report, r, out, quiet)
    if not ok then common.fail("%s", common.message(text)) end
    common.say("%s", text)
    common.say("report   %s", sys.join(out, "report.json"))
    common.say("plot     %s", sys.join(out, "plot.png"))
    return 0
  end

  local root = positionals[1]
  if not root then common.usage_error("missing ROOT (see 'mivos eval --help')") end
  local mivos = common.mivos()
  common.load_modules(mivos, options)
  local layout, names = common.davis_inputs(root, options, out)
  local protocol = require("mivos.eval.protocol")

  -- the session's default (core/session/session.c): the first built-in
  -- backend, with weights the first one that needs them
  local interaction = options.interaction
  if not interaction then
    local builtin, needs_weights = mivos.builtin_modules("interaction")
    for _, n in ipairs(builtin) do
      if interaction == nil and (needs_weights[n] or not options.weights) then interaction = n end
    end
  end
  local scribbles = options.scribbles or "auto"
  if scribbles == "auto" then scribbles = interaction == "s2m" and "latest" or "all" end
  local popts = protocol.clamp_options({
    interaction = options.interaction, propagation = options.propagation,
    fusion = options.fusion, weights = options.weights, device = options.device,
    max_interactions = options.max_interactions, max_time = options.max_time,
    schedule = options.schedule, first_frame = options.first_frame or "first",
    scribbles = scribbles,
    scribbles_dir = sys.join(out, "scribbles"),
    masks_dir = options.save_masks and sys.join(out, "masks") or nil,
  })
  local command = { "mivos", "eval" }
  for _, a in ipairs(args) do command[#command + 1] = quote_arg(a) end

  local r = report.new({
    command = table.concat(command, " "), root = root, date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    protocol = (popts.schedule == "mivos" and popts.max_interactions == 8
                and popts.max_time == 240 and popts.first_frame == "first")
               and "D16-robot" or "custom",
    options = {
      interaction = interaction, propagation = options.propagation, fusion = options.fusion,
      weights = options.weights, schedule = popts.schedule, scribbles = scribbles,
      max_interactions = popts.max_interactions, max_time = popts.max_time,
      first_frame = popts.first_frame, resolution = options.resolution or "480p",
    },
  })

  local t_start = sys.now()
  local text
  for si, name in ipairs(names) do
    if not quiet then
      common.note("[%d/%d] %s", si, #names, name)
    end
    local bar
    popts.on_interaction = function(rec, it)
      if bar then
        bar:finish()
        bar = nil
      end
      if not quiet then
        common.note("  %s interaction %d/%d: frame %d, %d stroke%s%s, J&F %.4f (J %.4f, F %.4f), "
                    .. "%.2f s", rec.name, it.interaction, popts.max_interactions, it.frame,
                    it.strokes, it.strokes == 1 and "" or "s",
                    it.propagated and ", propagated" or "", it["J&F"], it.J, it.F, it.seconds)
      end
    end
    popts.on_progress = not quiet and function(rec, frame, done, total)
      if not bar then
        bar = common.progress(string.format("  %s: propagating from frame %d", rec.name, frame),
                              total)
      end
      bar:update(done, total)
      if done >= total then
        bar:finish()
        bar = nil
      end
    end or nil
    local rec = protocol.run_sequence({ name = name, frames_dir = layout.frames_dir,
                                        masks_dir = layout.masks_dir }, popts)
    if si == 1 then
      r.machine = machine(mivos)
      r.options.propagation, r.options.fusion = rec.propagation, rec.fusion
      r.options.interaction = rec.interaction
    end
    report.add_sequence(r, rec)
    if rec.stopped_by and not quiet then
      common.note("  %s: stopped by the time limit (%g s per object)", name, popts.max_time)
    end
    r.wall_seconds = sys.now() - t_start
    text = write_outputs(report, r, out, quiet)
  end
  common.say("%s", text)
  common.say("report   %s", sys.join(out, "report.json"))
  common.say("plot     %s", sys.join(out, "plot.png"))
  if options.save_masks then common.say("masks    %s/<sequence>/", sys.join(out, "masks")) end
  common.say("time     %s for %d sequence%s", common.format_duration(sys.now() - t_start),
             #names, #names == 1 and "" or "s")
  return 0
end

return M
