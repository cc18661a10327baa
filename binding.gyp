# node-gyp build of the native addon -> build/Release/focal_loss.node
#
# Keep `sources` in sync with FOCAL_LOSS_SOURCES in CMakeLists.txt (checked by scripts/check-sources.mjs).
#
# Floating point: -O3 with -fno-math-errno -fno-trapping-math only. Never -ffast-math (it breaks
# inf/nan handling and reassociates reductions) and never -march=native (the binary must run on
# any CPU of the target architecture).
#
# OpenMP is optional: `openmp` is probed by scripts/detect-openmp.mjs (set FOCAL_LOSS_OPENMP=0/1 to
# force it) and can be overridden with `node-gyp rebuild --openmp=false`.
{
  'variables': {
    'openmp%': '<!(node scripts/detect-openmp.mjs)',
  },
  'targets': [
    {
      'target_name': 'focal_loss',
      'sources': [
        'native/addon.cpp',
        'native/job.cpp',
        'native/memory_floor.cpp',
        'native/owned_memory.cpp',
        'native/plan_reader.cpp',
        'native/sigmoid_focal.cpp',
        'native/simd_avx2.cpp',
        'native/simd_avx512.cpp',
        'native/simd_dispatch.cpp',
        'native/simd_neon.cpp',
        'native/simd_scalar.cpp',
        'native/softmax_focal.cpp',
      ],
      # C++ exceptions on: node-addon-api's target removes -fno-exceptions and defines
      # NAPI_CPP_EXCEPTIONS (also adds the node-addon-api include dir).
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': [
        'NAPI_VERSION=8',
        'NODE_ADDON_API_DISABLE_DEPRECATED',
        'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
      ],
      # Replace node's -std=gnu++17 with strict C++17; keep -Wunused-parameter like the CMake build.
      'cflags!': [ '-Wno-unused-parameter' ],
      'cflags_cc!': [ '-std=gnu++17', '-fno-exceptions' ],
      'cflags_cc': [
        '-std=c++17',
        '-O3',
        '-fvisibility=hidden',
        '-fno-math-errno',
        '-fno-trapping-math',
        '-fopenmp-simd',
        '-Wall',
        '-Wextra',
      ],
      'configurations': {
        # CMake's Release configuration defines NDEBUG; do the same so both builds behave alike.
        'Release': { 'defines': [ 'NDEBUG' ] },
      },
      'conditions': [
        ['OS=="linux"', {
          # Never unload the image: an OpenMP thread pool (or any thread-local destructor) must not
          # outlive the code it runs when a worker thread that loaded the addon exits.
          'ldflags': [ '-Wl,-z,nodelete' ],
        }],
        ['OS=="mac"', {
          'xcode_settings': {
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
            'CLANG_CXX_LIBRARY': 'libc++',
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',  # -fvisibility=hidden
            'GCC_OPTIMIZATION_LEVEL': '3',
            'MACOSX_DEPLOYMENT_TARGET': '10.15',
            'OTHER_CPLUSPLUSFLAGS': [ '-fno-math-errno', '-fno-trapping-math', '-fopenmp-simd', '-Wall', '-Wextra' ],
          },
        }],
        ['OS=="win"', {
          'msvs_settings': {
            'VCCLCompilerTool': {
              'ExceptionHandling': 1,  # /EHsc
              'AdditionalOptions': [ '/std:c++17', '/O2', '/fp:precise' ],
            },
          },
        }],
        ['openmp=="true"', {
          'defines': [ 'FOCAL_HAVE_OPENMP=1' ],
          'conditions': [
            ['OS=="win"', {
              'msvs_settings': { 'VCCLCompilerTool': { 'OpenMP': 'true' } },
            }],
            ['OS=="mac"', {
              # Only reached with a compiler that passed the probe (e.g. Homebrew LLVM as CXX).
              'xcode_settings': {
                'OTHER_CPLUSPLUSFLAGS': [ '-fopenmp' ],
                'OTHER_LDFLAGS': [ '-fopenmp' ],
              },
            }],
            ['OS!="win" and OS!="mac"', {
              'cflags_cc': [ '-fopenmp' ],
              'ldflags': [ '-fopenmp' ],
            }],
          ],
        }],
      ],
    },
  ],
}
