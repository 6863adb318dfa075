-- mivos.eval.report: the JSON report of `mivos eval`, its summary and the
-- tables printed on stdout.
--
--   report.new(fields) -> report table (format "mivos-eval/1")
--   report.add_sequence(report, record)        a protocol.run_sequence record
--   report.summarize(report) -> summary.compute result (also stored in
--                                report.summary in JSON form)
--   report.write(report, path)                 JSON, indented
--   report.read(path) -> report                (checked for the fields used)
--   report.table(report) -> text                per-sequence table + summary lines
--   report.plot(report, path)                   PNG (mivos.eval.plot)
--
-- Values are fractions in [0, 1]; times in seconds. Per sequence and
-- interaction: interaction (1-based), frame (0-based), propagated, strokes,
-- J, F, J&F (means over all frames, then over objects), seconds, scored
-- (false: filled after the time limit, section 4.4), objects (per object);
-- after a propagation also frames_J, frames_F (per frame, means over objects).
local json = require("mivos.json")
local summary = require("mivos.eval.summary")
local plot = require("mivos.eval.plot")

local report = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

function report.new(fields)
  local r = { format = "mivos-eval/1", sequences = json.array({}) }
  for k, v in pairs(fields or {}) do r[k] = v end
  return r
end

local function round(v, digits)
  local m = 10 ^ (digits or 6)
  return math.floor(v * m + 0.5) / m
end

