-- Scripted interaction rounds with the Lua API, the loop of the MiVOS paper:
-- interact on a frame, propagate, correct another frame, propagate again.
--
--   build/mivos-lua examples/scripted_rounds.lua [OUT_DIR]
--
-- On the shipped clip (libby, DAVIS 2016): round 1 scribbles the dog on
-- frame 0 (positive polylines along its body, a negative box around it),
-- round 2 re-scribbles frame 24, then the masks, an
-- overlay video and the J&F against the shipped ground truth. Frames are
-- 0-based everywhere; coordinates are pixels of the working size (854x480
-- here), x right, y down.
local mivos = require("mivos")

local out = arg[1] or "out/scripted"
local video = mivos.open_video("examples/data/libby.mp4", { short_side = 480 })
print(string.format("%d frames of %dx%d", video.frame_count, video.width, video.height))

local session = mivos.session(video, { objects = 1, interaction = "graphcut",
                                       propagation = "labelprop", fusion = "linear" })

local function progress(label)
  return function(done, total)
    io.stderr:write(string.format("\r%s %d/%d", label, done, total))
    if done == total then io.stderr:write("\n") end
  end
end

-- Round 1: frame 0. A pole in front of the dog splits it in two halves.
session:scribble(0, 1, {
  pos = { { 340, 250, 380, 248, 420, 252 },               -- back half, left of the pole
          { 455, 255, 500, 250, 545, 245, 555, 215 } },   -- front half and head
  neg = { { 270, 160, 590, 160, 590, 365, 270, 365, 270, 160 } },  -- a box around it
})
local mask = session:mask(0)  -- an FFI array: mask.data[y * width + x]
print("frame 0: object pixels", mask:count(1))
session:propagate(0, { on_progress = progress("round 1: propagating") })

-- Round 2: frame 24, where the propagation has drifted: a click first (and
-- undone: every interaction can be), then the frame is cleared and
-- scribbled again.
session:click(24, 1, 480, 270, true)
session:undo(24)
session:reset_frame(24)
session:scribble(24, 1, {
  pos = { { 360, 270, 400, 270, 420, 262 }, { 450, 260, 500, 255, 540, 250 } },
  neg = { { 275, 180, 595, 180, 595, 370, 275, 370, 275, 180 } },
})
session:propagate(24, { on_progress = progress("round 2: propagating") })

-- Results.
session:save_masks(out)                        -- out/00000.png ... palette PNGs
session:export_overlay(out .. ".mp4")          -- the DAVIS overlay video
local score = session:evaluate("examples/data/libby/gt")
print(string.format("masks in %s/, overlay %s.mp4, J&F %.4f (J %.4f, F %.4f)", out, out,
                    score.jf, score.j, score.f))
session:close()
video:close()
