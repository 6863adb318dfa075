-- mivos.json: JSON for the Lua layer (RFC 8259). Decoding is the library's
-- one parser (core/json.c, mv_json_parse), whose tree is turned into Lua
-- values here; encoding is done in Lua.
--
--   json.decode(text [, source])  -> value
--       Objects become Lua tables with string keys, arrays become Lua
--       sequences (1-based) tagged with json.array_mt so that an empty array
--       stays an array when encoded again, null becomes json.null.
--       On bad input raises an error string "SOURCE:LINE:COLUMN: what was
--       expected, found X" (source defaults to "json"); line and column are
--       1-based and point at the offending character.
--   json.read_file(path)          -> value   (errors name the file)
--   json.encode(value [, {indent = "  ", sort_keys = true}]) -> text
--       Tables with keys 1..n (n >= 1) or tagged with array_mt are arrays,
--       other tables objects (keys must be strings); with indent, arrays
--       of numbers stay on one line; NaN and infinities,
--       functions and cycles are refused with an error.
--   json.null, json.array(t), json.is_array(t)
local ffi = require("ffi")

local json = {}

json.null = setmetatable({}, { __tostring = function() return "null" end })
json.array_mt = { __jsontype = "array" }

function json.array(t)
  return setmetatable(t or {}, json.array_mt)
end

function json.is_array(t)
  if type(t) ~= "table" then return false end
  if getmetatable(t) == json.array_mt then return true end
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then return false end
    count = count + 1
  end
  return count == n
end

-- ---- decoding: a walk over the tree of the library's parser (core/json.c) ----

-- The library is loaded on the first decode, not with this module: the
-- CLI's --help and json.encode work without it.
local C
local JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY

local function library()
  if C == nil then
    C = require("mivos.lib").C
    JSON_NULL, JSON_BOOL, JSON_NUMBER = C.MV_JSON_NULL, C.MV_JSON_BOOL, C.MV_JSON_NUMBER
    JSON_STRING, JSON_ARRAY = C.MV_JSON_STRING, C.MV_JSON_ARRAY
  end
  return C
end

local function to_lua(node)
  local t = node.type
  if t == JSON_STRING then return ffi.string(node.string, node.length) end
  if t == JSON_NUMBER then return node.number end
  if t == JSON_BOOL then return node.number ~= 0 end
  if t == JSON_NULL then return json.null end
  local items, n = node.items, tonumber(node.count)
  if t == JSON_ARRAY then
    local list = json.array({})
    for i = 0, n - 1 do list[i + 1] = to_lua(items[i]) end
    return list
  end
  local object = {}  -- a repeated key: the last one wins
  for i = 0, n - 1 do object[ffi.string(items[i].key)] = to_lua(items[i]) end
  return object
end

function json.decode(text, source)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  local C = library()
  local out = ffi.new("mv_json*[1]")
  if C.mv_json_parse(text, #text, source or "json", out) ~= 0 then
    error(ffi.string(C.mv_error_message()), 0)
  end
  local root = out[0]
  local ok, value = pcall(to_lua, root)
  C.mv_json_free(root)
  if not ok then error(value, 0) end
  return value
end

function json.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then error(err, 0) end
  local text = f:read("*a")
  f:close()
  return json.decode(text, path)
end

-- ---- encoding ----------------------------------------------------------

local byte, concat = string.byte, table.concat

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local e = ({ ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r",
                 ["\t"] = "\\t", ["\b"] = "\\b", ["\f"] = "\\f" })[c]
    return e or string.format("\\u%04x", byte(c))
  end) .. '"'
end

local function number_text(v)
  if v ~= v or v == math.huge or v == -math.huge then
    error("json.encode: cannot encode " .. tostring(v), 0)
  end
  if v % 1 == 0 and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
  local s = string.format("%.17g", v)
  -- shortest text that reads back to the same double
  for digits = 6, 16 do
    local t = string.format("%." .. digits .. "g", v)
    if tonumber(t) == v then s = t break end
  end
  return s
end

local function encode(v, out, indent, sort_keys, level, seen)
  local t = type(v)
  if v == nil or v == json.null then
    out[#out + 1] = "null"
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "number" then
    out[#out + 1] = number_text(v)
  elseif t == "string" then
    out[#out + 1] = quote(v)
  elseif t == "cdata" and tonumber(v) then
    out[#out + 1] = number_text(tonumber(v))
  elseif t == "table" then
    if seen[v] then error("json.encode: a table contains itself", 0) end
    seen[v] = true
    local nl = indent and ("\n" .. indent:rep(level + 1)) or ""
    local close_nl = indent and ("\n" .. indent:rep(level)) or ""
    local colon = indent and ": " or ":"
    if json.is_array(v) then
      local numbers = indent ~= nil and #v > 0
      for i = 1, #v do
        if type(v[i]) ~= "number" then numbers = false break end
      end
      if #v == 0 then
        out[#out + 1] = "[]"
      elseif numbers then
        -- arrays of numbers (points, boxes) stay on one line when indenting
        local items = {}
        for i = 1, #v do items[i] = number_text(v[i]) end
        out[#out + 1] = "[" .. concat(items, ", ") .. "]"
      else
        out[#out + 1] = "["
        for i = 1, #v do
          out[#out + 1] = (i > 1 and "," or "") .. nl
          encode(v[i], out, indent, sort_keys, level + 1, seen)
        end
        out[#out + 1] = close_nl .. "]"
      end
    else
      local keys = {}
      for k in pairs(v) do
        if type(k) ~= "string" then
          error("json.encode: object keys must be strings, found a " .. type(k) .. " key", 0)
        end
        keys[#keys + 1] = k
      end
      if sort_keys then table.sort(keys) end
      if #keys == 0 then
        out[#out + 1] = "{}"
      else
        out[#out + 1] = "{"
        for i, k in ipairs(keys) do
          out[#out + 1] = (i > 1 and "," or "") .. nl .. quote(k) .. colon
          encode(v[k], out, indent, sort_keys, level + 1, seen)
        end
        out[#out + 1] = close_nl .. "}"
      end
    end
    seen[v] = nil
  else
    error("json.encode: cannot encode a " .. t, 0)
  end
end

function json.encode(value, options)
  options = options or {}
  local out = {}
  local indent = options.indent
  if indent == true then indent = "  " end
  encode(value, out, indent, options.sort_keys ~= false, 0, {})
  return concat(out)
end

return json
