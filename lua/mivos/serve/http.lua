-- mivos.serve.http: a small HTTP/1.1 server on LuaSocket (Debian package
-- lua-socket) for `mivos serve`. One thread, one select loop: the caller
-- interleaves its own work (propagation steps) with poll(), so the session
-- is only ever touched from this thread and Lua backends keep working.
--
--   local server = http.listen(host, port, handler [, limits])
--   server.port                     the port bound (port 0 picks a free one)
--   server:poll(timeout)            accepts, reads, answers, writes; returns
--                                   after at most `timeout` seconds (0 = no wait)
--   server:broadcast(event, data)   a server-sent event to every open stream
--   server:close()
--
-- handler(request) -> response, called once per complete request:
--   request  = {method, path, query = {name = value}, headers = {lower-case
--               name = value}, body}
--   response = {status = 200, headers = {...}, body = string}
--            | {stream = true}  (the connection stays open as an
--               event stream: text/event-stream, see broadcast)
-- A handler error becomes a 500 with the message. Malformed requests and
-- requests over the limits get a 4xx with a one-line message; the handler
-- never sees them.
local socket = require("socket")

local http = {}

local DEFAULT_LIMITS = {
  header_bytes = 16 * 1024,        -- request line + headers
  body_bytes = 4 * 1024 * 1024,    -- a request body (JSON of strokes is a few KiB)
  connections = 64,                -- open connections; more are refused
  idle_seconds = 60,               -- a keep-alive connection with nothing to do
  request_seconds = 30,            -- to receive one whole request
}
http.DEFAULT_LIMITS = DEFAULT_LIMITS
local LINGER_SECONDS = 2  -- reading after a refusal, before closing
local MAX_QUEUED_EVENTS = 2000  -- unsent events of one stream before it is dropped

local REASONS = {
  [200] = "OK", [202] = "Accepted", [204] = "No Content", [304] = "Not Modified",
  [400] = "Bad Request", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [411] = "Length Required", [413] = "Payload Too Large", [414] = "URI Too Long",
  [431] = "Request Header Fields Too Large", [500] = "Internal Server Error",
  [501] = "Not Implemented", [503] = "Service Unavailable",
}

local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
http.url_decode = url_decode

local function parse_query(q)
  local out = {}
  for pair in q:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    out[url_decode(k)] = url_decode(v)
  end
  return out
end

