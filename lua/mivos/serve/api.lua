-- mivos.serve.api: the JSON API of `mivos serve` over one session, the
-- static page, and the loop that interleaves long jobs (propagation,
-- exports) with serving requests. The only module of the server that
-- touches the session.
--
--   local app = api.new{mivos =, video =, session =, workspace = DIR,
--                       token =, name =, loopback = true, quiet = false,
--                       recovered = "what opening the workspace restored"}
--   app:listen(host, port) -> url | nil, err
--   app:run()              serves until app.quit (SIGINT ends it too)
--
-- Every /api/ request needs the token (header X-Mivos-Token or ?token=).
-- Answers are JSON; errors are {"error": "message"} with a 4xx status
-- (400 bad input, 403 token, 404, 405, 409 busy or nothing to undo) and
-- change nothing. Events (GET /api/events, text/event-stream):
--   state     the whole state (after every change)
--   progress  {job, frame, done, total}        while a job runs
--   finished  {job, stopped, seconds, result|error}
local ffi = require("ffi")
local lib = require("mivos.lib")
local http = require("mivos.serve.http")
local export = require("mivos.serve.export")
local json = require("mivos.json")
local rounds = require("mivos.rounds")
local sys = require("mivos.sys")

local api = {}

local App = {}
App.__index = App

local PAGE_FILES = {
  ["/"] = { "index.html", "text/html; charset=utf-8" },
  ["/index.html"] = { "index.html", "text/html; charset=utf-8" },
  ["/app.js"] = { "app.js", "text/javascript; charset=utf-8" },
  ["/style.css"] = { "style.css", "text/css; charset=utf-8" },
}

-- The page is served from the folder next to this module (lua/mivos/serve/page).
local function page_dir()
  local path = package.searchpath("mivos.serve.api", package.path)
  return (path and sys.dirname(path) or "lua/mivos/serve") .. "/page"
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("*a")
  f:close()
  return data
end

-- Calls a C function of the session that may call back into Lua (a Lua
-- interaction backend): never from a JIT-compiled trace (LuaJIT forbids it).
local function session_call(fn, ...)
  local status = fn(...)
  if status ~= 0 then lib.raise(tonumber(status)) end
end
jit.off(session_call)

-- ---- answers ------------------------------------------------------------------

local function reply(status, value)
  return { status = status, body = json.encode(value),
           headers = { ["Content-Type"] = "application/json", ["Cache-Control"] = "no-store" } }
end

local function ok(value) return reply(200, value or { ok = true }) end

-- An error raised by a handler with its HTTP status.
local HttpError = {}
HttpError.__index = HttpError
local function fail(status, fmt, ...)
  error(setmetatable({ status = status, message = string.format(fmt, ...) }, HttpError), 0)
end

-- The one-line message of any error value, and its HTTP status.
local function error_answer(err)
  if getmetatable(err) == HttpError then return err.status, err.message end
  if type(err) == "table" and err.code then  -- a mivos.Error from the library
    local status = ({ E_ARGUMENT = 400, E_STATE = 409, E_FORMAT = 400 })[err.code] or 500
    return status, err.message
  end
  local text = tostring(err):gsub("\r?\n.*$", "")
  -- a Lua error with a source position is a bug here, not bad input
  if text:match("^[^%s:]+%.lua:%d+:") then return 500, text end
  return 400, text
end

-- ---- state ----------------------------------------------------------------------

function api.new(options)
  local self = setmetatable({}, App)
  for k, v in pairs(options) do self[k] = v end
  local s = self.session
  self.frame_count, self.width, self.height = s.frame_count, s.width, s.height
  self.page = page_dir()
  self.epoch = 1
  self.versions = {}         -- frame -> epoch of its last change (0-based frames)
  for f = 0, self.frame_count - 1 do self.versions[f] = 1 end
  self.labels = ffi.new("uint8_t[?]", self.width * self.height)
  self.runs = ffi.new("uint8_t[?]", self.width * self.height * 5)
  return self
