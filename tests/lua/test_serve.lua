-- mivos serve without a browser: the HTTP layer (lua/mivos/serve/http.lua)
-- against raw requests (keep-alive, HEAD, limits, malformed input, event
-- streams) and the API (lua/mivos/serve/api.lua) over a session on the
-- shipped clip (token, refusals that change nothing, an interaction, undo,
-- objects, the workspace lock). The browser test is tests/browser.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local socket = require("socket")
local http = require("mivos.serve.http")
local json = require("mivos.json")

-- Sends raw bytes to the server and collects what comes back until the
-- server closes, `until_text` appears, or 3 s pass (the server is polled
-- in between: one thread runs both ends).
local function exchange(server, raw, until_text)
  local client = assert(socket.connect("127.0.0.1", server.port))
  client:settimeout(0)
  local sent = 1
  local got = {}
  local deadline = socket.gettime() + 3
  while socket.gettime() < deadline do
    if sent <= #raw then
      local last, _, partial = client:send(raw, sent)
      sent = (last or partial or sent - 1) + 1
    end
    server:poll(0.01)
    local data, err, partial = client:receive(65536)
    local chunk = data or partial
    if chunk and #chunk > 0 then got[#got + 1] = chunk end
    local text = table.concat(got)
    if until_text and text:find(until_text, 1, true) then break end
    if err == "closed" then break end
  end
  client:close()
  server:poll(0)
  return table.concat(got)
end

local function status_of(response) return tonumber(response:match("^HTTP/1%.1 (%d+)")) end

