-- mivos.cli.common: what the `mivos` subcommands share.
--
-- SUBCOMMANDS. `scripts/mivos` runs every module lua/mivos/cli/<name>.lua
-- (except this one) as `mivos <name>`. A subcommand module returns
--     { summary = "one line shown by `mivos --help`",
--       usage   = "the text `mivos <name> --help` prints",
--       run     = function(args) ... end }
-- run gets the arguments after the subcommand name (a list of strings) and
-- returns an exit code (nil = 0). It reports problems by raising errors:
-- common.usage_error (exit 2) or common.fail / any mivos error (exit 1); the
-- dispatcher prints them as ONE line "mivos <name>: <message>" on stderr.
--
-- EXIT CODES: common.EXIT_OK = 0, common.EXIT_FAILURE = 1 (the run failed:
-- missing or bad input files, library errors), common.EXIT_USAGE = 2 (the
-- command line is wrong: unknown option, missing or bad option value).
--
-- FUNCTIONS
--   common.parse(args, spec) -> options, positionals
--       spec = { name = "segment", usage = text,
--                options = { ["--out"] = { arg = "DIR", required = true },
--                            ["--objects"] = { arg = "K", type = "int", min = 1 },
--                            ["--soft"] = {},                -- a flag
--                            ["--backend"] = { arg = "FILE", multiple = true },
--                            ["-q"] = { alias = "--quiet" } },
--                positionals = { "VIDEO" }, -- names; the count is exact unless
--                min_positionals = n, max_positionals = n (nil = unbounded) }
--       Accepts --opt VALUE and --opt=VALUE; "--" ends the options. Types:
--       "string" (default), "int", "number". options["--out"] is keyed
--       without dashes and with '-' turned into '_' (options.out,
--       options.short_side); flags are true when given; multiple = a list.
--       -h / --help print spec.usage to stdout and exit 0.
--   common.usage_error(fmt, ...)   raise a usage error (exit 2)
--   common.fail(fmt, ...)          raise a runtime failure (exit 1)
--   common.exit(code)              leave the subcommand with this code
--   common.run(module, name, args) -> exit code (what the dispatcher calls)
--   common.message(err)            one-line text of any error value
--   common.progress(label, total [, {stream = io.stderr, quiet = false}])
--       -> bar: bar:update(done [, total]), bar:finish([text]).
--       On a terminal: one self-overwriting line with a bar, done/total,
--       frames/s and ETA (redrawn at most 10 times a second); otherwise plain
--       lines at every 10 % and at the end (for logs and CI).
--   common.format_duration(seconds) -> "1:05" / "12.3 s"
--   common.say(fmt, ...)           a line on stdout (results)
--   common.note(fmt, ...)          a line on stderr (status)
--   common.mivos()                 the mivos module (loaded on first use, so
--                                  `--help` works without the library)
--   common.load_modules(mivos, options)   runs the --backend files and checks
--                                  --interaction / --propagation / --fusion
--                                  against the library's built-in modules
--   common.usage_text(text)        the help text with @interaction@,
--                                  @propagation@, @fusion@ filled in
local sys = require("mivos.sys")

local common = { EXIT_OK = 0, EXIT_FAILURE = 1, EXIT_USAGE = 2 }

local UsageError = { kind = "usage" }
UsageError.__index = UsageError
UsageError.__tostring = function(e) return e.message end
local Exit = {}
Exit.__index = Exit
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(e) return e.message end

function common.usage_error(fmt, ...)
  error(setmetatable({ message = string.format(fmt, ...) }, UsageError), 0)
end

function common.fail(fmt, ...)
  error(setmetatable({ message = string.format(fmt, ...) }, Failure), 0)
end

function common.exit(code)
  error(setmetatable({ code = code or 0 }, Exit), 0)
end

function common.mivos()
  return require("mivos")
end

function common.say(fmt, ...)
  io.stdout:write(string.format(fmt, ...), "\n")
  io.stdout:flush()
end

function common.note(fmt, ...)
  io.stderr:write(string.format(fmt, ...), "\n")
  io.stderr:flush()
end

-- One line: the first line of the message, without a Lua position prefix
-- for plain error strings raised with a level.
function common.message(err)
  local text
  if type(err) == "table" then
    text = err.message or tostring(err)
  else
    text = tostring(err)
  end
  text = text:gsub("\r?\n.*$", "")
  return text
end

local function key_of(option)
  return (option:gsub("^%-+", ""):gsub("%-", "_"))
end

local function convert(value, desc, option)
  local t = desc.type or "string"
  if t == "int" or t == "number" then
    local n = tonumber(value)
    if n == nil or (t == "int" and n % 1 ~= 0) then
      common.usage_error("%s expects %s, got '%s'", option,
                         t == "int" and "an integer" or "a number", value)
    end
    if desc.min and n < desc.min then
      common.usage_error("%s must be at least %s, got %s", option, tostring(desc.min), value)
    end
    if desc.max and n > desc.max then
      common.usage_error("%s must be at most %s, got %s", option, tostring(desc.max), value)
    end
    return n
  end
  if desc.choices then
    for _, c in ipairs(desc.choices) do
      if c == value then return value end
    end
    common.usage_error("%s must be one of %s, got '%s'", option,
                       table.concat(desc.choices, ", "), value)
  end
  return value
