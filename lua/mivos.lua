-- mivos: LuaJIT binding of libmivos (MiVOS interactive video object
-- segmentation), through the FFI on the one public header core/mivos.h.
-- This entry module only gathers the API; one module per concept does the
-- work (none of them requires this one):
--   mivos.lib       loading libmivos.so, mivos.C, errors, argument checks
--   mivos.array     images (FFI arrays with their size) and host arrays
--   mivos.device    OpenCL devices
--   mivos.weights   checkpoints (.pth, hashinit)
--   mivos.io        video input, mask and image files, overlays, video writer
--   mivos.backends  built-in modules (from the library) and Lua backends
--   mivos.session   interactive sessions
--   mivos.metrics   J, F, sequence scores and the scribble robot
-- and the helpers mivos.sys (files, clock), mivos.json, mivos.rounds.
--
-- CONVENTIONS (the same everywhere in these modules, the CLI and the README)
--   * Frame indices are 0-BASED, as in the C API and the DAVIS file names:
--     frame 0 is 00000.jpg / 00000.png, the last frame is frame_count - 1.
--   * Object ids are 1..objects; 0 is the background.
--   * Pixel coordinates: x to the right, y down, in the video's WORKING size
--     (video.width x video.height, see open_video's short_side), in pixels.
--   * Images are FFI arrays, row-major without padding: an RGB frame is
--     height x width x 3 bytes, a label map height x width bytes, a
--     probability map height x width floats. Nothing is copied into Lua
--     tables; index them as img.data[(y * width + x) * channels + c].
--   * Every C failure raises a Lua error object (mivos.Error) whose message
--     is the C library's message (it names the call, the argument or file
--     and what was expected); tostring(err) gives that message, err.status
--     the mv_status number, err.code its name ("E_IO", ...). Errors of
--     wrong Lua arguments use the same object with status E_ARGUMENT.
--   * Objects (videos, sessions, arrays, checkpoints, writers) are freed by
--     the garbage collector (ffi.gc), or at once with obj:close(); using a
--     closed object raises E_STATE. Closing twice is fine.
--
-- Overview (details at each function, in its module):
--   mivos.open_video(path [, {short_side, cache_mib, fps}]) -> Video
--   mivos.session(video [, {objects, interaction, propagation, fusion,
--                 weights, device, memory_every, ...}])     -> Session
--   Session: scribble, click, draw, interact_maps, box, set_labels,
--            set_object_mask, load_mask, local_region, mask, mask_resized,
--            probabilities, propagate, propagation (iterator), undo,
--            forget_memory, clear_memory, memory_frames, reset_frame,
--            reset_object, add_object, delete_object, object_ids,
--            set_interaction, info, save_masks, export_overlay, evaluate,
--            close
--   mivos.workspace(video, dir [, options]) -> Session, report (resumes a
--            workspace folder); Session: attach, detach, snapshot,
--            save_snapshot, load_snapshot; mivos.read_manifest(dir)
--   mivos.builtin_modules(kind) ("interaction", "propagation", "fusion")
--   mivos.register_backend(name, fn) / unregister_backend(name) / backends()
--   mivos.devices(), select_device(spec), current_device(), self_check()
--   mivos.image(width, height [, channels [, ctype]]), read_labels,
--   read_soft, mask_size, write_labels, write_binary, write_soft,
--   write_matte, write_png, overlay, overlay_png, palette
--   mivos.video_writer(path, width, height, fps [, opts]) -> VideoWriter
--   mivos.array(dtype, shape), read_npy(path), checkpoint(path),
--   checkpoint_hashinit(manifest, salt)
--   mivos.jaccard, boundary_f, boundary_tolerance, evaluate_frame,
--   evaluate_sequence, read_label_volume, robot_interact, robot_next_frame
--   mivos.C (the raw library), mivos.check(status), mivos.Error

local mivos = { _VERSION = "0.1.0" }

local function export(module, names)
  local m = require(module)
  for _, name in ipairs(names) do
    assert(m[name] ~= nil, module .. " has no " .. name)
    mivos[name] = m[name]
  end
end

export("mivos.lib", { "C", "library_path", "ffi", "Error", "is_error", "raise", "check" })
for number, name in pairs(require("mivos.lib").status_codes) do mivos[name] = number end
export("mivos.array", { "Image", "image", "image_view", "ArrayClass", "array", "read_npy" })
export("mivos.device", { "devices", "select_device", "current_device", "self_check" })
export("mivos.weights", { "checkpoint", "checkpoint_hashinit" })
export("mivos.io", { "VideoClass", "open_video", "palette", "mask_size", "read_labels",
                     "read_soft", "write_labels", "write_binary", "write_soft", "write_matte",
                     "write_png", "overlay", "overlay_png", "video_writer",
                     "read_label_volume" })
export("mivos.backends", { "builtin_modules", "register_backend", "unregister_backend",
                           "backends" })
export("mivos.session", { "SessionClass", "session", "region", "points" })
export("mivos.workspace", { "workspace", "read_manifest" })
export("mivos.metrics", { "boundary_tolerance", "jaccard", "boundary_f", "evaluate_frame",
                          "evaluate_sequence", "robot_interact", "robot_next_frame" })

return mivos
