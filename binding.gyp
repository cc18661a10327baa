# node-gyp build of the native addon -> build/Release/focal_loss.node
#
# The sources, defines and compiler flags are in native/build.json (gyp variables, read by
# CMakeLists.txt too; scripts/check-sources.mjs checks it against native/ and package.json). This
# file only says how gyp spells them per platform.
#
# Floating point (focal_loss_cflags): -O3 with -fno-math-errno -fno-trapping-math only. Never
# -ffast-math (it breaks inf/nan handling and reassociates reductions) and never -march=native (the
# binary must run on any CPU of the target architecture; the per-ISA files pick their instruction
# set with #pragma GCC target and are dispatched at run time).
#
# OpenMP is optional: `openmp` is probed by scripts/detect-openmp.mjs (set FOCAL_LOSS_OPENMP=0/1 to
# force it) and can be overridden with `node-gyp rebuild --openmp=false`.
{
  'includes': [ 'native/build.json' ],
  'variables': {
    'openmp%': '<!(node scripts/detect-openmp.mjs)',
  },
  'targets': [
    {
      'target_name': 'focal_loss',
      'sources': [ '<@(focal_loss_sources)' ],
      # C++ exceptions on: node-addon-api's target removes -fno-exceptions and defines
      # NAPI_CPP_EXCEPTIONS (also adds the node-addon-api include dir).
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
      ],
      'defines': [ '<@(focal_loss_defines)' ],
      # Replace node's -std=gnu++17 with strict C++; keep -Wunused-parameter like the CMake build.
      'cflags!': [ '-Wno-unused-parameter' ],
      'cflags_cc!': [ '-std=gnu++17', '-fno-exceptions' ],
      'cflags_cc': [ '-std=c++<(focal_loss_cxx_standard)', '<@(focal_loss_cflags)' ],
      'configurations': {
        # CMake's Release configuration defines NDEBUG; do the same so both builds behave alike.
        'Release': { 'defines': [ 'NDEBUG' ] },
      },
      'conditions': [
        ['OS=="linux"', {
          # -z nodelete: never unload the image; an OpenMP thread pool (or any thread-local
          # destructor) must not outlive the code it runs when a worker thread that loaded the
          # addon exits.
          'ldflags': [ '<@(focal_loss_linux_ldflags)' ],
        }],
        ['OS=="mac"', {
          'xcode_settings': {
            'CLANG_CXX_LANGUAGE_STANDARD': 'c++<(focal_loss_cxx_standard)',
            'CLANG_CXX_LIBRARY': 'libc++',
            'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
            'MACOSX_DEPLOYMENT_TARGET': '10.15',
            # After the -O level Xcode derives from GCC_OPTIMIZATION_LEVEL, so this list's -O3 wins.
            'OTHER_CPLUSPLUSFLAGS': [ '<@(focal_loss_cflags)' ],
          },
        }],
        ['OS=="win"', {
          'msvs_settings': {
            'VCCLCompilerTool': {
              'ExceptionHandling': 1,  # /EHsc
              'AdditionalOptions': [ '/std:c++<(focal_loss_cxx_standard)', '<@(focal_loss_msvc_cflags)' ],
            },
          },
        }],
        ['openmp=="true"', {
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
