-- mivos segment: runs interaction rounds from a JSON file on a video and
-- writes the masks (the README's main job).
local common = require("mivos.cli.common")
local rounds = require("mivos.rounds")
local sys = require("mivos.sys")

local M = {}

M.summary = "run the interaction rounds of a JSON file on a video, write the masks"

M.usage = [[
usage: mivos segment VIDEO --rounds ROUNDS.json --out DIR [options]

Runs the interaction rounds described in ROUNDS.json (scribbles, clicks,
polygons, initial masks on 0-based frames, each optionally propagated; the
format is in the README) on VIDEO (a video file, a folder of frames or a
printf pattern) and writes one DAVIS palette PNG per frame: DIR/00000.png,
DIR/00001.png, ... (pixel value = object id, 0 = background).

  --rounds FILE        the interaction rounds (JSON)                 [required]
  --out DIR            folder for the masks (created)                [required]
  --objects K          number of objects (default: the file's "objects", else
                       the highest object id its rounds use)
  --weights DIR        folder with the official MiVOS weights
                       (propagation_model.pth, fusion.pth, s2m.pth): the
                       defaults become the modules that need them (below)
  --device D           OpenCL device: "P:D", "gpu", "cpu" or a name substring
                       (default $MIVOS_DEVICE, else the first GPU, else the CPU)
  --interaction NAME   the interaction backend (default: the first built-in
                       one, with --weights the first that needs them):
                       @interaction@,
                       or one registered by a --backend file
  --propagation NAME   the propagation (default as for --interaction):
                       @propagation@
  --fusion NAME        the fusion (default as for --interaction):
                       @fusion@
  --backend FILE.lua   a Lua file that registers interaction backends; it is
                       run with the mivos module as its argument (repeatable)
  --short-side N       working size: shorter side in pixels (default 480,
                       0 = native); round coordinates are in this size
  --output-size S      size of the masks, soft maps, mattes and overlay:
                       source (default: the video's own size; the object
                       probabilities are resized bilinearly before the labels
                       are taken) or working (the working size)
  --overlay OUT.mp4    also write the DAVIS overlay video (or, for a name with
                       a printf pattern such as ov/%05d.png, one PNG per frame)
  --soft               also write each object's probabilities as grey PNGs
                       DIR/soft/<object>/00000.png, ...
  --alpha              also write RGBA mattes DIR/alpha/<object>/00000.png, ...
  --gt DIR             score the masks against ground-truth PNGs in DIR (one
                       per frame, name order) and print J&F
  --report FILE.json   write a JSON summary (settings, rounds, timings, scores)
  --workspace DIR      keep the work in DIR as it happens: every operation is
                       appended to DIR/log.json (flushed to disk before the
                       next one), DIR/masks/ holds every frame's mask, and a
                       snapshot of the session is written at the end. Run
                       again with the same DIR and rounds file, the operations
                       the log holds are restored instead of redone (an
                       interrupted run continues where it stopped)
  --quiet              no progress output on stderr
  -h, --help           this text

Progress goes to stderr (a bar with frames/s and ETA on a terminal, plain
lines otherwise); the paths written and the scores go to stdout.

exit codes: 0 success; 1 failure (missing or unreadable video, rounds file
            or mask, malformed JSON, a frame / object / click out of range,
            an unknown backend in the rounds file, a library error);
            2 usage error (unknown option, missing or bad option value,
            unknown --interaction / --propagation / --fusion)
]]

local spec = {
  name = "segment", usage = M.usage, positionals = { "VIDEO" },
  options = {
    ["--rounds"] = { arg = "FILE", required = true },
    ["--out"] = { arg = "DIR", required = true },
    ["--objects"] = { arg = "K", type = "int", min = 1, max = 255 },
    ["--weights"] = { arg = "DIR" },
    ["--device"] = { arg = "D" },
    ["--interaction"] = { arg = "NAME" },
    ["--propagation"] = { arg = "NAME" },
    ["--fusion"] = { arg = "NAME" },
    ["--backend"] = { arg = "FILE", multiple = true },
    ["--short-side"] = { arg = "N", type = "int", min = 0 },
    ["--overlay"] = { arg = "FILE" },
    ["--output-size"] = { arg = "S", choices = { "source", "working" } },
    ["--soft"] = {},
    ["--alpha"] = {},
    ["--gt"] = { arg = "DIR" },
    ["--report"] = { arg = "FILE" },
    ["--quiet"] = {},
    ["-q"] = { alias = "--quiet" },
    ["--workspace"] = { arg = "DIR" },
  },
}

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local video_path = positionals[1]
  local mivos = common.mivos()
  local quiet = options.quiet
  local t_start = sys.now()

  common.load_modules(mivos, options)
  local backends = mivos.backends()
  if options.weights and not sys.is_dir(options.weights) then
    common.fail("--weights %s: not a folder", options.weights)
  end
  if options.gt and not sys.is_dir(options.gt) then
    common.fail("--gt %s: not a folder", options.gt)
  end

  -- everything is checked before the (long) work starts
  local ok, doc = pcall(rounds.read, options.rounds)
  if not ok then common.fail("%s", common.message(doc)) end
  local plan
  ok, plan = pcall(rounds.parse, doc, { source = options.rounds })
  if not ok then common.fail("%s", common.message(plan)) end

  local video = mivos.open_video(video_path, { short_side = options.short_side })
  local info = { frame_count = video.frame_count, width = video.width, height = video.height }
  if options.objects then plan.objects = options.objects end
  ok, plan = pcall(rounds.check, plan, info, backends)
  if not ok then common.fail("%s", common.message(plan)) end
  local objects = plan.objects or plan.max_object

  if not quiet then
    common.note("video %s: %d frames, %dx%d working size", video_path, video.frame_count,
                video.width, video.height)
  end
  local session_options = {
    objects = objects, weights = options.weights, device = options.device,
    interaction = options.interaction or plan.interaction,
    propagation = options.propagation, fusion = options.fusion,
  }
  local session, done
  if options.workspace then
    local resumed
    session, resumed = mivos.workspace(video, options.workspace, session_options)
    local log = rounds.read(options.workspace .. "/log.json")
    done = log.rounds
    if not quiet then common.note("%s", resumed.message) end
  else
    session = mivos.session(video, session_options)
  end
  local sinfo = session:info()
  if not quiet then
    common.note("session: %d object%s, interaction %s, propagation %s, fusion %s", objects,
                objects > 1 and "s" or "", sinfo.interaction, sinfo.propagation, sinfo.fusion)
  end

  local report = { video = video_path, rounds_file = options.rounds, out = options.out,
                   frames = video.frame_count, width = video.width, height = video.height,
                   objects = objects, interaction = sinfo.interaction,
                   propagation = sinfo.propagation, fusion = sinfo.fusion, rounds = {} }
  local bar, round_start
  local skipped = rounds.run(session, plan, {
    interaction = sinfo.interaction, done = done,
    on_round = function(i, round)
      if bar then bar:finish() bar = nil end
      round_start = sys.now()
      if not quiet then
        common.note("round %d/%d: frame %d, object %d: %s", i, #plan.rounds, round.frame,
                    round.object, rounds.describe(round))
      end
      report.rounds[i] = { frame = round.frame, object = round.object,
                           steps = rounds.describe(round) }
    end,
    on_propagate = function(i, round)
      bar = common.progress(string.format("round %d: propagating from frame %d", i,
                                          round.frame), 0, { quiet = quiet })
    end,
    on_progress = function(i, done, total)
      bar:update(done, total)
      report.rounds[i].seconds = sys.now() - round_start
    end,
  })
  if bar then bar:finish() bar = nil end
  if options.workspace then
    session:snapshot()
    report.workspace = { dir = options.workspace, restored_operations = skipped }
    common.say("workspace %s/ (log.json, masks/, snapshot.mvs; %d operations restored, not "
               .. "redone)", options.workspace, skipped)
  end

  -- Output at the source size: the same frames opened at their own size.
  local output = video
  if (options.output_size or "source") == "source" and options.short_side ~= 0 then
    output = mivos.open_video(video_path, { short_side = 0 })
    if output.width == video.width and output.height == video.height then
      output:close()
      output = video
    elseif output.frame_count ~= video.frame_count then
      common.fail("%s: %d frames at the source size but %d at the working size", video_path,
                  output.frame_count, video.frame_count)
    end
  end
  report.output_width, report.output_height = output.width, output.height

  local save_bar = common.progress("writing masks", video.frame_count, { quiet = quiet })
  session:save_masks(options.out, { soft = options.soft, alpha = options.alpha, video = output,
                                    on_progress = function(d, t) save_bar:update(d, t) end })
  save_bar:finish()
  common.say("masks    %s/ (%d palette PNGs %05d.png..%05d.png, 0-based frames, %dx%d)",
             options.out, video.frame_count, 0, video.frame_count - 1, output.width,
             output.height)
  if options.soft then common.say("soft     %s/soft/<object>/", options.out) end
  if options.alpha then common.say("alpha    %s/alpha/<object>/", options.out) end
  report.masks = options.out

  if options.overlay then
    local overlay_bar = common.progress("writing overlay", video.frame_count, { quiet = quiet })
    session:export_overlay(options.overlay, { video = output, on_progress = function(d, t)
      overlay_bar:update(d, t)
    end })
    overlay_bar:finish()
    common.say("overlay  %s", options.overlay)
    report.overlay = options.overlay
  end

  if options.gt then
    local score = session:evaluate(options.gt)
    common.say("J&F      %.4f (J %.4f, F %.4f) against %s, %d frames, %d object%s", score.jf,
               score.j, score.f, options.gt, score.frames, objects, objects > 1 and "s" or "")
    report.score = { jf = score.jf, j = score.j, f = score.f, objects = score.objects }
  end

  report.seconds = sys.now() - t_start
  if options.report then
    local json = require("mivos.json")
    local dir = sys.dirname(options.report)
    local made, err = sys.mkdir_p(dir)
    if not made then common.fail("--report: %s", err) end
    local f, ferr = io.open(options.report, "w")
    if not f then common.fail("--report: %s", ferr) end
    f:write(json.encode(report, { indent = "  " }), "\n")
    f:close()
    common.say("report   %s", options.report)
  end
  if not quiet then common.note("done in %s", common.format_duration(report.seconds)) end
  session:close()
  if output ~= video then output:close() end
  video:close()
  return 0
end

return M
