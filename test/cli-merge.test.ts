/**
 * `focal-loss eval --state` and `focal-loss merge`, run as child processes on the backend this
 * process has (FOCAL_LOSS_BACKEND is inherited): an eval of a file equals, to the byte, the merge
 * of the evals of its row-halves (but for the header: the files read, the shards), and a state
 * file is untrusted input whose faults are one line naming the file and the property.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sigmoidFocalLossMeter, softmaxFocalLossMeter } from '../lib/index.js';
import { mulberry32 } from './helpers.js';
import { writeNpy } from './npy-writer.js';
import { expectOneLineError, runCli, type CliRun } from './cli-run.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'focal-loss-merge-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[]): CliRun => runCli(args, { cwd: dir });
const at = (name: string) => join(dir, name);

function ok(args: string[]): string {
  const r = cli(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The keys of a report that say where its data came from: the rest must be the same. */
const SOURCE_KEYS = ['logits', 'labels', 'backend', 'states', 'shards'];
function withoutSource(json: string): string {
  const report = JSON.parse(json) as Record<string, unknown>;
  for (const key of SOURCE_KEYS) delete report[key];
  return JSON.stringify(report, null, 2);
}
/** A text report without its two header lines (what was read; the shards). */
const body = (text: string) => text.split('\n').slice(2).join('\n');

interface Data {
  name: string;
  logits: { descr: string; shape: number[]; data: Float32Array | Float64Array };
  labels: { descr: string; shape: number[]; data: ArrayBufferView };
  args: string[];
}

function datasets(): Data[] {
  const rng = mulberry32(13);
  const logits = (n: number, f32: boolean) => {
    const values = Array.from({ length: n }, () => (rng() - 0.5) * 10);
    return f32 ? Float32Array.from(values) : Float64Array.from(values);
  };
  const [N, C, H] = [101, 4, 3];
  return [
    {
      name: 'softmax [N, C] labels, ignore index',
      logits: { descr: '<f4', shape: [N, C], data: logits(N * C, true) },
      labels: {
        descr: '<i8',
        shape: [N],
        data: BigInt64Array.from({ length: N }, (_, i) => BigInt(i % 9 === 4 ? -100 : Math.floor(rng() * C))),
      },
      args: ['--gamma', '1.5', '--alpha', '0.1,0.2,0.3,0.4'],
    },
    {
      name: 'softmax [N, C, H] labels [N, H]',
      logits: { descr: '<f8', shape: [N, C, H], data: logits(N * C * H, false) },
      labels: { descr: '|u1', shape: [N, H], data: Uint8Array.from({ length: N * H }, () => Math.floor(rng() * C)) },
      args: [],
    },
    {
      name: 'sigmoid [N, C, H] per column, ignore index',
      logits: { descr: '<f4', shape: [N, C, H], data: logits(N * C * H, true) },
      labels: {
        descr: '|i1',
        shape: [N, C, H],
        data: Int8Array.from({ length: N * C * H }, () => {
          const r = rng();
          return r < 0.1 ? -1 : r < 0.35 ? 1 : 0;
        }),
      },
      args: ['--ignore-index', '-1', '--alpha', 'none'],
    },
    {
      name: 'sigmoid [N] soft targets',
      logits: { descr: '<f8', shape: [N], data: logits(N, false) },
      labels: { descr: '<f8', shape: [N], data: Float64Array.from({ length: N }, () => rng()) },
      args: [],
    },
    {
      name: 'softmax soft targets',
      logits: { descr: '<f4', shape: [N, C], data: logits(N * C, true) },
      labels: { descr: '<f4', shape: [N, C], data: Float32Array.from({ length: N * C }, () => rng() / C) },
      args: ['--softmax'],
    },
  ];
}

/** Rows [begin, end) of an array laid out [N, ...]. */
function rows<T extends ArrayBufferView>(a: T, shape: number[], begin: number, end: number): T {
  const per = shape.slice(1).reduce((x, d) => x * d, 1);
  return (a as unknown as { slice(b: number, e: number): T }).slice(begin * per, end * per);
}

describe.each(datasets().map((d, i) => ({ ...d, i })))('eval --state, merge: $name', (d) => {
  it('an eval of the file is the merge of the evals of its row-halves; --chunk-rows changes nothing', () => {
    const p = (s: string) => `d${d.i}-${s}.npy`;
    const N = d.logits.shape[0]!;
    const half = 40;
    const parts = [
      ['all', 0, N],
      ['a', 0, half],
      ['b', half, N],
    ] as const;
    for (const [part, begin, end] of parts) {
      const zs = [end - begin, ...d.logits.shape.slice(1)];
      const ts = [end - begin, ...d.labels.shape.slice(1)];
      writeNpy(at(p(`z-${part}`)), d.logits.descr, zs, rows(d.logits.data, d.logits.shape, begin, end));
      writeNpy(at(p(`t-${part}`)), d.labels.descr, ts, rows(d.labels.data, d.labels.shape, begin, end));
    }
    const evalArgs = (part: string) => ['eval', '--logits', p(`z-${part}`), '--labels', p(`t-${part}`), ...d.args];
    const whole = ok([...evalArgs('all'), '--json']);
    const wholeText = ok(evalArgs('all'));
    for (const chunkRows of ['1', '7']) {
      expect(ok([...evalArgs('all'), '--json', '--chunk-rows', chunkRows]), `--chunk-rows ${chunkRows}`).toBe(whole);
    }
    ok([...evalArgs('a'), '--state', `d${d.i}-a.json`, '--chunk-rows', '3']);
    ok([...evalArgs('b'), '--state', `d${d.i}-b.json`, '--shard', 'second half']);
    const merged = ok(['merge', `d${d.i}-b.json`, `d${d.i}-a.json`, '--json', '--state', `d${d.i}-ab.json`]);
    expect(withoutSource(merged)).toBe(withoutSource(whole));
    const m = JSON.parse(merged) as { states: string[]; shards: string[] };
    expect(m.states).toEqual([`d${d.i}-b.json`, `d${d.i}-a.json`]);
    expect(m.shards).toEqual([p('z-a'), 'second half'].sort());
    expect((JSON.parse(whole) as { shards: string[] }).shards).toEqual([p('z-all')]);
    const mergedText = ok(['merge', `d${d.i}-a.json`, `d${d.i}-b.json`]);
    expect(body(mergedText)).toBe(body(wholeText));
    expect(mergedText.split('\n').slice(0, 2)).toEqual([
      `${JSON.parse(whole).mode} focal loss: 2 states merged: d${d.i}-a.json, d${d.i}-b.json`,
      `shards ${m.shards.join(', ')}`,
    ]);
    // The merged state is a state too: merging it alone reports the same.
    expect(withoutSource(ok(['merge', `d${d.i}-ab.json`, '--json']))).toBe(withoutSource(whole));
  });
});

