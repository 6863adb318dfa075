-- The interactive loop's accuracy on one DAVIS sequence (issue #12 item 6):
-- `mivos eval` on libby (49 frames) at a 240-pixel short side with the
-- default fusion and with `linear`. libby is a sequence on which a
-- correction round can damage the frames in between (with `linear` below;
-- at 480p today's `linear` no longer does: 0.841 / 0.868 / 0.867). Measured here (J&F after
-- interactions 3 / 6 / 8) with the default labelprop-flow+shift+refine:
-- conservative+agreement (the default) 0.7761 / 0.7264 / 0.7211,
-- conservative 0.7761 / 0.7438 / 0.7482, linear 0.7761 / 0.5932 / 0.5152
-- (linear loses 0.183 in the round after 3 and would fail the first
-- assert). libby at 240 px is where the agreement costs most (dog and
-- scooter-black lose 0.002-0.003, the others gain):
-- the robot's frame B (47) stays poor after its corrections and the pass
-- from it breaks over frames 31-46; on all 10 sequences at 240 px it gains
-- (final J&F 0.760 against 0.754), at 480p 0.802 against 0.796, and at 480p
-- libby keeps 0.841 / 0.865 / 0.866 (README, Weight-free accuracy).
-- Earlier: with the translations on L alone 0.7273 / 0.7041 / 0.7368 and
-- 0.7273 / 0.5333 / 0.6603; with labelprop-flow+refine (window 8, the start frame's colour
-- models): conservative 0.7226 / 0.6987 / 0.7181, linear 0.7226 / 0.5262 /
-- 0.6771; before the refinement (labelprop-flow, previous_bonus 1):
-- conservative 0.7536 / 0.7252 / 0.7297, linear 0.7536 / 0.6878 / 0.6921.
-- The asserts keep a margin under these.
package.path = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/?.lua;" .. package.path
local t = require("testlib")
local mivos = require("mivos")
local sys = require("mivos.sys")
local json = require("mivos.json")

local MIVOS = t.quote(t.build .. "/mivos")
local DAVIS = t.shared .. "/data/davis2016"
local SEQ, SHORT = "libby", 240
-- the most J&F a correction round may lose (measured 0.050 after 6, 0.005
-- after 8), the final J&F (measured 0.7211), the gain over linear (+0.206)
local LOSS6, LOSS8, FINAL, OVER_LINEAR = 0.06, 0.01, 0.70, 0.015
local tmp = t.tempdir()
local root = tmp .. "/root"

local function make_root()
  local video = mivos.open_video(DAVIS .. "/JPEGImages/480p/" .. SEQ, { short_side = SHORT })
  local fd = root .. "/JPEGImages/480p/" .. SEQ
  local md = root .. "/Annotations/480p/" .. SEQ
  assert(sys.mkdir_p(fd) and sys.mkdir_p(md))
  for i = 0, video.frame_count - 1 do
    local name = string.format("%05d", i)
    mivos.write_png(fd .. "/" .. name .. ".png", video:frame(i))
    local labels = mivos.read_labels(DAVIS .. "/Annotations/480p/" .. SEQ .. "/" .. name .. ".png",
                                     video.width, video.height)
    mivos.write_binary(md .. "/" .. name .. ".png", labels)
  end
  video:close()
end

-- J&F after interactions 3, 6 and 8 (the three propagations).
local function run(fusion)
  local out_dir = tmp .. "/eval-" .. (fusion or "default")
  local code, _, err = t.run(MIVOS .. " eval " .. t.quote(root) .. " -q --max-time 0 --out "
                             .. t.quote(out_dir) .. (fusion and (" --fusion " .. fusion) or ""))
  t.eq(code, 0, "eval exit code (" .. err:sub(-400) .. ")")
  local r = json.read_file(out_dir .. "/report.json")
  local it = r.sequences[1].interactions
  print(string.format("%-8s fusion %-12s J&F after 3 / 6 / 8: %.4f / %.4f / %.4f",
                      SEQ, r.options.fusion, it[3]["J&F"], it[6]["J&F"], it[8]["J&F"]))
  return it[3]["J&F"], it[6]["J&F"], it[8]["J&F"], r.options.fusion
end

t.case("loop on libby: corrections do not damage the frames they should not", function()
  make_root()
  local a3, a6, a8, name = run(nil)
  local l3, l6, l8 = run("linear")
  t.eq(name, "conservative+agreement", "the default fusion")
  t.near(a3, l3, 1e-9, "the first propagation has nothing to fuse")
  t.check(a6 >= a3 - LOSS6 and a8 >= a6 - LOSS8,
          string.format("no correction round loses more than measured (%.4f -> %.4f -> %.4f)",
                        a3, a6, a8))
  t.check(a8 >= FINAL, string.format("final J&F %.4f >= %.3f", a8, FINAL))
  t.check(a8 >= l8 + OVER_LINEAR,
          string.format("above linear (%.4f >= %.4f + %.3f)", a8, l8, OVER_LINEAR))
end)

t.finish()
