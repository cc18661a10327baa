// Types for demo/metrics.mjs (imported by test/demo.test.ts).

type Scores = ArrayLike<number>;
type Labels = ArrayLike<number>;

export interface ThresholdCounts {
  tp: number;
  fp: number;
  fn: number;
  predicted: number;
  positives: number;
  precision: number;
  recall: number;
}

export declare function precisionRecallAt(scores: Scores, labels: Labels, threshold: number): ThresholdCounts;
export declare function averagePrecision(scores: Scores, labels: Labels): number;
export declare function sharesByKind(values: Scores, kind: ArrayLike<number>, kinds: number, abs?: boolean): number[];
