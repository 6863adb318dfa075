-- mivos.serve.lock: one server per workspace. The lock is a POSIX record
-- lock (LuaFileSystem's lfs.lock, fcntl F_SETLK) on DIR/serve.lock, held
-- while the server runs; the kernel releases it when the process ends in any
-- way (SIGKILL included), so a crash never leaves a stale lock. The file
-- also says who holds it, for the refusal message.
--
--   local held, err = lock.acquire(dir, "pid 123, http://127.0.0.1:8765/")
--   held:release()
local lfs = require("lfs")

local lock = {}

local Held = {}
Held.__index = Held

function lock.acquire(dir, owner)
  local path = dir .. "/serve.lock"
  local created = io.open(path, "a")  -- exists from now on; nothing written
  if created then created:close() end
  -- every write goes through this one handle: closing any other handle of
  -- the file would drop a POSIX lock
  local f, err = io.open(path, "r+")
  if not f then return nil, "cannot open " .. path .. ": " .. tostring(err) end
  if not lfs.lock(f, "w") then
    local holder = (f:read("*l") or ""):gsub("%s+$", "")
    f:close()
    return nil, string.format("the workspace %s is already served (%s); stop that server "
                              .. "first (one session per workspace)", dir,
                              holder ~= "" and holder or "lock held by another process")
  end
  -- a fixed-width line, so a longer line of an earlier owner is overwritten
  owner = owner:sub(1, 255)
  f:write(owner, string.rep(" ", 255 - #owner), "\n")
  f:flush()
  return setmetatable({ file = f, path = path }, Held)
end

function Held:release()
  if self.file then
    lfs.unlock(self.file)
    self.file:close()
    self.file = nil
    os.remove(self.path)
  end
end

return lock
