-- mivos.eval.diagnosis: where the accuracy of the interactive loop is lost
-- (issue #12), per sequence of a DAVIS root, in three measurements:
--   interaction  J of the interacted frame's mask after every interaction of
--                the normal loop (frame A: 1-3, B: 4-6, C: 7-8), i.e. what
--                the interaction module makes of the robot's strokes;
--   propagation  the ground truth of frame 0 propagated through the whole
--                sequence (one propagation, no fusion): mean J over all
--                frames and over frames 1-29 (short range);
--   loop         final J&F of the oracle loop (the interaction module's
--                output replaced by the ground truth of the interacted
--                frame) and of the normal loop, both under the protocol of
--                mivos.eval.protocol. The oracle minus the normal loop is
--                what the interaction module costs; 1 minus the oracle what
--                propagation and fusion cost.
--
--   diagnosis.gt_propagation(seq, options) -> { frames, J, J_short, short_frames }
--   diagnosis.run_sequence(seq, options) -> row (see below)
--   diagnosis.PARTS = { "normal", "oracle", "gtprop" }
--   diagnosis.table(rows) -> text   (per sequence + mean)
--   diagnosis.mean(rows) -> the mean row
--
-- options: the session and protocol options of mivos.eval.protocol
-- (interaction, propagation, fusion, weights, device, scribbles,
-- max_time, ...) and parts (a set of PARTS; nil = all).
-- row: { name, frames, frames_ABC = {A, B, C},
--        interaction_J = {J after interaction 1..8 on its frame},
--        gtprop_J, gtprop_J_short, oracle_JF, oracle_J, normal_JF, normal_J,
--        seconds = { normal, oracle, gtprop } } (absent parts are nil)
local ffi = require("ffi")
local mivos = require("mivos")
local sys = require("mivos.sys")
local protocol = require("mivos.eval.protocol")
local dataset = require("mivos.eval.dataset")

local diagnosis = {}

diagnosis.PARTS = { "normal", "oracle", "gtprop" }
diagnosis.SHORT_RANGE = 29  -- frames 1..29: about the first second at 24-30 fps

-- Ground truth of frame 0 propagated through the sequence; J per frame
-- (mean over objects) averaged over frames 1..T-1 and over 1..SHORT_RANGE.
function diagnosis.gt_propagation(seq, options)
  local mask_names, frames_dir, masks_dir = protocol.check_sequence(seq)
  local W, H = mivos.mask_size(sys.join(masks_dir, mask_names[1]))
  local T, plane = #mask_names, W * H
  local gt, K = dataset.read_volume(masks_dir, mask_names, W, H)
  if K == 0 then error(string.format("sequence '%s': the ground truth has no object", seq.name), 0) end
  local video = mivos.open_video(frames_dir, { short_side = 0 })
  local session = mivos.session(video, {
    objects = K, interaction = options.interaction, propagation = options.propagation,
    fusion = options.fusion, weights = options.weights, device = options.device,
  })
  local result
  local ok, err = pcall(function()
    local first = ffi.new("uint8_t[?]", plane)
    for p = 0, plane - 1 do first[p] = gt[p] == 255 and 0 or gt[p] end
    session:set_labels(0, first)
    session:propagate(0, options.on_progress and {
      on_progress = function(done, total) options.on_progress(done, total) end,
    } or nil)
    local labels = ffi.new("uint8_t[?]", plane)
    local j, f = ffi.new("double[?]", K), ffi.new("double[?]", K)
    local sum, short_sum, short_n = 0, 0, 0
    for t = 1, T - 1 do
      mivos.check(mivos.C.mv_session_labels(session:handle(), t, labels))
      mivos.check(mivos.C.mv_evaluate_frame(labels, gt + t * plane, W, H, K, j, f))
      local jt = 0
      for k = 0, K - 1 do jt = jt + j[k] end
      jt = jt / K
      sum = sum + jt
      if t <= diagnosis.SHORT_RANGE then short_sum, short_n = short_sum + jt, short_n + 1 end
    end
    result = { frames = T, J = T > 1 and sum / (T - 1) or 1, J_short = short_n > 0 and short_sum / short_n or 1,
               short_frames = short_n }
  end)
  session:close()
  video:close()
  if not ok then error(err, 0) end
  return result
end

local function final(record)
  local last = record.interactions[#record.interactions]
  return last["J&F"], last.J
end

function diagnosis.run_sequence(seq, options)
  local parts = options.parts or { normal = true, oracle = true, gtprop = true }
  local row = { name = seq.name, seconds = {} }
  local function protocol_options(oracle)
    local o = {}
    for k, v in pairs(options) do o[k] = v end
    o.parts, o.oracle = nil, oracle
    return o
  end
  if parts.normal then
    local t0 = sys.now()
    local rec = protocol.run_sequence(seq, protocol_options(false))
    row.seconds.normal = sys.now() - t0
    row.frames = rec.frames
    row.interaction_J, row.frames_ABC = {}, {}
    for i, it in ipairs(rec.interactions) do
      row.interaction_J[i] = it.frame_J   -- nil when the time limit filled it
      if i == 1 or i == 4 or i == 7 then row.frames_ABC[#row.frames_ABC + 1] = it.frame end
    end
    row.normal_JF, row.normal_J = final(rec)
  end
  if parts.oracle then
    local t0 = sys.now()
    local rec = protocol.run_sequence(seq, protocol_options(true))
    row.seconds.oracle = sys.now() - t0
    row.frames = rec.frames
    row.oracle_interaction_J = {}
    for i, it in ipairs(rec.interactions) do row.oracle_interaction_J[i] = it.frame_J end
    row.oracle_JF, row.oracle_J = final(rec)
  end
  if parts.gtprop then
    local t0 = sys.now()
    local g = diagnosis.gt_propagation(seq, options)
    row.seconds.gtprop = sys.now() - t0
    row.gtprop_J, row.gtprop_J_short = g.J, g.J_short
    row.frames = row.frames or g.frames
  end
  return row
end

-- The interacted frame's J after the last interaction of each frame's group
-- (3, 6, 8) and the groups' values joined ("a/b/c").
local GROUPS = { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8 } }

local function mean_of(rows, get)
  local sum, n = 0, 0
  for _, r in ipairs(rows) do
    local v = get(r)
    if v then sum, n = sum + v, n + 1 end
  end
  return n > 0 and sum / n or nil
end

-- The mean row: every value averaged over the sequences that have it
-- (one object per sequence on DAVIS 2016, so sequences = objects).
function diagnosis.mean(rows)
  local m = { name = "mean", interaction_J = {} }
  for i = 1, 8 do
    m.interaction_J[i] = mean_of(rows, function(r) return r.interaction_J and r.interaction_J[i] end)
  end
  for _, key in ipairs({ "gtprop_J", "gtprop_J_short", "oracle_JF", "oracle_J", "normal_JF",
                         "normal_J" }) do
    m[key] = mean_of(rows, function(r) return r[key] end)
  end
  return m
end

local function num(v) return v and string.format("%.3f", v) or "  -  " end

local function group_text(values, group)
  if not values then return "-" end
  local parts = {}
  for _, i in ipairs(group) do
    local v = values[i]
    parts[#parts + 1] = v and string.format("%.3f", v):gsub("^0", "") or "-"
  end
  return table.concat(parts, " ")
end

function diagnosis.table(rows)
  local lines = {}
  local header = string.format("%-20s %6s  %-14s %-14s %-9s  %8s %8s  %9s %9s", "sequence",
                               "frames", "A J (1 2 3)", "B J (4 5 6)", "C J (7 8)", "GTprop J",
                               "J 1-29", "oracle JF", "normal JF")
  lines[1] = header
  lines[2] = string.rep("-", #header)
  local all = {}
  for _, r in ipairs(rows) do all[#all + 1] = r end
  all[#all + 1] = diagnosis.mean(rows)
  for i, r in ipairs(all) do
    if i == #all then lines[#lines + 1] = string.rep("-", #header) end
    lines[#lines + 1] = string.format("%-20s %6s  %-14s %-14s %-9s  %8s %8s  %9s %9s", r.name,
                                      r.frames and tostring(r.frames) or "",
                                      group_text(r.interaction_J, GROUPS[1]),
                                      group_text(r.interaction_J, GROUPS[2]),
                                      group_text(r.interaction_J, GROUPS[3]), num(r.gtprop_J),
                                      num(r.gtprop_J_short), num(r.oracle_JF), num(r.normal_JF))
  end
  return table.concat(lines, "\n")
end

return diagnosis
