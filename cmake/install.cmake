# Installing the C library for other programs: libmivos.so with a SONAME,
# the one public header and a pkg-config file (`pkg-config --cflags --libs
# mivos`). The Lua modules and the launchers are installed by cmake/lua.cmake.
# Included from the top-level CMakeLists.txt after the mivos target.
include(GNUInstallDirs)

# SONAME libmivos.so.<major>: while the major version is 0 the C API may
# still change at every release, so VERSION carries the whole version and
# a new ABI bumps the major.
set_target_properties(mivos PROPERTIES VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR})
set(MIVOS_SONAME libmivos.so.${PROJECT_VERSION_MAJOR})

install(TARGETS mivos LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_SOURCE_DIR}/core/mivos.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# <prefix>/<libdir>/pkgconfig -> <prefix>: "../.." (or "../../.." for a
# multiarch libdir such as lib/x86_64-linux-gnu).
file(RELATIVE_PATH MIVOS_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${CMAKE_SOURCE_DIR}/cmake/mivos.pc.in ${CMAKE_BINARY_DIR}/install/mivos.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/install/mivos.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
