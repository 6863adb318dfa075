-- A user interaction-to-mask backend written in Lua: "colour".
--
-- Inside the box spanned by the scribbles, it keeps the pixels whose colour
-- is closer to the mean colour under the positive scribbles than to the
-- mean colour under the negative ones (or, with no negative scribble, of
-- the pixels outside the previous mask), as a soft probability; outside
-- that box the previous mask is kept.
-- Simple, but it shows the whole contract: the function gets FFI pointers
-- and sizes, and writes (or returns) a probability map.
--
-- Use it from the CLI:
--   build/mivos segment VIDEO --rounds R.json --out DIR \
--       --backend examples/backends/colour.lua --interaction colour
-- or from Lua:
--   local colour = dofile("examples/backends/colour.lua")(mivos)
--   mivos.session(video, {interaction = "colour"})   (or s:set_interaction)
-- When run by --backend, the file gets the mivos module as its argument
-- (...) and registers itself.
local function install(mivos)
  local ffi = mivos.ffi

  -- Mean colour of the pixels where mask[i] ~= 0 (mask may be nil).
  local function mean_colour(rgb, n, select)
    local r, g, b, count = 0, 0, 0, 0
    for i = 0, n - 1 do
      if select(i) then
        r, g, b = r + rgb[3 * i], g + rgb[3 * i + 1], b + rgb[3 * i + 2]
        count = count + 1
      end
    end
    if count == 0 then return nil end
    return r / count, g / count, b / count
  end

  local function colour(rgb, width, height, previous, positive, negative, out)
    local n = width * height
    if positive == nil then
      -- nothing to add: keep the previous mask, minus the negative marks
      for i = 0, n - 1 do
        local p = previous ~= nil and previous[i] or 0
        if negative ~= nil and negative[i] ~= 0 then p = 0 end
        out[i] = p
      end
      return
    end
    local fr, fg, fb = mean_colour(rgb, n, function(i) return positive[i] ~= 0 end)
    local br, bg, bb
    if negative ~= nil then
      br, bg, bb = mean_colour(rgb, n, function(i) return negative[i] ~= 0 end)
    end
    if br == nil then
      br, bg, bb = mean_colour(rgb, n, function(i)
        return positive[i] == 0 and (previous == nil or previous[i] < 0.5)
      end)
    end
    br, bg, bb = br or 0, bg or 0, bb or 0
    -- the box spanned by the scribbles
    local x0, y0, x1, y1 = width, height, -1, -1
    for i = 0, n - 1 do
      if positive[i] ~= 0 or (negative ~= nil and negative[i] ~= 0) then
        local x, y = i % width, math.floor(i / width)
        if x < x0 then x0 = x end
        if x > x1 then x1 = x end
        if y < y0 then y0 = y end
        if y > y1 then y1 = y end
      end
    end
    for i = 0, n - 1 do
      local x, y = i % width, math.floor(i / width)
      local r, g, b = rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]
      local df = (r - fr) ^ 2 + (g - fg) ^ 2 + (b - fb) ^ 2
      local db = (r - br) ^ 2 + (g - bg) ^ 2 + (b - bb) ^ 2
      local p = previous ~= nil and previous[i] or 0
      if x >= x0 and x <= x1 and y >= y0 and y <= y1 then
        p = db / (df + db + 1e-6)             -- 1 near the object colour
      end
      if positive[i] ~= 0 then p = 1 end
      if negative ~= nil and negative[i] ~= 0 then p = 0 end
      out[i] = p
    end
  end

  mivos.register_backend("colour", colour)
  return colour
end

local mivos = ...
if type(mivos) == "table" and mivos.register_backend then
  return install(mivos)    -- loaded by `mivos segment --backend` or dofile(...)(mivos)
end
return install
