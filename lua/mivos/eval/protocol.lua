-- mivos.eval.protocol: the interactive session of spec/EVALUATION.md
-- (sections 4, 7 and 8, "D16-robot") run on one sequence with a mivos
-- session as the algorithm.
--
--   protocol.run_sequence(sequence, options) -> record
--     sequence: { name =, frames_dir =, masks_dir = }
--     options:  interaction, propagation, fusion, weights, device (session
--               options; nil = defaults), max_interactions (8, clamped to
--               1..16), max_time (seconds per object, 240; 0 = none, clamped
--               to 600; clamping is idempotent), schedule ("mivos" = the 3-frame schedule of section 7,
--               "free" = propagate at every interaction and let the robot pick
--               the worst frame each time), scribbles ("latest" = only this
--               interaction's strokes, as MiVOS; "all" = every stroke given on
--               the frame so far, later ones on top; section 4.2 leaves this
--               to the algorithm), first_frame ("first" = frame 0,
--               the protocol; "middle", "largest" for experiments),
--               oracle (true = the interaction's result on the interacted
--               frame is replaced by that frame's ground truth: what the
--               loop reaches with a perfect interaction module; the robot,
--               schedule and propagation stay as they are),
--               scribbles_dir (robot JSON per interaction, or nil),
--               masks_dir (final masks as palette PNGs, or nil),
--               on_interaction(record, interaction) (after each one, or nil),
--               on_progress(record, frame, done, total) (during propagation)
--     record:   { name, frames, width, height, objects, first_frame,
--                 initial_strokes, setup_seconds, wall_seconds, stopped_by,
--                 interactions = { [i] = { interaction, frame, propagated,
--                   strokes, seconds, scored, J, F, ["J&F"], objects = {...},
--                   frame_J, frame_F (the interacted frame's J and F, mean
--                   over objects) } } }
--
-- What is timed (section 4.2): from the moment the scribbles are handed over
-- (the robot's strokes, before they are rasterised) to the moment the full
-- label volume is available, i.e. rasterising, the backend, the propagation
-- and reading the labels back. Opening the video and the session (loading
-- the networks) happens once before the sample starts and is reported as
-- setup_seconds; the robot, the metrics and any file output are not timed
-- but do count against max_time, as the spec says.
local mivos = require("mivos")
local ffi = require("ffi")
local sys = require("mivos.sys")
local robot = require("mivos.eval.robot")
local dataset = require("mivos.eval.dataset")
local summary = require("mivos.eval.summary")

local protocol = {}

protocol.MIVOS_PROPAGATE = { [3] = true, [6] = true, [8] = true }  -- counter 2, 5, 7

local function fail(fmt, ...) error(string.format(fmt, ...), 0) end

-- Does interaction i (1-based) propagate, under the schedule?
function protocol.propagates(schedule, i)
  if schedule == "free" then return true end
  return protocol.MIVOS_PROPAGATE[i] == true
end

-- The frame of the first interaction.
local function first_frame(choice, gt, T, plane)
  if choice == nil or choice == "first" then return 0 end
  if choice == "middle" then return math.floor(T / 2) end
  if choice == "largest" then
    local best, best_area = 0, -1
    for t = 0, T - 1 do
      local base, area = gt + t * plane, 0
      for p = 0, plane - 1 do
        local v = base[p]
        if v ~= 0 and v ~= 255 then area = area + 1 end
      end
      if area > best_area then best, best_area = t, area end
    end
    return best
  end
  fail("first frame '%s': expected first, middle or largest", tostring(choice))
end

local function clamp_options(options)
  local o = {}
  for k, v in pairs(options or {}) do o[k] = v end
  o.max_interactions = math.max(1, math.min(16, math.floor(o.max_interactions or 8)))
  -- 0 = no limit (kept as 0, so that clamping twice changes nothing)
  o.max_time = math.max(0, math.min(600, o.max_time == nil and 240 or o.max_time))
  o.scribbles = o.scribbles or "latest"
  if o.scribbles ~= "latest" and o.scribbles ~= "all" then
    fail("scribbles '%s': expected latest or all", tostring(o.scribbles))
  end
  o.schedule = o.schedule or "mivos"
  if o.schedule ~= "mivos" and o.schedule ~= "free" then
    fail("schedule '%s': expected mivos or free", tostring(o.schedule))
  end
  return o
end
protocol.clamp_options = clamp_options

-- Checks a sequence's folders without reading pixels: the frame and mask
-- lists (equal counts); returns the mask names and the frame folder.
function protocol.check_sequence(seq)
  local name = seq.name
  local frames_dir = sys.join(seq.frames_dir, name)
  local masks_dir = sys.join(seq.masks_dir, name)
  if not sys.is_dir(frames_dir) then fail("sequence '%s': no frame folder '%s'", name, frames_dir) end
  if not sys.is_dir(masks_dir) then
    fail("sequence '%s': no ground-truth folder '%s'", name, masks_dir)
  end
  local mask_names = dataset.masks(masks_dir)
  local frame_names = dataset.frames(frames_dir)
  if #mask_names == 0 then fail("sequence '%s': no PNG masks in '%s'", name, masks_dir) end
  if #frame_names ~= #mask_names then
    fail("sequence '%s': %d frames in '%s' but %d masks in '%s' (every frame needs its mask)",
         name, #frame_names, frames_dir, #mask_names, masks_dir)
  end
  return mask_names, frames_dir, masks_dir
end

function protocol.run_sequence(seq, options)
  local o = clamp_options(options)
  local N = o.max_interactions
  local name = seq.name
  local mask_names, frames_dir, masks_dir = protocol.check_sequence(seq)

  -- Service side: ground truth.
  local W, H = mivos.mask_size(sys.join(masks_dir, mask_names[1]))
  local T = #mask_names
  local plane = W * H
  local gt, K = dataset.read_volume(masks_dir, mask_names, W, H)
  if K == 0 then fail("sequence '%s': the ground truth has no object", name) end

  -- Algorithm side: the video and the session (set-up, not timed).
  local setup_start = sys.now()
  local video = mivos.open_video(frames_dir, { short_side = 0 })
  local vinfo = video:info()
  if vinfo.frame_count ~= T or vinfo.width ~= W or vinfo.height ~= H then
    video:close()
    fail("sequence '%s': the frames are %d of %dx%d, the masks %d of %dx%d", name,
         vinfo.frame_count, vinfo.width, vinfo.height, T, W, H)
  end
  local session = mivos.session(video, {
    objects = K, interaction = o.interaction, propagation = o.propagation, fusion = o.fusion,
    weights = o.weights, device = o.device,
  })
  local sinfo = session:info()
  local setup_seconds = sys.now() - setup_start

  local pred = ffi.new("uint8_t[?]", T * plane)         -- the last scored submission
  local submitted = ffi.new("uint8_t[?]", T * plane)    -- read back, before the limit check
  local j = ffi.new("double[?]", T * K)                  -- per frame and object
  local f = ffi.new("double[?]", T * K)
  local used = ffi.new("uint8_t[?]", T)                  -- U of section 4.3
  local labels16 = ffi.new("int16_t[?]", plane)
  local positive, negative = ffi.new("uint8_t[?]", plane), ffi.new("uint8_t[?]", plane)
  local history = {}                                     -- frame -> strokes so far ("all")
  local truth = o.oracle and ffi.new("uint8_t[?]", plane) or nil  -- oracle: GT of the frame

  local function score_frames(first, last)
    for t = first, last do
      mivos.check(mivos.C.mv_evaluate_frame(pred + t * plane, gt + t * plane, W, H, K,
                                            j + t * K, f + t * K))
    end
  end
  score_frames(0, T - 1)  -- the all-background prediction

  local record = {
    name = name, frames = T, width = W, height = H, objects = K, setup_seconds = setup_seconds,
    interaction = sinfo.interaction, propagation = sinfo.propagation,
    fusion = sinfo.fusion, interactions = {},
  }

  -- Section 8: the first scribble is the robot's against an all-background
  -- prediction; its frame is not entered in U.
  local frame = first_frame(o.first_frame, gt, T, plane)
  record.first_frame = frame
  local scribble = robot.interact(gt, pred, T, W, H, K, frame)
  record.initial_strokes = scribble.stroke_count

  local sample_start = sys.now()
  local limit = o.max_time > 0 and o.max_time * K or nil
  local ok, err = pcall(function()
    for i = 1, N do
      if limit and sys.now() - sample_start > limit then
        record.stopped_by = "max_time"
        break
      end
      if o.scribbles_dir then
        local dir = sys.join(o.scribbles_dir, name)
        assert(sys.mkdir_p(dir))
        robot.write_json(scribble, name, sys.join(dir, string.format("%02d.json", i)))
      end
      local propagate = protocol.propagates(o.schedule, i)
      local strokes = scribble.stroke_count

      -- ---- the algorithm's time ----
      local t0 = sys.now()
      if truth then
        -- oracle: the interacted frame becomes its ground truth (void = 0)
        local g = gt + frame * plane
        for p = 0, plane - 1 do truth[p] = g[p] == 255 and 0 or g[p] end
        session:set_labels(frame, truth)
      elseif strokes > 0 then
        robot.rasterize(scribble, W, H, labels16)
        local map = labels16
        if o.scribbles == "all" then
          -- every stroke given on this frame so far, later ones on top
          map = history[frame]
          if map == nil then
            map = ffi.new("int16_t[?]", plane)
            ffi.copy(map, labels16, plane * 2)
            history[frame] = map
          else
            for p = 0, plane - 1 do
              if labels16[p] ~= -1 then map[p] = labels16[p] end
            end
          end
        end
        for k = 1, K do
          local has_pos, has_neg = robot.maps(map, W, H, k, positive, negative)
          if has_pos or has_neg then
            session:interact_maps(frame, k, has_pos and positive or nil,
                                  has_neg and negative or nil)
          end
        end
        -- one robot interaction is one stroke group: the next one corrects
        -- the mask this one left (mv_session_end_strokes)
        session:end_strokes()
      end
      if propagate then
        -- Past the time limit the submission would be discarded anyway:
        -- stop the propagation there instead of finishing it.
        local completed = session:propagate(frame, {
          on_progress = function(done, total)
            -- a display problem must not end the evaluation
            if o.on_progress then pcall(o.on_progress, record, frame, done, total) end
            return limit ~= nil and sys.now() - sample_start > limit
          end,
        })
        if not completed then
          if limit == nil then
            fail("sequence '%s': the propagation from frame %d stopped before its end", name,
                 frame)
          end
          record.interactions[i] = { interaction = i, frame = frame, propagated = true,
                                     strokes = strokes, seconds = sys.now() - t0,
                                     scored = false, discarded = true }
          record.stopped_by = "max_time"
          break
        end
        for t = 0, T - 1 do
          mivos.check(mivos.C.mv_session_labels(session:handle(), t, submitted + t * plane))
        end
      else
        -- Only the interacted frame changes (section 7): the rest of the
        -- submitted volume is the previous result.
        mivos.check(mivos.C.mv_session_labels(session:handle(), frame, submitted + frame * plane))
      end
      local t1 = sys.now()
      -- ------------------------------

      local it = { interaction = i, frame = frame, propagated = propagate, strokes = strokes,
                   seconds = t1 - t0 }
      if limit and t1 - sample_start > limit then
        it.scored, it.discarded = false, true  -- arrived after the limit
        record.interactions[i] = it
        record.stopped_by = "max_time"
        break
      end
      it.scored = true
      if propagate then
        ffi.copy(pred, submitted, T * plane)
        score_frames(0, T - 1)
      else
        ffi.copy(pred + frame * plane, submitted + frame * plane, plane)
        score_frames(frame, frame)
      end
      it.objects = {}
      local sj, sf = 0, 0
      for k = 1, K do
        local mj, mf = 0, 0
        for t = 0, T - 1 do
          mj = mj + j[t * K + k - 1]
          mf = mf + f[t * K + k - 1]
        end
        mj, mf = mj / T, mf / T
        it.objects[k] = { j = mj, f = mf, jf = (mj + mf) / 2 }
        sj, sf = sj + mj, sf + mf
      end
      it.J, it.F = sj / K, sf / K
      it["J&F"] = (it.J + it.F) / 2
      local fj, ff = 0, 0
      for k = 1, K do fj, ff = fj + j[frame * K + k - 1], ff + f[frame * K + k - 1] end
      it.frame_J, it.frame_F = fj / K, ff / K
      if propagate then
        -- per-frame J and F (means over objects): what a round changed where
        it.frames_J, it.frames_F = {}, {}
        for t = 0, T - 1 do
          local tj, tf = 0, 0
          for k = 1, K do tj, tf = tj + j[t * K + k - 1], tf + f[t * K + k - 1] end
          it.frames_J[t + 1], it.frames_F[t + 1] = tj / K, tf / K
        end
      end
      record.interactions[i] = it
      if o.on_interaction then o.on_interaction(record, it) end

      if i < N then
        -- Next-frame candidates the driver submits for the algorithm
        -- (section 7): the same frame unless this interaction propagated.
        local candidates = propagate and {} or { frame }
        frame = robot.next_frame(j, f, T, K, candidates, used)
        robot.free(scribble)
        scribble = nil
        scribble = robot.interact(gt, pred, T, W, H, K, frame)
      end
    end
  end)
  robot.free(scribble)
  record.wall_seconds = sys.now() - sample_start
  if ok and o.masks_dir then
    local dir = sys.join(o.masks_dir, name)
    assert(sys.mkdir_p(dir))
    for t = 0, T - 1 do
      mivos.check(mivos.C.mv_mask_write_labels(sys.join(dir, mask_names[t + 1]), pred + t * plane,
                                               W, H))
    end
  end
  session:close()
  video:close()
  if not ok then error(err, 0) end

  -- Section 4.4: fill what the time limit cut off.
  summary.fill(record.interactions, N, K)
  for i = 1, N do
    local it = record.interactions[i]
    if it.filled then
      local sj, sf = 0, 0
      for k = 1, K do sj, sf = sj + it.objects[k].j, sf + it.objects[k].f end
      it.J, it.F = sj / K, sf / K
      it["J&F"] = (it.J + it.F) / 2
    end
  end
  return record
end

return protocol