end

function App:object_ids() return self.session:object_ids() end

-- Frames in the propagation memory (the timeline marks them).
function App:memory_frames()
  local frames = {}
  for i, entry in ipairs(self.session:memory_frames()) do frames[i] = entry.frame end
  table.sort(frames)
  return frames
end

function App:state()
  local info = self.session:info()
  local versions = {}
  for f = 0, self.frame_count - 1 do versions[f + 1] = self.versions[f] end
  local job = self.job and { kind = self.job.kind, frame = self.job.frame, done = self.job.done,
                             total = self.job.total } or json.null
  return {
    video = { name = self.name, frames = self.frame_count, width = self.width,
              height = self.height, fps = self.video.fps > 0 and self.video.fps or 25 },
    objects = json.array(self:object_ids()),
    modules = { interaction = info.interaction, propagation = info.propagation,
                fusion = info.fusion },
    versions = json.array(versions), epoch = self.epoch,
    memory = json.array(self:memory_frames()), job = job,
    workspace = self.workspace, exports = export.KINDS, recovered = self.recovered or "",
  }
end

-- Marks frames changed (nil = all) and tells every open page.
function App:changed(frames)
  self.epoch = self.epoch + 1
  if frames == nil then
    for f = 0, self.frame_count - 1 do self.versions[f] = self.epoch end
  else
    for _, f in ipairs(frames) do self.versions[f] = self.epoch end
  end
  if self.server then self.server:broadcast("state", json.encode(self:state())) end
end

function App:event(name, value)
  if self.server then self.server:broadcast(name, json.encode(value)) end
end

-- ---- request bodies -------------------------------------------------------------

local function body_json(request)
  if request.body == "" then fail(400, "the request needs a JSON body") end
  local okd, value = pcall(json.decode, request.body, "request body")
  if not okd then fail(400, "%s", tostring(value)) end
  if type(value) ~= "table" or json.is_array(value) then
    fail(400, "the request body must be a JSON object")
  end
  return value
end

local function want_int(value, what, min, max)
  if type(value) ~= "number" or value % 1 ~= 0 then
    fail(400, "%s must be an integer, got %s", what, json.encode(value == nil and json.null
                                                                 or value))
  end
  if (min and value < min) or (max and value > max) then
    fail(400, "%s %d is out of range (%d..%d)", what, value, min, max)
  end
  return value
end

function App:frame_arg(value)
  return want_int(value, "frame", 0, self.frame_count - 1)
end

function App:object_arg(value)
  local object = want_int(value, "object", 1, 255)
  for _, id in ipairs(self:object_ids()) do if id == object then return object end end
  fail(400, "object %d does not exist (objects: %s)", object,
       table.concat(self:object_ids(), ", "))
end

function App:idle()
  if self.job then
    fail(409, "a %s is running (frame %d of %d done); stop it or wait", self.job.kind,
         self.job.done or 0, self.job.total or 0)
  end
end

-- ---- handlers --------------------------------------------------------------------

-- The frame as raw RGB bytes (height x width x 3): no encoding, so serving
-- frames costs the propagation running beside it nothing (a PNG costs
-- 70 ms of CPU per 854x480 frame, as much as a labelprop step); over ssh,
-- -C compresses them about as well as PNG would.
function App:frame_rgb(frame)
  return ffi.string(self.video:frame(frame).data, self.width * self.height * 3)
end

-- The label map run-length coded: runs of (1 byte label, 4 bytes length,
-- little-endian); a 854x480 mask is a few KiB instead of 400.
function App:mask_runs(frame)
  local labels, out = self.labels, self.runs
  self.session:mask(frame, labels)
  local n, o, i = self.width * self.height, 0, 0
  while i < n do
    local v, j = labels[i], i + 1
    while j < n and labels[j] == v do j = j + 1 end
    local len = j - i
    out[o] = v
    out[o + 1] = bit.band(len, 255)
    out[o + 2] = bit.band(bit.rshift(len, 8), 255)
    out[o + 3] = bit.band(bit.rshift(len, 16), 255)
    out[o + 4] = bit.rshift(len, 24)
    o, i = o + 5, j
  end
  return ffi.string(out, o)
