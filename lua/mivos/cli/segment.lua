-- mivos segment: runs interaction rounds from a JSON file on a video and
-- writes the masks (the README's main job).
local common = require("mivos.cli.common")
local rounds = require("mivos.rounds")
local sys = require("mivos.sys")

local M = {}

M.summary = "run the interaction rounds of a JSON file on a video, write the masks"

M.usage = [[
usage: mivos segment VIDEO --rounds ROUNDS.json --out DIR [options]
       mivos segment VIDEO --init-mask FRAME:MASK.png --out DIR [options]

Runs the interaction rounds described in ROUNDS.json (scribbles, clicks,
polygons, initial masks on 0-based frames, each optionally propagated; the
format is in the README) on VIDEO (a video file, a folder of frames or a
printf pattern) and writes one DAVIS palette PNG per frame: DIR/00000.png,
DIR/00001.png, ... (pixel value = object id, 0 = background).

  --rounds FILE        the interaction rounds (JSON); required unless
                       --init-mask is given
  --init-mask F:FILE   start from the mask FILE (palette, 0/255 or grey ids;
                       resized to the working size) on frame F, propagated
                       both ways; with --rounds it is the first round, and
                       without --objects its highest id counts the objects
  --out DIR            folder for the masks (created). A folder that is not
                       empty is refused (exit 2) unless --force is given
  --force              write into a non-empty --out: the files an earlier run
                       wrote there (NNNNN.png, soft/, alpha/, binary/
                       <object>/NNNNN.png) are removed first, so no stale
                       frame is left; other files are kept. A --workspace
                       inside --out does not count as content, and a run on
                       a --workspace that holds a log (a resume: the same
                       command again) replaces the masks as with --force
  --frames A:B         segment and write only frames A..B of the video
                       (0-based, inclusive; "A:" = to the last frame):
                       propagations stop at A and B, the masks keep the
                       video's frame numbers (--frames 10:20 writes
                       00010.png..00020.png), and so does the rounds file
                       (a round outside A..B is an error). Not with --gt or
                       --workspace
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
  --binary             also write each object's mask as 0/255 PNGs
                       DIR/binary/<object>/00000.png, ...
  --dilate R           grow the --binary masks by R pixels (a square of side
                       2R+1; default 0)
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
  --progress MODE      text (default) or json: one JSON object per line on
                       stderr instead of the text progress, for pipelines:
                       {"event":"start","frames":N,"first":A,"last":B,
                        "rounds":R,"objects":K},
                       {"event":"round","round":i,"frame":f,"object":k},
                       {"event":"frame","round":i,"frame":f,"done":d,
                        "total":t} after every propagated frame,
                       {"event":"end","seconds":s,"masks":DIR}
  --quiet              no text progress output on stderr
  -h, --help           this text

Progress goes to stderr (a bar with frames/s and ETA on a terminal, plain
lines otherwise); the paths written and the scores go to stdout. Errors
are one line on stderr, also with --progress json.

exit codes: 0 success; 1 failure (missing or unreadable video, rounds file
            or mask, malformed JSON, a frame / object / click out of range,
            an unknown backend in the rounds file, a library error);
            2 usage error (unknown option, missing or bad option value,
            unknown --interaction / --propagation / --fusion, a non-empty
            --out without --force)
]]

local spec = {
  name = "segment", usage = M.usage, positionals = { "VIDEO" },
  options = common.with_module_options({
    ["--rounds"] = { arg = "FILE" },
    ["--init-mask"] = { arg = "F:FILE" },
    ["--out"] = { arg = "DIR", required = true },
    ["--force"] = {},
    ["--frames"] = { arg = "A:B" },
    ["--binary"] = {},
    ["--dilate"] = { arg = "R", type = "int", min = 0 },
    ["--progress"] = { arg = "MODE", choices = { "text", "json" } },
    ["--objects"] = { arg = "K", type = "int", min = 1, max = 255 },
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
  }),
}

-- The names mivos writes in --out: NNNNN.png (5 digits or more).
local MASK_NAME = "^%d%d%d%d%d+%.png$"
-- The per-object folders it writes there: KIND/<object id>/NNNNN.png.
local OBJECT_KINDS = { "soft", "alpha", "binary" }

local function strip_slashes(path)
  return (path:gsub("(.)/+$", "%1"))
end

-- A run on a workspace that already holds a log resumes it: the same
-- command again, so --out holds that workspace's earlier masks and they
-- are replaced as with --force.
local function resumes_workspace(workspace)
  return workspace ~= nil and sys.exists(sys.join(workspace, "log.json"))
