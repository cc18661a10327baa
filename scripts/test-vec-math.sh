#!/usr/bin/env bash
# Builds native/test/vec_math_test.cpp once per ISA, checks that the loops over native/simd/vec_math.hpp
# were vectorized for that ISA, runs each build the CPU can run, and prints an accuracy summary.
# Then checks native/simd/fast_math.hpp and fast_math_f32.hpp (native/test/fast_math*_test.cpp), and
# native/reduce/reproducible_sum.hpp (native/test/reproducible_sum_test.cpp).
# Exit status 1 if any build fails, any loop is not vectorized as expected, or any accuracy or
# edge-case check fails.
#
#   scripts/test-vec-math.sh            all variants (the three main ones on the full sample sets)
#   scripts/test-vec-math.sh --quick    every variant on the reduced sample sets
#   scripts/test-vec-math.sh --bench    also time 1e7-element loops (vec:: vs std::) per ISA
#
# Variants (all with the kernels' flags: -O3 -std=c++17 -fno-math-errno -fno-trapping-math, never
# -ffast-math, never -march=native):
#   avx512          -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma      loops must use 64-byte vectors
#   avx2            -mavx2 -mfma                                      loops must use 32-byte vectors
#   scalar          -fno-tree-vectorize and no -fopenmp-simd          loops must stay scalar
#                   (with -fopenmp-simd, `#pragma omp simd` loops are vectorized even under
#                   -fno-tree-vectorize: that is the sse2 variant)
#   sse2            no ISA flag (x86-64 baseline), -fopenmp-simd      loops must use 16-byte vectors
#   avx512-pragma   ISA from `#pragma GCC target(...)` at the top of the TU, as the kernels do it,
#                   with FOCAL_VEC_FMA=1 (GCC defines no __FMA__ under the pragma)
#   avx2-pragma     likewise for AVX2+FMA, without FOCAL_VEC_FMA (mul_add's FMA-free form)
# Needs g++ (GCC 12 here) with libquadmath, and objdump.
set -u

cd "$(dirname "$0")/.." || exit 1
CXX=${CXX:-g++}
SRC=native/test/vec_math_test.cpp
MODE_ALL=""
BENCH=0
for arg in "$@"; do
  case "$arg" in
    --quick) MODE_ALL=--quick ;;
    --bench) BENCH=1 ;;
    *) echo "usage: $0 [--quick] [--bench]" >&2; exit 2 ;;
  esac
done

BUILD_DIR=${VEC_MATH_BUILD_DIR:-$(mktemp -d)}
[ -n "${VEC_MATH_BUILD_DIR:-}" ] || trap 'rm -rf "$BUILD_DIR"' EXIT
mkdir -p "$BUILD_DIR"

BASE_FLAGS="-O3 -std=c++17 -fno-math-errno -fno-trapping-math -Wall -Wextra -Werror"
AVX512_FLAGS="-mavx512f -mavx512dq -mavx512vl -mavx2 -mfma"
AVX2_FLAGS="-mavx2 -mfma"

# name | compiler flags | CPU flags needed | vector width in bytes (0 = scalar) | sample mode
VARIANTS=(
  "avx512|-fopenmp-simd $AVX512_FLAGS|avx512f avx512dq avx512vl avx2 fma|64|"
  "avx2|-fopenmp-simd $AVX2_FLAGS|avx2 fma|32|"
  "scalar|-fno-tree-vectorize -Wno-unknown-pragmas||0|"
  "sse2|-fopenmp-simd||16|--quick"
  "avx512-pragma|-fopenmp-simd -DVEC_TEST_PRAGMA=1|avx512f avx512dq avx512vl avx2 fma|64|--quick"
  "avx2-pragma|-fopenmp-simd -DVEC_TEST_PRAGMA=2|avx2 fma|32|--quick"
)

CPU_FLAGS=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
cpu_has() {
  local f
  for f in $1; do
    case "$CPU_FLAGS" in *" $f "*) ;; *) return 1 ;; esac
  done
  return 0
}

# The loops under test: "line name instances" from the `// VEC-LOOP name [xN]` markers.
LOOPS=$(grep -n 'VEC-LOOP' "$SRC" | grep -v 'finds them' |
  sed -E 's/^([0-9]+):.*VEC-LOOP ([a-z0-9_]+)( x([0-9]+))?.*/\1 \2 \4/')
[ -n "$LOOPS" ] || { echo "no VEC-LOOP markers in $SRC" >&2; exit 1; }

FAILED=()
SUMMARY=()

