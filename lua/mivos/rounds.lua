-- mivos.rounds: interaction rounds described in JSON (the format of
-- `mivos segment --rounds`, documented in the README), read, checked
-- against a video and run on a session.
--
--   rounds.read(path)                     -> doc       (JSON errors: FILE:LINE:COL: ...)
--   rounds.parse(doc, {source, base_dir}) -> plan      (shape checks, no video needed)
--   rounds.check(plan, video_info, backends) -> plan   (ranges; coordinates to pixels)
--   rounds.run(session, plan, {on_round = fn(i, round), on_propagate = fn(i, round),
--                              on_progress = fn(i, done, total)})
--   rounds.describe(round) -> "2 scribbles, 1 click"
-- Errors are raised as strings "SOURCE: round N: what is wrong".
--
-- Format (frame numbers are 0-based; coordinates are pixels of the working
-- size, x right, y down, unless "coordinates": "normalized", where x and y
-- are fractions of the width and height as in the DAVIS scribble files):
-- {
--   "objects": 1,                      optional, default: highest object used
--   "coordinates": "pixels",           or "normalized"
--   "size": [854, 480],                optional: pixel coordinates refer to frames
--                                      of this width x height and are scaled to
--                                      the working size (so --short-side works)
--   "interaction": "graphcut",         optional default backend for all rounds
--   "rounds": [                        in order; a bare array is also accepted
--     { "frame": 0, "object": 1,
--       "undo": 1,                     first undo this many interactions of the frame
--       "reset": true,                 then clear the frame's mask (undoable)
--       "mask": "init.png",            label PNG (ids = objects), relative to this file
--       "scribbles": [ {"points": [[x, y], ...], "positive": true, "thickness": 3} ],
--       "clicks": [ {"x": 10, "y": 20, "positive": false} ],
--       "polygon": [[x, y], ...], "erase": false, "brush": 0,
--       "polygons": [[[x, y], ...], ...],   several polygons (same erase / brush)
--       "region": [x0, y0, x1, y1], "margin": 0,   local control (scribbles, clicks)
--       "interaction": "graphcut",     backend for this round's scribbles / clicks / maps
--       "maps": {"positive": "p.png", "negative": null},  backend input as mask images
--       "object_mask": "car.png",      nonzero pixels = the round's object (per-object import)
--       "box": [x0, y0, x1, y1],       box prompt for the round's object
--       "end_strokes": true,           end the stroke group (mivos.h, mv_session_end_strokes)
--       "forget_memory": true,         drop the frame's memory entry
--       "propagate": true,             then propagate from the frame
--       "direction": "forward", "to": 40, "count": 10,  ... one way / up to a frame /
--       "frames": 3 },                 at most count frames; stopped after this many frames
--     { "clear_memory": true, "keep_interacted": true },  clear the memory (no frame)
--     { "add_object": 2 },             object rounds (no frame): add (the id it must get,
--     { "delete_object": 2 },          or true), delete, reset an object
--     { "reset_object": 1 }
--   ]
-- }
-- Within a round the steps run in the order add / delete / reset object,
-- clear memory, undo, reset, mask, object_mask, box, maps, scribbles, clicks,
-- polygon, end strokes, forget memory, propagate.
-- Keys starting with "_" and "comment" are ignored. A workspace's log.json is
-- such a file (one operation per round).
local json = require("mivos.json")

local rounds = {}