end

-- What the page may send: a round of the rounds format with one action
-- (so that a failure changes nothing). Keys that name files ("mask",
-- "maps", ...) and "propagate" (its own endpoint, streamed) are refused.
local ROUND_ACTIONS = { "undo", "reset", "scribbles", "clicks", "polygon", "polygons" }
local ROUND_KEYS = { frame = true, object = true, erase = true, brush = true, region = true,
                     margin = true, interaction = true }
for _, key in ipairs(ROUND_ACTIONS) do ROUND_KEYS[key] = true end

function App:apply_round(body)
  for key in pairs(body) do
    if not ROUND_KEYS[key] then
      fail(400, "\"%s\" is not accepted from the page (keys: frame, object, undo, reset, "
                .. "scribbles, clicks, polygon(s), erase, brush, region, margin, interaction)",
           tostring(key))
    end
  end
  local actions = 0
  for _, key in ipairs(ROUND_ACTIONS) do
    if body[key] ~= nil then actions = actions + 1 end
  end
  if body.polygon ~= nil and body.polygons ~= nil then actions = actions - 1 end
  if actions ~= 1 then
    fail(400, "a request holds exactly one of: undo, reset, scribbles, clicks, polygon(s)")
  end
  self:frame_arg(body.frame)
  if body.object ~= nil then self:object_arg(body.object) end
  local plan = rounds.parse({ rounds = { body } }, { source = "request" })
  plan = rounds.check(plan, { frame_count = self.frame_count, width = self.width,
                              height = self.height }, self.mivos.backends())
  rounds.run(self.session, plan, {})
  local round = plan.rounds[1]
  self:changed({ round.frame })
  return ok({ frame = round.frame, version = self.versions[round.frame] })
end

function App:apply_box(body)
  local frame, object = self:frame_arg(body.frame), self:object_arg(body.object)
  local box = body.box
  if type(box) ~= "table" or #box ~= 4 then fail(400, "\"box\" must be [x0, y0, x1, y1]") end
  local b = {}
  for i = 1, 4 do
    b[i] = want_int(box[i], "box coordinate " .. i, 0,
                    (i % 2 == 1 and self.width or self.height) - 1)
  end
  if b[1] > b[3] or b[2] > b[4] then
    fail(400, "box [%d, %d, %d, %d] is empty", b[1], b[2], b[3], b[4])
  end
  self.session:box(frame, object, b)
  self:changed({ frame })
  return ok({ frame = frame })
end

function App:start_job(job)
  self:idle()
  job.done, job.total, job.started = 0, 0, sys.now()
  self.job = job
  self:event("progress", { job = job.kind, frame = job.frame or -1, done = 0, total = 0 })
  return reply(202, { started = job.kind })
end

local routes = {}

routes["GET /api/state"] = function(self) return ok(self:state()) end

routes["GET /api/events"] = function() return { stream = true } end

routes["GET /api/frame"] = function(self, request, arg)
  local frame = self:frame_arg(tonumber(arg))
  return { body = self:frame_rgb(frame), headers = {
    ["Content-Type"] = "application/octet-stream", ["Cache-Control"] = "private, max-age=86400" } }
end

routes["GET /api/mask"] = function(self, request, arg)
  local frame = self:frame_arg(tonumber(arg))
  return { body = self:mask_runs(frame), headers = {
    ["Content-Type"] = "application/octet-stream", ["Cache-Control"] = "no-store",
    ["X-Mivos-Version"] = tostring(self.versions[frame]) } }
end

routes["POST /api/round"] = function(self, request)
  self:idle()
  return self:apply_round(body_json(request))
end