describe('merge: bad state files are one line naming the file and the property, exit code 2', () => {
  const good = () => {
    const m = softmaxFocalLossMeter({ numClasses: 2, perClass: true, shard: 'g' });
    m.add([0, 1, 2, 0], [1, 0]);
    return m.state() as unknown as Record<string, unknown>;
  };
  const write = (name: string, value: unknown) =>
    writeFileSync(at(name), typeof value === 'string' ? value : JSON.stringify(value));

  it.each([
    ['not JSON', '{"format": ', /^focal-loss: s\.json: not a JSON file \(/],
    ['not an object', '[1, 2]', /^focal-loss: s\.json: .*\bstate\b/],
    ['another format', { ...good(), format: 'other' }, /^focal-loss: s\.json: .*state\.format/],
    ['a later version', { ...good(), version: 99 }, /^focal-loss: s\.json: .*state\.version/],
    ['an unknown key', { ...good(), extra: 1 }, /^focal-loss: s\.json: .*state\.extra/],
    ['a bad count', { ...good(), count: -3 }, /^focal-loss: s\.json: .*state\.count/],
    [
      'a bad option',
      { ...good(), options: { ...(good().options as object), gamma: 'x' } },
      /s\.json: .*state\.options\.gamma/,
    ],
  ])('%s', (_what, content, message) => {
    write('g.json', good());
    write('s.json', content);
    // As the first file (read with fromState) and after a good one (merged).
    expectOneLineError(cli(['merge', 's.json']), message);
    const m = good();
    m.shards = ['other'];
    write('g2.json', m);
    expectOneLineError(cli(['merge', 'g2.json', 's.json']), message);
  });

  it('a shard in two files, other options, the other loss, a missing file', () => {
    write('g.json', good());
    expectOneLineError(
      cli(['merge', 'g.json', 'g.json']),
      /^focal-loss: g\.json: state\.shards: shard 'g' is already in /,
    );
    const other = softmaxFocalLossMeter({ numClasses: 2, perClass: true, gamma: 1, shard: 'h' }).state();
    write('h.json', other);
    expectOneLineError(cli(['merge', 'g.json', 'h.json']), /^focal-loss: h\.json: state\.options\.gamma: .*gamma 1/);
    write('s.json', sigmoidFocalLossMeter({ shard: 's' }).state());
    expectOneLineError(
      cli(['merge', 'g.json', 's.json']),
      /^focal-loss: s\.json: .*softmax meter or state.*state\.loss/,
    );
    expectOneLineError(cli(['merge', 'g.json', 'nothing.json']), /^focal-loss: nothing\.json: no such file$/);
    expectOneLineError(cli(['merge']), /^focal-loss: .*missing required argument/);
  });

  it('eval --state to a path that cannot be written is one line', () => {
    writeNpy(at('z.npy'), '<f4', [2, 2], new Float32Array(4));
    writeNpy(at('y.npy'), '|u1', [2], new Uint8Array(2));
    expectOneLineError(
      cli(['eval', '--logits', 'z.npy', '--labels', 'y.npy', '--state', 'no/such/dir/s.json']),
      /^focal-loss: no\/such\/dir\/s\.json: /,
    );
    expectOneLineError(cli(['eval', '--logits', 'z.npy', '--labels', 'y.npy', '--shard', '']), /--shard/);
    ok(['eval', '--logits', 'z.npy', '--labels', 'y.npy', '--state', 's.json']);
    const state = JSON.parse(readFileSync(at('s.json'), 'utf8')) as { shards: string[]; loss: string };
    expect([state.loss, state.shards]).toEqual(['softmax', ['z.npy']]);
    // A library meter reads what eval wrote.
    expect(softmaxFocalLossMeter.fromState(state as never).result().count).toBe(2);
    // And merge reads what a library meter of the same options wrote.
    const program = softmaxFocalLossMeter({ numClasses: 2, perClass: true, shard: 'program' });
    program.add([0, 1, 1, 0], [1, 0]);
    write('p.json', program.state());
    const both = JSON.parse(ok(['merge', 's.json', 'p.json', '--json'])) as { count: number; shards: string[] };
    expect([both.count, both.shards]).toEqual([4, ['program', 'z.npy']]);
  });
});
