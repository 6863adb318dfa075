-- mivos.eval.summary: the summary numbers of the interactive protocol
-- (spec/EVALUATION.md section 6): the quality-vs-time curve, its AUC and the
-- value at 60 s, for J&F (and the same arithmetic for J and F).
--
--   summary.compute(samples, options) -> result
--     samples: list of { objects = K, interactions = { [i] = {
--                seconds = timing_i, objects = { [k] = { j =, f =, jf = } } } } }
--              with every interaction 1..N present (missing ones filled as
--              section 4.4 says: previous values, timing 0; see summary.fill).
--     options: max_interactions N (default: the longest sample), max_time
--              (seconds per object; nil or 0 = none), at (default 60).
--     result: { n = N, t_G =, tau = {..}, t = {..}, mean_seconds =,
--               jf = curve, j = curve, f = curve }
--     curve:  { m = {m_1..m_N}, points = {{t, m}, ...} (the polyline),
--               auc =, at = (value at `at` seconds), final = m_N,
--               count_mean = mean of m_1..m_N (the count-based view) }
--   summary.fill(interactions, n) fills missing interactions in place.
--   summary.polyline_auc(points), summary.interpolate(points, t)
local summary = {}

-- Trapezoidal area under the polyline divided by its largest time.
function summary.polyline_auc(points)
  local area, tmax = 0, 0
  for i = 2, #points do
    local a, b = points[i - 1], points[i]
    area = area + (b[1] - a[1]) * (a[2] + b[2]) / 2
  end
  for _, p in ipairs(points) do
    if p[1] > tmax then tmax = p[1] end
  end
  if tmax <= 0 then return 0 end
  return area / tmax
end

-- Linear interpolation of the polyline (times non-decreasing) at time t:
-- the first segment [t_a, t_b) with t_a <= t < t_b, so at a time shared by
-- several points the latest one wins; the last value beyond the end.
function summary.interpolate(points, t)
  for i = 2, #points do
    local a, b = points[i - 1], points[i]
    if a[1] <= t and t < b[1] then
      return a[2] + (b[2] - a[2]) * (t - a[1]) / (b[1] - a[1])
    end
  end
  if t < points[1][1] then return points[1][2] end
  return points[#points][2]
end

-- Section 4.4: interactions missing at the end (stopped by the time limit,
-- or discarded) take the previous interaction's values with timing 0, or
-- zeros when there is none. `objects` is the number of objects.
function summary.fill(interactions, n, objects)
  for i = 1, n do
    local it = interactions[i]
    if it == nil or not it.scored then
      local prev = interactions[i - 1]
      local filled = { interaction = i, seconds = 0, scored = false, filled = true,
                       frame = it and it.frame or -1, objects = {} }
      if it then
        filled.propagated = it.propagated
        filled.strokes = it.strokes
        filled.discarded = it.discarded
        filled.late_seconds = it.seconds
      end
      for k = 1, objects do
        local p = prev and prev.objects[k]
        filled.objects[k] = { j = p and p.j or 0, f = p and p.f or 0, jf = p and p.jf or 0 }
      end
      interactions[i] = filled
    end
  end
  return interactions
end

local function curve_of(samples, n, key, t, t_G, at)
  local m = {}
  for i = 1, n do
    local sum, count = 0, 0
    for _, s in ipairs(samples) do
      for k = 1, s.objects do
        sum = sum + s.interactions[i].objects[k][key]
        count = count + 1
      end
    end
    m[i] = count > 0 and sum / count or 0
  end
  local points = { { 0, 0 } }
  for i = 1, n do points[#points + 1] = { t[i], m[i] } end
  -- The curve is held at m_N up to t_G (never drawn backwards).
  if n > 0 and t_G > t[n] then points[#points + 1] = { t_G, m[n] } end
  local mean = 0
  for i = 1, n do mean = mean + m[i] end
  return {
    m = m, points = points, auc = summary.polyline_auc(points),
    at = summary.interpolate(points, at), final = m[n] or 0,
    count_mean = n > 0 and mean / n or 0,
  }
end

function summary.compute(samples, options)
  options = options or {}
  local n = options.max_interactions
  if n == nil then
    n = 0
    for _, s in ipairs(samples) do n = math.max(n, #s.interactions) end
  end
  local max_time = options.max_time
  if max_time ~= nil and max_time <= 0 then max_time = nil end
  local at = options.at or 60
  local tau, t = {}, {}
  local largest, scored_sum, scored_count, objects_sum = 0, 0, 0, 0
  for _, s in ipairs(samples) do
    objects_sum = objects_sum + s.objects
    for i = 1, n do
      local it = s.interactions[i]
      if it.seconds > largest then largest = it.seconds end
      if it.scored ~= false then
        scored_sum, scored_count = scored_sum + it.seconds, scored_count + 1
      end
    end
  end
  local cumulative = 0
  for i = 1, n do
    local sum = 0
    for _, s in ipairs(samples) do sum = sum + s.interactions[i].seconds end
    tau[i] = #samples > 0 and sum / #samples or 0
    cumulative = cumulative + tau[i]
    t[i] = cumulative
  end
  local t_G
  if max_time then
    t_G = (#samples > 0 and objects_sum / #samples or 1) * max_time
  else
    t_G = n * largest
  end
  local result = {
    n = n, t_G = t_G, tau = tau, t = t, at_seconds = at,
    mean_seconds = scored_count > 0 and scored_sum / scored_count or 0,
  }
  for _, key in ipairs({ "jf", "j", "f" }) do
    result[key] = curve_of(samples, n, key, t, t_G, at)
  end
  return result
end

return summary