# Per loop_* function in the binary: instructions, zmm / ymm operands, packed-double ops, calls.
disasm_stats() {
  objdump -d --no-show-raw-insn -C "$1" | awk '
    /^[0-9a-f]+ <.*>:$/ {
      name = $0; sub(/^[0-9a-f]+ </, "", name); sub(/>:$/, "", name)
      cur = ""
      if (name ~ /^loop_/) { cur = name; sub(/\(.*/, "", cur); if (!(cur in ins)) order[++n] = cur }
      next
    }
    cur != "" && /\t/ {
      ins[cur]++
      if ($0 ~ /%zmm/) z[cur]++
      if ($0 ~ /%ymm/) y[cur]++
      if ($0 ~ /(mul|add|sub|div|fmadd[0-9]*|fnmadd[0-9]*)pd /) p[cur]++
      if ($0 ~ /call/) c[cur]++
    }
    END { for (i = 1; i <= n; i++) { k = order[i]; printf "%s %d %d %d %d %d\n", k, ins[k], z[k] + 0, y[k] + 0, p[k] + 0, c[k] + 0 } }'
}

# Every variant is compiled first, JOBS at a time (the compiles are most of the run time); the
# checks below then take them in order. Each compile's output goes to build-<name>.log.
compile_variant() {
  local name=$1 flags=$2
  rm -f "$BUILD_DIR/opt-$name.txt"
  # shellcheck disable=SC2086
  $CXX $BASE_FLAGS $flags -fopt-info-vec-optimized="$BUILD_DIR/opt-$name.txt" "$SRC" -lquadmath \
    -o "$BUILD_DIR/vec_math_test-$name" >"$BUILD_DIR/build-$name.log" 2>&1
  echo $? >"$BUILD_DIR/build-$name.rc"
}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
for v in "${VARIANTS[@]}"; do
  IFS='|' read -r name flags _ <<<"$v"
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  compile_variant "$name" "$flags" &
done
wait

for v in "${VARIANTS[@]}"; do
  IFS='|' read -r name flags needs width mode <<<"$v"
  [ -n "$MODE_ALL" ] && mode=$MODE_ALL
  exe="$BUILD_DIR/vec_math_test-$name"
  opt="$BUILD_DIR/opt-$name.txt"
  echo "=== $name: $CXX $BASE_FLAGS $flags"
  cat "$BUILD_DIR/build-$name.log"
  if [ "$(cat "$BUILD_DIR/build-$name.rc")" != 0 ]; then
    FAILED+=("$name: build failed")
    SUMMARY+=("$name|build failed")
    continue
  fi
  touch "$opt"

  # 1. Vectorization, from GCC's report: every marked loop vectorized with this ISA's width
  #    (a loop marked xN is instantiated N times and each instance must be vectorized).
  vec_ok=1
  vec_note=""
  while read -r line lname inst; do
    inst=${inst:-1}
    if [ "$width" -eq 0 ]; then
      if grep -q "vec_math_test.cpp:$line:[0-9]*: optimized: loop vectorized" "$opt"; then
        vec_ok=0
        vec_note+=" $lname(vectorized!)"
      fi
    else
      n=$(grep -c "vec_math_test.cpp:$line:[0-9]*: optimized: loop vectorized using $width byte vectors" "$opt")
      if [ "$n" -lt "$inst" ]; then
        vec_ok=0
        vec_note+=" $lname(not vectorized with $width-byte vectors)"
      fi
    fi
  done <<<"$LOOPS"

  # 2. The same from the machine code: vector registers of this ISA in each loop_* function, and no
  #    calls at all (no libm, no out-of-line helper).
  asm_lines=()
  while read -r fname nins nz ny np nc; do
    ok=1
    case "$width" in
      64) [ "$nz" -gt 0 ] || ok=0 ;;
      32) { [ "$ny" -gt 0 ] && [ "$nz" -eq 0 ]; } || ok=0 ;;
      16) { [ "$np" -gt 0 ] && [ "$ny" -eq 0 ] && [ "$nz" -eq 0 ]; } || ok=0 ;;
      0) { [ "$np" -eq 0 ] && [ "$ny" -eq 0 ] && [ "$nz" -eq 0 ]; } || ok=0 ;;
    esac
    [ "$nc" -eq 0 ] || ok=0
    [ $ok -eq 1 ] || { vec_ok=0; vec_note+=" $fname(machine code: zmm=$nz ymm=$ny packed-pd=$np calls=$nc)"; }
    asm_lines+=("    $(printf '%-20s %5d insns  zmm %4d  ymm %4d  packed-pd %4d  calls %d' "$fname" "$nins" "$nz" "$ny" "$np" "$nc")")
  done < <(disasm_stats "$exe")
  if [ ${#asm_lines[@]} -eq 0 ]; then
    vec_ok=0
    vec_note+=" (no loop_* functions found by objdump)"
  fi

  if [ "$width" -eq 0 ]; then want="scalar"; else want="$width-byte vectors"; fi
  if [ $vec_ok -eq 1 ]; then
    echo "  vectorization: OK, every loop $want ($(echo "$LOOPS" | wc -l) loops; GCC -fopt-info-vec and objdump agree)"
  else
    echo "  vectorization: FAIL, expected $want:$vec_note"
    FAILED+=("$name: vectorization")
  fi
  printf '%s\n' "${asm_lines[@]}"

  # 3. Accuracy and edges, if this CPU can run the build.
  if ! cpu_has "$needs"; then
    echo "  run: skipped, the CPU lacks one of: $needs"
    SUMMARY+=("$name|not run (CPU lacks $needs)")
    continue
  fi
  log="$BUILD_DIR/run-$name.txt"
  "$exe" ${mode:+"$mode"} >"$log" 2>&1
  rc=$?
  grep -E '^(RESULT|FAIL|INFO)' "$log" | sed 's/^/  /'
  tail -n 1 "$log" | sed 's/^/  /'
  if [ $rc -ne 0 ]; then
    FAILED+=("$name: accuracy/edge checks (exit $rc)")
  fi
  # One summary cell per function: the worst error over its sets.
  SUMMARY+=("$name|$(awk '/^RESULT/ {
      fn = $2; for (i = 3; i <= NF; i++) if ($i ~ /^max_/) { split($i, a, "="); val = a[2]; unit = a[1] }
      sub(/^max_/, "", unit); fn = fn " (" unit ")"
      if (!(fn in best) || val + 0 > best[fn] + 0) { best[fn] = val; u[fn] = unit }
      if (!(fn in seen)) { seen[fn] = 1; order[++n] = fn }
    }
    END { for (i = 1; i <= n; i++) printf "%s %s; ", order[i], best[order[i]] }' "$log")${mode:+ ($mode)}")
done

if [ $BENCH -eq 1 ]; then
  for name in avx512 avx2 sse2 scalar; do
    exe="$BUILD_DIR/vec_math_test-$name"
    [ -x "$exe" ] || continue
    case "$name" in avx512) needs="avx512f avx512dq avx512vl avx2 fma" ;; avx2) needs="avx2 fma" ;; *) needs="" ;; esac
    cpu_has "$needs" || continue
    echo "=== benchmark $name (1e7 doubles, best of 9, one thread)"
    "$exe" --bench | sed 's/^/  /'
  done
