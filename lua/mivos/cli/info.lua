-- mivos info: what the library sees in a video.
local common = require("mivos.cli.common")

local M = {}

M.summary = "show a video's frame count, sizes, frame rate and codec"

M.usage = [[
usage: mivos info VIDEO [--short-side N] [--check] [--json]

Prints what mivos reads from VIDEO (a video file, a folder of .jpg/.png
frames or a printf pattern such as frames/%05d.jpg): the frame count
(frames are numbered 0..count-1), the working size the session uses, the
coded size, rotation, frame rate, duration and decoder.

  --short-side N  working size: shorter side in pixels (default 480, 0 = native)
  --check         decode every frame and report the first damaged one
  --json          print the information as one JSON object
  -h, --help      this text

exit codes: 0 success, 1 failure (missing or unreadable video; with --check
            also a damaged frame), 2 usage error
]]

local spec = {
  name = "info", usage = M.usage, positionals = { "VIDEO" },
  options = { ["--short-side"] = { arg = "N", type = "int", min = 0 }, ["--check"] = {},
              ["--json"] = {} },
}

function M.run(args)
  local options, positionals = common.parse(args, spec)
  local mivos = common.mivos()
  local path = positionals[1]
  local video = mivos.open_video(path, { short_side = options.short_side })
  local info = video:info()
  info.path = path
  info.duration = info.frame_count > 0 and video:frame_time(info.frame_count - 1) or 0
  if options.check then
    local bad = video:check()
    info.first_bad_frame = bad or -1
  end
  if options.json then
    local json = require("mivos.json")
    common.say("%s", json.encode(info, { indent = "  " }))
  else
    common.say("video       %s", path)
    common.say("frames      %d (0..%d)", info.frame_count, info.frame_count - 1)
    common.say("size        %dx%d working (coded %dx%d, rotation %d)", info.width, info.height,
               info.source_width, info.source_height, info.rotation)
    common.say("fps         %.3f%s", info.fps, info.is_image_sequence and " (image sequence)" or "")
    common.say("duration    %.3f s (last frame at)", info.duration)
    common.say("decoder     %s", info.codec)
    if options.check then
      common.say("check       %s", info.first_bad_frame < 0 and "every frame decodes"
                 or ("first damaged frame: " .. info.first_bad_frame))
    end
  end
  video:close()
  if options.check and info.first_bad_frame >= 0 then return common.EXIT_FAILURE end
  return 0
end

return M
