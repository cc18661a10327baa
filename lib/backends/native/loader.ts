/**
 * The only module that touches the compiled addon. It never throws on a missing or broken addon
 * (the JS implementation takes over and the reason is kept in loadError), except when
 * FOCAL_LOSS_BACKEND=native asks for the addon explicitly. Nothing here runs at import: lib/index.ts
 * calls loadNative() on first use.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { KernelResult, Kernels, SigmoidPlan, SoftmaxPlan, StopRequest } from '../contract.js';
import { packageRoot } from '../../package-root.js';
import { checkBinaryFile } from './binary-file.js';
import { defaultSimd, type SimdLevels, type SimdName } from '../simd.js';
import { backendSetting, nativePathSetting, simdSetting, type BackendChoice } from '../../environment.js';
import {
  callSigmoidPlan,
  callSoftmaxPlan,
  ERROR_KINDS,
  PLAN_VERSION,
  RESULT_LENGTH,
  REPRO_STATE_VERSION,
  RESULT_SLOTS,
  type SigmoidArguments,
  type SoftmaxArguments,
} from '../protocol.js';
import { resultAllocator, type ResultMemoryStats } from './result-memory.js';

export interface AddonInfo {
  planVersion: number;
  openmp: boolean;
  /** Cores the OpenMP runtime sees (1 without OpenMP). */
  maxThreads: number;
  /** The instruction sets this CPU runs, with the addon's level numbers. */
  simdLevels: SimdLevels;
  /** The best of them. */
  simd: SimdName;
}

/**
 * What the compiled module exports (native/binding/addon.cpp). The kernels take a plan as its
 * values, one argument each, then a result array they write (SigmoidArguments: callSigmoidPlan
 * passes a SigmoidPlan so; readResult reads the array).
 */
export interface Addon {
  sigmoid(...plan: SigmoidArguments): void;
  softmax(...plan: SoftmaxArguments): void;
  sigmoidAsync(...plan: SigmoidArguments): Promise<void>;
  /** Memory the async exports accept (see native/binding/addon.cpp). */
  allocate(byteLength: number): ArrayBuffer;
  softmaxAsync(...plan: SoftmaxArguments): Promise<void>;
  /**
   * Asks the async call given `result` to stop before its next block; its promise then rejects
   * with code 'ABORT_ERR'. Optional: an addon built without it runs every call to its end.
   */
  stopAsync?(result: Float64Array): void;
  /** Memory for the arrays a call returns (see lib/backends/native/result-memory.ts). */
  allocateResult?(byteLength: number): ArrayBuffer;
  /** What the result pool holds and lends; `trim` first unmaps what it holds (tests, benchmarks). */
  resultMemory?(trim?: boolean): ResultMemoryStats;
  /** The benchmark's memory floor (bench/backends/floor.mjs checks for it): not required here. */
  memoryFloor?(
    logits: Float32Array,
    targets: Uint8Array | Int32Array | Float32Array,
    out: Float32Array,
    threads: number,
  ): void;
  info(): AddonInfo;
}

export interface NativeLoad {
  addon?: Addon;
  kernels?: Kernels;
  info?: AddonInfo;
  path?: string;
  loadError?: string;
}

const requireAddon = createRequire(join(packageRoot, 'package.json'));

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * The prebuilt binary for this platform, architecture and runtime in prebuilds/ (made by
 * prebuildify), chosen with node-gyp-build's own matching rules; null when there is none.
 */
export function prebuildPath(root = packageRoot): string | null {
  const dir = join(root, 'prebuilds');
  const tuple = listDir(dir)
    .map(nodeGypBuild.parseTuple)
    .filter(nodeGypBuild.matchTuple(process.platform, process.arch))
    .sort(nodeGypBuild.compareTuples)[0];
  if (!tuple) return null;
  const best = listDir(join(dir, tuple.name))
    .map(nodeGypBuild.parseTags)
    .filter(nodeGypBuild.matchTags('node', process.versions.modules))
    .sort(nodeGypBuild.compareTags('node'))[0];
  return best ? join(dir, tuple.name, best.file) : null;
}

/**
 * Where to look, in order: FOCAL_LOSS_NATIVE_PATH alone when it is set (a build kept elsewhere, or
 * a test pointing at a broken file); else a local build (node-gyp or cmake-js: build/Release, then
 * build/Debug), then the prebuilt binary. Whatever fails to load is skipped with its reason kept.
 */
export function addonCandidates(override = nativePathSetting()): string[] {
  if (override) return [resolve(override)];
  const candidates = [
    join(packageRoot, 'build', 'Release', 'focal_loss.node'),
    join(packageRoot, 'build', 'Debug', 'focal_loss.node'),
  ];
  const prebuild = prebuildPath();
  return prebuild ? [...candidates, prebuild] : candidates;
}

function tryLoad(path: string): Addon {
  checkBinaryFile(path);
  return checkAddon(requireAddon(path) as Partial<Addon>, path);
}

/** The module must be this package's addon, built from sources with the same plan layout. */
export function checkAddon(addon: Partial<Addon>, path: string): Addon {
  for (const fn of ['sigmoid', 'softmax', 'sigmoidAsync', 'softmaxAsync', 'allocate', 'info'] as const) {
    if (typeof addon[fn] !== 'function') throw new Error(`${path} does not export ${fn}(): rebuild it`);
  }
  const info = addon.info!();
  if (info.planVersion !== PLAN_VERSION) {
    throw new Error(
      `${path} was built for plan version ${info.planVersion}, this package needs ${PLAN_VERSION}: rebuild it`,
    );
  }
  return addon as Addon;
}

