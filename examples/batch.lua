-- Batch segmentation over a folder of videos.
--
--   build/mivos-lua examples/batch.lua [IN_DIR [OUT_DIR]]
--
-- Every video in IN_DIR (default examples/data: *.mp4, *.mkv, *.mov,
-- *.webm, *.avi) that has a rounds file next to it (NAME.rounds.json, the
-- format of `mivos segment --rounds`) is segmented: masks to OUT_DIR/NAME/,
-- an overlay to OUT_DIR/NAME.mp4, and, when IN_DIR/NAME/gt/ exists, its J&F.
-- One failing video is reported and the others still run; the exit code is
-- 1 when any failed.
local mivos = require("mivos")
local rounds = require("mivos.rounds")
local sys = require("mivos.sys")

local in_dir = arg[1] or "examples/data"
local out_dir = arg[2] or "out/batch"

local names = assert(sys.list_dir(in_dir))
local jobs = {}
for _, name in ipairs(names) do
  local stem = name:match("^(.+)%.[mM][pP]4$") or name:match("^(.+)%.mkv$") or
               name:match("^(.+)%.mov$") or name:match("^(.+)%.webm$") or name:match("^(.+)%.avi$")
  if stem and sys.exists(sys.join(in_dir, stem .. ".rounds.json")) then
    jobs[#jobs + 1] = { name = stem, video = sys.join(in_dir, name),
                        rounds = sys.join(in_dir, stem .. ".rounds.json") }
  end
end
print(string.format("%d video(s) with rounds in %s", #jobs, in_dir))

local function segment(job)
  local video = mivos.open_video(job.video)
  local plan = rounds.check(rounds.parse(rounds.read(job.rounds), { source = job.rounds }),
                            { frame_count = video.frame_count, width = video.width,
                              height = video.height }, mivos.backends())
  local session = mivos.session(video, { objects = plan.objects or plan.max_object })
  local start = sys.now()
  rounds.run(session, plan, {
    on_round = function(i, round)
      print(string.format("  %s round %d: frame %d: %s", job.name, i, round.frame,
                          rounds.describe(round)))
    end,
  })
  local masks = sys.join(out_dir, job.name)
  session:save_masks(masks)
  session:export_overlay(masks .. ".mp4")
  local line = string.format("%s: %d frames in %.1f s -> %s/", job.name, video.frame_count,
                             sys.now() - start, masks)
  local gt = sys.join(sys.join(in_dir, job.name), "gt")
  if sys.is_dir(gt) then
    local score = session:evaluate(gt)
    line = line .. string.format(", J&F %.4f", score.jf)
  end
  session:close()
  video:close()
  return line
end

local failures = 0
for _, job in ipairs(jobs) do
  local ok, result = pcall(segment, job)
  if ok then
    print(result)
  else
    failures = failures + 1
    print(string.format("%s: FAILED: %s", job.name, tostring(result)))
  end
  collectgarbage()  -- frees the session's buffers before the next video
end
os.exit(failures == 0 and 0 or 1)
