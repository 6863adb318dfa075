# The LuaJIT layer (lua/, scripts/mivos): launchers in the build folder,
# install rules, the sanitized library for the Lua ownership test, and
# mv_lua_test() for tests/CMakeLists.txt. Included from the top-level
# CMakeLists.txt after the mivos target is defined.
include(GNUInstallDirs)

find_program(MIVOS_LUAJIT NAMES luajit luajit-2.1 luajit-2.1.0-beta3
             DOC "LuaJIT interpreter for the Lua layer, its launcher and its tests")
set(MIVOS_HAVE_LUAJIT ON)
if(NOT MIVOS_LUAJIT)
  message(STATUS "mivos: luajit not found - the Lua tests are skipped")
  set(MIVOS_HAVE_LUAJIT OFF)
  set(MIVOS_LUAJIT luajit)  # the launchers still name it
endif()

# lua/mivos/sys.lua lists and creates folders with LuaFileSystem (Debian
# package lua-filesystem); without it the CLI and the Lua tests cannot run.
if(MIVOS_HAVE_LUAJIT)
  execute_process(COMMAND ${MIVOS_LUAJIT} -e "require('lfs')" RESULT_VARIABLE lfs_missing
                  OUTPUT_QUIET ERROR_QUIET)
  if(lfs_missing)
    message(WARNING "mivos: LuaFileSystem is missing for ${MIVOS_LUAJIT} "
                    "(Debian: apt-get install lua-filesystem); the Lua layer needs it")
  endif()
endif()

# ---- launchers ---------------------------------------------------------------
# build/mivos       runs scripts/mivos (the CLI) with this build's library;
# build/mivos-lua   runs luajit on any Lua file (examples, REPL) the same way.
function(mv_lua_launcher template output library lua_dir script)
  set(MIVOS_LAUNCHER_LIBRARY "${library}")
  set(MIVOS_LAUNCHER_LUA_DIR "${lua_dir}")
  if(script)
    set(MIVOS_LAUNCHER_PROGRAM "${script}")
    set(MIVOS_LAUNCHER_SCRIPT "\"${script}\" ")
  else()
    set(MIVOS_LAUNCHER_PROGRAM "luajit (any Lua file, or the REPL)")
    set(MIVOS_LAUNCHER_SCRIPT "")
  endif()
  configure_file(${CMAKE_SOURCE_DIR}/cmake/${template} ${output} @ONLY)
endfunction()

mv_lua_launcher(mivos-launcher.sh.in ${CMAKE_BINARY_DIR}/mivos ${CMAKE_BINARY_DIR}/libmivos.so
                ${CMAKE_SOURCE_DIR}/lua ${CMAKE_SOURCE_DIR}/scripts/mivos)
mv_lua_launcher(mivos-launcher.sh.in ${CMAKE_BINARY_DIR}/mivos-lua ${CMAKE_BINARY_DIR}/libmivos.so
                ${CMAKE_SOURCE_DIR}/lua "")

# ---- install: <prefix>/bin/mivos, <prefix>/share/mivos/{lua,scripts} ----------
# The installed launchers find the library and modules relative to
# themselves, so `cmake --install build --prefix DIR` works for any DIR.
# Every module under lua/ is installed (mivos.lua, lua/mivos/*.lua and its
# cli/ and eval/ folders), so a new module needs no rule here.
mv_lua_launcher(mivos-launcher-installed.sh.in ${CMAKE_BINARY_DIR}/install/mivos "" ""
                "$prefix/${CMAKE_INSTALL_DATADIR}/mivos/scripts/mivos")
mv_lua_launcher(mivos-launcher-installed.sh.in ${CMAKE_BINARY_DIR}/install/mivos-lua "" "" "")
install(TARGETS mivos LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/lua/ DESTINATION ${CMAKE_INSTALL_DATADIR}/mivos/lua
        FILES_MATCHING PATTERN "*.lua"
        PATTERN "*.html" PATTERN "*.js" PATTERN "*.css")  # the page of `mivos serve`
install(PROGRAMS ${CMAKE_SOURCE_DIR}/scripts/mivos
        DESTINATION ${CMAKE_INSTALL_DATADIR}/mivos/scripts)
install(PROGRAMS ${CMAKE_BINARY_DIR}/install/mivos ${CMAKE_BINARY_DIR}/install/mivos-lua
        DESTINATION ${CMAKE_INSTALL_BINDIR})

