#!/usr/bin/env node
// Proves from the built addon that code above baseline x86-64 (SSE2) lives only in the per-ISA
// kernels, the functions in namespaces focal::avx2 and focal::avx512 (native/simd/simd_avx2.cpp,
// native/simd/simd_avx512.cpp), which run only after the dispatch (native/simd/simd_dispatch.cpp) has checked
// the CPU. Everything else (binding, plan reader, jobs, scalar kernels, dispatch, and any inline
// function or template the linker kept one copy of) must run on any x86-64 CPU: one AVX instruction
// there is a SIGILL on an older machine, which a CI machine with AVX-512 never shows.
//
//   node scripts/check-isa.mjs [addon.node]     (default build/Release/focal_loss.node)
//
// Reads `objdump -d` (binutils), attributes each instruction to the symbol it follows, and exits 1
// listing every function outside the per-ISA namespaces that uses a ymm/zmm/mask register, a VEX or
// EVEX encoding (AVX, AVX2, FMA, F16C, AVX-512), or an instruction of SSE3..SSE4.2, POPCNT, LZCNT,
// BMI1/BMI2, MOVBE or ADX. It also fails when the per-ISA functions are missing or show no AVX
// code (a stripped binary, or a build without the x86 SIMD files, proves nothing). On a non-x86-64
// addon there is nothing to check (NEON is part of arm64's baseline): it says so and exits 0.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// Itanium-mangled names of functions in focal::avx2 / focal::avx512, at any depth below them
// (templates, the unnamed namespace, local lambdas `_ZZN...`, const members `_ZNK...`, and GCC's
// `.cold` / `.part.N` / `.constprop.N` pieces, which keep the name as a prefix).
const PER_ISA = /^_ZZ?N[rVKRO]*5focal(?:4avx2|6avx512)/;

// Instructions beyond SSE2 that carry no VEX/EVEX prefix (the `v` mnemonics are caught apart).
const BEYOND_SSE2 = new Set(
  [
    // SSE3
    'addsubpd addsubps haddpd haddps hsubpd hsubps lddqu movddup movshdup movsldup fisttp fisttps fisttpl fisttpll',
    'monitor mwait',
    // SSSE3
    'pabsb pabsw pabsd palignr phaddw phaddd phaddsw phsubw phsubd phsubsw pmaddubsw pmulhrsw pshufb psignb psignw psignd',
    // SSE4.1
    'blendpd blendps blendvpd blendvps dppd dpps extractps insertps movntdqa mpsadbw packusdw pblendvb pblendw pcmpeqq',
    'pextrb pextrd pextrq phminposuw pinsrb pinsrd pinsrq pmaxsb pmaxsd pmaxud pmaxuw pminsb pminsd pminud pminuw',
    'pmovsxbw pmovsxbd pmovsxbq pmovsxwd pmovsxwq pmovsxdq pmovzxbw pmovzxbd pmovzxbq pmovzxwd pmovzxwq pmovzxdq',
    'pmuldq pmulld ptest roundpd roundps roundsd roundss',
    // SSE4.2, POPCNT, LZCNT
    'crc32 crc32b crc32w crc32l crc32q pcmpestri pcmpestrm pcmpistri pcmpistrm pcmpgtq popcnt lzcnt',
    // BMI1, BMI2 (tzcnt: F3 0F BC; GCC's `rep bsf` for a nonzero ctz decodes the same, so a hit
    // here is read by hand), MOVBE, ADX
    'andn bextr blsi blsmsk blsr tzcnt bzhi mulx pdep pext rorx sarx shlx shrx movbe adcx adox',
  ]
    .join(' ')
    .split(' ')
    // AT&T syntax appends an operand-size suffix (popcntq, lzcntl, andnq, ...).
    .flatMap((m) => [m, `${m}b`, `${m}w`, `${m}l`, `${m}q`]),
);

const WIDE_REGISTER = /%(?:ymm\d+|zmm\d+|k[0-7])\b/;
// verr/verw are 286 protected-mode instructions, not VEX.
const VEX_MNEMONIC = /^v(?!err|erw)[a-z0-9]+$/;
const PREFIXES = new Set(['lock', 'rep', 'repz', 'repe', 'repnz', 'repne', 'notrack', 'bnd', 'data16', 'addr32']);

