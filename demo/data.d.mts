// Types for demo/data.mjs (imported by test/demo.test.ts).

export declare const EASY: 0;
export declare const HARD: 1;
export declare const POSITIVE: 2;
export declare const KIND_NAMES: string[];
export declare const STREAM: Readonly<{ train: 1; test: 2; init: 3; order: 4 }>;

export interface Distribution {
  features: number;
  perThousand: { positive: number; hard: number; easy: number };
  objectness: { object: number; background: number; sd: number };
  positive: { appearanceSd: number };
  hard: { ringRadius: number; ringSd: number };
  easy: { appearanceSd: number };
}

export interface Anchors {
  n: number;
  d: number;
  x: Float32Array;
  labels: Uint8Array;
  kind: Uint8Array;
  counts: { positive: number; hard: number; easy: number };
}

export declare function mulberry32(seed: number): () => number;
export declare function stream(seed: number, purpose: number): () => number;
export declare function normalSource(rng: () => number): () => number;
export declare function generateAnchors(n: number, rng: () => number, dist: Distribution): Anchors;
export declare function oracleLogOdds(data: Anchors, dist: Distribution): Float64Array;
