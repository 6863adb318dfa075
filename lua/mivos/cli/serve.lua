-- mivos serve: the annotation page in a browser, served over one session
-- whose state lives in a workspace folder (lua/mivos/serve/).
local common = require("mivos.cli.common")
local sys = require("mivos.sys")
local lock = require("mivos.serve.lock")

local M = {}

M.summary = "annotate a video in a browser page (served on 127.0.0.1)"

M.usage = [[
usage: mivos serve VIDEO --workspace DIR [options]

Serves the annotation page for VIDEO (a video file, a folder of frames or a
printf pattern) and prints the URL to open: draw on frames (scribbles,
clicks, box, lasso, brush, erase, local region), propagate while watching
the masks appear, correct, export. Everything the page does goes through
the session of the workspace folder DIR: a new or empty folder becomes a
workspace; an existing one is resumed (snapshot and log; its manifest gives
the options left out) and every action is appended to DIR/log.json, which
`mivos segment --rounds DIR/log.json` replays. Ctrl-C writes a snapshot.
Only one server may use a workspace at a time.

The server listens on 127.0.0.1 (unless --host). From another machine, forward the
port with ssh and open the printed URL there:
    ssh -C -L 8765:127.0.0.1:8765 user@gpu-machine   (then open the URL locally)
The URL holds a random token that every API call needs: share it only with
whom may edit the workspace.

  --workspace DIR      the workspace folder                          [required]
  --port P             TCP port (default 8765; 0 = any free port)
  --host ADDR          listen on another address (e.g. 0.0.0.0): anyone who
                       reaches it and has the token can edit; a warning is
                       printed
  --objects K          objects of a new session (default 1)
  --weights DIR        folder with the official MiVOS weights
  --device D           OpenCL device: "P:D", "gpu", "cpu" or a name substring
  --interaction NAME   the interaction backend: @interaction@,
                       or one registered by a --backend file
  --propagation NAME   @propagation@
  --fusion NAME        @fusion@
  --backend FILE.lua   a Lua file that registers interaction backends (repeatable)
  --short-side N       working size: shorter side in pixels (default 480)
  --quiet              no status lines on stderr
  -h, --help           this text

Stop the server with Ctrl-C.

exit codes: 0 stopped with Ctrl-C; 1 failure (unreadable video, workspace
            in use or for another video, port in use); 2 usage error
]]

local spec = {
  name = "serve", usage = M.usage, positionals = { "VIDEO" },
  options = common.with_module_options({
    ["--workspace"] = { arg = "DIR", required = true },
    ["--port"] = { arg = "P", type = "int", min = 0, max = 65535 },
    ["--host"] = { arg = "ADDR" },
    ["--objects"] = { arg = "K", type = "int", min = 1, max = 255 },
    ["--short-side"] = { arg = "N", type = "int", min = 0 },
    ["--quiet"] = {},
    ["-q"] = { alias = "--quiet" },
  }),
}

local LOOPBACK = { ["127.0.0.1"] = true, ["localhost"] = true, ["::1"] = true }

-- This process's id, for the lock's owner line.
local function process_id()
  local f = io.open("/proc/self/stat", "r")
  local pid = f and f:read("*n")
  if f then f:close() end
  return pid or "?"
end

-- A random token (128 bits from the kernel) for the URL.
local function random_token()
  local f = io.open("/dev/urandom", "rb")
  if not f then common.fail("cannot read /dev/urandom for the access token") end
  local bytes = f:read(16)
  f:close()
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function acquire(dir)
  local held, err = lock.acquire(dir, string.format("mivos serve, pid %s, started %s",
                                                    tostring(process_id()),
                                                    os.date("!%Y-%m-%d %H:%M:%S UTC")))
  if not held then common.fail("%s", err) end
  return held
end

-- The session of the workspace folder, locked for this server: an existing
-- workspace is resumed (mivos.workspace: its manifest gives the options
-- left out, its log is replayed) after the lock is taken, so a second
-- server touches nothing; a new one is created, then locked. Returns the
-- session, the lock and what was restored (nil for a new workspace).
local function open_workspace(mivos, video, dir, session_options)
  local existing = sys.exists(sys.join(dir, "manifest.json"))
  local held = existing and acquire(dir) or nil
  local ok, session, report = pcall(mivos.workspace, video, dir, session_options)
  if not ok then
    if held then held:release() end
    error(session, 0)
  end
  if not existing then
    local ok_lock, lock_result = pcall(acquire, dir)
    if not ok_lock then
      session:close()
      error(lock_result, 0)
    end
    held = lock_result
  end
  return session, held, not report.created and report.message or nil
end

-- Serves the session until Ctrl-C (the workspace is locked by the caller).
local function serve(mivos, video, session, video_path, dir, options, recovered)
  local host, port = options.host or "127.0.0.1", options.port or 8765
  local info = session:info()
  local app = require("mivos.serve.api").new({
    mivos = mivos, video = video, session = session, workspace = dir,
    token = random_token(), name = sys.basename(video_path), loopback = LOOPBACK[host],
    quiet = options.quiet, recovered = recovered,
  })
  local url, listen_err = app:listen(host, port)
  if not url then
    common.fail("%s%s", listen_err, port ~= 0 and " (choose another with --port, or 0)" or "")
  end
  if not LOOPBACK[host] then
    common.note("mivos serve: WARNING: listening on %s, not only this machine: whoever "
                .. "reaches it with the token can edit the workspace", host)
  end
  if not options.quiet then
    common.note("video %s: %d frames, %dx%d working size; %s + %s + %s", video_path,
                video.frame_count, video.width, video.height, info.interaction,
                info.propagation, info.fusion)
    common.note("workspace %s", dir)
  end
  common.say("open %s", url)
  common.say("(from another machine: ssh -C -L %d:127.0.0.1:%d HOST, then open the URL there)",
             app.server.port, app.server.port)
  local ok_run, run_err = pcall(app.run, app)
  app:close()
  if not ok_run then error(run_err, 0) end
end

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local video_path, dir = positionals[1], options.workspace
  local ok_socket, socket_err = pcall(require, "socket")
  if not ok_socket then
    common.fail("LuaSocket is missing (Debian: apt-get install lua-socket): %s",
                common.message(socket_err))
  end
  local mivos = common.mivos()
  common.load_modules(mivos, options)
  if options.weights and not sys.is_dir(options.weights) then
    common.fail("--weights %s: not a folder", options.weights)
  end
  -- the video first: a bad video leaves no workspace behind
  local video = mivos.open_video(video_path, { short_side = options.short_side })
  local session, held, recovered = open_workspace(mivos, video, dir, {
    objects = options.objects, weights = options.weights, device = options.device,
    interaction = options.interaction, propagation = options.propagation,
    fusion = options.fusion,
  })
  if recovered and not options.quiet then common.note("%s", recovered) end
  local ok_run, run_err = pcall(serve, mivos, video, session, video_path, dir, options, recovered)
  -- the whole session (memory bank included), so that the next start need
  -- not run the log's propagations again
  local ok_snap, snap_err = pcall(session.snapshot, session)
  if not ok_snap then
    common.note("mivos serve: no snapshot written (the log keeps everything): %s",
                common.message(snap_err))
  elseif not options.quiet then
    common.note("mivos serve: snapshot written (%s/snapshot.mvs)", dir)
  end
  session:close()
  video:close()
  held:release()
  if not ok_run and not tostring(run_err):find("interrupted") then error(run_err, 0) end
  if not options.quiet then common.note("mivos serve: stopped") end
  return 0
end

return M
