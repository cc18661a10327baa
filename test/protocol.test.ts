// The plan protocol is written once (native/protocol.json) and generated into the TypeScript
// (lib/backends/protocol.ts) and the C++ (native/binding/plan_protocol.hpp, native/kernels/protocol.hpp).
// These tests tie the generated files to the JSON, and the compiled addon to the generated files:
// the loader hands the addon exactly the listed keys' values, in the listed order, each read once;
// the addon takes exactly that many arguments, and a missing value is an error naming its key; an
// extra key is never read; the label arrays accepted are exactly the listed ones.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KERNELS_HPP_OUT,
  PLAN_HPP_OUT,
  PROTOCOL_JSON,
  ROOT,
  TS_OUT,
  readProtocol,
  staleFiles,
} from '../scripts/generate-protocol.mjs';
import { loadNative, nativeKernels, readResult } from '../lib/backends/native/loader.js';
import {
  ERROR_KINDS,
  LABEL_ARRAYS,
  MAX_BLOCKS,
  MIN_BLOCK_WORK,
  PLAN_VERSION,
  RESULT_LENGTH,
  RESULT_SLOTS,
  SIGMOID_PLAN_KEYS,
  SOFTMAX_PLAN_KEYS,
} from '../lib/backends/protocol.js';
import { isIntegerArray } from '../lib/facade/validate.js';
import { planExports, sigmoidPlan, softmaxPlan } from './fixtures/plans.mjs';

const protocol = readProtocol();
const native = loadNative();
const addon = native.addon;

