-- mivos.session: interactive sessions on a video (scribbles, clicks,
-- drawing, local control, propagation, undo; exports and evaluation are in
-- mivos.session_export).
-- Public through the entry module: SessionClass, session, region, points.
local ffi = require("ffi")
local lib = require("mivos.lib")
local array = require("mivos.array")
local device = require("mivos.device")
local io_ = require("mivos.io")

local C, check, raise, live, close_handle = lib.C, lib.check, lib.raise, lib.live,
                                             lib.close_handle
local argument_error, int_arg, number_arg = lib.argument_error, lib.int_arg, lib.number_arg
local string_arg, table_arg, check_options = lib.string_arg, lib.table_arg, lib.check_options
local options_arg = lib.options_arg
local image, image_pointer = array.image, array.pointer
local Video = io_.VideoClass

local session = {}

-- ---- progress callbacks ---------------------------------------------------------

local progress_handlers = {}  -- id -> {fn, error}
local next_progress_id = 0

local progress_callback = ffi.cast("mv_frame_progress_fn", function(user, frame, done, total)
  local handler = progress_handlers[tonumber(ffi.cast("intptr_t", user))]
  if handler == nil then return 0 end
  local ok, stop = pcall(handler.fn, done, total, frame)
  if not ok then
    handler.error = stop
    return 1
  end
  if stop then
    handler.stopped = true
    return 1
  end
  return 0
end)

-- ---- interactive sessions ---------------------------------------------------------

local Session = {}
Session.__index = Session
session.SessionClass = Session

-- REPL: "session: libby.mp4, 49 frames, 854x480, 1 object, graphcut + labelprop + linear".
function Session:__tostring()
  local name = self.video.path:match("([^/]+)/*$") or self.video.path
  if rawget(self, "_ptr") == nil then return "session: " .. name .. " (closed)" end
  local info = self:info()
  return string.format("session: %s, %d frames, %dx%d, %d object%s, %s + %s + %s", name,
                       info.frame_count, info.width, info.height, info.objects,
                       info.objects == 1 and "" or "s", info.interaction, info.propagation,
                       info.fusion)
end

-- Calls a session function that may call back into Lua (a Lua backend or
-- a progress function): never from a JIT-compiled trace (LuaJIT forbids
-- callbacks from compiled FFI calls), hence jit.off.
local function session_call(status_fn, ...)
  local status = status_fn(...)
  if status ~= 0 then raise(tonumber(status)) end
end
jit.off(session_call)

local SESSION_OPTIONS = {
  objects = true, interaction = true, propagation = true, fusion = true, weights = true,
  device = true, memory_every = true, device_memory_limit = true, host_memory_limit = true,
}

-- A session on a video (which it keeps alive). options:
--   objects      number of objects (default 1)
--   interaction  a name of mivos.backends(): a built-in backend
--                (mivos.builtin_modules("interaction")) or a registered one
--   propagation  a name of mivos.builtin_modules("propagation")
--   fusion       a name of mivos.builtin_modules("fusion")
--                (without weights each defaults to the first built-in name)
--   weights      folder with the official propagation_model.pth, fusion.pth,
--                s2m.pth (then the defaults become the modules that use them)
--   device       OpenCL device spec for this process ("P:D", "gpu", "cpu",
--                a name substring), selected before the session opens
--   memory_every, device_memory_limit, host_memory_limit (bytes)
function session.session(video, options)
  if getmetatable(video) ~= Video then
    argument_error("mivos.session: video must be a video from mivos.open_video, got %s",
                   type(video))
  end
  local vptr = live(video, "video")
  options = options_arg(options, SESSION_OPTIONS, "mivos.session")
  if options.device ~= nil then
    device.select_device(string_arg(options.device, "device", "mivos.session"))
  end
  local o = ffi.new("mv_session_options")
  C.mv_session_options_default(o)
  if options.objects ~= nil then o.objects = int_arg(options.objects, "objects", "mivos.session") end
  -- the strings stay referenced by `options` during the call
  for _, key in ipairs({ "interaction", "propagation", "fusion", "weights" }) do
    if options[key] ~= nil then o[key] = string_arg(options[key], key, "mivos.session") end
  end
  if options.memory_every ~= nil then
    o.memory_every = int_arg(options.memory_every, "memory_every", "mivos.session")
  end
  if options.device_memory_limit ~= nil then o.device_memory_limit = options.device_memory_limit end
  if options.host_memory_limit ~= nil then o.host_memory_limit = options.host_memory_limit end
  local out = ffi.new("mv_session*[1]")
  check(C.mv_session_open(vptr, o, out))
  -- The finalizer references the video handle, so the video cannot be
  -- collected before the session is closed.
  local ptr = ffi.gc(out[0], function(p)
    C.mv_session_close(p)
    return vptr
  end)
  local self = setmetatable({ _ptr = ptr, video = video }, Session)
  video._sessions[self] = true
  local info = self:info()
  self.frame_count, self.width, self.height = info.frame_count, info.width, info.height
  return self