-- The response as bytes. Every response says its length; "Connection:
-- close" when the connection ends after it.
local function serialize(response, keep_alive, head_only)
  local status = response.status or 200
  local body = response.body or ""
  local lines = { string.format("HTTP/1.1 %d %s", status, REASONS[status] or "Status") }
  local headers = response.headers or {}
  for name, value in pairs(headers) do lines[#lines + 1] = name .. ": " .. value end
  if not headers["Content-Type"] then
    lines[#lines + 1] = "Content-Type: text/plain; charset=utf-8"
  end
  lines[#lines + 1] = "Content-Length: " .. #body
  lines[#lines + 1] = "X-Content-Type-Options: nosniff"
  lines[#lines + 1] = "Connection: " .. (keep_alive and "keep-alive" or "close")
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. (head_only and "" or body)
end

local Server = {}
Server.__index = Server

-- Binds and listens. limits: fields of DEFAULT_LIMITS to override.
function http.listen(host, port, handler, limits)
  local l = {}
  for k, v in pairs(DEFAULT_LIMITS) do l[k] = (limits and limits[k]) or v end
  local listener, err = socket.bind(host, port, 32)
  if not listener then
    return nil, string.format("cannot listen on %s port %d: %s", host, port, tostring(err))
  end
  listener:settimeout(0)
  local _, bound_port = listener:getsockname()
  return setmetatable({
    listener = listener, handler = handler, limits = l, port = tonumber(bound_port),
    host = host, connections = {}, count = 0,
  }, Server)
end

local function drop(self, c)
  if self.connections[c.sock] then
    self.connections[c.sock] = nil
    self.count = self.count - 1
  end
  c.sock:close()
end

local function queue(c, bytes)
  c.out[#c.out + 1] = bytes
end

-- An error answer that ends the connection (the request was not understood,
-- so what follows it on the connection cannot be trusted either).
local function refuse(c, status, message)
  queue(c, serialize({ status = status, body = message .. "\n" }, false))
  c.closing = true
  c.linger = true
  c.buffer = ""
end

local function parse_head(c, head)
  local request_line, rest = head:match("^([^\r\n]*)\r?\n(.*)$")
  request_line = request_line or head
  local method, target, version = request_line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then return nil, 400, "malformed request line" end
  local headers = {}
  for line in (rest or ""):gmatch("[^\r\n]+") do
    local name, value = line:match("^([%w%-]+):%s*(.-)%s*$")
    if not name then return nil, 400, "malformed header line" end
    headers[name:lower()] = value
  end
  local path, query = target:match("^([^?#]*)%??([^#]*)")
  if not path or path:sub(1, 1) ~= "/" then return nil, 400, "the target must be a path" end
  return { method = method, target = target, path = url_decode(path), query = parse_query(query),
           headers = headers, version = version }
end

-- Takes complete requests off the connection's buffer and answers them.
local function process(self, c)
  while not c.closing and not c.stream do
    local request = c.request
    if not request then
      local head_end = c.buffer:find("\r\n\r\n", 1, true)
      local sep = 4
      if not head_end then
        head_end = c.buffer:find("\n\n", 1, true)
        sep = 2
      end
      if not head_end then
        if #c.buffer > self.limits.header_bytes then
          refuse(c, 431, "request headers over " .. self.limits.header_bytes .. " bytes")
        end
        return
      end
      if head_end > self.limits.header_bytes then
        refuse(c, 431, "request headers over " .. self.limits.header_bytes .. " bytes")
        return
      end
      local err_status, err_message
      request, err_status, err_message = parse_head(c, c.buffer:sub(1, head_end - 1))
      if not request then
        refuse(c, err_status, err_message)
        return
      end
      c.buffer = c.buffer:sub(head_end + sep)
      if request.headers["transfer-encoding"] then
        refuse(c, 411, "chunked request bodies are not accepted: send Content-Length")
        return
      end
      local length = request.headers["content-length"] or "0"
      if not length:match("^%d+$") then
        refuse(c, 400, "bad Content-Length '" .. length .. "'")
        return
      end
      request.length = tonumber(length)
      if request.length > self.limits.body_bytes then
        refuse(c, 413, string.format("request body of %d bytes is over the limit of %d",
                                     request.length, self.limits.body_bytes))
        return
      end
      c.request = request
    end
    if #c.buffer < request.length then return end
    request.body = c.buffer:sub(1, request.length)
    c.buffer = c.buffer:sub(request.length + 1)
    c.request = nil
    local ok, response = pcall(self.handler, request)
    if not ok then
      response = { status = 500, body = "internal error: " .. tostring(response) .. "\n" }
    end
    if response.stream then
      c.stream = true
      queue(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                .. "Cache-Control: no-store\r\nConnection: keep-alive\r\n\r\nretry: 2000\n\n")
    else
      local keep = (request.headers.connection or ""):lower() ~= "close"
                   and request.version == "1.1" and not response.close
      queue(c, serialize(response, keep, request.method == "HEAD"))
      if not keep then c.closing = true end
    end
    c.started = nil
  end
end

local function flush(self, c)
  while #c.out > 0 do
    local data = c.out[1]
    local sent, err, partial = c.sock:send(data, c.offset or 1)
    local last = sent or partial or (c.offset or 1) - 1
    if last >= #data then
      table.remove(c.out, 1)
      c.offset = nil
    else
      c.offset = last + 1
      if err and err ~= "timeout" then drop(self, c) end
      return
    end
  end
  if c.closing and c.linger and not c.draining then
    -- the client may still be sending (a body over the limit): closing now
    -- would reset the connection before it reads the answer, so stop
    -- writing and read and discard for a moment first
    c.sock:shutdown("send")
    c.draining = socket.gettime()
  elseif c.closing and not c.linger then
    drop(self, c)
  end
end

local function accept(self)
  while true do
    local sock = self.listener:accept()
    if not sock then return end
    sock:settimeout(0)
    sock:setoption("tcp-nodelay", true)
    local c = { sock = sock, buffer = "", out = {}, last = socket.gettime() }
    self.connections[sock] = c
    self.count = self.count + 1
    if self.count > self.limits.connections then
      refuse(c, 503, "too many open connections")
      flush(self, c)
    end
  end
end

local function receive(self, c)
  local data, err, partial = c.sock:receive(65536)
  local chunk = data or partial
  if chunk and #chunk > 0 then
    c.last = socket.gettime()
    if c.stream or c.closing then  -- nothing more is read from them
      c.discarded = (c.discarded or 0) + #chunk
      if c.discarded > 2 * self.limits.body_bytes then drop(self, c) end
      return
    end
    if c.buffer == "" and not c.request then c.started = c.last end
    c.buffer = c.buffer .. chunk
    process(self, c)
  end
  if err == "closed" then drop(self, c) end
end

-- Waits up to `timeout` seconds for activity and handles all of it.
function Server:poll(timeout)
  local readers, writers = { self.listener }, {}
  local now = socket.gettime()
  for sock, c in pairs(self.connections) do
    if #c.out > 0 then writers[#writers + 1] = sock end
    readers[#readers + 1] = sock
    if c.draining and now - c.draining > LINGER_SECONDS then
      drop(self, c)
    elseif c.started and now - c.started > self.limits.request_seconds and not c.closing then
      refuse(c, 408, "request not received in " .. self.limits.request_seconds .. " s")
    elseif not c.stream and not c.started and #c.out == 0
           and now - c.last > self.limits.idle_seconds then
      drop(self, c)
    end
  end
  local readable, writable = socket.select(readers, writers, timeout)
  for _, sock in ipairs(readable or {}) do
    if sock == self.listener then
      accept(self)
    elseif self.connections[sock] then
      receive(self, self.connections[sock])
    end
  end
  for _, sock in ipairs(writable or {}) do
    local c = self.connections[sock]
    if c then flush(self, c) end
  end
  -- answers queued by this round go out at once when the socket takes them
  for _, c in pairs(self.connections) do
    if #c.out > 0 then flush(self, c) end
  end
end

-- A server-sent event (data: one line of JSON text) to every open stream.
function Server:broadcast(event, data)
  local bytes = "event: " .. event .. "\ndata: " .. data .. "\n\n"
  for _, c in pairs(self.connections) do
    if c.stream then
      queue(c, bytes)
      flush(self, c)
      -- a page that stopped reading must not make the server hold its events
      if #c.out > MAX_QUEUED_EVENTS then drop(self, c) end
    end
  end
end

function Server:stream_count()
  local n = 0
  for _, c in pairs(self.connections) do if c.stream then n = n + 1 end end
  return n
end

function Server:close()
  for _, c in pairs(self.connections) do c.sock:close() end
  self.connections, self.count = {}, 0
  self.listener:close()
end

return http