/** A result array the addon wrote (RESULT_SLOTS in lib/backends/protocol.ts) as a KernelResult. */
export function readResult(slots: Float64Array): KernelResult {
  const nonFinite = slots[RESULT_SLOTS.sumNonFinite]!;
  const result: KernelResult = {
    sum: slots[RESULT_SLOTS.sum]!,
    count: slots[RESULT_SLOTS.count]!,
    // The canonical state of the addon's reproducible sum, as lib/reduce/reproducible-sum.ts writes one.
    sumState: {
      version: REPRO_STATE_VERSION,
      index: slots[RESULT_SLOTS.sumIndex]!,
      primaries: [slots[RESULT_SLOTS.sumPrimary0]!, slots[RESULT_SLOTS.sumPrimary1]!, slots[RESULT_SLOTS.sumPrimary2]!],
      carries: [slots[RESULT_SLOTS.sumCarry0]!, slots[RESULT_SLOTS.sumCarry1]!, slots[RESULT_SLOTS.sumCarry2]!],
      nonFinite: nonFinite === 0 ? null : nonFinite !== nonFinite ? 'NaN' : nonFinite > 0 ? 'Infinity' : '-Infinity',
    },
  };
  const kind = ERROR_KINDS[slots[RESULT_SLOTS.errorKind]! - 1];
  if (kind) result.error = { kind, index: slots[RESULT_SLOTS.errorIndex]!, value: slots[RESULT_SLOTS.errorValue]! };
  return result;
}

/** The addon as the facade's backend: each plan handed over as its values (see Addon). */
export function nativeKernels(addon: Addon, info: AddonInfo): Kernels {
  const { stopAsync } = addon;
  /** An async call's result; a stop request reaches the addon (stopAsync), whose stopped call rejects. */
  async function settled(call: Promise<void>, own: Float64Array, stop?: StopRequest): Promise<KernelResult> {
    if (stop && stopAsync) stop.onRequest(() => stopAsync(own));
    try {
      await call;
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === 'ABORT_ERR') return { sum: 0, count: 0, stopped: true };
      throw error;
    }
    return readResult(own);
  }
  const { sigmoid, softmax, sigmoidAsync, softmaxAsync } = addon;
  // One result array for every sync call: no JavaScript runs during one, and it is read at once.
  const slots = new Float64Array(RESULT_LENGTH);
  return {
    simd: { levels: info.simdLevels, default: defaultSimd(info.simdLevels, simdSetting()) },
    sigmoid(plan: SigmoidPlan) {
      callSigmoidPlan(sigmoid, plan, slots);
      return readResult(slots);
    },
    softmax(plan: SoftmaxPlan) {
      callSoftmaxPlan(softmax, plan, slots);
      return readResult(slots);
    },
    async sigmoidAsync(plan: SigmoidPlan, stop?: StopRequest) {
      const own = new Float64Array(RESULT_LENGTH);
      return settled(callSigmoidPlan(sigmoidAsync, plan, own), own, stop);
    },
    async softmaxAsync(plan: SoftmaxPlan, stop?: StopRequest) {
      const own = new Float64Array(RESULT_LENGTH);
      return settled(callSoftmaxPlan(softmaxAsync, plan, own), own, stop);
    },
    allocate: addon.allocate,
    // (Optional, like memoryFloor: without it results are `new Ctor(n)`, as on the JS backend.)
    allocateResult: addon.allocateResult ? resultAllocator(addon.allocateResult) : undefined,
  };
}

export function loadNative(choice: BackendChoice = backendSetting()): NativeLoad {
  if (choice === 'js') return { loadError: 'disabled by FOCAL_LOSS_BACKEND=js' };
  const errors: string[] = [];
  const override = nativePathSetting();
  const candidates = addonCandidates(override);
  for (const path of candidates) {
    let addon: Addon;
    try {
      addon = tryLoad(path);
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      errors.push(e.code === 'MODULE_NOT_FOUND' ? `${path}: not found` : `${path}: ${e.message}`);
      continue;
    }
    const info = addon.info();
    return { addon, kernels: nativeKernels(addon, info), info, path };
  }
  const prebuilds = join(packageRoot, 'prebuilds');
  if (!override && !candidates.some((path) => path.startsWith(prebuilds))) {
    errors.push(`no prebuilt binary for ${process.platform}-${process.arch} in ${prebuilds}`);
  }
  const loadError = `native addon not loaded (${errors.join('; ')})`;
  if (choice === 'native') {
    // Two audiences: a project that installed the package (its install script builds the addon; npm
    // 11 runs it unless the project's allowScripts denies it or strict-allow-scripts is set), and a
    // clone of this repository (where build:native exists).
    throw new Error(
      `focal-loss: FOCAL_LOSS_BACKEND=native but the ${loadError}. ` +
        'To build it in a project that depends on focal-loss: `npm rebuild focal-loss` ' +
        '(if npm skipped or refused its install script, allow it first: `npm install-scripts approve focal-loss`); ' +
        'in a clone of the focal-loss repository: `npm run build:native`. ' +
        'Building needs python3, make and a C++17 compiler. ' +
        'Or unset FOCAL_LOSS_BACKEND to use the JS implementation.',
    );
  }
  return { loadError };
}