routes["POST /api/box"] = function(self, request)
  self:idle()
  return self:apply_box(body_json(request))
end

routes["POST /api/objects/add"] = function(self)
  self:idle()
  local id = self.session:add_object()
  self:changed({})
  return ok({ object = id, objects = json.array(self:object_ids()) })
end

routes["POST /api/objects/delete"] = function(self, request)
  self:idle()
  local object = self:object_arg(body_json(request).object)
  if #self:object_ids() == 1 then fail(409, "the last object cannot be deleted") end
  self.session:delete_object(object)
  self:changed(nil)
  return ok({ objects = json.array(self:object_ids()) })
end

routes["POST /api/objects/reset"] = function(self, request)
  self:idle()
  local object = self:object_arg(body_json(request).object)
  self.session:reset_object(object)
  self:changed(nil)
  return ok()
end

local DIRECTIONS = { both = true, forward = true, backward = true }

routes["POST /api/propagate"] = function(self, request)
  local body = body_json(request)
  local frame = self:frame_arg(body.frame)
  local direction = body.direction or "both"
  if not DIRECTIONS[direction] then
    fail(400, "\"direction\" must be both, forward or backward, got %s", json.encode(direction))
  end
  return self:start_job({ kind = "propagation", frame = frame, direction = direction })
end

routes["POST /api/stop"] = function(self)
  if not self.job then return ok({ running = false }) end
  self.job.stop = true
  return ok({ running = true })
end

routes["POST /api/export"] = function(self, request)
  local kind = body_json(request).kind
  if type(kind) ~= "string" or not export.KINDS[kind] then
    fail(400, "\"kind\" must be one of masks, binary, soft, overlay")
  end
  return self:start_job({ kind = "export", export = kind })
end

routes["GET /api/download"] = function(self, request, arg)
  if not export.KINDS[arg or ""] then fail(404, "no export named '%s'", tostring(arg)) end
  local name = (self.name:gsub("%.[^.]*$", ""):gsub("[^%w_.-]", "_"))
  return export.download(self.workspace, arg, name)
         or fail(404, "the %s export was not written yet (POST /api/export first)", arg)
end

-- Constant-time comparison (the token must not leak through timing).
local function same(a, b)
  if type(a) ~= "string" or #a ~= #b then return false end
  local diff = 0
  for i = 1, #a do diff = bit.bor(diff, bit.bxor(a:byte(i), b:byte(i))) end
  return diff == 0
end

local LOOPBACK_HOSTS = { ["127.0.0.1"] = true, ["localhost"] = true, ["[::1]"] = true }

function App:handle(request)
  local method = request.method == "HEAD" and "GET" or request.method
  local page = PAGE_FILES[request.path]
  if self.loopback then
    -- a page of another site must not reach the server through DNS rebinding
    local host = (request.headers.host or ""):gsub(":%d+$", "")
    if not LOOPBACK_HOSTS[host] then
      return reply(403, { error = "Host '" .. host .. "' is not a loopback name" })
    end
  end
  if page then
    if method ~= "GET" then return reply(405, { error = "the page is read with GET" }) end
    local data = read_file(self.page .. "/" .. page[1])
    if not data then return reply(500, { error = "page file " .. page[1] .. " is missing" }) end
    return { body = data, headers = {
      ["Content-Type"] = page[2], ["Cache-Control"] = "no-cache",
      ["Referrer-Policy"] = "no-referrer",
      ["Content-Security-Policy"] = "default-src 'self'; img-src 'self' blob: data:; "
        .. "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'" } }
  end
  if request.path:sub(1, 5) ~= "/api/" then
    return reply(404, { error = "no such page: " .. request.path })
  end
  local given = request.headers["x-mivos-token"]
  if given == nil or given == "" then given = request.query.token end
  if not same(given, self.token) then
    return reply(403, { error = "missing or wrong token (use the URL mivos serve printed)" })
  end
  local base, arg = request.path:match("^(/api/[%w/]-)/([%w_.-]+)$")
  local handler = routes[method .. " " .. request.path]
  if not handler and base then handler = routes[method .. " " .. base] end
  if not handler then
    for key in pairs(routes) do
      local m, p = key:match("^(%u+) (.*)$")
      if p == request.path or p == base then
        return reply(405, { error = request.path .. " takes " .. m })
      end
    end
    return reply(404, { error = "no such API call: " .. request.path })
  end
  local okh, result = pcall(handler, self, request, arg)
  if okh then return result end
  local status, message = error_answer(result)
  return reply(status, { error = message })