end

function common.parse(args, spec)
  local options, positionals = {}, {}
  local defs = spec.options or {}
  local i, only_positionals = 1, false
  while i <= #args do
    local a = args[i]
    if only_positionals or a == "-" or a:sub(1, 1) ~= "-" then
      positionals[#positionals + 1] = a
    elseif a == "--" then
      only_positionals = true
    elseif a == "-h" or a == "--help" then
      local text = common.usage_text(spec.usage or "")
      io.stdout:write(text, text:sub(-1) == "\n" and "" or "\n")
      common.exit(0)
    else
      local name, inline = a:match("^(%-%-?[^=]+)=(.*)$")
      name = name or a
      local desc = defs[name]
      if desc and desc.alias then
        name = desc.alias
        desc = defs[name]
      end
      if not desc then
        common.usage_error("unknown option %s (see 'mivos %s --help')", name, spec.name or "")
      end
      local key = key_of(name)
      local value
      if desc.arg then
        if inline then
          value = inline
        else
          i = i + 1
          value = args[i]
          if value == nil then common.usage_error("%s needs a value (%s)", name, desc.arg) end
        end
        value = convert(value, desc, name)
      else
        if inline then common.usage_error("%s takes no value", name) end
        value = true
      end
      if desc.multiple then
        options[key] = options[key] or {}
        table.insert(options[key], value)
      else
        options[key] = value
      end
    end
    i = i + 1
  end
  for name, desc in pairs(defs) do
    if desc.required and options[key_of(name)] == nil then
      common.usage_error("%s %s is required (see 'mivos %s --help')", name, desc.arg or "",
                         spec.name or "")
    end
  end
  local names = spec.positionals or {}
  local min = spec.min_positionals or #names
  local max = spec.max_positionals
  if max == nil and spec.min_positionals == nil then max = #names end
  if #positionals < min then
    common.usage_error("missing %s (see 'mivos %s --help')", names[#positionals + 1] or
                       "argument", spec.name or "")
  end
  if max and #positionals > max then
    common.usage_error("unexpected argument '%s'", positionals[max + 1])
  end
  return options, positionals
end

function common.run(module, name, args)
  local ok, result = pcall(module.run, args)
  if ok then return tonumber(result) or 0 end
  local mt = getmetatable(result)
  if mt == Exit then return result.code end
  if mt == UsageError then
    common.note("mivos %s: %s", name, result.message)
    return common.EXIT_USAGE
  end
  if mt == Failure then
    common.note("mivos %s: %s", name, result.message)
    return common.EXIT_FAILURE
  end
  -- library errors (mivos.Error) and anything else
  local text = common.message(result)
  if os.getenv("MIVOS_DEBUG") and type(result) == "string" then
    io.stderr:write(debug.traceback(result), "\n")
  end
  common.note("mivos %s: %s", name, text)
  return common.EXIT_FAILURE
end

function common.format_duration(seconds)
  if seconds == nil or seconds ~= seconds or seconds == math.huge then return "?" end
  if seconds < 60 then return string.format("%.1f s", seconds) end
  seconds = math.floor(seconds + 0.5)
  if seconds < 3600 then return string.format("%d:%02d", seconds / 60, seconds % 60) end
  return string.format("%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60)
end

local Progress = {}
Progress.__index = Progress

function common.progress(label, total, options)
  options = options or {}
  local stream = options.stream or io.stderr
  local tty = options.tty
  if tty == nil then tty = stream == io.stderr and sys.isatty(2) end
  return setmetatable({ label = label, total = total or 0, done = 0, stream = stream,
                        tty = tty, quiet = options.quiet, start = sys.now(), last_draw = -1,
                        last_step = -1, width = options.width or 24 }, Progress)
end

function Progress:stats()
  local elapsed = sys.now() - self.start
  local rate = elapsed > 0 and self.done / elapsed or 0
  local eta = rate > 0 and (self.total - self.done) / rate or nil
  return elapsed, rate, eta
end

function Progress:line()
  local _, rate, eta = self:stats()
  local pct = self.total > 0 and self.done / self.total or 0
  if self.tty then
    local filled = math.floor(pct * self.width + 0.5)
    return string.format("%s [%s%s] %d/%d %3d%%  %.2f frames/s  ETA %s", self.label,
                         string.rep("#", filled), string.rep(".", self.width - filled),
                         self.done, self.total, math.floor(pct * 100 + 0.5), rate,
                         common.format_duration(eta))
  end
  return string.format("%s: %d/%d frames (%d%%), %.2f frames/s, ETA %s", self.label,
                       self.done, self.total, math.floor(pct * 100 + 0.5), rate,
                       common.format_duration(eta))
end

function Progress:update(done, total)
  self.done = done
  if total then self.total = total end
  if self.quiet then return end
  if self.tty then
    local now = sys.now()
    if now - self.last_draw >= 0.1 or done >= self.total then
      self.last_draw = now
      self.stream:write("\r", self:line(), "\027[K")
      self.stream:flush()
    end
  else
    local step = self.total > 0 and math.floor(done * 10 / self.total) or 0
    if step > self.last_step and done < self.total then
      self.last_step = step
      self.stream:write(self:line(), "\n")
      self.stream:flush()
    end
  end
end

function Progress:finish(text)
  if self.quiet then return end
  local elapsed, rate = self:stats()
  local summary = string.format("%s: %d frames in %s (%.2f frames/s)%s", self.label, self.done,
                                common.format_duration(elapsed), rate,
                                text and (", " .. text) or "")
  if self.tty then
    self.stream:write("\r", summary, "\027[K\n")
  else
    self.stream:write(summary, "\n")
  end
  self.stream:flush()
end

-- Runs a `--backend FILE.lua` with the mivos module as its argument (to
-- register interaction backends); a missing file is a usage error.
-- The inputs of `mivos eval` and `mivos diagnose`, checked before any run:
-- the DAVIS layout of root, the sequences (options.sequences, a,b,c, or
-- all), each sequence's frames and masks, --weights and the --out folder
-- (created). Fails with the first problem. Returns layout, names.
function common.davis_inputs(root, options, out)
  local dataset = require("mivos.eval.dataset")
  local protocol = require("mivos.eval.protocol")
  local ok, layout = pcall(dataset.davis_root, root, options.resolution)
  if not ok then common.fail("%s", common.message(layout)) end
  local wanted = options.sequences and dataset.split_list(options.sequences) or nil
  local names
  ok, names = pcall(dataset.sequences, layout.frames_dir, wanted)
  if not ok then common.fail("%s", common.message(names)) end
  for _, n in ipairs(names) do
    local checked, msg = pcall(protocol.check_sequence, { name = n, frames_dir = layout.frames_dir,
                                                          masks_dir = layout.masks_dir })
    if not checked then common.fail("%s", common.message(msg)) end
  end
  if options.weights and not sys.is_dir(options.weights) then
    common.fail("--weights %s: not a folder", options.weights)
  end
  local made, err = sys.mkdir_p(out)
  if not made then common.fail("--out %s: %s", out, err) end
  return layout, names
end

local function load_backend_file(mivos, path)
  local chunk, err = loadfile(path)
  if not chunk then
    if not sys.exists(path) then common.usage_error("--backend %s: no such file", path) end
    common.fail("--backend %s: %s", path, err)
  end
  local ok, result = pcall(chunk, mivos)
  if not ok then common.fail("--backend %s: %s", path, common.message(result)) end
end

local function contains(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end

-- The option table of a command that opens sessions, with the options that
-- pick and load the modules (--weights, --device, --interaction,
-- --propagation, --fusion, --backend; read by common.load_modules) added to
-- the command's own.
function common.with_module_options(options)
  options["--weights"] = { arg = "DIR" }
  options["--device"] = { arg = "D" }
  options["--interaction"] = { arg = "NAME" }
  options["--propagation"] = { arg = "NAME" }
  options["--fusion"] = { arg = "NAME" }
  options["--backend"] = { arg = "FILE", multiple = true }
  return options
end

-- The options --backend, --interaction, --propagation and --fusion, shared
-- by the commands that open sessions: runs every --backend file, then
-- checks the three names against what the library has built in
-- (mivos.builtin_modules) and the backends the files registered. An unknown
-- name is a usage error.
function common.load_modules(mivos, options)
  for _, path in ipairs(options.backend or {}) do load_backend_file(mivos, path) end
  if options.interaction then
    local backends = mivos.backends()
    if not contains(backends, options.interaction) then
      common.usage_error("--interaction: unknown interaction backend '%s' (known: %s)",
                         options.interaction, table.concat(backends, ", "))
    end
  end
  for _, kind in ipairs({ "propagation", "fusion" }) do
    local names = mivos.builtin_modules(kind)
    if options[kind] and not contains(names, options[kind]) then
      common.usage_error("--%s must be one of %s, got '%s'", kind, table.concat(names, ", "),
                         options[kind])
    end
  end
end

-- The help text of a command with @interaction@, @propagation@ and
-- @fusion@ replaced by the library's built-in modules of that kind
-- ("graphcut, s2m (needs --weights), freehand"); without the library (help
-- must work without it) by a note that they are listed when it is found.
function common.usage_text(text)
  return (text:gsub("@(%a+)@", function(kind)
    if kind ~= "interaction" and kind ~= "propagation" and kind ~= "fusion" then return nil end
    local ok, mivos = pcall(common.mivos)
    if not ok then return "(the names are listed when libmivos.so is found)" end
    local names, needs_weights = mivos.builtin_modules(kind)
    local shown = {}
    for i, name in ipairs(names) do
      shown[i] = needs_weights[name] and (name .. " (needs --weights)") or name
    end
    return table.concat(shown, ", ")
  end))
end

return common
