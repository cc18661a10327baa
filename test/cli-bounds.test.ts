/**
 * `focal-loss eval` on tiny .npy files whose headers claim absurd shapes: every allocation is bounded
 * by what the files hold, an absurd class count is one error line and exit code 2, and an empty batch
 * (N = 0, or any dimension 0) is an empty report. Before the bounds, a 128-byte file of shape
 * (0, 100000000) ran for 47 s, grew to 4.5 GB and died of V8's heap limit, and (0, 2^53 - 1) printed
 * "unexpected error". The files are a few bytes each, so the whole suite takes seconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npyHeader } from './npy-writer.js';
import { mulberry32 as rng } from './helpers.js';
import { cliPath, expectOneLineError, root, runCli, type CliRun } from './cli-run.js';

const evalModule = pathToFileURL(join(root, 'dist', 'cli', 'eval.js')).href;
const errorsModule = pathToFileURL(join(root, 'dist', 'cli', 'errors.js')).href;
const reportModule = pathToFileURL(join(root, 'dist', 'cli', 'report.js')).href;
let dir = '';

beforeAll(() => {
  // test/cli.test.ts compiles a stale dist/; `npm test` builds it first.
  expect(existsSync(cliPath)).toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'focal-loss-cli-bounds-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const MAX_CLASSES = 2 ** 18;
/** Far below what the unbounded allocations took: a run that allocates by the header dies here. */
const HEAP_MB = 256;

