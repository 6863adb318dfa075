-- mivos.workspace: a folder that keeps a session's work as it happens
-- (core/mivos.h, section "workspaces"): the interaction log (a rounds file,
-- flushed to disk after every operation), the masks of every frame, the
-- manifest, snapshots of the whole session.
--
--   mivos.workspace(video, dir [, session options]) -> session, report
--       opens a session and attaches dir: an existing workspace is resumed
--       (the snapshot, then the log entries after it), its manifest giving
--       the session options the caller leaves out; a new or empty folder
--       becomes a workspace
--   mivos.read_manifest(dir) -> {video, frame_count, width, height, ...}
--   session:attach(dir) -> report   (a session that has done nothing yet)
--   session:detach(), session:snapshot(),
--   session:save_snapshot(path), session:load_snapshot(path)
-- report: {created, entries, replayed, from_snapshot, interrupted_frame
-- (nil: none), dropped_bytes, message}.
local ffi = require("ffi")
local lib = require("mivos.lib")
local session_module = require("mivos.session")

local C, check, raise, live = lib.C, lib.check, lib.raise, lib.live
local string_arg, argument_error = lib.string_arg, lib.argument_error
local Session = session_module.SessionClass

local workspace = {}

-- The replay may run Lua backends: never from a compiled trace.
local function attach_call(ptr, dir, report)
  local status = C.mv_session_attach(ptr, dir, report)
  if status ~= 0 then raise(tonumber(status)) end
end
jit.off(attach_call)

function Session:attach(dir)
  string_arg(dir, "dir", "session:attach")
  local report = ffi.new("mv_workspace_report")
  attach_call(live(self, "session"), dir, report)
  return {
    created = report.created ~= 0, entries = report.entries, replayed = report.replayed,
    from_snapshot = report.from_snapshot, dropped_bytes = report.dropped_bytes,
    interrupted_frame = report.interrupted_frame >= 0 and report.interrupted_frame or nil,
    message = ffi.string(report.message),
  }
end

function Session:detach() check(C.mv_session_detach(live(self, "session"))) end
function Session:snapshot() check(C.mv_session_snapshot(live(self, "session"))) end

function Session:save_snapshot(path)
  string_arg(path, "path", "session:save_snapshot")
  check(C.mv_session_save_snapshot(live(self, "session"), path))
end

function Session:load_snapshot(path)
  string_arg(path, "path", "session:load_snapshot")
  check(C.mv_session_load_snapshot(live(self, "session"), path))
end

function workspace.read_manifest(dir)
  string_arg(dir, "dir", "mivos.read_manifest")
  local m = ffi.new("mv_workspace_manifest")
  check(C.mv_workspace_read_manifest(dir, m))
  local weights = ffi.string(m.weights)
  return {
    video = ffi.string(m.video), frame_count = m.frame_count, width = m.width,
    height = m.height, source_width = m.source_width, source_height = m.source_height,
    frames_hash = tonumber(m.frames_hash), objects = m.objects, memory_every = m.memory_every,
    interaction = ffi.string(m.interaction), propagation = ffi.string(m.propagation),
    fusion = ffi.string(m.fusion), weights = weights ~= "" and weights or nil,
  }
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

function workspace.workspace(video, dir, options)
  string_arg(dir, "dir", "mivos.workspace")
  if options ~= nil and type(options) ~= "table" then
    argument_error("mivos.workspace: options must be a table, got %s", type(options))
  end
  local merged = {}
  for key, value in pairs(options or {}) do merged[key] = value end
  if exists(dir .. "/manifest.json") then
    local m = workspace.read_manifest(dir)
    for _, key in ipairs({ "objects", "interaction", "propagation", "fusion", "weights",
                           "memory_every" }) do
      if merged[key] == nil then merged[key] = m[key] end
    end
  end
  local s = session_module.session(video, merged)
  local ok, report = pcall(s.attach, s, dir)
  if not ok then
    s:close()
    error(report, 0)
  end
  return s, report
end

return workspace
