#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into a directory of its own
# (never build/Release; a CMake build of CMakeLists.txt with -DFOCAL_LOSS_SANITIZE=ON, so the
# sources, defines and flags are native/build.json's) and runs vitest against it. Exit status non-zero on a failed build, a failed
# test, or ANY sanitizer report (99): ASan reports go to log files checked after the run, so one from
# a forked worker or a child process cannot get lost; UBSan reports go to stderr and are found in the
# output (in a child process whose stderr a test captures, -fno-sanitize-recover still kills it).
#
#   scripts/test-asan.sh              the CI set: a small suite of native tests + test/sanitize/
#   scripts/test-asan.sh --full       every suite (test/**/*.test.ts + test/sanitize/**/*.san.ts)
#   scripts/test-asan.sh --build-only build (incrementally) and load the addon once, no tests
#   scripts/test-asan.sh --no-build   reuse the last build
#   scripts/test-asan.sh --self-test  prove that the checks fail when they should: scratch copies
#                                     of native/ (under the build directory, never native/ itself)
#                                     with a heap overflow, a signed overflow and a leak injected into
#                                     job.cpp; the first two must fail the vitest run with a report,
#                                     the third `scripts/leak-check.mjs lsan`. Exit 0 when all three do.
#   scripts/test-asan.sh --inject <heap-overflow|signed-overflow|leak>
#                                     build one such scratch addon and print its path
#   scripts/test-asan.sh [...] -- <vitest args>   e.g. `-- test/parity.test.ts` (replaces the file set)
#
# Environment:
#   FOCAL_ASAN_DIR  build directory (default build/sanitize: under build/, which git ignores; a
#                   `node-gyp rebuild` or `rm -rf build` deletes it, the next run rebuilds it)
#   CXX             compiler (default g++; GCC's libasan/libubsan are preloaded, see below)
#   JOBS            parallel compile jobs (default: nproc)
#   FOCAL_SAN_FLAGS the sanitizer flags (default: FOCAL_LOSS_SANITIZE_FLAGS of CMakeLists.txt)
#
# How Node runs an instrumented addon: node itself is not instrumented, so the ASan runtime must be
# the first library in the process: LD_PRELOAD=libasan.so (and libubsan.so). The preload is set
# only on the node process that runs vitest (its forks and child processes inherit it), never on
# the shell or other tools. LeakSanitizer is off here (detect_leaks=0: vitest's processes are not
# what is measured); `node scripts/leak-check.mjs lsan` checks leaks with a workload of its own.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

FULL=0
BUILD=1
RUN=1
SELF_TEST=0
INJECT_BUG=""
VITEST_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --full) FULL=1 ;;
    --build-only) RUN=0 ;;
    --no-build) BUILD=0 ;;
    --self-test) SELF_TEST=1 ;;
    --inject) INJECT_BUG=${2:?--inject needs a bug name}; shift ;;
    --) shift; VITEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "usage: $0 [--full] [--build-only] [--no-build] [--self-test] [--inject <bug>] [-- vitest args]" >&2; exit 2 ;;
  esac
  shift
done