describe('the generated files', () => {
  it('match native/protocol.json (`node scripts/generate-protocol.mjs --check` exits 0)', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'generate-protocol.mjs'), '--check'], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('are found stale when the JSON changes (a copy of the inputs in a scratch folder)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'focal-protocol-'));
    try {
      for (const file of [PROTOCOL_JSON, TS_OUT, PLAN_HPP_OUT, KERNELS_HPP_OUT, '.prettierrc.json', '.clang-format']) {
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        copyFileSync(join(ROOT, file), join(dir, file));
      }
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
      expect(await staleFiles(dir)).toEqual([]);
      const json = JSON.parse(readFileSync(join(dir, PROTOCOL_JSON), 'utf8'));
      json.blocks.minBlockWork.value *= 2;
      writeFileSync(join(dir, PROTOCOL_JSON), JSON.stringify(json));
      // The block constants live in the TS module and the kernels' header, not the binding's.
      expect(await staleFiles(dir)).toEqual([TS_OUT, KERNELS_HPP_OUT]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('give the TypeScript the JSON values', () => {
    expect(PLAN_VERSION).toBe(protocol.planVersion);
    expect(MAX_BLOCKS).toBe(protocol.blocks.maxBlocks.value);
    expect(MIN_BLOCK_WORK).toBe(protocol.blocks.minBlockWork.value);
    expect(SIGMOID_PLAN_KEYS).toEqual(protocol.plans.sigmoid.map((f) => f.name));
    expect(SOFTMAX_PLAN_KEYS).toEqual(protocol.plans.softmax.map((f) => f.name));
    expect(Object.keys(LABEL_ARRAYS)).toEqual(protocol.labelTypes.flatMap((t) => t.arrays));
    expect(Object.keys(RESULT_SLOTS)).toEqual(protocol.result.slots);
    expect(Object.values(RESULT_SLOTS)).toEqual(protocol.result.slots.map((_, i) => i));
    expect(ERROR_KINDS).toEqual(protocol.result.errorKinds.kinds);
  });

  it('the fixture plans have exactly the protocol keys', () => {
    expect(Object.keys(sigmoidPlan(1)).sort()).toEqual([...SIGMOID_PLAN_KEYS].sort());
    expect(Object.keys(softmaxPlan(1, 2)).sort()).toEqual([...SOFTMAX_PLAN_KEYS].sort());
  });
});

/** Every typed array constructor of the language, by name. */
const ALL_TYPED_ARRAYS = protocol.typedArrays.map(
  (a) => [a.name, (globalThis as unknown as Record<string, new (n: number) => ArrayBufferView>)[a.name]!] as const,
);

describe('the label arrays', () => {
  it('the facade takes exactly the listed ones as integer labels', () => {
    for (const [name, Ctor] of ALL_TYPED_ARRAYS) {
      expect(isIntegerArray(new Ctor(2)), name).toBe(name in LABEL_ARRAYS);
    }
  });
});

type Call = (plan: object) => { sum: number; count: number };

/** The result or the error message of a call. */
function outcome(call: Call, plan: object): unknown {
  try {
    return call(plan);
  } catch (error) {
    return error instanceof TypeError ? `TypeError: ${error.message}` : error;
  }
}

describe.skipIf(!addon)("native: the plan goes to the addon as the generated keys' values, in order", () => {
  // The loader's kernels (what the facade calls) and the addon's exports taking plan objects the
  // same way (test/fixtures/plans.mjs), for hand-made plans.
  const kernels = addon && nativeKernels(addon, native.info!);
  const exports = addon && planExports(addon);
  const kinds = [
    {
      kind: 'sigmoid',
      keys: SIGMOID_PLAN_KEYS,
      plan: () => sigmoidPlan(3),
      kernel: (p: object) => kernels!.sigmoid(p as never),
      call: (p: object) => exports!.sigmoid(p as never),
      raw: addon?.sigmoid as unknown as (...args: unknown[]) => unknown,
    },
    {
      kind: 'softmax',
      keys: SOFTMAX_PLAN_KEYS,
      plan: () => softmaxPlan(3, 2),
      kernel: (p: object) => kernels!.softmax(p as never),
      call: (p: object) => exports!.softmax(p as never),
      raw: addon?.softmax as unknown as (...args: unknown[]) => unknown,
    },
  ] as const;

  it("the addon's planVersion is the generated one", () => {
    expect(addon!.info().planVersion).toBe(PLAN_VERSION);
  });

  for (const { kind, keys, plan, kernel, call, raw } of kinds) {
    it(`${kind}: the loader reads every key once, in the listed order, and nothing else`, () => {
      const read: PropertyKey[] = [];
      const proxy = new Proxy(
        { ...plan(), extra: 1 },
        {
          get(target, key, receiver) {
            read.push(key);
            return Reflect.get(target, key, receiver) as unknown;
          },
        },
      );
      expect(kernel(proxy).count).toBeGreaterThan(0);
      expect(read).toEqual([...keys]);
    });

    it(`${kind}: the addon takes exactly one argument per key, then the result array it writes`, () => {
      const values = plan() as unknown as Record<string, unknown>;
      const args = keys.map((key) => values[key]);
      const slots = new Float64Array(RESULT_LENGTH).fill(NaN);
      expect(raw(...args, slots)).toBeUndefined();
      expect(readResult(slots)).toEqual(kernel(plan()));
      expect(slots[RESULT_SLOTS.count]).toBe(3);
      const arity = new RegExp(
        `^focal-loss \\(native\\): expected the ${keys.length} values of a ${kind} plan and a result array`,
      );
      for (const wrong of [[], [plan()], args, [...args, slots, slots]]) {
        expect(() => raw(...wrong), `${wrong.length} arguments`).toThrow(arity);
      }
      for (const result of [
        new Float64Array(RESULT_LENGTH - 1),
        new Float32Array(RESULT_LENGTH),
        [0, 0, 0, 0, 0],
        null,
      ]) {
        expect(() => raw(...args, result), String(result)).toThrow(
          /^focal-loss \(native\): result must be a Float64Array/,
        );
      }
    });

    it(`${kind}: a bad element is reported in the result array (kind, index, value)`, () => {
      const bad = plan() as unknown as Record<string, unknown>;
      const targets = keys.includes('labels' as never) ? 'labels' : 'targets';
      (bad[targets] as Int32Array | Uint8Array)[1] = 7;
      const slots = new Float64Array(RESULT_LENGTH);
      raw(...keys.map((key) => bad[key]), slots);
      const r = readResult(slots);
      expect(r.error).toEqual({ kind: targets === 'labels' ? 'label' : 'target', index: 1, value: 7 });
      expect(slots[RESULT_SLOTS.errorKind]).toBe(ERROR_KINDS.indexOf(r.error!.kind) + 1);
    });

    it(`${kind}: a missing value is a TypeError naming its key (or, for a nullable one, the same as null)`, () => {
      for (const field of protocol.plans[kind]) {
        const missing = { ...plan() } as Record<string, unknown>;
        delete missing[field.name];
        const got = outcome(call, missing);
        const named = typeof got === 'string' && got.includes(`plan.${field.name}`);
        if (field.nullable) {
          if (!named) expect(got, field.name).toEqual(outcome(call, { ...plan(), [field.name]: null }));
        } else {
          expect(got, field.name).toMatch(new RegExp(`^TypeError: .*plan\\.${field.name}\\b.*received undefined`));
        }
      }
    });

    it(`${kind}: an extra key is ignored by the loader (its getter never runs)`, () => {
      const extra = Object.defineProperty(plan(), 'clip', {
        get() {
          throw new Error('read');
        },
        enumerable: true,
      });
      expect(kernel(extra)).toEqual(kernel(plan()));
    });
  }

  it('labels: exactly the listed arrays, and the message gives their widths', () => {
    const want = exports!.softmax(softmaxPlan(3, 2));
    for (const [name, Ctor] of ALL_TYPED_ARRAYS) {
      const p = softmaxPlan(3, 2, { labels: new Ctor(3) as never });
      if (name in LABEL_ARRAYS) {
        expect(exports!.softmax(p), name).toEqual(want);
        expect(exports!.sigmoid(sigmoidPlan(3, { targets: new Ctor(3) as never })), name).toEqual(
          exports!.sigmoid(sigmoidPlan(3)),
        );
      } else {
        expect(() => exports!.softmax(p), name).toThrow(
          /^focal-loss \(native\): plan\.labels must be an integer typed array \(8, 16 or 32 bits\)/,
        );
      }
    }
  });
});
