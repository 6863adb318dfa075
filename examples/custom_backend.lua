-- A custom interaction backend written in Lua (examples/backends/colour.lua)
-- used exactly like the built-in ones: by name for the whole frame, and
-- inside local control (a box around the part to fix).
--
--   build/mivos-lua examples/custom_backend.lua
--
-- Prints the J of frame 0 after each step, against the shipped ground truth
-- (the colour model is much simpler than graphcut, and the numbers show it:
-- about 0.76 for the whole frame, 0.73 after the local step, 0.82 with
-- graphcut).
local mivos = require("mivos")
dofile("examples/backends/colour.lua")(mivos)       -- registers "colour"
print("backends: " .. table.concat(mivos.backends(), ", "))

local video = mivos.open_video("examples/data/libby.mp4")
local gt = mivos.read_labels("examples/data/libby/gt/00000.png", video.width, video.height)
local session = mivos.session(video, { interaction = "colour" })

local function report(what)
  print(string.format("%-34s J %.3f", what, mivos.jaccard(session:mask(0), gt)))
end

-- The whole frame with the Lua backend.
session:scribble(0, 1, { pos = { { 455, 255, 500, 250, 545, 245 } },
                         neg = { { 270, 160, 590, 160, 590, 365, 270, 365, 270, 160 } } })
report("colour backend, whole frame")

-- Local control: only the box around the dog's back half changes; the
-- backend sees the box grown by the margin.
session:local_region(0, { 300, 200, 430, 320, margin = 0 }, function(region)
  region:scribble(1, { pos = { { 340, 250, 380, 248, 420, 252 } },
                       neg = { { 305, 205, 425, 205 } } })
end)
report("+ colour backend in a local box")

-- Switching backends by name mid-session: the built-in graphcut on top.
session:set_interaction("graphcut")
session:undo(0)
session:undo(0)
session:scribble(0, 1, { pos = { { 340, 250, 380, 248, 420, 252 }, { 455, 255, 500, 250, 545, 245 } },
                         neg = { { 270, 160, 590, 160, 590, 365, 270, 365, 270, 160 } } })
report("graphcut instead (after two undos)")
session:close()
video:close()
