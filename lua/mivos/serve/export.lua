-- mivos.serve.export: the page's export buttons. Each kind writes into a
-- fixed folder of the workspace (no path ever comes from a request) and is
-- downloaded as one file: the overlay video as it is, the PNG folders as a
-- tar archive built on the fly (browsers download one file per click).
--
--   export.KINDS                           {masks, binary, soft, overlay}
--   export.write(session, dir, kind, on_progress) -> {path, files}
--   export.download(dir, kind, name)       -> response table for mivos.serve.http
local io_ = require("mivos.io")
local array = require("mivos.array")
local sys = require("mivos.sys")

local export = {}

export.KINDS = {
  masks = "palette PNGs (DAVIS palette, pixel = object id)",
  binary = "one 0/255 PNG per object and frame",
  soft = "probabilities of each object as grey PNGs",
  overlay = "the DAVIS overlay video (mp4)",
}

local function folder(dir, kind)
  return sys.join(dir, "exports", kind)
end

local function make_dir(path)
  local ok, err = sys.mkdir_p(path)
  if not ok then error("cannot create " .. path .. ": " .. tostring(err), 0) end
end

-- Writes the export; on_progress(done, total) after every frame (may stop
-- nothing: an export is short). Returns {path, files}.
function export.write(session, dir, kind, on_progress)
  local frames, w, h = session.frame_count, session.width, session.height
  local progress = on_progress or function() end
  if kind == "overlay" then
    local exports = sys.join(dir, "exports")
    make_dir(exports)
    local path = sys.join(exports, "overlay.mp4")
    session:export_overlay(path, { on_progress = progress })
    return { path = path, files = 1 }
  end
  local base = folder(dir, kind)
  make_dir(base)
  if kind == "masks" then
    session:save_masks(base, { on_progress = progress })
    return { path = base, files = frames }
  end
  local ids = session.object_ids and session:object_ids() or nil
  if ids == nil then
    ids = {}
    for k = 1, session:info().objects do ids[k] = k end
  end
  for _, k in ipairs(ids) do make_dir(sys.join(base, tostring(k))) end
  local labels = array.image(w, h)
  local binary = array.image(w, h)
  local prob = array.image(w, h, 1, "float")
  local n = w * h
  for f = 0, frames - 1 do
    local name = string.format("%05d.png", f)
    if kind == "binary" then session:mask(f, labels) end
    for _, k in ipairs(ids) do
      local path = sys.join(base, tostring(k), name)
      if kind == "binary" then
        local src, dst = labels.data, binary.data
        for i = 0, n - 1 do dst[i] = src[i] == k and 255 or 0 end
        io_.write_binary(path, binary)
      else
        session:probabilities(f, k, prob)
        io_.write_soft(path, prob)
      end
    end
    progress(f + 1, frames)
  end
  return { path = base, files = frames * #ids }
end

-- ---- tar (POSIX ustar) ---------------------------------------------------------

local function octal(value, width)
  return string.format("%0" .. (width - 1) .. "o", value) .. "\0"
end

local function tar_header(name, size, mtime)
  local prefix = ""
  if #name > 100 then
    prefix, name = name:match("^(.*)/([^/]+)$")
  end
  local fields = {
    name .. string.rep("\0", 100 - #name), octal(420, 8), octal(0, 8), octal(0, 8),
    octal(size, 12), octal(mtime, 12), "        ", "0", string.rep("\0", 100),
    "ustar\0", "00", string.rep("\0", 32), string.rep("\0", 32), octal(0, 8), octal(0, 8),
    prefix .. string.rep("\0", 155 - #prefix), string.rep("\0", 12),
  }
  local header = table.concat(fields)
  local sum = 0
  for i = 1, #header do sum = sum + header:byte(i) end
  return header:sub(1, 148) .. string.format("%06o\0 ", sum) .. header:sub(157)
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

-- All regular files under `root` (sorted, relative names).
local function walk(root, relative, out)
  for _, name in ipairs(sys.list_dir(sys.join(root, relative)) or {}) do
    local rel = relative == "" and name or (relative .. "/" .. name)
    if sys.is_dir(sys.join(root, rel)) then walk(root, rel, out) else out[#out + 1] = rel end
  end
  return out
end

function export.tar(root, top)
  local parts, now = {}, os.time()
  for _, rel in ipairs(walk(root, "", {})) do
    local data = read_file(sys.join(root, rel))
    if data then
      parts[#parts + 1] = tar_header(top .. "/" .. rel, #data, now)
      parts[#parts + 1] = data
      parts[#parts + 1] = string.rep("\0", (512 - #data % 512) % 512)
    end
  end
  parts[#parts + 1] = string.rep("\0", 1024)
  return table.concat(parts)
end

-- The export as a download (404 when it was not written yet).
function export.download(dir, kind, name)
  if kind == "overlay" then
    local data = read_file(sys.join(dir, "exports", "overlay.mp4"))
    if not data then return nil end
    return { body = data, headers = {
      ["Content-Type"] = "video/mp4",
      ["Content-Disposition"] = string.format('attachment; filename="%s-overlay.mp4"', name) } }
  end
  local base = folder(dir, kind)
  if not sys.is_dir(base) then return nil end
  return { body = export.tar(base, name .. "-" .. kind), headers = {
    ["Content-Type"] = "application/x-tar",
    ["Content-Disposition"] = string.format('attachment; filename="%s-%s.tar"', name, kind) } }
end

return export