end

function Session:info()
  local info = ffi.new("mv_session_info")
  check(C.mv_session_get_info(live(self, "session"), info))
  return {
    frame_count = info.frame_count, width = info.width, height = info.height,
    objects = info.objects, interacted_frames = info.interacted_frames,
    interaction = ffi.string(info.interaction), propagation = ffi.string(info.propagation),
    fusion = ffi.string(info.fusion),
  }
end

function Session:objects() return self:info().objects end

function Session:set_interaction(name)
  string_arg(name, "name", "session:set_interaction")
  check(C.mv_session_set_interaction(live(self, "session"), name))
end

-- Boxes for local control: {x0, y0, x1, y1 [, margin = m]} or
-- {x0 = , y0 = , x1 = , y1 = , margin = }; inclusive pixel coordinates.
-- Referencing a value after a C call keeps it alive during the call.
local function keep_alive(...) return ... end

local function make_region(box, fn)
  if box == nil then return nil end
  if type(box) == "cdata" then return box end
  table_arg(box, "region", fn)
  local r = ffi.new("mv_region")
  r.x0 = int_arg(box.x0 or box[1], "region x0", fn)
  r.y0 = int_arg(box.y0 or box[2], "region y0", fn)
  r.x1 = int_arg(box.x1 or box[3], "region x1", fn)
  r.y1 = int_arg(box.y1 or box[4], "region y1", fn)
  r.margin = int_arg(box.margin or box[5] or 0, "region margin", fn)
  return r
end
session.region = make_region