# ---- the sanitized library for the ownership test ------------------------------
# libmivos_asan.so: the same sources with AddressSanitizer (leak checking
# included). LuaJIT is not instrumented, so the test runs it with
# LD_PRELOAD=libasan.so (the runtime must come first) and MIVOS_LIBRARY
# pointing at this library; tests/lua/lsan.supp limits leak suppressions to
# the OpenCL driver stack (PoCL, LLVM, the ICD loader).
option(MIVOS_LUA_ASAN "Build libmivos_asan.so and run the Lua ownership test under ASan/LSan" ON)
set(MIVOS_ASAN_RUNTIME "")
if(MIVOS_LUA_ASAN AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE MIVOS_ASAN_RUNTIME OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT IS_ABSOLUTE "${MIVOS_ASAN_RUNTIME}" OR NOT EXISTS "${MIVOS_ASAN_RUNTIME}")
    message(STATUS "mivos: libasan.so not found - the sanitized Lua test is skipped")
    set(MIVOS_ASAN_RUNTIME "")
  endif()
endif()
if(MIVOS_ASAN_RUNTIME)
  add_library(mivos_asan SHARED ${MIVOS_CORE_SOURCES} ${MIVOS_OPENCL_SOURCES} ${MIVOS_KERNELS_C})
  target_include_directories(mivos_asan PUBLIC core ${CMAKE_SOURCE_DIR})
  target_compile_definitions(mivos_asan PRIVATE CL_TARGET_OPENCL_VERSION=120)
  target_compile_options(mivos_asan PRIVATE -fsanitize=address -fno-omit-frame-pointer -O1)
  target_link_options(mivos_asan PRIVATE -fsanitize=address)
  target_link_libraries(mivos_asan PUBLIC PkgConfig::OPENCL PkgConfig::CLBLAST PkgConfig::FFMPEG
                        PkgConfig::PNG Threads::Threads m)
  target_link_libraries(mivos_asan PRIVATE ZLIB::ZLIB)
endif()

# mv_lua_test(NAME [ASAN] [TIMEOUT s] [ARGS ...]): tests/lua/NAME.lua under
# luajit with this build's library (or, with ASAN, as NAME_asan against
# libmivos_asan.so when that is built). Each test prints "N passed, N failed".
function(mv_lua_test name)
  cmake_parse_arguments(T "ASAN" "TIMEOUT" "ARGS" ${ARGN})
  if(NOT MIVOS_HAVE_LUAJIT)
    return()
  endif()
  # (the tests find lua/ and tests/lua/ from their own path)
  set(env "MIVOS_SHARED=${MIVOS_SHARED_DIR}" "MIVOS_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
      "MIVOS_BUILD_DIR=${CMAKE_BINARY_DIR}" "MIVOS_LUAJIT=${MIVOS_LUAJIT}")
  set(test_name ${name})
  if(T_ASAN)
    if(NOT TARGET mivos_asan)
      return()
    endif()
    set(test_name ${name}_asan)
    list(APPEND env "MIVOS_LIBRARY=$<TARGET_FILE:mivos_asan>" "LD_PRELOAD=${MIVOS_ASAN_RUNTIME}"
         "MIVOS_ASAN=1"
         "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23:allocator_may_return_null=1"
         "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lua/lsan.supp:print_suppressions=0")
  else()
    list(APPEND env "MIVOS_LIBRARY=$<TARGET_FILE:mivos>")
    if(MIVOS_SANITIZE)
      # the whole build is instrumented: the runtimes must be loaded first
      execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                      OUTPUT_VARIABLE asan OUTPUT_STRIP_TRAILING_WHITESPACE)
      execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                      OUTPUT_VARIABLE ubsan OUTPUT_STRIP_TRAILING_WHITESPACE)
      list(APPEND env "LD_PRELOAD=${asan}:${ubsan}"
           "LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lua/lsan.supp:print_suppressions=0")
    endif()
  endif()
  add_test(NAME ${test_name}
           COMMAND ${MIVOS_LUAJIT} ${CMAKE_SOURCE_DIR}/tests/lua/${name}.lua ${T_ARGS}
           WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  set_tests_properties(${test_name} PROPERTIES ENVIRONMENT "${env}" LABELS lua)
  if(T_TIMEOUT)
    set_tests_properties(${test_name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  endif()
endfunction()
