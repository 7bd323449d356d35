# The project's toolchain file (cmake/mingw-w64-x86_64.cmake) plus the prefix that
# deploy/windows/build.sh fills with the Windows builds of opus, speexdsp, cJSON, OpenSSL and
# libwebsockets. build.sh uses it for the tree and for the CMake-built dependencies:
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=deploy/windows/mingw-w64-deps.cmake \
#         -DLC_WIN_DEPS_PREFIX=/var/cache/loopcast-win/deps-<key>
# The prefix joins CMAKE_FIND_ROOT_PATH (so find_library does not re-root its -L paths under
# /usr/x86_64-w64-mingw32 and miss them) and PKG_CONFIG_LIBDIR (pkg-config still never sees the
# build host's Linux .pc files).
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/mingw-w64-x86_64.cmake)

if(NOT LC_WIN_DEPS_PREFIX AND DEFINED ENV{LC_WIN_DEPS_PREFIX})
  set(LC_WIN_DEPS_PREFIX "$ENV{LC_WIN_DEPS_PREFIX}")
endif()
if(LC_WIN_DEPS_PREFIX)
  set(LC_WIN_DEPS_PREFIX "${LC_WIN_DEPS_PREFIX}" CACHE PATH "deploy/windows/build.sh's prefix")
  # try_compile projects read this file again: hand them the prefix too
  list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LC_WIN_DEPS_PREFIX)
  list(PREPEND CMAKE_FIND_ROOT_PATH "${LC_WIN_DEPS_PREFIX}")
  set(ENV{PKG_CONFIG_LIBDIR} "${LC_WIN_DEPS_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_LIBDIR}")
endif()