local function dirname(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

local function fail(where, fmt, ...)
  error(where .. ": " .. string.format(fmt, ...), 0)
end

local function ignored(key)
  return type(key) == "string" and (key:sub(1, 1) == "_" or key == "comment"
                                    or key == "description")
end

local function check_keys(t, allowed, where)
  for key in pairs(t) do
    if not allowed[key] and not ignored(key) then
      local names = {}
      for name in pairs(allowed) do names[#names + 1] = name end
      table.sort(names)
      fail(where, "unknown key \"%s\" (known: %s)", tostring(key), table.concat(names, ", "))
    end
  end
end

local function is_int(v) return type(v) == "number" and v % 1 == 0 end

local function want_int(v, what, where, min)
  if not is_int(v) then fail(where, "%s must be an integer, got %s", what, json.encode(v)) end
  if min and v < min then fail(where, "%s must be at least %d, got %d", what, min, v) end
  return v
end

local function want_bool(v, what, where, default)
  if v == nil then return default end
  if type(v) ~= "boolean" then fail(where, "%s must be true or false, got %s", what, json.encode(v)) end
  return v
end

local function want_number(v, what, where)
  if type(v) ~= "number" then fail(where, "%s must be a number, got %s", what, json.encode(v)) end
  return v
end

local function want_array(v, what, where)
  if type(v) ~= "table" or (next(v) ~= nil and not json.is_array(v)) then
    fail(where, "%s must be an array", what)
  end
  return v
end

-- [[x, y], ...] or [x1, y1, x2, y2, ...] -> {{x, y}, ...}
local function points(v, what, where)
  want_array(v, what, where)
  local out = {}
  if type(v[1]) == "number" then
    if #v % 2 ~= 0 then fail(where, "%s has an odd number of coordinates", what) end
    for i = 1, #v, 2 do
      out[#out + 1] = { want_number(v[i], what, where), want_number(v[i + 1], what, where) }
    end
  else
    for i, p in ipairs(v) do
      if type(p) ~= "table" or #p ~= 2 then
        fail(where, "%s point %d must be [x, y]", what, i)
      end
      out[i] = { want_number(p[1], what, where), want_number(p[2], what, where) }
    end
  end
  if #out == 0 then fail(where, "%s has no points", what) end
  return out
end

function rounds.read(path)
  local f, err = io.open(path, "rb")
  if not f then error("cannot read the rounds file: " .. tostring(err), 0) end
  local text = f:read("*a")
  f:close()
  return json.decode(text, path)
end

local ROUND_KEYS = {
  frame = true, object = true, undo = true, reset = true, mask = true, scribbles = true,
  clicks = true, polygon = true, polygons = true, erase = true, brush = true, region = true,
  margin = true, interaction = true, propagate = true, frames = true, maps = true,
  object_mask = true, box = true, add_object = true, delete_object = true, reset_object = true,
  direction = true, to = true, count = true, forget_memory = true, clear_memory = true,
  keep_interacted = true, end_strokes = true,
}

local function path_arg(v, what, where, base_dir)
  if type(v) ~= "string" then fail(where, "%s must be a PNG path", what) end
  return v:sub(1, 1) == "/" and v or (base_dir .. "/" .. v)
end

function rounds.parse(doc, options)
  options = options or {}
  local source = options.source or "rounds"
  local base_dir = options.base_dir or (options.source and dirname(options.source)) or "."
  local plan = { source = source, coordinates = "pixels", rounds = {} }
  local list
  if json.is_array(doc) then
    list = doc
  elseif type(doc) == "table" then
    check_keys(doc, { rounds = true, objects = true, coordinates = true, interaction = true,
                      _mivos_log = true,
                      thickness = true, video = true, size = true }, source)
    if doc.size ~= nil then
      local size = want_array(doc.size, "\"size\"", source)
      if #size ~= 2 then fail(source, "\"size\" must be [width, height]") end
      plan.size = { want_int(size[1], "\"size\" width", source, 1),
                    want_int(size[2], "\"size\" height", source, 1) }
    end
    if doc.rounds == nil then fail(source, "no \"rounds\" array") end
    list = want_array(doc.rounds, "\"rounds\"", source)
    if doc.objects ~= nil then plan.objects = want_int(doc.objects, "\"objects\"", source, 1) end
    if doc.coordinates ~= nil then
      if doc.coordinates ~= "pixels" and doc.coordinates ~= "normalized" then
        fail(source, "\"coordinates\" must be \"pixels\" or \"normalized\", got %s",
             json.encode(doc.coordinates))
      end
      plan.coordinates = doc.coordinates
    end
    if doc.interaction ~= nil then
      if type(doc.interaction) ~= "string" then fail(source, "\"interaction\" must be a name") end
      plan.interaction = doc.interaction
    end
    if doc.thickness ~= nil then plan.thickness = want_number(doc.thickness, "\"thickness\"", source) end
  else
    fail(source, "expected an object with a \"rounds\" array (or an array of rounds)")
  end
  if #list == 0 then fail(source, "no rounds") end
  for i, r in ipairs(list) do
    local where = string.format("%s: round %d", source, i)
    if type(r) ~= "table" or json.is_array(r) then fail(where, "must be an object") end
    check_keys(r, ROUND_KEYS, where)
    local object_round = r.add_object ~= nil or r.delete_object ~= nil or r.reset_object ~= nil
                         or r.clear_memory ~= nil or r.end_strokes ~= nil
    if r.frame == nil and not object_round then
      fail(where, "no \"frame\" (0-based frame index)")
    end
    local round = {
      index = i, where = where,
      frame = r.frame ~= nil and want_int(r.frame, "\"frame\"", where) or nil,
      object = r.object ~= nil and want_int(r.object, "\"object\"", where, 1) or 1,
      propagate = want_bool(r.propagate, "\"propagate\"", where, false),
      erase = want_bool(r.erase, "\"erase\"", where, false),
      brush = r.brush ~= nil and want_number(r.brush, "\"brush\"", where) or 0,
      margin = r.margin ~= nil and want_int(r.margin, "\"margin\"", where, 0) or 0,
      reset = want_bool(r.reset, "\"reset\"", where, false),
      end_strokes = want_bool(r.end_strokes, "\"end_strokes\"", where, false),
    }
    if r.undo ~= nil then
      if r.undo == true then round.undo = 1
      elseif r.undo == false then round.undo = 0
      else round.undo = want_int(r.undo, "\"undo\"", where, 0) end
    end
    if r.interaction ~= nil then
      if type(r.interaction) ~= "string" then fail(where, "\"interaction\" must be a name") end
      round.interaction = r.interaction
    end
    if r.mask ~= nil then round.mask = path_arg(r.mask, "\"mask\"", where, base_dir) end
    if r.object_mask ~= nil then
      round.object_mask = path_arg(r.object_mask, "\"object_mask\"", where, base_dir)
    end
    if r.maps ~= nil then
      if type(r.maps) ~= "table" or json.is_array(r.maps) then
        fail(where, "\"maps\" must be {\"positive\": PNG or null, \"negative\": PNG or null}")
      end
      check_keys(r.maps, { positive = true, negative = true }, where .. ": maps")
      round.maps = {}
      for _, key in ipairs({ "positive", "negative" }) do
        if r.maps[key] ~= nil and r.maps[key] ~= json.null then
          round.maps[key] = path_arg(r.maps[key], "maps " .. key, where, base_dir)
        end
      end
    end
    if r.box ~= nil then
      local box = want_array(r.box, "\"box\"", where)
      if #box ~= 4 then fail(where, "\"box\" must be [x0, y0, x1, y1]") end
      round.prompt_box = { want_number(box[1], "box x0", where), want_number(box[2], "box y0", where),
                           want_number(box[3], "box x1", where), want_number(box[4], "box y1", where) }
    end
    if r.frames ~= nil then round.frames = want_int(r.frames, "\"frames\"", where, 0) end
    if r.direction ~= nil then
      if r.direction ~= "forward" and r.direction ~= "backward" and r.direction ~= "both" then
        fail(where, "\"direction\" must be \"forward\", \"backward\" or \"both\"")
      end
      round.direction = r.direction
    end
    if r.to ~= nil then round.to = want_int(r.to, "\"to\"", where, 0) end
    if r.count ~= nil then round.count = want_int(r.count, "\"count\"", where, 1) end
    round.forget_memory = want_bool(r.forget_memory, "\"forget_memory\"", where, false)
    round.clear_memory = want_bool(r.clear_memory, "\"clear_memory\"", where, false)
    round.keep_interacted = want_bool(r.keep_interacted, "\"keep_interacted\"", where, false)
    if r.add_object ~= nil then
      round.add_object = r.add_object == true or want_int(r.add_object, "\"add_object\"", where, 1)
    end
    if r.delete_object ~= nil then
      round.delete_object = want_int(r.delete_object, "\"delete_object\"", where, 1)
    end
    if r.reset_object ~= nil then
      round.reset_object = want_int(r.reset_object, "\"reset_object\"", where, 1)
    end
    if r.scribbles ~= nil then
      round.scribbles = {}
      for k, s in ipairs(want_array(r.scribbles, "\"scribbles\"", where)) do
        local what = string.format("scribble %d", k)
        if type(s) ~= "table" or json.is_array(s) then
          fail(where, "%s must be an object {\"points\": [[x, y], ...], \"positive\": true}", what)
        end
        check_keys(s, { points = true, positive = true, thickness = true }, where .. ": " .. what)
        if s.points == nil then fail(where, "%s has no \"points\"", what) end
        round.scribbles[k] = {
          points = points(s.points, what, where),
          positive = want_bool(s.positive, what .. " \"positive\"", where, true),
          thickness = s.thickness ~= nil and want_number(s.thickness, what .. " thickness", where)
                      or plan.thickness,
        }
      end
      if #round.scribbles == 0 then round.scribbles = nil end
    end
    if r.clicks ~= nil then
      round.clicks = {}
      for k, c in ipairs(want_array(r.clicks, "\"clicks\"", where)) do
        local what = string.format("click %d", k)
        if type(c) ~= "table" then fail(where, "%s must be {\"x\": , \"y\": }", what) end
        local x, y = c.x, c.y
        if json.is_array(c) then x, y = c[1], c[2]
        else check_keys(c, { x = true, y = true, positive = true }, where .. ": " .. what) end
        round.clicks[k] = { x = want_number(x, what .. " x", where),
                            y = want_number(y, what .. " y", where),
                            positive = want_bool(c.positive, what .. " \"positive\"", where, true) }
      end
    end
    if r.polygon ~= nil then round.polygons = { points(r.polygon, "\"polygon\"", where) } end
    if r.polygons ~= nil then
      round.polygons = round.polygons or {}
      for k, p in ipairs(want_array(r.polygons, "\"polygons\"", where)) do
        round.polygons[#round.polygons + 1] = points(p, string.format("polygon %d", k), where)
      end
    end
    if r.region ~= nil then
      local box = want_array(r.region, "\"region\"", where)
      if #box ~= 4 then fail(where, "\"region\" must be [x0, y0, x1, y1]") end
      round.region = { want_number(box[1], "region x0", where),
                       want_number(box[2], "region y0", where),
                       want_number(box[3], "region x1", where),
                       want_number(box[4], "region y1", where) }
    end
    if not ((round.undo or 0) > 0 or round.reset or round.mask or round.scribbles or round.clicks
            or round.polygons or round.propagate or round.maps or round.object_mask
            or round.prompt_box or object_round or round.forget_memory) then
      fail(where, "does nothing (give scribbles, clicks, polygon, mask, undo, reset or propagate)")
    end
    plan.rounds[i] = round
  end
  return plan
end

-- Ranges against the video; converts normalized coordinates to pixels.
-- info: {frame_count, width, height}; backends: list of usable names.
function rounds.check(plan, info, backends)
  local known = {}
  for _, n in ipairs(backends or {}) do known[n] = true end
  local function check_backend(name, where)
    if name and backends and not known[name] then
      fail(where, "unknown interaction backend \"%s\" (known: %s)", name,
           table.concat(backends, ", "))
    end
  end
  check_backend(plan.interaction, plan.source)
  local sx, sy = 1, 1
  if plan.coordinates == "normalized" then
    sx, sy = info.width, info.height
  elseif plan.size then
    sx, sy = info.width / plan.size[1], info.height / plan.size[2]
  end
  local scaled = sx ~= 1 or sy ~= 1
  local max_object = 1
  local objects = plan.objects   -- as add / delete object rounds change it
  for _, round in ipairs(plan.rounds) do
    local where = round.where
    if (round.add_object or round.delete_object) and not plan.objects then
      fail(where, "add_object / delete_object need the file's \"objects\" (the count at the start)")
    end
    if round.add_object then
      objects = objects + 1
      if round.add_object ~= true and round.add_object ~= objects then
        fail(where, "add_object %d, but the new object gets id %d", round.add_object, objects)
      end
    end
    local function check_object(k)
      if objects and k > objects then
        fail(where, "object %d is out of range (%d objects: 1..%d)", k, objects, objects)
      end
    end
    if round.delete_object then
      check_object(round.delete_object)
      objects = objects - 1
    end
    if round.reset_object then check_object(round.reset_object) end
    if round.frame and (round.frame < 0 or round.frame >= info.frame_count) then
      fail(where, "frame %d is out of range (the video has %d frames: 0..%d)", round.frame,
           info.frame_count, info.frame_count - 1)
    end
    if round.frame then check_object(round.object) end
    if round.scribbles or round.clicks or round.polygons or round.maps or round.object_mask
       or round.prompt_box then
      max_object = math.max(max_object, round.object)
    end
    check_backend(round.interaction, where)
    for _, file in ipairs({ round.mask or false, round.object_mask or false,
                            round.maps and round.maps.positive or false,
                            round.maps and round.maps.negative or false }) do
      if file then
        local f = io.open(file, "rb")
        if not f then fail(where, "cannot read the mask \"%s\"", file) end
        f:close()
      end
    end
    if round.prompt_box then
      local b = round.prompt_box
      round.prompt_box = { math.floor(b[1] * sx + 0.5), math.floor(b[2] * sy + 0.5),
                           math.floor(b[3] * sx + 0.5), math.floor(b[4] * sy + 0.5) }
    end
    local function scale(p) return { p[1] * sx, p[2] * sy } end
    for _, s in ipairs(round.scribbles or {}) do
      for k, p in ipairs(s.points) do s.points[k] = scale(p) end
    end
    for k, c in ipairs(round.clicks or {}) do
      c.x, c.y = c.x * sx, c.y * sy
      if c.x < 0 or c.y < 0 or c.x >= info.width or c.y >= info.height then
        fail(where, "click %d at (%g, %g) is outside the %dx%d frame", k, c.x, c.y, info.width,
             info.height)
      end
    end
    for _, polygon in ipairs(round.polygons or {}) do
      for k, p in ipairs(polygon) do polygon[k] = scale(p) end
      if #polygon < (round.brush > 0 and 1 or 3) then
        fail(where, "a polygon needs at least 3 points")
      end
    end
    if round.region then
      local b = round.region
      local x0, y0 = math.floor(b[1] * sx + 0.5), math.floor(b[2] * sy + 0.5)
      local x1, y1 = math.floor(b[3] * sx + 0.5), math.floor(b[4] * sy + 0.5)
      if scaled then
        x1, y1 = math.min(x1, info.width - 1), math.min(y1, info.height - 1)
      end
      if x0 < 0 or y0 < 0 or x1 >= info.width or y1 >= info.height or x0 > x1 or y0 > y1 then
        fail(where, "region [%d, %d, %d, %d] is not inside the %dx%d frame", x0, y0, x1, y1,
             info.width, info.height)
      end
      round.box = { x0, y0, x1, y1, margin = round.margin }
    end
  end
  plan.max_object = max_object
  plan.coordinates, plan.size = "pixels", nil
  return plan
end

function rounds.describe(round)
  local parts = {}
  local function add(n, word)
    if n and n > 0 then parts[#parts + 1] = string.format("%d %s%s", n, word, n > 1 and "s" or "") end
  end
  if round.add_object then parts[#parts + 1] = "add object" end
  if round.delete_object then parts[#parts + 1] = "delete object " .. round.delete_object end
  if round.reset_object then parts[#parts + 1] = "reset object " .. round.reset_object end
  add(round.undo, "undo")
  if round.reset then parts[#parts + 1] = "reset" end
  if round.mask then parts[#parts + 1] = "mask " .. round.mask end
  if round.object_mask then parts[#parts + 1] = "object mask " .. round.object_mask end
  if round.prompt_box then parts[#parts + 1] = "box" end
  if round.maps then parts[#parts + 1] = "maps" end
  add(round.scribbles and #round.scribbles, "scribble")
  add(round.clicks and #round.clicks, "click")
  add(round.polygons and #round.polygons, round.erase and "erase polygon" or "polygon")
  if round.box then parts[#parts + 1] = "local region" end
  if round.end_strokes then parts[#parts + 1] = "end strokes" end
  if round.propagate then parts[#parts + 1] = "propagate" end
  return table.concat(parts, ", ")
end

-- The log key that marks each kind of operation (a workspace log entry
-- holds exactly one of them).
local LOG_KEYS = { "add_object", "delete_object", "reset_object", "clear_memory", "undo", "reset",
                   "mask", "object_mask", "box", "maps", "scribbles", "clicks", "polygon",
                   "end_strokes", "forget_memory", "propagate" }

local function log_kind(entry)
  for _, key in ipairs(LOG_KEYS) do
    if entry[key] ~= nil then return key end
  end
  return "?"
end

-- A round's propagation kept within frames first..last: each direction it
-- asks for runs on its own, to the bound or the (one-way) round's "to",
-- whichever is nearer; on_progress(done, total) counts both directions together (and
-- stops both when it returns true).
local function propagate_within(session, round, first, last, on_progress)
  local f = round.frame
  local direction = round.direction or "both"
  local legs = {}
  -- "to" belongs to a one-way round only
  local to = direction ~= "both" and round.to or nil
  if direction ~= "backward" and f < last then
    legs[#legs + 1] = { direction = "forward", to = math.min(to or last, last) }
  end
  if direction ~= "forward" and f > first then
    legs[#legs + 1] = { direction = "backward", to = math.max(to or first, first) }
  end
  local total = 0
  for _, leg in ipairs(legs) do
    local span = math.abs(leg.to - f)
    if round.count then span = math.min(span, round.count) end
    leg.count, total = round.count, total + span
  end
  local before, stopped = 0, false
  for _, leg in ipairs(legs) do
    if stopped then break end
    local done_here = 0
    leg.on_progress = on_progress and function(d, _, frame)
      done_here = d
      stopped = on_progress(before + d, total, frame) == true
      return stopped
    end
    session:propagate(f, leg)
    before = before + done_here
  end
end

-- Runs the checked plan. options.on_round(i, round) before each round,
-- options.on_propagate(i, round) when its propagation starts,
-- options.on_progress(i, done, total, frame) during its propagation,
-- options.interaction = the default backend (restored after a round that
-- names its own), options.done = the entries of a workspace log (decoded
-- rounds): the plan's first #done operations are already in the session
-- and are skipped, each checked against its entry (kind and frame) so that
-- a log from another rounds file is an error, options.first / last = the
-- frames propagations may reach (default the whole video: a propagation
-- is cut at these bounds, one direction at a time). Returns the number
-- skipped.
function rounds.run(session, plan, options)
  options = options or {}
  local default = options.interaction or session:info().interaction
  local done, skipped = options.done or {}, 0
  -- Runs fn unless the log already holds this operation.
  local function op(round, kind, fn, ...)
    if skipped < #done then
      skipped = skipped + 1
      local entry = done[skipped]
      if log_kind(entry) ~= kind or (entry.frame ~= nil and entry.frame ~= round.frame) then
        fail(round.where, "the workspace log's entry %d is %s on frame %s, this round does %s "
             .. "on frame %s: the workspace was made with other rounds", skipped, log_kind(entry),
             tostring(entry.frame), kind, tostring(round.frame))
      end
      return
    end
    return fn(...)
  end
  for i, round in ipairs(plan.rounds) do
    if options.on_round then options.on_round(i, round) end
    local f, k = round.frame, round.object
    if round.add_object then op(round, "add_object", session.add_object, session) end
    if round.delete_object then
      op(round, "delete_object", session.delete_object, session, round.delete_object)
    end
    if round.reset_object then
      op(round, "reset_object", session.reset_object, session, round.reset_object)
    end
    if round.clear_memory then
      op(round, "clear_memory", session.clear_memory, session,
         { keep_interacted = round.keep_interacted })
    end
    for _ = 1, round.undo or 0 do op(round, "undo", session.undo, session, f) end
    if round.reset then op(round, "reset", session.reset_frame, session, f) end
    if round.mask then op(round, "mask", session.load_mask, session, f, round.mask) end
    if round.object_mask then
      if not session.set_object_mask then
        error(round.where .. ": \"object_mask\" needs session:set_object_mask (not in this build)", 0)
      end
      op(round, "object_mask", function()
        session:set_object_mask(f, k, require("mivos.io").read_labels(round.object_mask,
                                                                      session.width, session.height))
      end)
    end
    if round.prompt_box then
      if not session.box then
        error(round.where .. ": \"box\" needs session:box (not in this build)", 0)
      end
      local b = round.prompt_box
      op(round, "box", session.box, session, f, k, { b[1], b[2], b[3], b[4] })
    end
    if round.interaction then session:set_interaction(round.interaction) end
    if round.maps then
      op(round, "maps", function()
        local read = require("mivos.io").read_labels
        local function load(file) return file and read(file, session.width, session.height) end
        session:interact_maps(f, k, load(round.maps.positive), load(round.maps.negative), round.box)
      end)
    end
    if round.scribbles then
      local strokes = {}
      for j, s in ipairs(round.scribbles) do
        strokes[j] = { points = s.points, positive = s.positive, thickness = s.thickness }
      end
      op(round, "scribbles", session.scribble, session, f, k, { strokes = strokes, region = round.box })
    end
    for _, c in ipairs(round.clicks or {}) do
      op(round, "clicks", session.click, session, f, k, c.x, c.y, c.positive, round.box)
    end
    if round.interaction then session:set_interaction(default) end
    for _, polygon in ipairs(round.polygons or {}) do
      op(round, "polygon", session.draw, session, f, k, polygon, round.erase, round.brush)
    end
    if round.end_strokes then op(round, "end_strokes", session.end_strokes, session) end
    if round.forget_memory then op(round, "forget_memory", session.forget_memory, session, f) end
    if round.propagate then
      op(round, "propagate", function()
        if options.on_propagate then options.on_propagate(i, round) end
        local on_progress = options.on_progress
        local request = { on_progress = (on_progress or round.frames) and function(d, total,
                                                                                  frame)
          if on_progress then on_progress(i, d, total, frame) end
          return round.frames ~= nil and d >= round.frames
        end }
        if options.first or options.last then
          propagate_within(session, round, options.first or 0,
                           options.last or session.frame_count - 1, request.on_progress)
          return
        end
        -- only the keys given: a session without the step API takes no others
        for _, key in ipairs({ "direction", "to", "count" }) do
          if round[key] ~= nil then request[key] = round[key] end
        end
        session:propagate(f, request)
      end)
    end
  end
  if skipped < #done then
    fail(plan.source, "the workspace log holds %d operations, these rounds only %d: the "
         .. "workspace was made with other rounds", #done, skipped)
  end
  return skipped
end

return rounds
