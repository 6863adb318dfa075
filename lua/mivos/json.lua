-- mivos.json: a small pure-Lua JSON decoder / encoder (RFC 8259).
--
--   json.decode(text [, source])  -> value
--       Objects become Lua tables with string keys, arrays become Lua
--       sequences (1-based) tagged with json.array_mt so that an empty array
--       stays an array when encoded again, null becomes json.null.
--       On bad input raises an error string "SOURCE:LINE:COLUMN: what was
--       expected" (source defaults to "json"); line and column are 1-based
--       and point at the offending character.
--   json.read_file(path)          -> value   (errors name the file)
--   json.encode(value [, {indent = "  ", sort_keys = true}]) -> text
--       Tables with keys 1..n (n >= 1) or tagged with array_mt are arrays,
--       other tables objects (keys must be strings); with indent, arrays
--       of numbers stay on one line; NaN and infinities,
--       functions and cycles are refused with an error.
--   json.null, json.array(t), json.is_array(t)

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

-- ---- decoding ----------------------------------------------------------

local byte, sub, find, char = string.byte, string.sub, string.find, string.char
local concat = table.concat

local function position(text, i)
  local line, col, last = 1, 1, 1
  while true do
    local nl = find(text, "\n", last, true)
    if not nl or nl >= i then break end
    line = line + 1
    last = nl + 1
  end
  col = i - last + 1
  return line, col
end

local function describe(text, i)
  if i > #text then return "end of input" end
  local c = sub(text, i, i)
  local b = byte(c)
  if b < 32 or b > 126 then return string.format("byte 0x%02x", b) end
  return "'" .. c .. "'"
end

local Decoder = {}
Decoder.__index = Decoder

function Decoder:fail(i, what)
  local line, col = position(self.text, i)
  error(string.format("%s:%d:%d: %s, found %s", self.source, line, col, what,
                      describe(self.text, i)), 0)
end

local function skip(self, i)
  local text = self.text
  while true do
    local b = byte(text, i)
    if b == 32 or b == 9 or b == 10 or b == 13 then
      i = i + 1
    else
      return i
    end
  end
end

local escapes = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f",
                  [110] = "\n", [114] = "\r", [116] = "\t" }

local function utf8_encode(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
              0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

function Decoder:string(i)
  -- i points at the opening quote.
  local text, parts, start = self.text, {}, i + 1
  local j = start
  while true do
    local b = byte(text, j)
    if not b then self:fail(j, "unterminated string (started at " ..
                                 table.concat({ position(text, i) }, ":") .. ")") end
    if b == 34 then
      parts[#parts + 1] = sub(text, start, j - 1)
      return concat(parts), j + 1
    elseif b == 92 then
      parts[#parts + 1] = sub(text, start, j - 1)
      local e = byte(text, j + 1)
      if e == 117 then
        local hex = sub(text, j + 2, j + 5)
        if not hex:match("^%x%x%x%x$") then self:fail(j, "a \\u escape with 4 hex digits") end
        local cp = tonumber(hex, 16)
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(text, j, j + 1) == "\\u" then
          local low = tonumber(sub(text, j + 2, j + 5), 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 1024 + (low - 0xDC00)
            j = j + 6
          end
        end
        parts[#parts + 1] = utf8_encode(cp)
      elseif e and escapes[e] then
        parts[#parts + 1] = escapes[e]
        j = j + 2
      else
        self:fail(j + 1, "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
      end
      start = j
    elseif b < 32 then
      self:fail(j, "no control characters inside a string (use \\n, \\t, ...)")
    else
      j = j + 1
    end
  end
end

function Decoder:number(i)
  local text = self.text
  local s, e = find(text, "^-?%d+", i)
  if not s then self:fail(i, "a value") end
  if byte(text, i) == 48 or (byte(text, i) == 45 and byte(text, i + 1) == 48) then
    -- leading zeros are not JSON
    local z = byte(text, i) == 45 and i + 1 or i
    if e > z then self:fail(z + 1, "no leading zeros in a number") end
  end
  local j = e + 1
  if byte(text, j) == 46 then
    local _, fe = find(text, "^%d+", j + 1)
    if not fe then self:fail(j + 1, "digits after the decimal point") end
    j = fe + 1
  end
  local b = byte(text, j)
  if b == 101 or b == 69 then
    local _, xe = find(text, "^[+-]?%d+", j + 1)
    if not xe then self:fail(j + 1, "digits in the exponent") end
    j = xe + 1
  end
  return tonumber(sub(text, i, j - 1)), j
end

function Decoder:value(i, depth)
  if depth > 200 then self:fail(i, "nesting depth at most 200") end
  i = skip(self, i)
  local text = self.text
  local b = byte(text, i)
  if b == 123 then -- {
    local object = {}
    i = skip(self, i + 1)
    if byte(text, i) == 125 then return object, i + 1 end
    while true do
      i = skip(self, i)
      if byte(text, i) ~= 34 then self:fail(i, "a string key in double quotes") end
      local key
      key, i = self:string(i)
      i = skip(self, i)
      if byte(text, i) ~= 58 then self:fail(i, "':' after the key \"" .. key .. "\"") end
      local v
      v, i = self:value(i + 1, depth + 1)
      object[key] = v
      i = skip(self, i)
      local c = byte(text, i)
      if c == 125 then return object, i + 1 end
      if c ~= 44 then self:fail(i, "',' or '}' in an object") end
      i = i + 1
    end
  elseif b == 91 then -- [
    local array, n = json.array({}), 0
    i = skip(self, i + 1)
    if byte(text, i) == 93 then return array, i + 1 end
    while true do
      local v
      v, i = self:value(i, depth + 1)
      n = n + 1
      array[n] = v
      i = skip(self, i)
      local c = byte(text, i)
      if c == 93 then return array, i + 1 end
      if c ~= 44 then self:fail(i, "',' or ']' in an array") end
      i = i + 1
    end
  elseif b == 34 then
    return self:string(i)
  elseif b == 116 then
    if sub(text, i, i + 3) == "true" then return true, i + 4 end
  elseif b == 102 then
    if sub(text, i, i + 4) == "false" then return false, i + 5 end
  elseif b == 110 then
    if sub(text, i, i + 3) == "null" then return json.null, i + 4 end
  elseif b == 45 or (b and b >= 48 and b <= 57) then
    return self:number(i)
  end
  self:fail(i, "a value (object, array, string, number, true, false or null)")
end

function json.decode(text, source)
  if type(text) ~= "string" then
    error("json.decode: expected a string, got " .. type(text), 2)
  end
  local self = setmetatable({ text = text, source = source or "json" }, Decoder)
  local start = 1
  if sub(text, 1, 3) == "\239\187\191" then start = 4 end -- UTF-8 byte order mark
  local value, i = self:value(start, 0)
  i = skip(self, i)
  if i <= #text then self:fail(i, "end of input after the value") end
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