end

-- ---- jobs --------------------------------------------------------------------------

local DIRECTION_CODES = { forward = lib.C.MV_FORWARD, backward = lib.C.MV_BACKWARD,
                          both = lib.C.MV_BOTH }

-- Propagation through the step API, one frame per step with requests served
-- in between: the page reads each frame's mask as soon as it is done, and
-- stop ends the run after the current frame. (session:propagation's
-- iterator steps the same way but gives neither the progress total nor an
-- explicit end.)
function App:run_propagation(job)
  local C = self.mivos.C
  local request = ffi.new("mv_propagation_request")
  request.frame, request.direction = job.frame, DIRECTION_CODES[job.direction or "both"]
  request.to, request.count = -1, 0
  local out = ffi.new("mv_propagation_run*[1]")
  session_call(C.mv_session_propagation_begin, self.session:handle(), request, out)
  local run = ffi.gc(out[0], C.mv_session_propagation_end)
  local frame, finished = ffi.new("int[1]"), ffi.new("int[1]")
  local done, total = ffi.new("int[1]"), ffi.new("int[1]")
  while not job.stop do
    session_call(C.mv_session_propagation_step, run, frame, finished)
    if frame[0] >= 0 then
      lib.check(C.mv_session_propagation_progress(run, done, total))
      job.done, job.total = done[0], total[0]
      self.epoch = self.epoch + 1
      self.versions[frame[0]] = self.epoch
      self:event("progress", { job = job.kind, frame = frame[0], version = self.epoch,
                               done = job.done, total = job.total })
    end
    if finished[0] ~= 0 then break end
    self.server:poll(0)
  end
  ffi.gc(run, nil)
  lib.check(C.mv_session_propagation_end(run))
  return { completed = not job.stop, frames = job.done }
end

function App:run_export(job)
  return export.write(self.session, self.workspace, job.export, function(done, total)
    job.done, job.total = done, total
    self:event("progress", { job = job.kind, export = job.export, done = done, total = total })
    self.server:poll(0)
  end)
end

function App:run_job()
  local job = self.job
  local okj, result = pcall(job.kind == "propagation" and self.run_propagation
                            or self.run_export, self, job)
  self.job = nil
  local finished = { job = job.kind, export = job.export, frame = job.frame,
                     seconds = sys.now() - job.started, stopped = job.stop == true }
  if okj then
    finished.result = result
    if result.path then
      finished.download = "/api/download/" .. job.export
    end
  else
    local _, message = error_answer(result)
    finished.error = message
    if not self.quiet then io.stderr:write("mivos serve: ", job.kind, " failed: ", message, "\n") end
  end
  self:changed(job.kind == "propagation" and nil or {})
  self:event("finished", finished)
  if not okj and tostring(result):find("interrupted") then error(result, 0) end
end

-- ---- serving -----------------------------------------------------------------------

function App:listen(host, port)
  local server, err = http.listen(host, port, function(request) return self:handle(request) end)
  if not server then return nil, err end
  self.server = server
  local shown = host:find(":", 1, true) and ("[" .. host .. "]") or host
  return string.format("http://%s:%d/?token=%s", shown, server.port, self.token)
end

function App:run()
  while not self.quit do
    if self.job then self:run_job() else self.server:poll(0.5) end
  end
end

function App:close()
  if self.server then self.server:close() end
  self.server = nil
end

return api
