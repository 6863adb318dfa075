-- One object's binary mask out of a label map, grown by a square of
-- radius r (each pixel within r pixels, horizontally and vertically, of the
-- object becomes 255): the margin a compositor or an inpainter wants.
-- Two separable passes with a running count, so the cost does not grow
-- with r.

local M = {}

-- dst[i] = 255 where labels[i] == object, else 0, then dilated by r.
-- scratch: a uint8 buffer of width * height (reused between calls).
function M.object_mask(labels, object, r, dst, scratch, width, height)
  local n = width * height
  local src, out = labels.data, dst.data
  if r <= 0 then
    for i = 0, n - 1 do out[i] = src[i] == object and 255 or 0 end
    return dst
  end
  local tmp = scratch.data
  -- horizontal pass: labels -> tmp
  for y = 0, height - 1 do
    local row = y * width
    local count = 0
    for x = 0, math.min(r, width - 1) do
      if src[row + x] == object then count = count + 1 end
    end
    for x = 0, width - 1 do
      tmp[row + x] = count > 0 and 1 or 0
      local enter, leave = x + r + 1, x - r
      if enter < width and src[row + enter] == object then count = count + 1 end
      if leave >= 0 and src[row + leave] == object then count = count - 1 end
    end
  end
  -- vertical pass: tmp -> dst
  for x = 0, width - 1 do
    local count = 0
    for y = 0, math.min(r, height - 1) do count = count + tmp[y * width + x] end
    for y = 0, height - 1 do
      out[y * width + x] = count > 0 and 255 or 0
      local enter, leave = y + r + 1, y - r
      if enter < height then count = count + tmp[enter * width + x] end
      if leave >= 0 then count = count - tmp[leave * width + x] end
    end
  end
  return dst
end

return M