local calls = 0
local function echo(request)
  calls = calls + 1
  if request.path == "/boom" then error("the handler failed") end
  if request.path == "/events" then return { stream = true } end
  return { body = request.method .. " " .. request.path .. " " .. (request.query.a or "") .. " "
                  .. #request.body }
end

t.case("http: requests, keep-alive, HEAD", function()
  local server = assert(http.listen("127.0.0.1", 0, echo))
  t.check(server.port > 0, "port 0 binds a free port")
  local r = exchange(server, "GET /x?a=%41b HTTP/1.1\r\nHost: h\r\n\r\n"
                             .. "POST /y HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                             .. "GET /z HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
  local _, n = r:gsub("HTTP/1%.1 200 OK", "")
  t.eq(n, 3, "three pipelined requests on one connection, three answers")
  t.check(r:find("GET /x Ab 0", 1, true), "path and decoded query: " .. r)
  t.check(r:find("POST /y  3", 1, true), "the body is read by Content-Length")
  local head = exchange(server, "HEAD /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
  t.check(head:find("Content-Length: 10", 1, true) and head:match("\r\n\r\n$"),
          "HEAD: the length without the body: " .. head)
  server:close()
end)

t.case("http: malformed and oversized requests get a 4xx and a message", function()
  local server = assert(http.listen("127.0.0.1", 0, echo,
                                    { body_bytes = 100, header_bytes = 512, connections = 3 }))
  calls = 0
  local cases = {
    { "GARBAGE\r\n\r\n", 400, "malformed request line" },
    { "GET nopath HTTP/1.1\r\n\r\n", 400, "must be a path" },
    { "GET / HTTP/1.1\r\nbad header\r\n\r\n", 400, "malformed header" },
    { "GET / HTTP/1.1\r\nX: " .. string.rep("a", 600) .. "\r\n\r\n", 431, "over 512 bytes" },
    { "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n" .. string.rep("b", 101), 413,
      "over the limit of 100" },
    { "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "bad Content-Length" },
    { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, "Content-Length" },
  }
  for _, c in ipairs(cases) do
    local r = exchange(server, c[1])
    t.eq(status_of(r), c[2], "status for " .. c[1]:sub(1, 30):gsub("\r\n", " "))
    t.check(r:find(c[3], 1, true), "message '" .. c[3] .. "' in: " .. r)
  end
  t.eq(calls, 0, "the handler saw none of them")
  local boom = exchange(server, "GET /boom HTTP/1.1\r\nConnection: close\r\n\r\n")
  t.eq(status_of(boom), 500, "a handler error is a 500")
  t.check(boom:find("the handler failed", 1, true), "with its message")
  -- over the connection limit (3): the fourth is refused
  local held = {}
  for i = 1, 3 do
    held[i] = assert(socket.connect("127.0.0.1", server.port))
    server:poll(0.01)
  end
  local r = exchange(server, "GET / HTTP/1.1\r\n\r\n")
  t.eq(status_of(r), 503, "a connection over the limit gets 503")
  for _, c in ipairs(held) do c:close() end
  server:close()
end)

t.case("http: event streams", function()
  local server = assert(http.listen("127.0.0.1", 0, echo))
  local client = assert(socket.connect("127.0.0.1", server.port))
  client:send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n")
  client:settimeout(0)
  for _ = 1, 20 do server:poll(0.01) end
  t.eq(server:stream_count(), 1, "one open stream")
  server:broadcast("progress", '{"done":1}')
  local got = ""
  local deadline = socket.gettime() + 2
  while not got:find('{"done":1}', 1, true) and socket.gettime() < deadline do
    server:poll(0.01)
    local data, _, partial = client:receive(65536)
    got = got .. (data or partial or "")
  end
  t.check(got:find("Content-Type: text/event-stream", 1, true), "an event stream")
  t.check(got:find('event: progress\ndata: {"done":1}\n\n', 1, true), "the event: " .. got)
  client:close()
  server:close()
end)

-- ---- the API over a session ------------------------------------------------------

local mivos = require("mivos")
local api = require("mivos.serve.api")
local lock = require("mivos.serve.lock")
local sys = require("mivos.sys")

local workspace = t.build .. "/tests/serve_api_workspace"
os.execute("rm -rf '" .. workspace .. "'")
assert(sys.mkdir_p(workspace))
local video = mivos.open_video(t.source .. "/examples/data/libby.mp4")
local session = mivos.session(video, { objects = 1 })
local app = api.new({ mivos = mivos, video = video, session = session, workspace = workspace,
                      token = "secret", name = "libby.mp4", loopback = true, quiet = true })

local function call(method, path, body, headers)
  local h = { host = "127.0.0.1:1", ["x-mivos-token"] = "secret" }
  for k, v in pairs(headers or {}) do h[k] = v end
  local query = {}
  local p, q = path:match("^([^?]*)%??(.*)$")
  for k, v in q:gmatch("([^&=]+)=([^&]*)") do query[k] = v end
  local r = app:handle({ method = method, path = p, query = query, headers = h,
                         body = body and (type(body) == "string" and body or json.encode(body)) or "" })
  local ok, value = pcall(json.decode, r.body or "")
  return r.status or 200, ok and value or r.body, r
end

t.case("api: token, routes, refusals change nothing", function()
  t.eq(call("GET", "/api/state", nil, { ["x-mivos-token"] = "wrong" }), 403, "wrong token")
  t.eq(call("GET", "/api/state", nil, { ["x-mivos-token"] = "" }), 403, "an empty token")
  t.eq(call("GET", "/api/state?token=secret", nil, { ["x-mivos-token"] = "" }), 200,
       "the token as a query parameter")
  t.eq(call("GET", "/api/state", nil, { host = "attacker.example" }), 403, "a foreign Host")
  t.eq(call("GET", "/api/nothing"), 404, "an unknown call")
  t.eq(call("GET", "/api/propagate"), 405, "a POST call with GET")
  local status, page = call("GET", "/")
  t.eq(status, 200, "the page")
  t.check(type(page) == "string" and page:find("<canvas", 1, true), "the page is HTML")
  t.eq(call("GET", "/../../etc/passwd"), 404, "no file outside the page's list")
  local before = app.epoch
  local bad = {
    { "/api/round", "{", "request body:1:2" },
    { "/api/round", { frame = 49, undo = 1 }, "frame 49 is out of range" },
    { "/api/round", { frame = 0, object = 2, clicks = { { x = 1, y = 1 } } }, "object 2 does not exist" },
    { "/api/round", { frame = 0, mask = "/etc/passwd" }, "not accepted" },
    { "/api/round", { frame = 0, undo = 1, reset = true }, "exactly one of" },
    { "/api/round", { frame = 0, clicks = { { x = 900, y = 1 } } }, "outside the 854x480 frame" },
    { "/api/round", { frame = 0, scribbles = { { points = "x" } } }, "scribble 1" },
    { "/api/round", { frame = 0, undo = 1, propgate = true }, "\"propgate\" is not accepted" },
    { "/api/round", { frame = 0, undo = 1, propagate = true }, "\"propagate\" is not accepted" },
    { "/api/export", { kind = "../x" }, "must be one of" },
    { "/api/objects/delete", { object = 1 }, "last object" },
  }
  for _, b in ipairs(bad) do
    local status, value = call("POST", b[1], b[2])
    t.check(status >= 400 and status < 500, b[1] .. " " .. json.encode(b[2]) .. ": 4xx, got " .. status)
    t.check(type(value) == "table" and tostring(value.error):find(b[3], 1, true),
            "message '" .. b[3] .. "' in " .. json.encode(value))
  end
  local undo_status = call("POST", "/api/round", { frame = 3, undo = 1 })
  t.eq(undo_status, 409, "nothing to undo: 409")
  t.eq(app.epoch, before, "no refused request changed anything")
  t.eq(call("GET", "/api/download/masks"), 404, "no export yet")
end)

t.case("api: an interaction, its mask, undo, objects", function()
  local status, r = call("POST", "/api/round", { frame = 0, object = 1, scribbles = {
    { points = { { 340, 250 }, { 380, 248 }, { 420, 252 } }, positive = true },
    { points = { { 270, 160 }, { 590, 160 }, { 590, 365 }, { 270, 365 }, { 270, 160 } },
      positive = false } } })
  t.eq(status, 200, "a scribble round: " .. json.encode(r))
  local _, state = call("GET", "/api/state")
  t.eq(state.versions[1], r.version, "frame 0's version changed")
  t.eq(state.versions[2], 1, "frame 1's did not")
  local _, _, raw = call("GET", "/api/mask/0")
  local body, pixels, object = raw.body, 0, 0
  for i = 1, #body, 5 do
    local n = body:byte(i + 1) + body:byte(i + 2) * 256 + body:byte(i + 3) * 65536
              + body:byte(i + 4) * 16777216
    pixels = pixels + n
    if body:byte(i) == 1 then object = object + n end
  end
  t.eq(pixels, 854 * 480, "the runs cover the frame")
  -- measured: 12-13 thousand pixels for these strokes with graphcut
  t.check(object > 2000 and object < 100000, "the object has a mask: " .. object .. " pixels")
  t.eq(call("POST", "/api/round", { frame = 0, undo = 1 }), 200, "undo")
  _, _, raw = call("GET", "/api/mask/0")
  t.eq(#raw.body, 5, "after undo frame 0 is one run of background")
  local _, _, frame = call("GET", "/api/frame/0")
  t.eq(#frame.body, 854 * 480 * 3, "a frame is raw RGB")
  local _, added = call("POST", "/api/objects/add", {})
  t.eq(added.object, 2, "a new object")
  _, added = call("POST", "/api/objects/add", {})
  t.eq(added.object, 3, "another")
  t.eq(call("POST", "/api/objects/delete", { object = 2 }), 200, "delete object 2")
  local _, ids = call("GET", "/api/state")
  t.eq(table.concat(ids.objects, ","), "1,3", "ids stay stable")
  t.eq(call("POST", "/api/objects/delete", { object = 3 }), 200, "delete object 3")
  -- a box around the dog of frame 0 (GrabCut): measured 30-40 thousand pixels
  local box_status, box = call("POST", "/api/box", { frame = 0, object = 1, box = { 300, 150, 600, 380 } })
  t.eq(box_status, 200, "a box prompt: " .. json.encode(box))
  _, _, raw = call("GET", "/api/mask/0")
  object = 0
  for i = 1, #raw.body, 5 do
    if raw.body:byte(i) == 1 then
      object = object + raw.body:byte(i + 1) + raw.body:byte(i + 2) * 256 + raw.body:byte(i + 3) * 65536
    end
  end
  t.check(object > 10000 and object < 300 * 230, "the box made a mask inside it: " .. object)
  t.eq(call("POST", "/api/box", { frame = 0, object = 1, box = { 300, 150, 200, 380 } }), 400,
       "an empty box: 400")
  t.eq(call("POST", "/api/round", { frame = 0, undo = 1 }), 200, "undo the box")
end)

t.case("api: a propagation refuses edits while it runs, stops on request", function()
  assert(app:listen("127.0.0.1", 0))
  t.eq(call("POST", "/api/round", { frame = 0, object = 1, clicks = { { x = 400, y = 260 } } }),
       200, "a click to propagate")
  t.eq(call("POST", "/api/propagate", { frame = 0 }), 202, "the propagation starts")
  local status, busy = call("POST", "/api/round", { frame = 5, undo = 1 })
  t.eq(status, 409, "an edit while it runs: 409")
  t.check(tostring(busy.error):find("propagation is running", 1, true), json.encode(busy))
  t.eq(call("POST", "/api/propagate", { frame = 0 }), 409, "a second propagation: 409")
  t.eq(call("POST", "/api/stop", {}), 200, "stop")
  local before, finished = app.epoch, nil
  local event = app.event
  app.event = function(self, name, value)
    if name == "finished" then finished = value end
    return event(self, name, value)
  end
  app:run_job()
  app.event = event
  t.check(app.job == nil, "the job ended")
  -- (stop came before the job ran: no step is taken)
  t.check(finished and finished.stopped and finished.result.frames == 0
          and finished.result.completed == false,
          "stopped at once: " .. json.encode(finished or json.null))
  t.check(app.epoch > before, "the frames it did changed")
  local _, state = call("GET", "/api/state")
  t.eq(state.job, json.null, "no job in the state")
  -- an export job and its download: a ustar archive of 49 PNGs
  t.eq(call("POST", "/api/export", { kind = "binary" }), 202, "the binary export starts")
  app:run_job()
  local tar_status, _, tar = call("GET", "/api/download/binary")
  t.eq(tar_status, 200, "the download")
  local body = tar.body
  t.eq(body:sub(258, 262), "ustar", "a ustar header")
  t.eq(body:sub(1, 24), "libby-binary/1/00000.png", "the first member")
  local sum = 0
  for i = 1, 512 do sum = sum + ((i > 148 and i <= 156) and 32 or body:byte(i)) end
  t.eq(tonumber(body:sub(149, 154), 8), sum, "the header checksum")
  local size = tonumber(body:sub(125, 135), 8)
  t.eq(body:sub(513, 516), "\137PNG", "the member is a PNG")
  t.check(#body >= 49 * (512 + size), "49 members: " .. #body .. " bytes")
  t.eq(tar.headers["Content-Type"], "application/x-tar", "served as a tar")
  app:close()
end)

t.case("lock: one server per workspace", function()
  local held = assert(lock.acquire(workspace, "test holder"))
  -- a second holder must be another process: POSIX locks are per process
  local cmd = string.format("%s -e \"package.path='%s/lua/?.lua;'..package.path; "
                            .. "local l, e = require('mivos.serve.lock').acquire('%s', 'x'); "
                            .. "io.write(l and 'acquired' or e)\"", os.getenv("MIVOS_LUAJIT") or "luajit",
                            t.source, workspace)
  local p = io.popen(cmd)
  local out = p:read("*a")
  p:close()
  t.check(out:find("already served (test holder", 1, true), "refused, naming the holder: " .. out)
  held:release()
  p = io.popen(cmd)
  out = p:read("*a")
  p:close()
  t.eq(out, "acquired", "free again after release")
end)

session:close()
video:close()
t.finish()