fi

# native/simd/fast_math.hpp and fast_math_f32.hpp (the kernels' lean float64 and float32 functions on
# their narrow domains), built as the AVX-512 kernels are (pragma + FOCAL_VEC_FMA) when the CPU has
# it, and as the scalar baseline (no FMA: the scalar build's rounding).
for name in fast_math fast_math_f32; do
  for variant in baseline avx512; do
    flags=""
    if [ "$variant" = avx512 ]; then
      cpu_has "avx512f avx512dq avx512vl avx2 fma" || continue
      flags="-mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -DFOCAL_VEC_FMA=1"
    fi
    exe="$BUILD_DIR/${name}_test-$variant"
    echo "=== $name ($variant)"
    # shellcheck disable=SC2086
    if "$CXX" -O3 -std=c++17 -fno-math-errno -fno-trapping-math $flags "native/test/${name}_test.cpp" -o "$exe" -lquadmath &&
      "$exe" | sed 's/^/  /' && "$exe" >/dev/null; then
      SUMMARY+=("$name $variant|ok")
    else
      FAILED+=("$name $variant")
    fi
  done
done

# native/reduce/reproducible_sum.hpp (the order-free sum of the kernels' losses): the same state bits in
# any order, chunking, merge tree and lane count, and known sums at the ends of the range; built as the
# baseline kernels are, and with AVX2+FMA and AVX-512 where the CPU has them (contraction must not
# change a bit).
for variant in baseline avx2 avx512; do
  flags=""
  case "$variant" in
    avx2) cpu_has "avx2 fma" || continue; flags="-mavx2 -mfma" ;;
    avx512) cpu_has "avx512f avx512dq avx512vl avx2 fma" || continue; flags="-mavx512f -mavx512dq -mavx512vl -mavx2 -mfma" ;;
  esac
  exe="$BUILD_DIR/reproducible_sum_test-$variant"
  echo "=== reproducible_sum ($variant)"
  # shellcheck disable=SC2086
  if "$CXX" $BASE_FLAGS -fopenmp-simd $flags native/test/reproducible_sum_test.cpp -o "$exe" && "$exe" | sed 's/^/  /' &&
    "$exe" >/dev/null; then
    SUMMARY+=("reproducible_sum $variant|ok")
  else
    FAILED+=("reproducible_sum $variant")
  fi
done

echo
echo "=== summary (max error per function over all its sample sets)"
for s in "${SUMMARY[@]}"; do
  printf '  %-18s %s\n' "${s%%|*}" "${s#*|}"
done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "FAILED:"
  printf '  %s\n' "${FAILED[@]}"
  exit 1
fi
echo "test-vec-math: all variants passed"
