-- mivos.weights: PyTorch checkpoints (.pth state dicts, zip or legacy
-- format) and synthetic ones from a manifest (hashinit).
-- Public through the entry module: checkpoint, checkpoint_hashinit; a
-- Checkpoint has count, keys, get (an Array), check(manifest), close.
local ffi = require("ffi")
local lib = require("mivos.lib")
local array = require("mivos.array")

local C, check, live, close_handle = lib.C, lib.check, lib.live, lib.close_handle
local string_arg = lib.string_arg

local weights = {}

local Checkpoint = {}
Checkpoint.__index = Checkpoint

-- REPL: "checkpoint: s2m.pth, 312 tensors".
function Checkpoint:__tostring()
  local name = self.path and (self.path:match("([^/]+)$") or self.path) or "(hashinit)"
  if rawget(self, "_ptr") == nil then return "checkpoint: " .. name .. " (closed)" end
  return string.format("checkpoint: %s, %d tensors", name, self:count())
end

local function wrap_checkpoint(ptr, path)
  return setmetatable({ _ptr = ffi.gc(ptr, C.mv_checkpoint_close), path = path }, Checkpoint)
end

-- A PyTorch state dict (.pth, zip or legacy format).
function weights.checkpoint(path)
  string_arg(path, "path", "mivos.checkpoint")
  local out = ffi.new("mv_checkpoint*[1]")
  check(C.mv_checkpoint_open(path, out))
  return wrap_checkpoint(out[0], path)
end

-- A synthetic checkpoint from a manifest (spec/checkpoints/NAME.tsv).
function weights.checkpoint_hashinit(manifest, salt)
  string_arg(manifest, "manifest", "mivos.checkpoint_hashinit")
  local out = ffi.new("mv_checkpoint*[1]")
  check(C.mv_checkpoint_hashinit(manifest, salt, out))
  return wrap_checkpoint(out[0])
end

function Checkpoint:count() return C.mv_checkpoint_count(live(self, "checkpoint")) end

function Checkpoint:keys()
  local ptr, keys = live(self, "checkpoint"), {}
  for i = 0, C.mv_checkpoint_count(ptr) - 1 do
    keys[#keys + 1] = ffi.string(C.mv_checkpoint_key(ptr, i))
  end
  return keys
end

function Checkpoint:get(key)
  string_arg(key, "key", "checkpoint:get")
  local out = ffi.new("mv_array*[1]")
  check(C.mv_checkpoint_get(live(self, "checkpoint"), key, out))
  return array.wrap(out[0])
end

function Checkpoint:check(manifest)
  check(C.mv_checkpoint_check(live(self, "checkpoint"), manifest))
end

function Checkpoint:close() close_handle(self, C.mv_checkpoint_close) end

return weights
