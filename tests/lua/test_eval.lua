-- The evaluation commands: summary numbers (AUC, J&F@60s, object weighting,
-- filling) on hand-made reports, the robot strokes rasterised as the DAVIS
-- tools do, `mivos score` on hand-made folders (0/255 and palette PNGs,
-- known J and F), `mivos eval` end to end on a short DAVIS sequence at a
-- reduced size (report structure, the MiVOS schedule, J&F rising from
-- interaction 1 to 8, the plot, masks that `mivos score` agrees with), and
-- bad input (one-line messages, non-zero exit codes).
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local ffi = require("ffi")
local mivos = require("mivos")
local sys = require("mivos.sys")
local json = require("mivos.json")
local summary = require("mivos.eval.summary")
local report = require("mivos.eval.report")
local robot = require("mivos.eval.robot")

local MIVOS = t.quote(t.build .. "/mivos")
local DAVIS = t.shared .. "/data/davis2016"
local tmp = t.tempdir()

local function mivos_cmd(args) return t.run(MIVOS .. " " .. args) end

local function lines_of(text)
  local list = {}
  for l in text:gmatch("[^\n]+") do list[#list + 1] = l end
  return list
end

-- The number on the stdout line starting with `label` (then spaces).
local function value_of(text, label)
  for _, l in ipairs(lines_of(text)) do
    local rest = l:sub(#label + 1)
    if l:sub(1, #label) == label and rest:match("^%s") then
      return tonumber(rest:match("^%s+(%S+)"))
    end
  end
  return nil
end

-- ---- summary numbers ---------------------------------------------------------

-- Two sequences: A with one object, B with two. J&F per (sequence, object):
-- A 0.2 0.5 0.8; B obj1 0.4 0.7 1.0, obj2 0.3 0.6 0.9, so the object-weighted
-- means are m = 0.3, 0.6, 0.9 (a per-sequence mean would give 0.275 first).
-- Timings A 20 40 60, B 40 40 40: tau = 30 40 50, t = 30 70 120.
local function handmade_report(max_time)
  local function it(i, jf_list, seconds)
    local objects = json.array({})
    local sj, sf = 0, 0
    for k, v in ipairs(jf_list) do
      -- J and F differ, J&F is their mean
      objects[k] = { J = v + 0.05, F = v - 0.05, ["J&F"] = v }
      sj, sf = sj + v + 0.05, sf + v - 0.05
    end
    local n = #jf_list
    return { interaction = i, frame = 0, J = sj / n, F = sf / n, ["J&F"] = (sj + sf) / (2 * n),
             seconds = seconds, scored = true, objects = objects }
  end
  return {
    format = "mivos-eval/1",
    options = { max_interactions = 3, max_time = max_time, interaction = "x",
                propagation = "y", fusion = "z" },
    sequences = {
      { name = "A", frames = 4, objects = 1, interactions = {
        it(1, { 0.2 }, 20), it(2, { 0.5 }, 40), it(3, { 0.8 }, 60) } },
      { name = "B", frames = 4, objects = 2, interactions = {
        it(1, { 0.4, 0.3 }, 40), it(2, { 0.7, 0.6 }, 40), it(3, { 1.0, 0.9 }, 40) } },
    },
  }
end

t.case("summary: AUC, J&F@60s, object weighting (spec section 6)", function()
  -- t_G = mean objects per sequence (1.5) x max_time (160) = 240 s.
  -- Polyline (0,0) (30,.3) (70,.6) (120,.9) (240,.9): area 4.5 + 18 + 37.5
  -- + 108 = 168, AUC = 168 / 240 = 0.7; at 60 s: .3 + .3 * 30/40 = .525.
  local r = handmade_report(160)
  local res = report.summarize(r)
  t.near(res.t_G, 240, 1e-9, "t_G")
  t.near(res.jf.m[1], 0.3, 1e-9, "m_1 weights objects, not sequences")
  t.near(res.jf.m[3], 0.9, 1e-9, "m_3")
  t.near(res.t[3], 120, 1e-9, "t_3 = cumulative mean timing")
  t.near(res.jf.auc, 0.7, 1e-9, "AUC-J&F")
  t.near(res.jf.at, 0.525, 1e-9, "J&F@60s interpolated")
  t.near(res.jf.final, 0.9, 1e-9, "final J&F")
  t.near(res.j.m[1], 0.35, 1e-9, "J curve")
  t.near(res.mean_seconds, 40, 1e-9, "mean seconds per interaction")
  t.near(r.summary["AUC-J&F"], 0.7, 1e-6, "stored in the report")
  -- Without max_time: t_G = N x largest single timing = 3 x 60 = 180;
  -- area 4.5 + 18 + 37.5 + 54 = 114, AUC = 114 / 180.
  local r2 = handmade_report(0)
  local res2 = report.summarize(r2)
  t.near(res2.t_G, 180, 1e-9, "t_G without max_time")
  t.near(res2.jf.auc, 114 / 180, 1e-9, "AUC without max_time")
end)

t.case("summary: polyline helpers and filling (section 4.4)", function()
  local pts = { { 0, 0 }, { 10, 0.5 }, { 10, 0.7 }, { 30, 0.9 } }
  t.near(summary.interpolate(pts, 5), 0.25, 1e-12, "inside a segment")
  t.near(summary.interpolate(pts, 10), 0.7, 1e-12, "at a repeated time the latest point")
  t.near(summary.interpolate(pts, 60), 0.9, 1e-12, "beyond the end: the last value")
  t.near(summary.polyline_auc(pts), (10 * 0.25 + 20 * 0.8) / 30, 1e-12, "trapezoids / tmax")
  local its = { { scored = true, seconds = 2, objects = { { j = 0.4, f = 0.6, jf = 0.5 } } },
                { scored = false, discarded = true, seconds = 9, frame = 3 } }
  summary.fill(its, 4, 1)
  t.eq(#its, 4, "filled to N")
  t.eq(its[2].seconds, 0, "a discarded submission counts with timing 0")
  t.near(its[4].objects[1].jf, 0.5, 1e-12, "previous values carried")
  local none = summary.fill({}, 2, 1)
  t.eq(none[1].objects[1].jf, 0, "zeros without a previous interaction")
end)

t.case("summary: --from-report prints the lines and plots", function()
  local path = tmp .. "/handmade.json"
  local f = assert(io.open(path, "wb"))
  f:write(json.encode(handmade_report(160)))
  f:close()
  local code, out, err = mivos_cmd("eval --from-report " .. t.quote(path) .. " --out "
                                   .. t.quote(tmp .. "/from-report"))
  t.eq(code, 0, "exit code (" .. err .. ")")
  t.near(value_of(out, "AUC-J&F"), 0.7, 1e-4, "AUC-J&F line")
  t.near(value_of(out, "J&F@60s"), 0.525, 1e-4, "J&F@60s line")
  t.near(value_of(out, "final J&F"), 0.9, 1e-4, "final J&F line")
  t.near(value_of(out, "mean seconds per interaction"), 40, 1e-3, "seconds line")
  local w, h = mivos.mask_size(tmp .. "/from-report/plot.png")
  t.check(w > 600 and h > 300, "plot written")
  local broken = tmp .. "/broken.json"
  f = assert(io.open(broken, "wb"))
  f:write('{"sequences": [{"name": "x", "interactions": [{"J": 1}]}]}')
  f:close()
  code, out, err = mivos_cmd("eval --from-report " .. t.quote(broken) .. " --out "
                             .. t.quote(tmp .. "/from-broken"))
  t.eq(code, 1, "a report without timings fails")
  t.eq(#lines_of(err), 1, "with one line: " .. err)
end)

-- ---- robot strokes -> maps ----------------------------------------------------

t.case("robot strokes rasterised as the DAVIS tools do, then dilated 3x3", function()
  local W, H = 9, 7
  local sc = ffi.new("mv_robot_scribble")
  local strokes = ffi.new("mv_robot_stroke[2]")
  -- object stroke from (0, 0) to (1, 1): pixels int(x * 8), int(y * 6)
  local p1 = ffi.new("double[4]", { 0, 0, 1, 1 })
  -- background stroke of one point at x = 0.5, y = 0.5 -> (4, 3)
  local p2 = ffi.new("double[2]", { 0.5, 0.5 })
  strokes[0].object_id, strokes[0].point_count, strokes[0].points = 1, 2, p1
  strokes[1].object_id, strokes[1].point_count, strokes[1].points = 0, 1, p2
  sc.stroke_count, sc.strokes, sc.width, sc.height = 2, strokes, W, H
  local labels = robot.rasterize(sc, W, H)
  local set = 0
  for i = 0, W * H - 1 do if labels[i] ~= -1 then set = set + 1 end end
  t.eq(set, 9, "a Bresenham line of 9 pixels (8 steps along x)")
  t.eq(labels[0], 1, "start pixel")
  t.eq(labels[6 * W + 8], 1, "end pixel (8, 6)")
  t.eq(labels[3 * W + 4], 0, "the later background stroke overwrites (4, 3)")
  local pos, neg = ffi.new("uint8_t[?]", W * H), ffi.new("uint8_t[?]", W * H)
  local hp, hn = robot.maps(labels, W, H, 1, pos, neg)
  t.check(hp and hn, "both maps set")
  t.eq(neg[2 * W + 3], 1, "negative dilated around (4, 3)")
  t.eq(neg[1 * W + 4], 0, "not beyond 3x3")
  t.eq(pos[1 * W + 0], 1, "positive dilated")
  t.eq(pos[3 * W + 4], 1, "positive dilation covers (4, 3) too (classes dilated separately)")
end)

-- ---- mivos score ----------------------------------------------------------------

local W, H = 854, 480
local function rect_labels(list)
  local img = mivos.image(W, H)
  for _, r in ipairs(list) do
    for y = r[2], r[4] do
      for x = r[1], r[3] do img.data[y * W + x] = r[5] or 1 end
    end
  end
  return img
end

t.case("score: known J and F, 0/255 and palette PNGs, objects averaged", function()
  local pred, gt = tmp .. "/score/pred", tmp .. "/score/gt"
  for _, d in ipairs({ pred .. "/rect", gt .. "/rect", pred .. "/multi", gt .. "/multi" }) do
    assert(sys.mkdir_p(d))
  end
  -- rect (0/255 ground truth, palette prediction): frame 0 moved 10 columns
  -- right (J 0.904762, F 0.69, spec 2.4), frame 1 identical.
  local g = rect_labels({ { 200, 100, 399, 199 } })
  mivos.write_binary(gt .. "/rect/00000.png", g)
  mivos.write_binary(gt .. "/rect/00001.png", g)
  mivos.write_labels(pred .. "/rect/00000.png", rect_labels({ { 210, 100, 409, 199 } }))
  mivos.write_labels(pred .. "/rect/00001.png", g)
  -- multi (palette, two objects): object 1 exact, object 2 missed.
  mivos.write_labels(gt .. "/multi/00000.png",
                     rect_labels({ { 200, 100, 399, 199, 1 }, { 500, 300, 599, 399, 2 } }))
  mivos.write_labels(pred .. "/multi/00000.png", rect_labels({ { 200, 100, 399, 199, 1 } }))
  local code, out, err = mivos_cmd("score " .. t.quote(pred) .. " " .. t.quote(gt) .. " --json "
                                   .. t.quote(tmp .. "/score.json"))
  t.eq(code, 0, "exit code (" .. err .. ")")
  local rect_j, rect_f = (0.904762 + 1) / 2, (0.69 + 1) / 2
  local J, F = (rect_j + 1 + 0) / 3, (rect_f + 1 + 0) / 3
  t.near(value_of(out, "J"), J, 1e-4, "J line")
  t.near(value_of(out, "F"), F, 1e-4, "F line")
  t.near(value_of(out, "J&F"), (J + F) / 2, 1e-4, "J&F line")
  local doc = json.read_file(tmp .. "/score.json")
  t.eq(doc.sequences[1].name, "multi", "sequences in name order")
  t.eq(#doc.sequences[1].objects, 2, "two objects")
  t.near(doc.sequences[1].objects[2].J, 0, 1e-12, "missed object J")
  t.near(doc.sequences[2].J, rect_j, 1e-5, "rect J")
  t.near(doc.sequences[2].F, rect_f, 1e-5, "rect F")
  t.near(doc["J&F"], (J + F) / 2, 1e-5, "dataset J&F")
  -- one sequence folder against another
  code, out = mivos_cmd("score " .. t.quote(pred .. "/rect") .. " " .. t.quote(gt .. "/rect"))
  t.eq(code, 0, "single sequence folders")
  t.near(value_of(out, "J&F"), (rect_j + rect_f) / 2, 1e-4, "single sequence J&F")
  -- semi-supervised needs 3 frames
  code, out, err = mivos_cmd("score --semi-supervised " .. t.quote(pred) .. " " .. t.quote(gt))
  t.eq(code, 1, "semi-supervised on 2-frame sequences fails")
  t.eq(#lines_of(err), 1, "one line: " .. err)
end)

t.case("score: bad input exits non-zero with one line", function()
  local pred, gt = tmp .. "/score/pred", tmp .. "/score/gt"
  local code, out, err = mivos_cmd("score " .. t.quote(tmp .. "/nope") .. " " .. t.quote(gt))
  t.eq(code, 1, "missing PRED_DIR")
  t.eq(#lines_of(err), 1, "one line: " .. err)
  local lone = tmp .. "/score/lone"
  assert(sys.mkdir_p(lone .. "/rect"))
  mivos.write_binary(lone .. "/rect/00000.png", rect_labels({}))
  code, out, err = mivos_cmd("score " .. t.quote(lone) .. " " .. t.quote(gt))
  t.eq(code, 1, "a ground-truth frame without prediction")
  t.check(err:find("00001.png", 1, true) ~= nil, "names the missing frame: " .. err)
  t.eq(#lines_of(err), 1, "one line")
  local extra = tmp .. "/score/extra"
  assert(sys.mkdir_p(extra .. "/multi"))
  mivos.write_labels(extra .. "/multi/00000.png", rect_labels({ { 0, 0, 9, 9, 3 } }))
  code, out, err = mivos_cmd("score --quiet " .. t.quote(extra) .. " " .. t.quote(gt))
  t.eq(code, 1, "an object id the ground truth lacks")
  t.check(err:find("object id 3", 1, true) ~= nil, "says which id: " .. err)
  code, out, err = mivos_cmd("score " .. t.quote(pred) .. " " .. t.quote(gt) .. " --sequences nope")
  t.eq(code, 1, "unknown sequence")
  t.eq(#lines_of(err), 1, "one line: " .. err)
  code = mivos_cmd("score " .. t.quote(pred))
  t.eq(code, 2, "missing GT_DIR is a usage error")
end)

-- ---- mivos eval end to end ------------------------------------------------------

-- A DAVIS root with the first FRAMES frames of scooter-black at a
-- 120-pixel short side (214 x 120): PNG frames, 0/255 masks.
local SEQ, FRAMES, SHORT = "scooter-black", 12, 120
local root = tmp .. "/root"

local function make_root()
  local video = mivos.open_video(DAVIS .. "/JPEGImages/480p/" .. SEQ, { short_side = SHORT })
  local fd = root .. "/JPEGImages/480p/" .. SEQ
  local md = root .. "/Annotations/480p/" .. SEQ
  assert(sys.mkdir_p(fd) and sys.mkdir_p(md))
  for i = 0, FRAMES - 1 do
    local name = string.format("%05d", i)
    mivos.write_png(fd .. "/" .. name .. ".png", video:frame(i))
    local labels = mivos.read_labels(DAVIS .. "/Annotations/480p/" .. SEQ .. "/" .. name .. ".png",
                                     video.width, video.height)
    mivos.write_binary(md .. "/" .. name .. ".png", labels)
  end
  local w, h = video.width, video.height
  video:close()
  return w, h
end

t.case("eval: end to end on a short sequence at reduced size", function()
  local w, h = make_root()
  local out_dir = tmp .. "/eval"
  local code, out, err = mivos_cmd("eval " .. t.quote(root) .. " --out " .. t.quote(out_dir)
                                   .. " --save-masks")
  t.eq(code, 0, "exit code (" .. err:sub(-400) .. ")")
  for _, label in ipairs({ "AUC-J&F", "J&F@60s", "final J&F", "mean seconds per interaction" }) do
    local v = value_of(out, label)
    t.check(v ~= nil, "stdout has the line " .. label)
  end
  local r = json.read_file(out_dir .. "/report.json")
  t.eq(r.format, "mivos-eval/1", "format")
  t.eq(r.protocol, "D16-robot", "the default run is the D16-robot protocol")
  t.eq(r.options.interaction, "strokecut", "weight-free default interaction")
  t.eq(r.options.propagation, "labelprop-flow+shift+refine", "weight-free default propagation")
  t.eq(r.options.fusion, "conservative+agreement", "weight-free default fusion")
  t.eq(#r.sequences, 1, "one sequence")
  local s = r.sequences[1]
  t.eq(s.name, SEQ, "name")
  t.eq(s.frames, FRAMES, "frames")
  t.eq(s.width, w, "width")
  t.eq(s.height, h, "height")
  t.eq(#s.interactions, 8, "8 interactions")
  for i, it in ipairs(s.interactions) do
    t.eq(it.interaction, i, "interaction number")
    for _, key in ipairs({ "J", "F", "J&F", "seconds" }) do
      t.check(type(it[key]) == "number", key .. " of interaction " .. i)
    end
    t.check(it.J >= 0 and it.J <= 1 and it.F >= 0 and it.F <= 1, "J, F in [0, 1]")
    t.near(it["J&F"], (it.J + it.F) / 2, 2e-6, "J&F = (J + F) / 2")
    t.check(it.seconds > 0, "timed")
    t.check(it.scored, "scored")
    t.eq(it.propagated, i == 3 or i == 6 or i == 8, "propagation at 3, 6, 8 only (" .. i .. ")")
    t.check(it.frame >= 0 and it.frame < FRAMES, "frame in range")
  end
  local fr = {}
  for i, it in ipairs(s.interactions) do fr[i] = it.frame end
  t.check(fr[1] == 0 and fr[2] == 0 and fr[3] == 0, "interactions 1-3 on frame 0")
  t.check(fr[4] == fr[5] and fr[5] == fr[6] and fr[4] ~= 0, "4-6 on a new frame B")
  t.check(fr[7] == fr[8] and fr[7] ~= fr[4] and fr[7] ~= 0, "7-8 on a new frame C")
  t.check(s.interactions[8]["J&F"] > s.interactions[1]["J&F"] + 0.2,
          string.format("J&F improves from interaction 1 (%.3f) to 8 (%.3f)",
                        s.interactions[1]["J&F"], s.interactions[8]["J&F"]))
  t.check(s.interactions[3]["J&F"] > s.interactions[2]["J&F"], "propagation helps")
  local sm = r.summary
  t.near(sm["final J&F"], s.interactions[8]["J&F"], 1e-6, "final J&F of one sequence")
  t.check(sm["AUC-J&F"] > 0 and sm["AUC-J&F"] <= sm["final J&F"], "AUC below the final value")
  t.eq(sm.t_G, 240, "t_G = 240 s")
  t.near(value_of(out, "final J&F"), sm["final J&F"], 1e-4, "stdout matches the report")
  local pw, ph = mivos.mask_size(out_dir .. "/plot.png")
  t.check(pw > 600 and ph > 300, "plot.png written")
  t.check(sys.exists(out_dir .. "/scribbles/" .. SEQ .. "/01.json"), "robot scribbles saved")
  local first = json.read_file(out_dir .. "/scribbles/" .. SEQ .. "/01.json")
  t.eq(#first.scribbles, FRAMES, "scribble JSON has one list per frame")
  t.check(#first.scribbles[1] >= 1 and first.scribbles[1][1].object_id == 1,
          "the first scribble: object strokes on frame 0")
  -- the saved masks score like the report says
  code, out = mivos_cmd("score " .. t.quote(out_dir .. "/masks") .. " " .. t.quote(root))
  t.eq(code, 0, "score the saved masks")
  t.near(value_of(out, "J&F"), sm["final J&F"], 1e-4, "mivos score agrees with the report")
end)

t.case("eval: the time limit fills the rest (section 4.4); the free schedule", function()
  local out_dir = tmp .. "/eval-limit"
  local code, out, err = mivos_cmd("eval " .. t.quote(root) .. " -q --max-time 0.01 --out "
                                   .. t.quote(out_dir))
  t.eq(code, 0, "exit code (" .. err .. ")")
  local r = json.read_file(out_dir .. "/report.json")
  local s = r.sequences[1]
  t.eq(s.stopped_by, "max_time", "stopped by the limit")
  t.eq(#s.interactions, 8, "still 8 interactions in the report")
  t.eq(s.interactions[8].scored, false, "the last one not scored")
  t.eq(r.protocol, "custom", "not the D16-robot protocol")
  for i, it in ipairs(s.interactions) do
    if not it.scored then
      t.eq(it.seconds, 0, "filled timing 0 (" .. i .. ")")
      local prev = s.interactions[i - 1]
      t.near(it["J&F"], prev and prev["J&F"] or 0, 1e-9, "filled with the previous values")
    end
  end
  t.check(out:find("*", 1, true) ~= nil, "the table marks unscored interactions")

  out_dir = tmp .. "/eval-free"
  code, out, err = mivos_cmd("eval " .. t.quote(root) .. " -q --schedule free --max-time 0 "
                             .. "--max-interactions 3 --out " .. t.quote(out_dir))
  t.eq(code, 0, "free schedule exit code (" .. err .. ")")
  r = json.read_file(out_dir .. "/report.json")
  s = r.sequences[1]
  t.eq(#s.interactions, 3, "--max-interactions 3")
  for i, it in ipairs(s.interactions) do
    t.eq(it.propagated, true, "free schedule propagates every interaction (" .. i .. ")")
  end
  t.check(s.interactions[3].frame ~= s.interactions[2].frame,
          "the robot never draws twice on a frame it chose (U of section 4.3)")
  -- --max-time 0: no limit; t_G = N x the largest single timing
  local largest = 0
  for _, it in ipairs(s.interactions) do largest = math.max(largest, it.seconds) end
  t.eq(r.options.max_time, 0, "no limit recorded")
  t.near(r.summary.t_G, 3 * largest, 1e-5, "t_G without a limit")
  local protocol = require("mivos.eval.protocol")
  local twice = protocol.clamp_options(protocol.clamp_options({ max_time = 0 }))
  t.eq(twice.max_time, 0, "clamping twice keeps 'no limit'")
  t.eq(protocol.clamp_options({}).max_time, 240, "default 240 s")
  t.eq(protocol.clamp_options({ max_time = 900 }).max_time, 600, "clamped to 600 s")
end)

t.case("eval: bad input exits non-zero with one line", function()
  local code, out, err = mivos_cmd("eval " .. t.quote(tmp .. "/missing") .. " --out "
                                   .. t.quote(tmp .. "/o1"))
  t.eq(code, 1, "missing root")
  t.eq(#lines_of(err), 1, "one line: " .. err)
  t.check(err:find("^mivos eval: ") ~= nil, "prefixed")
  code, out, err = mivos_cmd("eval " .. t.quote(root) .. " --sequences nope --out "
                             .. t.quote(tmp .. "/o2"))
  t.eq(code, 1, "unknown sequence")
  t.eq(#lines_of(err), 1, "one line: " .. err)
  t.check(err:find("nope", 1, true) ~= nil, "names it")
  local half = tmp .. "/half"
  assert(sys.mkdir_p(half .. "/JPEGImages/480p/x"))
  code, out, err = mivos_cmd("eval " .. t.quote(half) .. " --out " .. t.quote(tmp .. "/o3"))
  t.eq(code, 1, "no Annotations folder")
  t.eq(#lines_of(err), 1, "one line: " .. err)
  code, out, err = mivos_cmd("eval " .. t.quote(root) .. " --max-interactions 20")
  t.eq(code, 2, "out-of-range option is a usage error")
  code, out, err = mivos_cmd("eval " .. t.quote(root) .. " --interaction nope --out "
                             .. t.quote(tmp .. "/o4"))
  t.eq(code, 2, "unknown backend is a usage error")
end)

t.finish()
