-- mivos.eval.plot: the evaluation plot, drawn by the project itself
-- (mivos.eval.canvas) and written as PNG: two panels, J&F against the
-- interaction number and J&F against the cumulative time (seconds), one
-- thin coloured line per sequence and a thick black line for the mean
-- (the curve of spec/EVALUATION.md section 6, starting at (0, 0)).
--
--   plot.write(path, {
--     title = "...", subtitle = "...", n = N,
--     sequences = { { name =, jf = {m_1..m_N}, t = {t_1..t_N} }, ... },
--     mean = { jf = {...}, t = {...} } })
local canvas = require("mivos.eval.canvas")

local plot = {}

local WIDTH, HEIGHT = 1360, 600
local BLACK, GREY, LIGHT = { 0, 0, 0 }, { 110, 110, 110 }, { 228, 228, 228 }
local COLORS = {
  { 31, 119, 180 }, { 255, 127, 14 }, { 44, 160, 44 }, { 214, 39, 40 }, { 148, 103, 189 },
  { 140, 86, 75 }, { 227, 119, 194 }, { 127, 127, 127 }, { 188, 189, 34 }, { 23, 190, 207 },
}

-- A "nice" tick step (1, 2 or 5 x 10^k) giving at most about `count` ticks.
function plot.tick_step(range, count)
  if range <= 0 then return 1 end
  local raw = range / count
  local p = 10 ^ math.floor(math.log10(raw))
  for _, m in ipairs({ 1, 2, 5, 10 }) do
    if m * p >= raw then return m * p end
  end
  return 10 * p
end

local function label_number(v, step)
  if step >= 1 then return string.format("%d", math.floor(v + 0.5)) end
  local decimals = math.max(0, math.ceil(-math.log10(step) - 1e-9))
  return string.format("%." .. decimals .. "f", v)
end

-- One panel: area (x0, y0)-(x1, y1) in pixels, x from 0 to xmax, y 0..1.
local function panel(cv, box, xmax, xstep, xlabel, title, curves, marker)
  local x0, y0, x1, y1 = box[1], box[2], box[3], box[4]
  local function px(x) return x0 + (x1 - x0) * x / xmax end
  local function py(y) return y1 - (y1 - y0) * y end
  -- grid and y ticks
  for i = 0, 10 do
    local y = py(i / 10)
    cv:line(x0, y, x1, y, LIGHT)
    local s = string.format("%.1f", i / 10)
    cv:text(x0 - 8 - canvas.text_width(s), math.floor(y) - 3, s, BLACK)
  end
  local x = 0
  while x <= xmax + 1e-9 do
    local X = px(x)
    cv:line(X, y0, X, y1, LIGHT)
    cv:line(X, y1, X, y1 + 4, BLACK)
    local s = label_number(x, xstep)
    cv:text(math.floor(X - canvas.text_width(s) / 2), y1 + 8, s, BLACK)
    x = x + xstep
  end
  if marker and marker <= xmax then
    local X = px(marker)
    for y = y0, y1, 6 do cv:line(X, y, X, math.min(y + 2, y1), GREY) end
    cv:text(math.floor(X) + 3, y0 + 3, string.format("%gs", marker), GREY)
  end
  cv:line(x0, y0, x0, y1, BLACK)
  cv:line(x0, y1, x1, y1, BLACK)
  cv:text(math.floor((x0 + x1) / 2 - canvas.text_width(xlabel, 2) / 2), y1 + 24, xlabel, BLACK, 2)
  cv:text_up(x0 - 52, math.floor((y0 + y1) / 2 + canvas.text_width("J&F", 2) / 2), "J&F",
             BLACK, 2)
  cv:text(x0, y0 - 22, title, BLACK, 2)
  for _, c in ipairs(curves) do
    local pts = c.points
    for i = 2, #pts do
      cv:line(px(pts[i - 1][1]), py(pts[i - 1][2]), px(pts[i][1]), py(pts[i][2]), c.color,
              c.thickness)
    end
    if c.dots then
      for i = 1, #pts do
        local X, Y = math.floor(px(pts[i][1]) + 0.5), math.floor(py(pts[i][2]) + 0.5)
        cv:rect(X - 2, Y - 2, X + 2, Y + 2, c.color)
      end
    end
  end
end

local function clamp01(v) return math.max(0, math.min(1, v)) end

function plot.write(path, data)
  local cv = canvas.new(WIDTH, HEIGHT)
  local n = data.n
  local seqs = data.sequences
  -- time range: the longest cumulative time of any curve
  local tmax = 0
  for _, s in ipairs(seqs) do tmax = math.max(tmax, s.t[#s.t] or 0) end
  tmax = math.max(tmax, data.mean.t[#data.mean.t] or 0)
  if tmax <= 0 then tmax = 1 end
  local tstep = plot.tick_step(tmax, 8)
  local txmax = math.ceil(tmax / tstep - 1e-9) * tstep

  local by_count, by_time = {}, {}
  for i, s in ipairs(seqs) do
    local color = COLORS[(i - 1) % #COLORS + 1]
    local pc, pt = {}, { { 0, 0 } }
    for k = 1, n do
      pc[#pc + 1] = { k, clamp01(s.jf[k]) }
      pt[#pt + 1] = { s.t[k], clamp01(s.jf[k]) }
    end
    by_count[#by_count + 1] = { points = pc, color = color, thickness = 1 }
    by_time[#by_time + 1] = { points = pt, color = color, thickness = 1 }
  end
  local mc, mt = {}, { { 0, 0 } }
  for k = 1, n do
    mc[#mc + 1] = { k, clamp01(data.mean.jf[k]) }
    mt[#mt + 1] = { data.mean.t[k], clamp01(data.mean.jf[k]) }
  end
  by_count[#by_count + 1] = { points = mc, color = BLACK, thickness = 3, dots = true }
  by_time[#by_time + 1] = { points = mt, color = BLACK, thickness = 3, dots = true }

  cv:text(20, 12, data.title or "mivos eval", BLACK, 2)
  if data.subtitle then cv:text(20, 34, data.subtitle, GREY, 1) end
  panel(cv, { 90, 80, 600, 510 }, math.max(n, 1), 1, "interaction", "J&F vs interaction",
        by_count)
  panel(cv, { 700, 80, 1180, 510 }, txmax, tstep, "time (s)", "J&F vs time", by_time, 60)

  -- legend
  local lx, ly = 1200, 84
  cv:line(lx, ly + 3, lx + 24, ly + 3, BLACK, 3)
  cv:text(lx + 30, ly, "mean", BLACK)
  for i, s in ipairs(seqs) do
    local y = ly + 16 * i
    if y > HEIGHT - 20 then
      cv:text(lx + 30, y, string.format("(+%d more)", #seqs - i + 1), GREY)
      break
    end
    cv:line(lx, y + 3, lx + 24, y + 3, COLORS[(i - 1) % #COLORS + 1], 1)
    local name = s.name
    if #name > 20 then name = name:sub(1, 19) .. "~" end
    cv:text(lx + 30, y, name, BLACK)
  end
  cv:write_png(path)
end

return plot