/** Why an instruction is beyond baseline x86-64, or null. `text` is objdump's mnemonic + operands. */
export function beyondBaseline(text) {
  const words = text.trim().split(/\s+/);
  while (words.length > 1 && PREFIXES.has(words[0])) words.shift();
  const mnemonic = words[0] ?? '';
  const operands = words.slice(1).join(' ').replace(/#.*/, '');
  if (WIDE_REGISTER.test(operands)) return 'ymm/zmm/mask register';
  if (VEX_MNEMONIC.test(mnemonic)) return 'VEX/EVEX encoding';
  if (BEYOND_SSE2.has(mnemonic)) return 'beyond SSE2';
  return null;
}

/**
 * Parses `objdump -d --no-show-raw-insn` output into functions: [{ name, instructions: [{ addr, text }] }].
 */
export function parseObjdump(text) {
  const functions = [];
  let current = null;
  for (const line of text.split('\n')) {
    const label = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (label) {
      current = { name: label[1], instructions: [] };
      functions.push(current);
      continue;
    }
    const insn = /^\s+([0-9a-f]+):\s+(\S.*)$/.exec(line);
    if (insn && current) current.instructions.push({ addr: insn[1], text: insn[2] });
  }
  return functions;
}

/** The verdict on a disassembly: offenders outside the per-ISA code, and what the per-ISA code showed. */
export function checkDisassembly(text) {
  const offenders = [];
  const perIsa = { avx2: { functions: 0, wide: 0 }, avx512: { functions: 0, zmm: 0 } };
  for (const fn of parseObjdump(text)) {
    if (PER_ISA.test(fn.name)) {
      const isa = fn.name.includes('6avx512') ? 'avx512' : 'avx2';
      perIsa[isa].functions++;
      for (const { text: t } of fn.instructions) {
        if (isa === 'avx2' && /%ymm\d/.test(t)) perIsa.avx2.wide++;
        if (isa === 'avx512' && /%zmm\d/.test(t)) perIsa.avx512.zmm++;
      }
      continue;
    }
    const hits = [];
    for (const { addr, text: t } of fn.instructions) {
      const why = beyondBaseline(t);
      if (why) hits.push({ addr, text: t, why });
    }
    if (hits.length > 0) offenders.push({ name: fn.name, hits });
  }
  return { offenders, perIsa };
}

function demangle(names) {
  if (names.length === 0) return [];
  try {
    const out = execFileSync('c++filt', { input: names.join('\n'), encoding: 'utf8' });
    return out.split('\n').slice(0, names.length);
  } catch {
    return names;
  }
}

function main() {
  const addon = resolve(process.argv[2] ?? resolve(ROOT, 'build/Release/focal_loss.node'));
  if (!existsSync(addon)) {
    console.error(`check-isa: ${addon} does not exist (run npm run build:native first)`);
    process.exit(2);
  }
  const header = execFileSync('objdump', ['-f', addon], { encoding: 'utf8' });
  if (!/architecture: i386:x86-64/.test(header)) {
    console.log(`check-isa: ${addon} is not x86-64; nothing to check (the per-ISA split is x86's)`);
    return;
  }
  const disassembly = execFileSync('objdump', ['-d', '--no-show-raw-insn', addon], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  const { offenders, perIsa } = checkDisassembly(disassembly);
  const problems = [];
  if (perIsa.avx2.functions === 0 || perIsa.avx512.functions === 0) {
    problems.push('no focal::avx2 / focal::avx512 function symbols found (stripped binary, or built without them?)');
  } else {
    if (perIsa.avx2.wide === 0) problems.push('the focal::avx2 functions use no ymm register: not compiled for AVX2?');
    if (perIsa.avx512.zmm === 0) problems.push('the focal::avx512 functions use no zmm register: not for AVX-512?');
  }
  const names = demangle(offenders.map((o) => o.name));
  offenders.forEach((o, i) => {
    problems.push(
      `${names[i]}: ${o.hits.length} instruction(s) beyond baseline x86-64 outside the per-ISA code, e.g.\n` +
        o.hits
          .slice(0, 3)
          .map((h) => `    ${h.addr}: ${h.text}  (${h.why})`)
          .join('\n'),
    );
  });
  if (problems.length > 0) {
    console.error(`check-isa: FAILED for ${addon}`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(
    `check-isa: ok: ${addon}: AVX code only in focal::avx2 (${perIsa.avx2.functions} functions) and ` +
      `focal::avx512 (${perIsa.avx512.functions} functions); the rest is baseline x86-64`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
