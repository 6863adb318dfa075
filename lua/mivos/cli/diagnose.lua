-- mivos diagnose: how much of the accuracy gap is interaction, propagation
-- and fusion (issue #12, item 1), one table over the sequences of a DAVIS
-- root; the measurements are described in mivos.eval.diagnosis.
local common = require("mivos.cli.common")
local sys = require("mivos.sys")

local M = {}

M.summary = "accuracy diagnosis: interaction J, ground-truth propagation, oracle vs normal loop"

M.usage = [[
usage: mivos diagnose ROOT [--sequences a,b,c] [--out DIR] [options]

Splits the accuracy of the interactive loop (the "D16-robot" protocol of
spec/EVALUATION.md, as `mivos eval` runs it) into its parts, per sequence of
a DAVIS-layout ROOT, and prints one table:

  A J (1 2 3)   J of the interacted frame A after interactions 1, 2, 3 of
  B J (4 5 6)   the normal loop (the interaction module's mask from the
  C J (7 8)     robot's strokes; frames B and C are the robot's worst frames)
  GTprop J      ground truth of frame 0 propagated over the whole sequence
                (one propagation, no fusion): mean J over frames 1..T-1
  J 1-29        the same over frames 1..29 (short range)
  oracle JF     final J&F of the loop with every interaction's output
                replaced by the ground truth of the interacted frame
  normal JF     final J&F of the normal loop (what `mivos eval` reports)

The last row is the mean over the sequences (one object each on DAVIS
2016). oracle JF - normal JF is what the interaction module costs; 1 -
oracle JF what propagation and fusion cost. Writes DIR/diagnosis.json (all
values, per interaction, and the options). Each sequence runs the loop
twice and one propagation: about 2.5 times `mivos eval`.

  --sequences a,b,c     only these sequences (default: all of ROOT)
  --out DIR             output folder (created; default ./mivos-diagnose)
  --parts LIST          which measurements, comma-separated (default all):
                        normal, oracle, gtprop
  --interaction NAME    the interaction backend (default: the first built-in
                        one, with --weights the first that needs them):
                        @interaction@,
                        or one registered by a --backend file
  --propagation NAME    the propagation: @propagation@
  --fusion NAME         the fusion: @fusion@
  --weights DIR         folder with the official MiVOS weights
  --backend FILE.lua    a Lua file that registers interaction backends
                        (repeatable)
  --device D            OpenCL device: "P:D", "gpu", "cpu" or a name substring
  --scribbles S         latest, all or auto (default, as `mivos eval`)
  --max-time S          seconds per object for a whole sequence (default 0:
                        no limit, so that load on the machine cannot cut
                        the loop; 240 is the protocol's)
  --resolution R        the DAVIS resolution folder (default 480p)
  --quiet               no progress lines on stderr
  -h, --help            this text

exit codes: 0 success; 1 failure (missing ROOT or sequence, unreadable
            frames or masks, a library error); 2 usage error
]]

local spec = {
  name = "diagnose", usage = M.usage, positionals = { "ROOT" },
  options = common.with_module_options({
    ["--sequences"] = { arg = "LIST" },
    ["--out"] = { arg = "DIR" },
    ["--parts"] = { arg = "LIST" },
    ["--scribbles"] = { arg = "S", choices = { "auto", "latest", "all" } },
    ["--max-time"] = { arg = "S", type = "number", min = 0, max = 600 },
    ["--resolution"] = { arg = "R" },
    ["--quiet"] = {},
    ["-q"] = { alias = "--quiet" },
  }),
}

local function parse_parts(text, diagnosis)
  if text == nil then
    local all = {}
    for _, p in ipairs(diagnosis.PARTS) do all[p] = true end
    return all
  end
  local known = {}
  for _, p in ipairs(diagnosis.PARTS) do known[p] = true end
  local parts, any = {}, false
  for item in text:gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if not known[item] then
      common.usage_error("--parts: unknown part '%s' (expected a list of %s)", item,
                         table.concat(diagnosis.PARTS, ", "))
    end
    parts[item], any = true, true
  end
  if not any then common.usage_error("--parts names no part (expected %s)",
                                     table.concat(diagnosis.PARTS, ", ")) end
  return parts
end

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local diagnosis = require("mivos.eval.diagnosis")
  local parts = parse_parts(options.parts, diagnosis)
  local root = positionals[1]
  local out = options.out or "mivos-diagnose"
  local quiet = options.quiet
  local mivos = common.mivos()
  common.load_modules(mivos, options)
  local protocol = require("mivos.eval.protocol")
  local layout, names = common.davis_inputs(root, options, out)

  -- the session's defaults (core/session/session.c): the first built-in
  -- module, with weights the first one that needs them
  local function module_name(kind, given)
    if given then return given end
    local builtin, needs_weights = mivos.builtin_modules(kind)
    for _, n in ipairs(builtin) do
      if needs_weights[n] or not options.weights then return n end
    end
    return builtin[1]
  end
  local interaction = module_name("interaction", options.interaction)
  -- the strokes handed to the backend, as `mivos eval` chooses them
  local scribbles = options.scribbles or "auto"
  if scribbles == "auto" then scribbles = interaction == "s2m" and "latest" or "all" end
  local dopts = protocol.clamp_options({
    interaction = options.interaction, propagation = options.propagation,
    fusion = options.fusion, weights = options.weights, device = options.device,
    max_time = options.max_time or 0, scribbles = scribbles,
  })
  dopts.parts = parts

  local json = require("mivos.json")
  local rows = {}
  local t_start = sys.now()
  for si, name in ipairs(names) do
    if not quiet then common.note("[%d/%d] %s", si, #names, name) end
    local row = diagnosis.run_sequence({ name = name, frames_dir = layout.frames_dir,
                                         masks_dir = layout.masks_dir }, dopts)
    rows[#rows + 1] = row
    if not quiet then
      common.note("  %s: normal %s, oracle %s, GT propagation J %s (%s)", name,
                  row.normal_JF and string.format("%.3f", row.normal_JF) or "-",
                  row.oracle_JF and string.format("%.3f", row.oracle_JF) or "-",
                  row.gtprop_J and string.format("%.3f", row.gtprop_J) or "-",
                  common.format_duration(sys.now() - t_start))
    end
    -- rewritten after every sequence, so an interrupted run keeps its rows
    local doc = {
      format = "mivos-diagnose/1", root = root, date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
      options = { interaction = interaction,
                  propagation = module_name("propagation", options.propagation),
                  fusion = module_name("fusion", options.fusion), scribbles = scribbles, max_time = dopts.max_time,
                  parts = json.array((function()
                    local l = {}
                    for _, p in ipairs(diagnosis.PARTS) do if parts[p] then l[#l + 1] = p end end
                    return l
                  end)()) },
      sequences = json.array(rows), mean = diagnosis.mean(rows),
    }
    local f = assert(io.open(sys.join(out, "diagnosis.json"), "wb"))
    f:write(json.encode(doc, { indent = "  ", sort_keys = true }), "\n")
    f:close()
  end
  common.say("%s", diagnosis.table(rows))
  common.say("report   %s", sys.join(out, "diagnosis.json"))
  common.say("time     %s for %d sequence%s", common.format_duration(sys.now() - t_start),
             #names, #names == 1 and "" or "s")
  return 0
end

return M
