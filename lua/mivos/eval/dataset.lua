-- mivos.eval.dataset: DAVIS-layout folders for the evaluation commands.
--
--   dataset.davis_root(root [, resolution = "480p"]) -> { root, frames_dir, masks_dir }
--   dataset.sequences(dir, wanted) -> sorted names of sub-folders of `dir`
--       (all of them, or the list `wanted`, checked to exist)
--   dataset.masks(dir) -> sorted PNG names of a folder
--   dataset.read_volume(dir, names, width, height) -> uint8 volume T x H x W,
--       largest object id (255 = void is not an object)
--   dataset.split_list("a,b,c") -> { "a", "b", "c" }
local mivos = require("mivos")
local sys = require("mivos.sys")
local ffi = require("ffi")

local dataset = {}

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

function dataset.davis_root(root, resolution)
  resolution = resolution or "480p"
  if not sys.is_dir(root) then fail("'%s' is not a folder", root) end
  local frames = sys.join(root, "JPEGImages", resolution)
  local masks = sys.join(root, "Annotations", resolution)
  for _, d in ipairs({ frames, masks }) do
    if not sys.is_dir(d) then
      fail("'%s' is not a DAVIS root: '%s' is missing (expected JPEGImages/%s and "
           .. "Annotations/%s)", root, d, resolution, resolution)
    end
  end
  return { root = root, frames_dir = frames, masks_dir = masks }
end

function dataset.split_list(text)
  local list = {}
  for item in tostring(text):gmatch("[^,]+") do
    item = item:match("^%s*(.-)%s*$")
    if item ~= "" then list[#list + 1] = item end
  end
  return list
end

function dataset.sequences(dir, wanted)
  local names, err = sys.list_dir(dir)
  if not names then fail("cannot list '%s': %s", dir, err) end
  local available, set = {}, {}
  for _, n in ipairs(names) do
    if sys.is_dir(sys.join(dir, n)) then
      available[#available + 1] = n
      set[n] = true
    end
  end
  if wanted == nil then
    if #available == 0 then fail("'%s' has no sequence folders", dir) end
    return available
  end
  if #wanted == 0 then fail("--sequences names no sequence") end
  local seen = {}
  for _, n in ipairs(wanted) do
    if not set[n] then
      fail("unknown sequence '%s': '%s' has %s", n, dir,
           #available > 0 and table.concat(available, ", ") or "no sequence folders")
    end
    if seen[n] then fail("sequence '%s' is listed twice", n) end
    seen[n] = true
  end
  return wanted
end

function dataset.masks(dir)
  local names, err = sys.list_dir(dir, "%.[pP][nN][gG]$")
  if not names then fail("cannot list '%s': %s", dir, err) end
  return names
end

function dataset.frames(dir)
  local names, err = sys.list_dir(dir, "%.[jJ][pP][eE]?[gG]$")
  if not names then fail("cannot list '%s': %s", dir, err) end
  if #names == 0 then
    names = sys.list_dir(dir, "%.[pP][nN][gG]$") or {}
  end
  return names
end

-- Reads PNG label maps (0/255 -> 0/1, palette -> ids) into one volume.
function dataset.read_volume(dir, names, width, height)
  local plane = width * height
  local volume = ffi.new("uint8_t[?]", #names * plane)
  local objects = 0
  local C = mivos.C
  for i, name in ipairs(names) do
    local path = sys.join(dir, name)
    local w, h = mivos.mask_size(path)
    if w ~= width or h ~= height then
      fail("'%s' is %dx%d, expected %dx%d like the other frames", path, w, h, width, height)
    end
    mivos.check(C.mv_mask_read_labels(path, width, height, volume + (i - 1) * plane))
    local base = volume + (i - 1) * plane
    for p = 0, plane - 1 do
      local v = base[p]
      if v > objects and v ~= 255 then objects = v end
    end
  end
  return volume, objects
end

return dataset