end

-- --out must be empty (or not exist) unless --force (or a resumed
-- workspace); a --workspace right inside it is not content. Checked
-- before the work starts.
local function check_out(out, force, workspace)
  out = strip_slashes(out)
  if sys.exists(out) and not sys.is_dir(out) then
    common.usage_error("--out %s: not a folder", out)
  end
  if workspace and strip_slashes(workspace) == out then
    common.usage_error("--workspace and --out must be different folders (%s)", out)
  end
  if force or not sys.is_dir(out) then return end
  local names, err = sys.list_dir(out)
  if not names then common.fail("--out: %s", err) end
  local ws_name = workspace and sys.dirname(strip_slashes(workspace)) == out
                  and sys.basename(strip_slashes(workspace))
  for _, name in ipairs(names) do
    if name ~= ws_name then
      common.usage_error("--out %s is not empty (it holds %s): give --force to replace the masks "
                         .. "of an earlier run, or another folder", out, name)
    end
  end
end

local function remove(path)
  local ok, err = os.remove(path)
  if not ok then common.fail("--force: cannot remove %s: %s", path, tostring(err)) end
end

-- --force: removes what an earlier run wrote in DIR (only mivos' names),
-- so that no stale frame outlives this run; other files are kept.
local function remove_earlier_outputs(dir)
  if not sys.is_dir(dir) then return end
  for _, name in ipairs(sys.list_dir(dir, MASK_NAME) or {}) do remove(sys.join(dir, name)) end
  for _, kind in ipairs(OBJECT_KINDS) do
    local kind_dir = sys.join(dir, kind)
    if sys.is_dir(kind_dir) then
      for _, object in ipairs(sys.list_dir(kind_dir, "^%d+$") or {}) do
        local object_dir = sys.join(kind_dir, object)
        for _, name in ipairs(sys.list_dir(object_dir, MASK_NAME) or {}) do
          remove(sys.join(object_dir, name))
        end
        os.remove(object_dir)   -- only when now empty: other files stay
      end
      os.remove(kind_dir)
    end
  end
end

-- --init-mask F:FILE -> F, FILE
local function parse_init_mask(value)
  local frame, file = value:match("^(%d+):(.+)$")
  if not frame then
    common.usage_error("--init-mask expects FRAME:FILE (a 0-based frame, a mask PNG), got '%s'",
                       value)
  end
  return tonumber(frame), file
end

-- --frames A:B (or A:) -> A, B (nil = the last frame)
local function parse_frames(value)
  local a, b = value:match("^(%d+):(%d*)$")
  if not a then
    common.usage_error("--frames expects A:B (0-based frames, inclusive; A: = to the end), "
                       .. "got '%s'", value)
  end
  a, b = tonumber(a), tonumber(b)
  if b and b < a then common.usage_error("--frames %s: %d is before %d", value, b, a) end
  return a, b
end

-- The highest object id in a mask file (0 for an empty mask).
local function highest_id(path)
  local labels = require("mivos.io").read_labels(path)
  local top = 0
  for i = 0, labels.width * labels.height - 1 do
    if labels.data[i] > top then top = labels.data[i] end
  end
  return top
end

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local video_path = positionals[1]
  if not options.rounds and not options.init_mask then
    common.usage_error("--rounds FILE or --init-mask FRAME:FILE is required (see 'mivos segment "
                       .. "--help')")
  end
  if options.dilate and not options.binary then
    common.usage_error("--dilate grows the --binary masks: give --binary too")
  end
  local first, last
  if options.frames then
    first, last = parse_frames(options.frames)
    if options.gt then common.usage_error("--frames and --gt: the score needs every frame") end
    if options.workspace then
      common.usage_error("--frames and --workspace cannot be combined (a workspace holds the "
                         .. "whole video)")
    end
  end
  local init_frame, init_file
  if options.init_mask then init_frame, init_file = parse_init_mask(options.init_mask) end
  local replace_out = options.force or resumes_workspace(options.workspace)
  check_out(options.out, replace_out, options.workspace)
  local json_progress = options.progress == "json"
  local function event(t)
    if not json_progress then return end
    io.stderr:write(require("mivos.json").encode(t), "\n")
    io.stderr:flush()
  end
  local mivos = common.mivos()
  local quiet = options.quiet or json_progress
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
  local ok, plan
  local init_round = init_file and { frame = init_frame, mask = init_file, propagate = true }
  if options.rounds then
    local doc
    ok, doc = pcall(rounds.read, options.rounds)
    if not ok then common.fail("%s", common.message(doc)) end
    ok, plan = pcall(rounds.parse, doc, { source = options.rounds })
    if not ok then common.fail("%s", common.message(plan)) end
    if init_round then
      local init_plan = rounds.parse({ rounds = { init_round } }, { source = "--init-mask",
                                                                   base_dir = "." })
      table.insert(plan.rounds, 1, init_plan.rounds[1])
    end
  else
    plan = rounds.parse({ rounds = { init_round } }, { source = "--init-mask", base_dir = "." })
  end
  if init_round then plan.rounds[1].where = "--init-mask " .. options.init_mask end

  local video = mivos.open_video(video_path, { short_side = options.short_side })
  local info = { frame_count = video.frame_count, width = video.width, height = video.height }
  if options.objects then plan.objects = options.objects end
  ok, plan = pcall(rounds.check, plan, info, backends)
  if not ok then common.fail("%s", common.message(plan)) end
  local objects = plan.objects or plan.max_object
  if init_file then
    local top
    ok, top = pcall(highest_id, init_file)
    if not ok then common.fail("--init-mask: %s", common.message(top)) end
    if not plan.objects then
      objects = math.max(plan.max_object, top)
    elseif top > objects then
      common.fail("--init-mask %s: the mask holds object id %d, but there are %d object%s "
                  .. "(--objects or the rounds file's \"objects\")", init_file, top, objects,
                  objects > 1 and "s" or "")
    end
  end
  if first then
    last = last or video.frame_count - 1
    if last >= video.frame_count then
      common.fail("--frames %s: the video has %d frames (0..%d)", options.frames,
                  video.frame_count, video.frame_count - 1)
    end
    for _, round in ipairs(plan.rounds) do
      if round.frame and (round.frame < first or round.frame > last) then
        common.fail("%s: frame %d is outside --frames %d:%d", round.where, round.frame, first, last)
      end
    end
  end

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
    -- the library makes the workspace folder itself, not its parents
    -- (e.g. a workspace inside an --out that does not exist yet)
    local made, err = sys.mkdir_p(sys.dirname(strip_slashes(options.workspace)))
    if not made then common.fail("--workspace: %s", err) end
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
  event({ event = "start", frames = video.frame_count, first = first or 0,
           last = last or video.frame_count - 1, rounds = #plan.rounds, objects = objects })
  local bar, round_start
  local skipped = rounds.run(session, plan, {
    interaction = sinfo.interaction, done = done, first = first, last = last,
    on_round = function(i, round)
      if bar then bar:finish() bar = nil end
      round_start = sys.now()
      event({ event = "round", round = i, frame = round.frame, object = round.object })
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
    on_progress = function(i, done, total, frame)
      bar:update(done, total)
      event({ event = "frame", round = i, frame = frame, done = done, total = total })
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

  local write_first, write_last = first or 0, last or video.frame_count - 1
  if replace_out then remove_earlier_outputs(options.out) end
  local save_bar = common.progress("writing masks", write_last - write_first + 1,
                                   { quiet = quiet })
  session:save_masks(options.out, { soft = options.soft, alpha = options.alpha,
                                    binary = options.binary, dilate = options.dilate,
                                    video = output, first = write_first, last = write_last,
                                    on_progress = function(d, t) save_bar:update(d, t) end })
  save_bar:finish()
  common.say("masks    %s/ (%d palette PNGs %05d.png..%05d.png, 0-based frames, %dx%d)",
             options.out, write_last - write_first + 1, write_first, write_last, output.width,
             output.height)
  if options.soft then common.say("soft     %s/soft/<object>/", options.out) end
  if options.alpha then common.say("alpha    %s/alpha/<object>/", options.out) end
  if options.binary then
    common.say("binary   %s/binary/<object>/ (0/255, dilated by %d px)", options.out,
               options.dilate or 0)
  end
  report.masks = options.out
  report.first_frame, report.last_frame = write_first, write_last
  if options.binary then report.binary = { dilate = options.dilate or 0 } end

  if options.overlay then
    local overlay_bar = common.progress("writing overlay", video.frame_count, { quiet = quiet })
    session:export_overlay(options.overlay, { video = output, first = write_first,
                                              last = write_last, on_progress = function(d, t)
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
  event({ event = "end", seconds = report.seconds, masks = options.out })
  session:close()
  if output ~= video then output:close() end
  video:close()
  return 0
end

return M