function report.add_sequence(r, rec)
  local seq = {
    name = rec.name, frames = rec.frames, width = rec.width, height = rec.height,
    objects = rec.objects, first_frame = rec.first_frame, initial_strokes = rec.initial_strokes,
    setup_seconds = round(rec.setup_seconds), wall_seconds = round(rec.wall_seconds),
    stopped_by = rec.stopped_by, interactions = json.array({}),
  }
  for i, it in ipairs(rec.interactions) do
    local objects = json.array({})
    for k, o in ipairs(it.objects) do
      objects[k] = { J = round(o.j), F = round(o.f), ["J&F"] = round(o.jf) }
    end
    seq.interactions[i] = {
      interaction = i, frame = it.frame, propagated = it.propagated == true,
      strokes = it.strokes, J = round(it.J), F = round(it.F), ["J&F"] = round(it["J&F"]),
      seconds = round(it.seconds), scored = it.scored ~= false, objects = objects,
      discarded = it.discarded,
    }
    if it.frames_J then
      local fj, ff = json.array({}), json.array({})
      for t = 1, #it.frames_J do fj[t], ff[t] = round(it.frames_J[t], 4), round(it.frames_F[t], 4) end
      seq.interactions[i].frames_J, seq.interactions[i].frames_F = fj, ff
    end
  end
  r.sequences[#r.sequences + 1] = seq
  return seq
end

-- The report's sequences as summary samples (fields checked).
function report.samples(r)
  if type(r) ~= "table" or type(r.sequences) ~= "table" then
    fail("report: no \"sequences\" list")
  end
  local samples = {}
  for si, s in ipairs(r.sequences) do
    local where = string.format("report: sequences[%d] (%s)", si, tostring(s.name))
    if type(s.interactions) ~= "table" or #s.interactions == 0 then
      fail("%s: no \"interactions\" list", where)
    end
    local objects = tonumber(s.objects) or 1
    local interactions = {}
    for i, it in ipairs(s.interactions) do
      if type(it.seconds) ~= "number" then fail("%s: interaction %d has no seconds", where, i) end
      local per = {}
      if type(it.objects) == "table" and #it.objects > 0 then
        if #it.objects ~= objects then
          fail("%s: interaction %d has %d objects, expected %d", where, i, #it.objects, objects)
        end
        for k, o in ipairs(it.objects) do per[k] = { j = o.J, f = o.F, jf = o["J&F"] } end
      else
        for k = 1, objects do per[k] = { j = it.J, f = it.F, jf = it["J&F"] } end
      end
      for k = 1, objects do
        for _, key in ipairs({ "j", "f", "jf" }) do
          if type(per[k][key]) ~= "number" then
            fail("%s: interaction %d lacks J, F or J&F", where, i)
          end
        end
      end
      interactions[i] = { seconds = it.seconds, scored = it.scored ~= false, objects = per }
    end
    samples[si] = { name = s.name, objects = objects, interactions = interactions }
  end
  return samples
end

function report.summarize(r)
  local samples = report.samples(r)
  local options = r.options or {}
  local n = options.max_interactions
  if n == nil then
    n = 0
    for _, s in ipairs(samples) do n = math.max(n, #s.interactions) end
  end
  for _, s in ipairs(samples) do
    if #s.interactions ~= n then
      fail("report: sequence %s has %d interactions, expected %d", tostring(s.name),
           #s.interactions, n)
    end
  end
  local max_time = options.max_time
  if max_time == json.null then max_time = nil end
  local res = summary.compute(samples, { max_interactions = n, max_time = max_time })
  local curve = { interaction = json.array({}), ["J&F"] = json.array({}), J = json.array({}),
                  F = json.array({}), seconds = json.array({}), time = json.array({}) }
  for i = 1, n do
    curve.interaction[i] = i
    curve["J&F"][i], curve.J[i], curve.F[i] = round(res.jf.m[i]), round(res.j.m[i]), round(res.f.m[i])
    curve.seconds[i], curve.time[i] = round(res.tau[i]), round(res.t[i])
  end
  r.summary = {
    ["AUC-J&F"] = round(res.jf.auc), ["J&F@60s"] = round(res.jf.at),
    ["final J&F"] = round(res.jf.final), ["final J"] = round(res.j.final),
    ["final F"] = round(res.f.final), ["AUC-J"] = round(res.j.auc), ["J@60s"] = round(res.j.at),
    ["mean J&F over interactions"] = round(res.jf.count_mean),
    ["mean seconds per interaction"] = round(res.mean_seconds),
    t_G = round(res.t_G), samples = #samples, curve = curve,
  }
  res.samples = samples
  return res
end

function report.write(r, path)
  local text = json.encode(r, { indent = "  " }) .. "\n"
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then fail("cannot write the report '%s': %s", path, err) end
  local ok, werr = f:write(text)
  f:close()
  if not ok then
    os.remove(tmp)
    fail("cannot write the report '%s': %s", path, tostring(werr))
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    fail("cannot write the report '%s': %s", path, tostring(rerr))
  end
end

function report.read(path)
  local ok, value = pcall(json.read_file, path)
  if not ok then fail("cannot read the report: %s", tostring(value)) end
  report.samples(value)
  return value
end

local function fmt(v, decimals) return string.format("%." .. (decimals or 3) .. "f", v) end

function report.table(r, res)
  res = res or report.summarize(r)
  local n = res.n
  local out = {}
  local function line(s) out[#out + 1] = s end
  local namew = 8
  for _, s in ipairs(r.sequences) do namew = math.max(namew, #s.name) end
  local head = string.format("%-" .. namew .. "s %6s", "sequence", "frames")
  for i = 1, n do head = head .. string.format(" %6s", "J&F@" .. i) end
  head = head .. string.format(" %7s %7s %9s %7s", "final J", "final F", "final J&F", "s/inter")
  line(head)
  for _, s in ipairs(r.sequences) do
    local row = string.format("%-" .. namew .. "s %6d", s.name, s.frames or 0)
    local secs, count = 0, 0
    for i = 1, n do
      local it = s.interactions[i]
      row = row .. string.format(" %6s", fmt(it["J&F"]) .. (it.scored == false and "*" or ""))
      if it.scored ~= false then secs, count = secs + it.seconds, count + 1 end
    end
    local last = s.interactions[n]
    row = row .. string.format(" %7s %7s %9s %7s", fmt(last.J), fmt(last.F), fmt(last["J&F"]),
                               fmt(count > 0 and secs / count or 0, 2))
    line(row)
  end
  local row = string.format("%-" .. namew .. "s %6s", "mean", "")
  for i = 1, n do row = row .. string.format(" %6s", fmt(res.jf.m[i])) end
  row = row .. string.format(" %7s %7s %9s %7s", fmt(res.j.final), fmt(res.f.final),
                             fmt(res.jf.final), fmt(res.mean_seconds, 2))
  line(row)
  line("")
  line(string.format("AUC-J&F                       %s", fmt(res.jf.auc, 4)))
  line(string.format("J&F@60s                       %s", fmt(res.jf.at, 4)))
  line(string.format("final J&F                     %s   (J %s, F %s, after interaction %d)",
                     fmt(res.jf.final, 4), fmt(res.j.final, 4), fmt(res.f.final, 4), n))
  line(string.format("mean J&F over interactions    %s", fmt(res.jf.count_mean, 4)))
  line(string.format("mean seconds per interaction  %s", fmt(res.mean_seconds, 3)))
  line(string.format("(%d sequence%s; AUC and @60s over the time axis up to t_G = %g s%s)",
                     #r.sequences, #r.sequences == 1 and "" or "s", res.t_G,
                     r.machine and r.machine.device and ("; device: " .. r.machine.device) or ""))
  for _, s in ipairs(r.sequences) do
    for i = 1, n do
      if s.interactions[i].scored == false then
        line("* not scored (time limit): previous values, timing 0")
        return table.concat(out, "\n")
      end
    end
  end
  return table.concat(out, "\n")
end

function report.plot(r, path, res)
  res = res or report.summarize(r)
  local seqs = {}
  for si, s in ipairs(r.sequences) do
    local jf, t, acc = {}, {}, 0
    for i = 1, res.n do
      jf[i] = s.interactions[i]["J&F"]
      acc = acc + s.interactions[i].seconds
      t[i] = acc
    end
    seqs[si] = { name = s.name, jf = jf, t = t }
  end
  local o = r.options or {}
  plot.write(path, {
    title = string.format("mivos eval: %s + %s + %s", tostring(o.interaction or "?"),
                          tostring(o.propagation or "?"), tostring(o.fusion or "?")),
    subtitle = string.format("%d sequences   AUC-J&F %.4f   J&F@60s %.4f   final J&F %.4f   "
                             .. "mean %.2f s per interaction%s", #r.sequences, res.jf.auc,
                             res.jf.at, res.jf.final, res.mean_seconds,
                             r.machine and r.machine.device and ("   device: " .. r.machine.device) or ""),
    n = res.n, sequences = seqs, mean = { jf = res.jf.m, t = res.t },
  })
end

return report
