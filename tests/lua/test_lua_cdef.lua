-- The FFI declarations (lua/mivos/cdef.lua) against the public header
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
-- core/mivos.h: every declaration of the header must be in the cdef with
-- the same text (up to white space and comments) and vice versa, and every
-- declared function must be exported by the library.
local t = require("testlib")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- Header text -> list of normalised top-level declarations.
local function declarations(text)
  text = text:gsub("/%*.-%*/", " "):gsub("//[^\n]*", " ")
  local kept, skipping = {}, false
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^%s*#%s*ifdef%s+__cplusplus") then
      skipping = true
    elseif skipping then
      if line:match("^%s*#%s*endif") then skipping = false end
    elseif not line:match("^%s*#") then
      kept[#kept + 1] = line
    end
  end
  text = table.concat(kept, " ")
  local list, depth, start = {}, 0, 1
  for i = 1, #text do
    local c = text:sub(i, i)
    if c == "{" then depth = depth + 1
    elseif c == "}" then depth = depth - 1
    elseif c == ";" and depth == 0 then
      local d = text:sub(start, i)
      d = d:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
      -- no spaces around punctuation
      d = d:gsub(" ?([%*%(%)%[%],;{}=]) ?", "%1")
      if d ~= ";" then list[#list + 1] = d end
      start = i + 1
    end
  end
  return list, text:sub(start):match("%S")
end

local header_path = t.source .. "/core/mivos.h"
local header, header_rest = declarations(read(header_path))
local cdef, cdef_rest = declarations(require("mivos.cdef"))

t.case("parsing", function()
  t.check(#header > 100, "the header has " .. #header .. " declarations")
  t.check(header_rest == nil, "the header ends with a complete declaration")
  t.check(cdef_rest == nil, "the cdef ends with a complete declaration")
end)

t.case("every header declaration is in the cdef", function()
  local in_cdef = {}
  for _, d in ipairs(cdef) do in_cdef[d] = true end
  for _, d in ipairs(header) do
    t.check(in_cdef[d], "missing or different in lua/mivos/cdef.lua: " .. d)
  end
end)

t.case("every cdef declaration is in the header", function()
  local in_header = {}
  for _, d in ipairs(header) do in_header[d] = true end
  for _, d in ipairs(cdef) do
    t.check(in_header[d], "not in core/mivos.h (stale?): " .. d)
  end
end)

t.case("same order", function()
  local same = #header == #cdef
  for i = 1, math.min(#header, #cdef) do same = same and header[i] == cdef[i] end
  t.check(same, "the cdef lists the header's declarations in the header's order")
end)

t.case("the library exports every declared function", function()
  local mivos = require("mivos")
  local functions = 0
  for _, d in ipairs(header) do
    -- a function declaration: "<type> name(args);" without typedef
    local name = not d:match("^typedef") and d:match("([%w_]+)%(")
    if name and not d:match("%(%*") then
      functions = functions + 1
      local ok = pcall(function() return mivos.C[name] end)
      t.check(ok, "libmivos.so does not export " .. name)
    end
  end
  t.check(functions > 80, "found " .. functions .. " function declarations")
end)

t.case("constants and struct sizes from the cdef", function()
  local ffi = require("ffi")
  local mivos = require("mivos")
  t.eq(mivos.C.MV_E_STATE, 8, "MV_E_STATE")
  t.eq(mivos.C.MV_MAX_DIMS, 8, "MV_MAX_DIMS")
  t.eq(ffi.sizeof("mv_array"), 4 + 4 + 8 * 8 + 8, "sizeof mv_array")
  t.eq(ffi.offsetof("mv_device_info", "platform"), 40, "offsetof mv_device_info.platform")
end)

t.case("module layout: one module per concept, none requires the entry", function()
  local sys = require("mivos.sys")
  local dir = t.source .. "/lua/mivos"
  local entry = read(t.source .. "/lua/mivos.lua")
  local modules = 0
  for name in entry:gmatch('export%("(mivos%.[%w_]+)"') do
    modules = modules + 1
    t.check(sys.exists(dir .. "/" .. name:sub(7) .. ".lua"), name .. " is a file of lua/mivos/")
  end
  t.check(modules >= 8, "the entry gathers " .. modules .. " modules")
  local _, entry_lines = entry:gsub("\n", "")
  t.check(entry_lines <= 150, "lua/mivos.lua is short: " .. entry_lines .. " lines")
  for _, sub in ipairs({ "", "/cli", "/eval" }) do
    for _, file in ipairs(sys.list_dir(dir .. sub, "%.lua$")) do
      local text = read(dir .. sub .. "/" .. file)
      local _, n = text:gsub("\n", "")
      t.check(n <= 700, "lua/mivos" .. sub .. "/" .. file .. " has " .. n .. " lines (at most 700)")
      if sub == "" then
        t.check(not text:find('require%(%s*"mivos"%s*%)'),
                "lua/mivos/" .. file .. " does not require the entry module")
      end
    end
  end
end)

t.finish()
