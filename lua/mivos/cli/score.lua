-- mivos score: J, F and J&F of a folder of predicted masks against ground
-- truth in the same layout (spec/EVALUATION.md sections 1-3).
local common = require("mivos.cli.common")
local sys = require("mivos.sys")

local M = {}

M.summary = "J, F and J&F of predicted masks against ground truth (DAVIS layout)"

M.usage = [[
usage: mivos score PRED_DIR GT_DIR [options]

Scores predicted masks against ground truth. Both folders hold one folder
per sequence with one PNG per frame (PRED_DIR/<seq>/00000.png pairs with
GT_DIR/<seq>/00000.png); GT_DIR may also be a DAVIS root (then its
Annotations/480p is used). When both folders hold PNGs directly, they are
scored as one sequence. Masks may be 0/255 grayscale (object 1), palette
PNGs with object ids (DAVIS 2017, 255 = void in the ground truth), or
grayscale ids. Every sequence of PRED_DIR is scored (or those of
--sequences); every ground-truth frame needs a prediction of the same name
and size.

J is the region similarity (IoU), F the boundary F-measure (tolerance
ceil(0.008 x image diagonal), 8 px at 854x480), per object and frame; a
sequence's object scores are the means over its frames (all frames by
default); the dataset's J and F are means over all objects of all
sequences, and J&F = (J + F) / 2. Values are fractions in [0, 1].

  --sequences a,b,c   only these sequences
  --semi-supervised   score frames 1..T-2 only (DAVIS semi-supervised
                      evaluation; default: all frames, the interactive rule)
  --json FILE         also write the scores as JSON (per sequence and object:
                      J/F mean, recall, decay; the dataset's J, F, J&F)
  --quiet             no progress lines on stderr
  -h, --help          this text

Prints a table (sequence, frames, objects, J, F, J&F) and the lines
"J", "F" and "J&F" with the dataset values.

exit codes: 0 success; 1 failure (missing folder, sequence or frame,
            unreadable PNG, size mismatch, a predicted id the ground truth
            does not have); 2 usage error
]]

local spec = {
  name = "score", usage = M.usage, positionals = { "PRED_DIR", "GT_DIR" },
  options = {
    ["--sequences"] = { arg = "LIST" },
    ["--semi-supervised"] = {},
    ["--json"] = { arg = "FILE" },
    ["--quiet"] = {},
    ["-q"] = { alias = "--quiet" },
  },
}

local function has_pngs(dir)
  local names = sys.list_dir(dir, "%.[pP][nN][gG]$")
  return names ~= nil and #names > 0
end

