# Cross-compiling loopcast for 64-bit Windows with mingw-w64 (Debian: apt-get install mingw-w64).
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
#   cmake --build build-win          # -> build-win/tools/loopcast-capture.exe
# Needs nothing else: third-party libraries are optional on Windows (the top-level CMakeLists.txt
# prints what it skipped). Tested from Debian 12 with gcc-mingw-w64 12 (win32 thread model: the
# platform layer uses Win32 threads directly, so winpthreads is not needed).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(LC_MINGW_TRIPLE x86_64-w64-mingw32)
find_program(CMAKE_C_COMPILER NAMES ${LC_MINGW_TRIPLE}-gcc ${LC_MINGW_TRIPLE}-gcc-win32
             ${LC_MINGW_TRIPLE}-gcc-posix REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${LC_MINGW_TRIPLE}-windres)
# Wine runs the test programs when ctest/try_run needs to (tests/windows drives it explicitly).
find_program(CMAKE_CROSSCOMPILING_EMULATOR NAMES wine64 wine)

# Look for libraries and headers only in the mingw sysroot, programs only on the build host.
set(CMAKE_FIND_ROOT_PATH /usr/${LC_MINGW_TRIPLE} /usr/local/${LC_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config must never answer with the build host's Linux libraries (it would happily report
# Debian's libopus.so): only .pc files built for mingw count. Debian ships none, so opus,
# speexdsp, libwebsockets and cJSON are "not found" and the parts needing them are skipped.
set(ENV{PKG_CONFIG_LIBDIR}
    "/usr/${LC_MINGW_TRIPLE}/lib/pkgconfig:/usr/local/${LC_MINGW_TRIPLE}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# A self-contained .exe: no libgcc_s_seh-1.dll next to it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc")