/** A .npy file with a header claiming `shape` (a Python literal, so any text) and `data` bytes after it. */
function npy(name: string, descr: string, shape: string, data: number | Buffer = 0, fortran = 'False'): string {
  const dict = `{'descr': ${descr.startsWith('[') ? descr : `'${descr}'`}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const bytes = typeof data === 'number' ? Buffer.alloc(data) : data;
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([npyHeader('', [], { dict }), bytes]));
  return path;
}

function cli(args: string[], heapMB = HEAP_MB): CliRun {
  // maxBuffer: the JSON report of MAX_CLASSES classes is ~50 MB.
  return runCli(args, {
    cwd: dir,
    nodeArgs: [`--max-old-space-size=${heapMB}`],
    timeout: 30_000,
    maxBuffer: 256 << 20,
  });
}

describe('focal-loss eval: shapes beyond what the file holds', () => {
  it('(0, 100000000): one line, exit 2, at once (was 47 s, 4.5 GB and a V8 abort)', () => {
    npy('wide-z.npy', '<f4', '(0, 100000000)');
    npy('wide-y.npy', '<i8', '(0,)');
    const r = cli(['eval', '--logits', 'wide-z.npy', '--labels', 'wide-y.npy']);
    expectOneLineError(
      r,
      /wide-z\.npy: shape \(0, 100000000\) has 100000000 classes \(axis 1\); eval reports at most 262144/,
    );
    expect(r.ms).toBeLessThan(10_000);
  });

  it('(0, 2^53 - 1): the same (was "unexpected error")', () => {
    npy('huge-z.npy', '<f4', `(0, ${2 ** 53 - 1})`);
    npy('huge-y.npy', '<i8', '(0,)');
    const r = cli(['eval', '--logits', 'huge-z.npy', '--labels', 'huge-y.npy', '--json']);
    expectOneLineError(r, /huge-z\.npy: shape \(0, 9007199254740991\) has 9007199254740991 classes/);
  });

  it(`${MAX_CLASSES + 1} classes are refused for sigmoid columns too; 0 classes for softmax`, () => {
    npy('s-z.npy', '<f4', `(0, ${MAX_CLASSES + 1})`);
    npy('s-t.npy', '<f4', `(0, ${MAX_CLASSES + 1})`);
    expectOneLineError(cli(['eval', '--logits', 's-z.npy', '--labels', 's-t.npy']), /has 262145 classes \(axis 1\)/);
    npy('c0-z.npy', '<f4', '(5, 0)');
    npy('c0-y.npy', '<i4', '(5,)', 20);
    expectOneLineError(
      cli(['eval', '--logits', 'c0-z.npy', '--labels', 'c0-y.npy']),
      /c0-z\.npy: shape \(5, 0\) has no classes \(axis 1 is 0\); softmax needs at least 1/,
    );
  });

  it('a data size that overflows float64 arithmetic is still told exactly', () => {
    npy('big-z.npy', '<f8', `(${2 ** 26}, ${2 ** 26}, 3)`, 8);
    npy('big-y.npy', '<i8', `(${2 ** 26}, 3)`, 8);
    expectOneLineError(
      cli(['eval', '--logits', 'big-z.npy', '--labels', 'big-y.npy']),
      /big-z\.npy: shape \(67108864, 67108864, 3\) has more than 2\^53 - 1 elements$/,
    );
    // 2^50 * 3 elements of 8 bytes: more bytes than 2^53, told exactly.
    npy('round-z.npy', '<f8', `(${2 ** 50}, 3)`, 8);
    npy('round-y.npy', '<i8', `(${2 ** 50},)`, 8);
    expectOneLineError(
      cli(['eval', '--logits', 'round-z.npy', '--labels', 'round-y.npy']),
      /round-z\.npy: truncated: shape \(1125899906842624, 3\) needs 27021597764222976 bytes of data, the file has 8/,
    );
  });
});

describe('focal-loss eval: an empty batch is an empty report (exit 0)', () => {
  function expectEmpty(
    logits: [string, string],
    labels: [string, string],
    classes: number,
    unit: string,
    heapMB = HEAP_MB,
  ) {
    npy('e-z.npy', logits[0], logits[1]);
    npy('e-y.npy', labels[0], labels[1]);
    const json = cli(['eval', '--logits', 'e-z.npy', '--labels', 'e-y.npy', '--json'], heapMB);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ count: 0, sum: 0, focalLoss: 0, crossEntropy: 0 });
    expect(report.classes).toHaveLength(classes);
    for (const k of report.classes) {
      expect(k).toMatchObject({ count: 0, meanLoss: null, meanCrossEntropy: null, share: null });
    }
    const text = cli(['eval', '--logits', 'e-z.npy', '--labels', 'e-y.npy'], heapMB);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`\n0 ${unit}\n`);
    expect(text.stdout).toMatch(/mean focal loss\s+0\n/);
    expect(text.stdout).toMatch(/mean cross-entropy\s+0 /);
  }

  it('softmax (0, 3) with labels (0,)', () => expectEmpty(['<f4', '(0, 3)'], ['<i8', '(0,)'], 3, 'samples'));
  it('sigmoid (0,)', () => expectEmpty(['<f8', '(0,)'], ['|u1', '(0,)'], 0, 'elements'));
  it('sigmoid (0, 4): four empty columns', () => expectEmpty(['<f8', '(0, 4)'], ['|u1', '(0, 4)'], 4, 'elements'));
  it('sigmoid (2^53 - 1, 0): rows without elements are not read one chunk at a time', () =>
    expectEmpty(['<f4', `(${2 ** 53 - 1}, 0)`], ['<f4', `(${2 ** 53 - 1}, 0)`], 0, 'elements'));
  it('softmax (0, 3, 2^53 - 1, 2^53 - 1): spatial dimensions no buffer could hold', () =>
    expectEmpty(
      ['<f4', `(0, 3, ${2 ** 53 - 1}, ${2 ** 53 - 1})`],
      ['<i4', `(0, ${2 ** 53 - 1}, ${2 ** 53 - 1})`],
      3,
      'samples',
    ));
  // The text table of that many rows once overflowed the call stack (Math.max(...rows)).
  it(`softmax (0, ${MAX_CLASSES}): the largest class count, in text and JSON`, () =>
    expectEmpty(['<f4', `(0, ${MAX_CLASSES})`], ['<i8', '(0,)'], MAX_CLASSES, 'samples', 512));
});

describe('focal-loss eval: random headers (one child process, evaluate() as main.ts calls it)', () => {
  it('exit code 0 or 2 with a one-line message, never a crash, within bounded time and heap', () => {
    const random = rng(2027);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const dims = [
      '0',
      '1',
      '2',
      '3',
      '7',
      '100000000',
      `${2 ** 31 - 1}`,
      `${2 ** 31}`,
      `${2 ** 32}`,
      `${2 ** 53 - 1}`,
      `${2 ** 53}`,
      '18446744073709551616',
      '-1',
      '-0',
      '3L',
      '+2',
      '1.5',
      'None',
      "'3'",
    ];
    const descrs = [
      '<f4',
      '<f8',
      '|u1',
      '|i1',
      '<i2',
      '<u4',
      '<i8',
      '<u8',
      '|b1',
      '>f4',
      '<f2',
      '<U1',
      'f4',
      '=f8',
      '<f16',
      '<c8',
      "[('a', '<f4')]",
      '|O',
    ];
    const itemsize = (descr: string) => Number(/\d+/.exec(descr)?.[0] ?? 4) || 4;
    const tuple = (d: string[]) => (d.length === 1 ? `(${d[0]},)` : `(${d.join(', ')})`);
    const cases: { logits: string; labels: string; args: string[] }[] = [];
    for (let i = 0; i < 300; i++) {
      const rank = Math.floor(random() * 5);
      // Mostly small dimensions and matching files, so that many cases reach the evaluation and not
      // only the header checks.
      const dim = () => (random() < 0.7 ? String(Math.floor(random() * 4)) : pick(dims));
      const L = Array.from({ length: rank }, dim);
      const u = random();
      const T = u < 0.45 ? L : u < 0.8 && L.length >= 2 ? [L[0]!, ...L.slice(2)] : L.map(dim);
      const files = [
        [random() < 0.7 ? pick(['<f4', '<f8']) : pick(descrs), L],
        [random() < 0.7 ? pick(['<f4', '|u1', '<i8', '<i4']) : pick(descrs), T],
      ] as const;
      const paths = files.map(([descr, d], j) => {
        const n = d.reduce((a, x) => a * (Number(x.replace('L', '')) || 0), 1);
        const exact = Number.isSafeInteger(n) && n >= 0 && n * itemsize(descr) <= 4096;
        const bytes = exact && random() < 0.85 ? n * itemsize(descr) : Math.floor(random() * 64);
        // Logits in [-4, 4]; labels all 0 bytes, valid as a class, a 0/1 label or a target.
        const data = Buffer.alloc(bytes);
        if (j === 0) for (let b = 0; b + 4 <= bytes; b += 4) data.writeFloatLE(random() * 8 - 4, b);
        const fortran = random() < 0.1 ? 'True' : random() < 0.05 ? '1' : 'False';
        return npy(`f${i}-${j}.npy`, descr, tuple(d), data, fortran);
      });
      const args = pick([[], ['--softmax'], ['--sigmoid'], ['--gamma', '0'], ['--chunk-rows', '1']]);
      cases.push({ logits: paths[0]!, labels: paths[1]!, args });
    }
    const script = `
      import { evaluate } from ${JSON.stringify(evalModule)};
      import { renderReport } from ${JSON.stringify(reportModule)};
      import { CliError } from ${JSON.stringify(errorsModule)};
      const cases = JSON.parse(process.argv[1]);
      const results = [];
      for (const c of cases) {
        const started = performance.now();
        const mode = c.args[0] === '--softmax' ? 'softmax' : c.args[0] === '--sigmoid' ? 'sigmoid' : undefined;
        const options = { logits: c.logits, labels: c.labels, mode, progress: false };
        if (c.args[0] === '--gamma') options.gamma = 0;
        if (c.args[0] === '--chunk-rows') options.chunkRows = 1;
        let code = 0, message = '';
        try {
          const { report, state } = evaluate(options);
          renderReport(report);
          JSON.stringify(state);
          JSON.stringify(report);
        } catch (error) {
          code = error instanceof CliError ? error.exitCode : 1;
          message = error instanceof CliError ? error.message : String(error?.stack ?? error);
        }
        results.push({ ...c, code, message, ms: performance.now() - started });
      }
      process.stdout.write(JSON.stringify(results));`;
    const r = spawnSync(
      process.execPath,
      [`--max-old-space-size=${HEAP_MB}`, '--input-type=module', '-e', script, JSON.stringify(cases)],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, FOCAL_LOSS_DEBUG: '' } },
    );
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as ((typeof cases)[number] & { code: number; message: string; ms: number })[];
    expect(results).toHaveLength(cases.length);
    let reports = 0;
    for (const result of results) {
      const what = `${result.logits} ${result.labels} ${result.args.join(' ')}: ${result.message}`;
      expect([0, 2], what).toContain(result.code);
      if (result.code === 2) expect(result.message, what).toMatch(/^[^\n]+$/);
      expect(result.ms, what).toBeLessThan(5_000);
      if (result.code === 0) reports++;
    }
    // The generator must reach the evaluation, not only the header checks.
    expect(reports).toBeGreaterThan(30);
  }, 90_000);
});