CXX=${CXX:-g++}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
OUT=${FOCAL_ASAN_DIR:-$ROOT/build/sanitize}
case "$OUT" in /*) ;; *) OUT=$ROOT/$OUT ;; esac
ADDON=$OUT/focal_loss.node
if [[ "$(realpath -m "$ADDON")" == "$(realpath -m "$ROOT/build/Release/focal_loss.node")" ]]; then
  echo "FOCAL_ASAN_DIR must not be build/Release" >&2
  exit 2
fi

# Tests whose assertion is a wall-clock bound (timer gaps while async work runs) or a peak-RSS bound
# (ASan's shadow memory and quarantine count in RSS: 541 MiB where the bound is ~100): meaningless
# under the sanitizers. Everything else in their files still runs, and test/sanitize/ repeats the
# 1,000-concurrent-calls check without the timer.
SKIP_TESTS='stalling a timer|keeps a setInterval firing|no allocation for the classes'
# The suites run once per backend; the JS backend's copies ("js: ...", "... [js] ...") never reach
# the addon, so they are skipped too.
TEST_FILTER="^(?!js: )(?!.*\\[js\\])(?!.*(${SKIP_TESTS}))"
# The CI set: native paths through every binding entry point, every SIMD level, threads, async,
# and the attacks on the binding (arrays that go away mid-call, SharedArrayBuffer inputs written
# by a worker meanwhile) and on the facade (returned arrays fed back into async calls), each in
# child processes that inherit the sanitizers.
CI_FILES=(
  test/validation.test.ts
  test/parity.test.ts
  test/simd.test.ts
  test/threads.test.ts
  test/async.test.ts
  test/concurrency.test.ts
  test/numerics-softmax.test.ts
  test/binding-lifetime.test.ts
  test/binding-shared.test.ts
  test/boundary-ownership.test.ts
  test/result-memory.test.ts
  test/sanitize/
)

runtime_lib() {
  local p
  p=$("$CXX" -print-file-name="$1")
  [[ "$p" == /* && -e "$p" ]] || { echo "cannot find $1 for $CXX (is the sanitizer runtime installed?)" >&2; return 1; }
  echo "$p"
}

# build <native dir> <build dir>: CMakeLists.txt with -DFOCAL_LOSS_SANITIZE=ON (native/build.json's
# sources, defines and flags; -O1 -g and the sanitizer flags on top), sources read from <native dir>,
# the addon linked as <build dir>/focal_loss.node. Incremental: a second run rebuilds what changed.
# FOCAL_SAN_FLAGS replaces the sanitizer flags (e.g. FOCAL_SAN_FLAGS=-fno-omit-frame-pointer for an
# uninstrumented -O1 -g build to run under valgrind; give it its own FOCAL_ASAN_DIR); unset, the
# default of CMakeLists.txt (FOCAL_LOSS_SANITIZE_FLAGS) applies.
build() {
  local src=$1 out=$2
  mkdir -p "$out"
  local flags=(-UFOCAL_LOSS_SANITIZE_FLAGS)
  [[ -n ${FOCAL_SAN_FLAGS+set} ]] && flags=("-DFOCAL_LOSS_SANITIZE_FLAGS=$FOCAL_SAN_FLAGS")
  local openmp
  openmp=$(node scripts/detect-openmp.mjs)
  cmake -S "$ROOT" -B "$out" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$(command -v "$CXX")" \
    -DCMAKE_LIBRARY_OUTPUT_DIRECTORY="$out" -DFOCAL_LOSS_NATIVE_DIR="$src" -DFOCAL_LOSS_NATIVE_TESTS=OFF \
    -DFOCAL_LOSS_OPENMP="$([[ $openmp == true ]] && echo ON || echo OFF)" \
    -DFOCAL_LOSS_SANITIZE=ON "${flags[@]}" >"$out/configure.log" 2>&1 ||
    { cat "$out/configure.log" >&2; return 1; }
  cmake --build "$out" --target focal_loss -j"$JOBS"
}

LIBASAN=$(runtime_lib libasan.so)
LIBUBSAN=$(runtime_lib libubsan.so)

# run_vitest <addon> <log dir> <vitest args...>: vitest under the sanitizers. Returns 99 when any
# sanitizer reported (ASan writes its reports to <log dir>/asan.<pid>; UBSan, linked next to ASan,
# writes to stderr whatever log_path says, so the output is scanned too), else vitest's status.
SANITIZER_REPORT='ERROR: (AddressSanitizer|LeakSanitizer)|: runtime error: |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)'
run_vitest() {
  local addon=$1 logs=$2
  shift 2
  rm -rf "$logs"
  mkdir -p "$logs"
  local rc=0
  env LD_PRELOAD="$LIBASAN $LIBUBSAN${LD_PRELOAD:+ $LD_PRELOAD}" \
    ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    FOCAL_LOSS_NATIVE_PATH="$addon" FOCAL_LOSS_BACKEND=native \
    node "$ROOT/node_modules/vitest/vitest.mjs" run --config test/sanitize/vitest.config.ts "$@" </dev/null 2>&1 |
    tee "$logs/output.txt" || rc=${PIPESTATUS[0]}
  local files
  files=$(find "$logs" -type f -name 'asan*' -size +0c | sort)
  if [[ -n $files ]] || grep -Eq "$SANITIZER_REPORT" "$logs/output.txt"; then
    echo
    echo "=== sanitizer report(s) (vitest exit $rc):" >&2
    local f
    for f in $files; do
      echo "--- $f" >&2
      cat "$f" >&2
    done
    # The UBSan reports (and any ASan line that reached the output), with their stacks.
    grep -E -A24 "$SANITIZER_REPORT" "$logs/output.txt" | grep -Ev '^\s*$' | head -n 200 >&2 || true
    return 99
  fi
  if [[ $rc -ne 0 ]]; then
    echo "=== vitest failed (exit $rc), no sanitizer report" >&2
    return "$rc"
  fi
  echo "=== no sanitizer report"
}

smoke() {
  local addon=$1
  env LD_PRELOAD="$LIBASAN $LIBUBSAN" ASAN_OPTIONS=detect_leaks=0 \
    node --input-type=module -e '
      import { createRequire } from "node:module";
      import { pathToFileURL } from "node:url";
      const [addon, plans] = process.argv.slice(1);
      const { sigmoidPlan, planExports } = await import(pathToFileURL(plans).href);
      const m = planExports(createRequire(import.meta.url)(addon));
      const i = m.info();
      const r = m.sigmoid(sigmoidPlan(3));
      console.log(`loaded ${addon} under ASan: simd ${i.simd} (${Object.keys(i.simdLevels)}), openmp ${i.openmp}, sum ${r.sum}`);' \
    "$addon" "$ROOT/test/fixtures/plans.mjs"
}

# inject <bug>: a scratch copy of native/ (in $OUT/inject/native, never in native/) with one bug
# added at the top of run_typed<T>() in job.cpp, built into $OUT/inject-<bug>/focal_loss.node. All
# bugs share one CMake build tree ($OUT/inject): the first injection compiles every source once, each
# later one recompiles job.cpp only (cp -p keeps the other files' mtimes; a few seconds).
inject() {
  local bug=$1 code
  case $bug in
    # One element past the end of the caller's logits (node's calloc'd ArrayBuffer: ASan's redzone).
    heap-overflow) code='{ volatile double past_end = static_cast<const T*>(job.logits)[job.n]; (void)past_end; }' ;;
    # INT_MAX + (n > 0): undefined behaviour.
    signed-overflow) code='{ volatile int big = 2147483647; int one = static_cast<int>(job.n > 0); volatile int sum = big + one; (void)sum; }' ;;
    # 1 KiB per call that nothing frees or points to (for scripts/leak-check.mjs).
    leak) code='{ double* volatile leaked = new double[128]; leaked[0] = static_cast<double>(job.n); }' ;;
    *) echo "unknown bug '$bug' (heap-overflow, signed-overflow, leak)" >&2; return 2 ;;
  esac
  local tree=$OUT/inject dir=$OUT/inject-$bug
  rm -rf "$tree/native" "$dir"
  mkdir -p "$tree/native" "$dir"
  cp -rp native/. "$tree/native/"
  INJECT=$code perl -0pi -e 's/(KernelResult run_typed\(const Job& job\) \{\n)/$1  $ENV{INJECT}  \/\/ INJECTED BUG\n/' "$tree/native/kernels/job.cpp"
  grep -q 'INJECTED BUG' "$tree/native/kernels/job.cpp" || { echo "could not inject the bug into job.cpp" >&2; return 1; }
  build "$tree/native" "$tree" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; return 1; }
  cp "$tree/focal_loss.node" "$dir/focal_loss.node"
  echo "$dir/focal_loss.node"
}

if [[ -n $INJECT_BUG ]]; then
  inject "$INJECT_BUG"
  exit
fi

if [[ $SELF_TEST == 1 ]]; then
  status=0
  for bug in heap-overflow signed-overflow; do
    echo
    echo "=== self-test: $bug injected into a scratch copy of native/kernels/job.cpp"
    addon=$(inject "$bug")
    rc=0
    run_vitest "$addon" "$OUT/inject-$bug/logs" test/parity.test.ts >"$OUT/inject-$bug/run.log" 2>&1 || rc=$?
    grep -E -A12 'ERROR: AddressSanitizer|runtime error' "$OUT/inject-$bug/run.log" | head -n 16
    tail -n 3 "$OUT/inject-$bug/run.log"
    if [[ $rc -eq 99 ]]; then
      echo "=== self-test: $bug caught (the run failed with a sanitizer report)"
    else
      echo "=== self-test FAILED: $bug not caught (exit $rc)" >&2
      status=1
    fi
  done
  echo
  echo "=== self-test: leak injected (1 KiB per call), scripts/leak-check.mjs lsan must fail"
  addon=$(inject leak)
  rc=0
  node scripts/leak-check.mjs lsan --addon "$addon" --calls 500 >"$OUT/inject-leak/run.log" 2>&1 || rc=$?
  tail -n 12 "$OUT/inject-leak/run.log"
  if [[ $rc -ne 0 ]] && grep -q 'leaks in the addon' "$OUT/inject-leak/run.log"; then
    echo "=== self-test: leak caught"
  else
    echo "=== self-test FAILED: leak not caught (exit $rc)" >&2
    status=1
  fi
  exit $status
fi

if [[ $BUILD == 1 ]]; then
  start=$SECONDS
  build "$ROOT/native" "$OUT"
  echo "=== sanitizer build: $ADDON ($((SECONDS - start))s)"
fi
[[ -f $ADDON ]] || { echo "no sanitizer build at $ADDON (run without --no-build)" >&2; exit 1; }
smoke "$ADDON" || { echo "=== the sanitizer build failed its smoke test (one sigmoid call; see any report above)" >&2; exit 1; }
[[ $RUN == 1 ]] || exit 0

start=$SECONDS
if [[ ${#VITEST_ARGS[@]} -gt 0 ]]; then
  args=("${VITEST_ARGS[@]}")
elif [[ $FULL == 1 ]]; then
  args=()
else
  args=("${CI_FILES[@]}")
fi
run_vitest "$ADDON" "$OUT/logs" -t "$TEST_FILTER" "${args[@]}"
echo "=== sanitizer tests: $((SECONDS - start))s"
