// Types for demo/config.mjs (imported by test/demo.test.ts).
import type { Distribution } from './data.mjs';

export declare const DISTRIBUTION: Readonly<Distribution>;
export interface Size {
  train: number;
  test: number;
  epochs: number;
}

export declare const SIZES: Readonly<Record<'full' | 'quick', Readonly<Size>>>;
export declare const DEFAULT_SEED: number;
export declare const THRESHOLD_LOGIT: number;
