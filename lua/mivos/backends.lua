-- mivos.backends: the built-in modules (read from the library's one table,
-- mv_builtin_module) and interaction backends written in Lua.
-- Public through the entry module: builtin_modules, register_backend,
-- unregister_backend, backends.
local ffi = require("ffi")
local lib = require("mivos.lib")
local array = require("mivos.array")

local C, check, raise = lib.C, lib.check, lib.raise
local argument_error, string_arg = lib.argument_error, lib.string_arg
local Image = array.Image

local backends = {}

-- ---- built-in modules -----------------------------------------------------------

local MODULE_KINDS = {
  interaction = C.MV_MODULE_INTERACTION,
  propagation = C.MV_MODULE_PROPAGATION,
  fusion = C.MV_MODULE_FUSION,
}

-- The built-in modules of a kind ("interaction", "propagation" or "fusion"),
-- in the library's order (the first is the weight-free default): a list of
-- names, and a table name -> true for those that need the official weights.
function backends.builtin_modules(kind)
  local k = MODULE_KINDS[kind]
  if k == nil then
    argument_error("mivos.builtin_modules: kind must be 'interaction', 'propagation' or"
                   .. " 'fusion', got %s", tostring(kind))
  end
  local names, needs_weights = {}, {}
  local flag = ffi.new("int[1]")
  local i = 0
  while true do
    local name = C.mv_builtin_module(k, i, flag)
    if name == nil then break end
    names[i + 1] = ffi.string(name)
    if flag[0] ~= 0 then needs_weights[names[i + 1]] = true end
    i = i + 1
  end
  return names, needs_weights
end

-- ---- user interaction backends ------------------------------------------------

-- One C callback serves every Lua backend: the `user` pointer carries the
-- backend's id, so registering and unregistering never runs out of FFI
-- callback slots and a stale id can never call freed code.
local lua_backends = {}      -- id -> {name, fn}
local backend_ids = {}       -- name -> id
local next_backend_id = 0

local function run_backend(user, rgb, width, height, previous, positive, negative, out)
  local id = tonumber(ffi.cast("intptr_t", user))
  local backend = lua_backends[id]
  if backend == nil then
    C.mv_backend_set_error("the Lua interaction backend was unregistered")
    return C.MV_E_STATE
  end
  local ok, result = pcall(backend.fn, rgb, width, height,
                           previous ~= nil and previous or nil,
                           positive ~= nil and positive or nil,
                           negative ~= nil and negative or nil, out)
  if not ok then
    C.mv_backend_set_error("Lua error: " .. tostring(result))
    return C.MV_E_STATE
  end
  if result ~= nil and result ~= out then
    local pointer = result
    if array.is_image(result) then
      if result.ctype ~= "float" or result:size() ~= width * height then
        C.mv_backend_set_error(string.format(
          "the Lua function returned a %s image of %d elements, expected %d floats",
          result.ctype, result:size(), width * height))
        return C.MV_E_STATE
      end
      pointer = result.data
    elseif type(result) ~= "cdata" then
      C.mv_backend_set_error(string.format(
        "the Lua function returned a %s; return nothing (after writing out),"
        .. " a float FFI array or a float mivos image", type(result)))
      return C.MV_E_STATE
    end
    ffi.copy(out, pointer, width * height * ffi.sizeof("float"))
  end
  return C.MV_OK
end

local backend_callback = ffi.cast("mv_backend_fn", run_backend)

-- Registers a Lua function as an interaction backend `name`, usable like the
-- built-in ones (session option interaction=name, set_interaction, local
-- control). The function is called as
--   fn(rgb, width, height, previous, positive, negative, out)
-- with FFI pointers: rgb height x width x 3 bytes; previous the object's
-- previous probabilities (height x width floats, or nil when empty);
-- positive / negative the scribble maps (height x width bytes, nonzero =
-- marked, or nil when empty); out height x width floats to fill with the
-- object's probabilities in [0, 1]. It returns nothing (having written out),
-- or a probability map (float FFI array or float mivos image of width x
-- height) that is copied to out. A Lua error in it makes the interaction
-- call fail with E_STATE and a message carrying the Lua error (and naming
-- the call, frame, object and backend). Registering
-- a name again replaces the function.
function backends.register_backend(name, fn)
  string_arg(name, "name", "mivos.register_backend")
  if type(fn) ~= "function" and not (type(fn) == "table" and getmetatable(fn)
                                     and getmetatable(fn).__call) then
    argument_error("mivos.register_backend: fn must be a function, got %s", type(fn))
  end
  local id = backend_ids[name]
  if id then
    lua_backends[id].fn = fn
    return
  end
  next_backend_id = next_backend_id + 1
  id = next_backend_id
  lua_backends[id] = { name = name, fn = fn }
  local status = C.mv_backend_register(name, backend_callback, ffi.cast("void*", id))
  if status ~= 0 then
    lua_backends[id] = nil
    raise(tonumber(status))
  end
  backend_ids[name] = id
end
jit.off(backends.register_backend)

function backends.unregister_backend(name)
  string_arg(name, "name", "mivos.unregister_backend")
  check(C.mv_backend_unregister(name))
  local id = backend_ids[name]
  if id then
    backend_ids[name] = nil
    lua_backends[id] = nil
  end
end

-- Names usable as `interaction`: the built-in ones, then the Lua ones.
function backends.backends()
  local names = backends.builtin_modules("interaction")
  local lua_names = {}
  for n in pairs(backend_ids) do lua_names[#lua_names + 1] = n end
  table.sort(lua_names)
  for _, n in ipairs(lua_names) do names[#names + 1] = n end
  return names
end

return backends