-- Points of a polyline / polygon: a flat list {x1, y1, x2, y2, ...}, a list
-- of pairs {{x1, y1}, {x2, y2}, ...} or of {x = , y = } tables.
local function make_points(points, what, fn)
  if type(points) ~= "table" then
    argument_error("%s: %s must be a list of points, got %s", fn, what, type(points))
  end
  local flat = {}
  if type(points[1]) == "number" then
    if #points % 2 ~= 0 then
      argument_error("%s: %s has an odd number of coordinates (%d)", fn, what, #points)
    end
    flat = points
  else
    for i, p in ipairs(points) do
      if type(p) ~= "table" then
        argument_error("%s: %s point %d must be {x, y}, got %s", fn, what, i, type(p))
      end
      flat[#flat + 1] = p.x or p[1]
      flat[#flat + 1] = p.y or p[2]
    end
  end
  local n = #flat / 2
  if n < 1 then argument_error("%s: %s has no points", fn, what) end
  local xy = ffi.new("float[?]", #flat)
  for i = 1, #flat do xy[i - 1] = number_arg(flat[i], what .. " coordinate", fn) end
  return xy, n
end
session.points = make_points

-- Strokes of a scribble: spec.pos / spec.neg are lists of polylines (one
-- flat list of numbers is taken as a single polyline), spec.thickness in
-- pixels (default 3); or spec.strokes = {{points = polyline, positive =
-- true|false, thickness = t}, ...}. Returns the mv_stroke array, its count
-- and the anchors that keep the coordinate arrays alive.
local function make_strokes(spec, fn)
  local list, anchors = {}, {}
  local function add(line, positive, thickness, what)
    local xy, n = make_points(line, what, fn)
    anchors[#anchors + 1] = xy
    list[#list + 1] = { xy = xy, count = n, positive = positive and 1 or 0,
                        thickness = thickness or spec.thickness or 0 }
  end
  for _, sign in ipairs({ "pos", "neg" }) do
    local lines = spec[sign]
    if lines ~= nil then
      table_arg(lines, sign, fn)
      if type(lines[1]) == "number" then lines = { lines } end
      for i, line in ipairs(lines) do
        add(line, sign == "pos", nil, string.format("%s stroke %d", sign, i))
      end
    end
  end
  if spec.strokes ~= nil then
    for i, s in ipairs(table_arg(spec.strokes, "strokes", fn)) do
      if type(s) ~= "table" or s.points == nil then
        argument_error("%s: stroke %d must be {points = ..., positive = true|false}", fn, i)
      end
      add(s.points, s.positive ~= false, s.thickness, string.format("stroke %d", i))
    end
  end
  local strokes = ffi.new("mv_stroke[?]", math.max(#list, 1))
  for i, s in ipairs(list) do
    local st = strokes[i - 1]
    st.xy, st.count, st.positive, st.thickness = s.xy, s.count, s.positive, s.thickness
  end
  return strokes, #list, anchors
end

-- Scribbles on a frame for one object:
--   s:scribble(frame, obj, {pos = {polyline, ...}, neg = {polyline, ...},
--                          thickness = 3, region = box})
-- (or {strokes = {...}}, see make_strokes above); polylines as in draw.
function Session:scribble(frame, object, spec)
  local fn = "session:scribble"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  spec = table_arg(spec, "strokes", fn)
  check_options(spec, { pos = true, neg = true, thickness = true, region = true, strokes = true },
                fn)
  local strokes, count, anchors = make_strokes(spec, fn)
  if count == 0 then argument_error("%s: no pos or neg strokes given", fn) end
  local region = make_region(spec.region, fn)
  session_call(C.mv_session_scribble, live(self, "session"), frame, object, strokes, count,
               region)
  keep_alive(anchors)
end
jit.off(Session.scribble)

-- A click at (x, y): positive (default true) or negative; region optional.
function Session:click(frame, object, x, y, positive, region)
  local fn = "session:click"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  number_arg(x, "x", fn)
  number_arg(y, "y", fn)
  session_call(C.mv_session_click, live(self, "session"), frame, object, x, y,
               positive == false and 0 or 1, make_region(region, fn))
end
jit.off(Session.click)

-- Free-hand drawing: a polygon filled into the object (erase = true removes
-- it from the object); with brush_radius > 0 a brush stroke along the points.
function Session:draw(frame, object, points, erase, brush_radius)
  local fn = "session:draw"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  local xy, n = make_points(points, "polygon", fn)
  session_call(C.mv_session_draw, live(self, "session"), frame, object, xy, n,
               brush_radius or 0, erase and 1 or 0)
end
jit.off(Session.draw)

-- Any backend input as maps (height x width bytes, nonzero = set; images or
-- pointers, either may be nil).
function Session:interact_maps(frame, object, positive, negative, region)
  local fn = "session:interact_maps"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  local size = self.width * self.height
  session_call(C.mv_session_interact_maps, live(self, "session"), frame, object,
               image_pointer(positive, "uint8_t", size, "positive", fn),
               image_pointer(negative, "uint8_t", size, "negative", fn),
               make_region(region, fn))
end
jit.off(Session.interact_maps)

-- Box prompt: {x0, y0, x1, y1} (or {x0 = , ...}), inclusive pixels; the
-- backend gets GrabCut's rectangle (inside = the object's previous mask,
-- outside = certain background), see mv_session_box.
function Session:box(frame, object, box)
  local fn = "session:box"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  table_arg(box, "box", fn)
  local x0 = int_arg(box.x0 or box[1], "box x0", fn)
  local y0 = int_arg(box.y0 or box[2], "box y0", fn)
  local x1 = int_arg(box.x1 or box[3], "box x1", fn)
  local y1 = int_arg(box.y1 or box[4], "box y1", fn)
  session_call(C.mv_session_box, live(self, "session"), frame, object, x0, y0, x1, y1)
end
jit.off(Session.box)

-- Replaces one object's mask on the frame (an image or pointer of height x
-- width bytes, nonzero = the object); other objects keep the rest. Undoable.
function Session:set_object_mask(frame, object, mask)
  local fn = "session:set_object_mask"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  check(C.mv_session_set_object_mask(live(self, "session"), frame, object,
                                     image_pointer(mask, "uint8_t", self.width * self.height,
                                                   "mask", fn)))
end

-- Replaces the frame's label map (an image or pointer of height x width ids).
function Session:set_labels(frame, labels)
  local fn = "session:set_labels"
  int_arg(frame, "frame", fn)
  check(C.mv_session_set_labels(live(self, "session"), frame,
                                image_pointer(labels, "uint8_t", self.width * self.height,
                                              "labels", fn)))
end

-- Reads a mask PNG (palette, 0/255, grey ids) as the frame's label map,
-- resized nearest-neighbour to the working size; with `object`, the file's
-- nonzero pixels become that object's mask instead (set_object_mask).
function Session:load_mask(frame, path, object)
  local labels = io_.read_labels(path, self.width, self.height)
  if object ~= nil then
    self:set_object_mask(frame, object, labels)
  else
    self:set_labels(frame, labels)
  end
  return labels
end

-- Local control: runs fn(r) where r has the interaction methods without the
-- frame argument and restricted to the box:
--   r:scribble(obj, spec), r:click(obj, x, y, positive),
--   r:interact_maps(obj, pos, neg)
-- box: {x0, y0, x1, y1, margin = m}. Returns what fn returns.
function Session:local_region(frame, box, fn)
  int_arg(frame, "frame", "session:local_region")
  local region = make_region(box, "session:local_region")
  local session = self
  local r = {
    frame = frame, box = box, region = region,
    scribble = function(_, object, spec)
      spec = table_arg(spec, "strokes", "region:scribble")
      local copy = {}
      for k, v in pairs(spec) do copy[k] = v end
      copy.region = region
      return session:scribble(frame, object, copy)
    end,
    click = function(_, object, x, y, positive)
      return session:click(frame, object, x, y, positive, region)
    end,
    interact_maps = function(_, object, positive, negative)
      return session:interact_maps(frame, object, positive, negative, region)
    end,
  }
  if fn == nil then return r end
  if type(fn) ~= "function" then
    argument_error("session:local_region: fn must be a function, got %s", type(fn))
  end
  return fn(r)
end

-- The frame's label map (0 or object ids) at width x height (e.g. the
-- source size): every object's probabilities resized bilinearly, then the
-- most probable id (mv_session_labels_resized). Into `into` or a new image.
function Session:mask_resized(frame, width, height, into)
  local fn = "session:mask_resized"
  int_arg(frame, "frame", fn)
  int_arg(width, "width", fn)
  int_arg(height, "height", fn)
  into = into or image(width, height)
  check(C.mv_session_labels_resized(live(self, "session"), frame, width, height,
                                    image_pointer(into, "uint8_t", width * height, "into", fn)))
  return into
end

-- The frame's label map (0 or object ids), into `into` or a new image.
function Session:mask(frame, into)
  local fn = "session:mask"
  int_arg(frame, "frame", fn)
  into = into or image(self.width, self.height)
  check(C.mv_session_labels(live(self, "session"), frame,
                            image_pointer(into, "uint8_t", self.width * self.height, "into", fn)))
  return into
end

-- One object's probabilities (0 = background) as a float image.
function Session:probabilities(frame, object, into)
  local fn = "session:probabilities"
  int_arg(frame, "frame", fn)
  int_arg(object, "object", fn)
  into = into or image(self.width, self.height, 1, "float")
  check(C.mv_session_probabilities(live(self, "session"), frame, object,
                                   image_pointer(into, "float", self.width * self.height,
                                                 "into", fn)))
  return into
end

local DIRECTIONS = { forward = C.MV_FORWARD, backward = C.MV_BACKWARD, both = C.MV_BOTH }

-- An mv_propagation_request from propagate / propagation options:
-- direction ("forward", "backward", "both" = default), to (the last frame),
-- count (the most frames).
local function make_request(frame, options, fn)
  local req = ffi.new("mv_propagation_request")
  req.frame = frame
  local direction = options.direction or "both"
  if DIRECTIONS[direction] == nil then
    argument_error("%s: direction must be \"forward\", \"backward\" or \"both\", got %s", fn,
                   tostring(direction))
  end
  req.direction = DIRECTIONS[direction]
  req.to = options.to ~= nil and int_arg(options.to, "to", fn) or -1
  req.count = options.count ~= nil and int_arg(options.count, "count", fn) or 0
  return req
end

-- Propagates the frame's mask (both ways by default; options direction,
-- to, count as for propagation below). options.on_progress(done, total,
-- frame) is called after every frame (frame = the one just propagated);
-- returning true stops the propagation after the current frame (the frames
-- done keep their result). A Lua error in it stops the propagation and is
-- raised again here. Returns true when the propagation ran to the end,
-- false when on_progress stopped it.
function Session:propagate(frame, options)
  local fn = "session:propagate"
  int_arg(frame, "frame", fn)
  options = options_arg(options, { on_progress = true, direction = true, to = true, count = true },
                        fn)
  local ptr = live(self, "session")
  local req = make_request(frame, options, fn)
  local on_progress = options.on_progress
  if on_progress == nil then
    session_call(C.mv_session_propagate_request, ptr, req, nil, nil)
    return true
  end
  next_progress_id = next_progress_id + 1
  local id = next_progress_id
  local handler = { fn = on_progress }
  progress_handlers[id] = handler
  local ok, err = pcall(session_call, C.mv_session_propagate_request, ptr, req, progress_callback,
                        ffi.cast("void*", id))
  progress_handlers[id] = nil
  if handler.error ~= nil then error(handler.error, 0) end
  if not ok then error(err, 0) end
  return not handler.stopped
end
jit.off(Session.propagate)

-- Pull-style propagation: an iterator over the frames as they are propagated,
--   for frame, labels in s:propagation(0, {direction = "forward", to = 80}) do ... end
-- options: direction ("forward" | "backward" | "both", default both: forward
-- first), to (last frame, one direction only), count (the most frames),
-- labels (default true: the frame's labels as an image, the same image
-- reused at every step: copy it to keep it; false: nil, nothing read).
-- Breaking out of the loop stops the propagation there (the frames done
-- keep their results); the iterator can also be called by hand, now or
-- later, to continue: it returns nil when the run is over. A later
-- propagation, memory control or an object change ends the run (the
-- iterator then raises E_STATE). The iterator's `run` field is the C run.
function Session:propagation(frame, options)
  local fn = "session:propagation"
  int_arg(frame, "frame", fn)
  options = options_arg(options, { direction = true, to = true, count = true, labels = true }, fn)
  local req = make_request(frame, options, fn)
  local out = ffi.new("mv_propagation_run*[1]")
  check(C.mv_session_propagation_begin(live(self, "session"), req, out))
  local run = ffi.gc(out[0], C.mv_session_propagation_end)
  local labels = options.labels ~= false and image(self.width, self.height) or nil
  local frame_out, done_out = ffi.new("int[1]"), ffi.new("int[1]")
  local finished = false
  local session = self
  local function finish()
    finished = true
    ffi.gc(run, nil)
    C.mv_session_propagation_end(run)
  end
  return function()
    if finished then return nil end
    local status = C.mv_session_propagation_step(run, frame_out, done_out)
    if status ~= 0 then
      local _, e = pcall(raise, tonumber(status))  -- the message before ending the run
      finish()
      error(e, 0)
    end
    local f = frame_out[0]
    if done_out[0] ~= 0 then finish() end
    if f < 0 then return nil end
    if labels then session:mask(f, labels) end
    return f, labels
  end
end
jit.off(Session.propagation)

-- Memory control: forget a frame's entry; clear all entries, or with
-- {keep_interacted = true} all but those of frames edited before they were
-- propagated from; memory_frames() = {{frame = , interacted = }, ...} in the
-- order the frames entered.
function Session:forget_memory(frame)
  int_arg(frame, "frame", "session:forget_memory")
  check(C.mv_session_forget_memory(live(self, "session"), frame))
end

function Session:clear_memory(options)
  options = options_arg(options, { keep_interacted = true }, "session:clear_memory")
  check(C.mv_session_clear_memory(live(self, "session"), options.keep_interacted and 1 or 0))
end

function Session:memory_frames()
  local ptr, count = live(self, "session"), ffi.new("int[1]")
  check(C.mv_session_memory_frames(ptr, nil, nil, 0, count))
  local n = count[0]
  local frames, flags = ffi.new("int[?]", n + 1), ffi.new("int[?]", n + 1)
  check(C.mv_session_memory_frames(ptr, frames, flags, n, count))
  local list = {}
  for i = 0, n - 1 do list[i + 1] = { frame = frames[i], interacted = flags[i] ~= 0 } end
  return list
end

-- Ends the group of strokes the default backend sees at once (mivos.h,
-- mv_session_end_strokes): the next stroke starts from the mask it left.
function Session:end_strokes()
  check(C.mv_session_end_strokes(live(self, "session")))
end

function Session:undo(frame)
  int_arg(frame, "frame", "session:undo")
  check(C.mv_session_undo(live(self, "session"), frame))
end

function Session:reset_frame(frame)
  int_arg(frame, "frame", "session:reset_frame")
  check(C.mv_session_reset_frame(live(self, "session"), frame))
end

function Session:reset_object(object)
  int_arg(object, "object", "session:reset_object")
  check(C.mv_session_reset_object(live(self, "session"), object))
end

-- The object ids in ascending order (stable: deleting one keeps the others).
function Session:object_ids()
  local ptr, count = live(self, "session"), ffi.new("int[1]")
  local ids = ffi.new("int[256]")
  check(C.mv_session_object_ids(ptr, ids, 256, count))
  local list = {}
  for i = 0, count[0] - 1 do list[i + 1] = ids[i] end
  return list
end

-- Adds an object; returns its id (the highest id ever used + 1).
function Session:add_object()
  local id = ffi.new("int[1]")
  check(C.mv_session_add_object(live(self, "session"), id))
  return id[0]
end

function Session:delete_object(object)
  int_arg(object, "object", "session:delete_object")
  check(C.mv_session_delete_object(live(self, "session"), object))
end

-- Closes the session (also done by the garbage collector).
function Session:close()
  local video = rawget(self, "video")
  if video and video._sessions then video._sessions[self] = nil end
  close_handle(self, C.mv_session_close)
end

function Session:handle() return live(self, "session") end

return session