-- Scores one sequence: returns { name, frames, objects, j, f, jf, per_object }.
-- Checks a sequence before any scoring (so that a bad one fails at once):
-- returns the ground truth's PNG names.
local function check_sequence(dataset, name, pred_dir, gt_dir, frames_rule)
  local ok, gt_names = pcall(dataset.masks, gt_dir)
  if not ok then common.fail("%s", common.message(gt_names)) end
  if #gt_names == 0 then common.fail("sequence '%s': no PNG masks in '%s'", name, gt_dir) end
  for _, n in ipairs(gt_names) do
    if not sys.exists(sys.join(pred_dir, n)) then
      common.fail("sequence '%s': no prediction '%s' for the ground truth '%s'", name,
                  sys.join(pred_dir, n), sys.join(gt_dir, n))
    end
  end
  if frames_rule == "semi-supervised" and #gt_names < 3 then
    common.fail("sequence '%s': --semi-supervised needs at least 3 frames, it has %d", name,
                #gt_names)
  end
  return gt_names
end

local function score_sequence(mivos, dataset, name, pred_dir, gt_dir, frames_rule, gt_names)
  local W, H = mivos.mask_size(sys.join(gt_dir, gt_names[1]))
  local T = #gt_names
  local ok, gt, K = pcall(dataset.read_volume, gt_dir, gt_names, W, H)
  if not ok then common.fail("%s", common.message(gt)) end
  if K == 0 then K = 1 end  -- an empty ground truth still scores object 1
  local pred, PK
  ok, pred, PK = pcall(dataset.read_volume, pred_dir, gt_names, W, H)
  if not ok then common.fail("%s", common.message(pred)) end
  local plane = W * H
  if PK > K then
    for t = 0, T - 1 do
      local base = pred + t * plane
      for p = 0, plane - 1 do
        if base[p] > K and base[p] ~= 255 then
          common.fail("'%s' has object id %d at pixel (%d, %d) but the ground truth of '%s' "
                      .. "has %d object%s", sys.join(pred_dir, gt_names[t + 1]), base[p],
                      p % W, math.floor(p / W), name, K, K == 1 and "" or "s")
        end
      end
    end
  end
  -- 255 in a prediction is not an object: count it as background
  for i = 0, T * plane - 1 do
    if pred[i] == 255 then pred[i] = 0 end
  end
  local s = mivos.evaluate_sequence(pred, gt, T, W, H, K, frames_rule)
  return { name = name, frames = T, width = W, height = H, objects = K, per_object = s.objects,
           j = s.j, f = s.f, jf = s.jf }
end

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local pred_root, gt_root = positionals[1], positionals[2]
  local dataset = require("mivos.eval.dataset")
  local json = require("mivos.json")
  for _, d in ipairs({ { pred_root, "PRED_DIR" }, { gt_root, "GT_DIR" } }) do
    if not sys.is_dir(d[1]) then common.fail("%s '%s' is not a folder", d[2], d[1]) end
  end
  if sys.is_dir(sys.join(gt_root, "Annotations", "480p")) then
    gt_root = sys.join(gt_root, "Annotations", "480p")
  end
  local mivos = common.mivos()
  local rule = options.semi_supervised and "semi-supervised" or "all"

  local jobs = {}
  if has_pngs(pred_root) and has_pngs(gt_root) and not options.sequences then
    local name = sys.basename(pred_root:gsub("/+$", ""))
    jobs[1] = { name = name ~= "" and name or "sequence", pred = pred_root, gt = gt_root }
  else
    local wanted = options.sequences and dataset.split_list(options.sequences) or nil
    local ok, names = pcall(dataset.sequences, pred_root, wanted)
    if not ok then common.fail("%s", common.message(names)) end
    for _, n in ipairs(names) do
      local gt_dir = sys.join(gt_root, n)
      if not sys.is_dir(gt_dir) then
        common.fail("sequence '%s': no ground truth folder '%s'", n, gt_dir)
      end
      jobs[#jobs + 1] = { name = n, pred = sys.join(pred_root, n), gt = gt_dir }
    end
  end

  for _, job in ipairs(jobs) do
    job.names = check_sequence(dataset, job.name, job.pred, job.gt, rule)
  end
  local results = {}
  local sum_j, sum_f, objects = 0, 0, 0
  for i, job in ipairs(jobs) do
    if not options.quiet then common.note("[%d/%d] %s", i, #jobs, job.name) end
    local r = score_sequence(mivos, dataset, job.name, job.pred, job.gt, rule, job.names)
    results[i] = r
    for _, o in ipairs(r.per_object) do
      sum_j, sum_f, objects = sum_j + o.j, sum_f + o.f, objects + 1
    end
  end
  local J, F = sum_j / objects, sum_f / objects
  local JF = (J + F) / 2

  local namew = 8
  for _, r in ipairs(results) do namew = math.max(namew, #r.name) end
  common.say("%-" .. namew .. "s %6s %7s %7s %7s %7s", "sequence", "frames", "objects", "J", "F",
             "J&F")
  for _, r in ipairs(results) do
    common.say("%-" .. namew .. "s %6d %7d %7.4f %7.4f %7.4f", r.name, r.frames, r.objects, r.j,
               r.f, r.jf)
  end
  common.say("")
  common.say("J     %.4f", J)
  common.say("F     %.4f", F)
  common.say("J&F   %.4f", JF)
  common.say("(%d object%s in %d sequence%s, %s frames scored; objects averaged)", objects,
             objects == 1 and "" or "s", #results, #results == 1 and "" or "s",
             rule == "all" and "all" or "1..T-2 (semi-supervised)")

  if options.json then
    local doc = { format = "mivos-score/1", pred = positionals[1], gt = positionals[2],
                  frames = rule, J = J, F = F, ["J&F"] = JF, sequences = json.array({}) }
    for i, r in ipairs(results) do
      local objs = json.array({})
      for k, o in ipairs(r.per_object) do
        objs[k] = { J = o.j, F = o.f, ["J&F"] = o.jf, J_recall = o.j_recall,
                    F_recall = o.f_recall, J_decay = o.j_decay, F_decay = o.f_decay }
      end
      doc.sequences[i] = { name = r.name, frames = r.frames, objects = objs, J = r.j, F = r.f,
                           ["J&F"] = r.jf }
    end
    local f, err = io.open(options.json, "wb")
    if not f then common.fail("--json %s: %s", options.json, err) end
    f:write(json.encode(doc, { indent = "  " }), "\n")
    f:close()
  end
  return 0
end

return M
