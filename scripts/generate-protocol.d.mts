// Types for scripts/generate-protocol.mjs (imported by test/protocol.test.ts).

export declare const ROOT: string;
export declare const PROTOCOL_JSON: string;
export declare const TS_OUT: string;
export declare const PLAN_HPP_OUT: string;
export declare const KERNELS_HPP_OUT: string;

export interface PlanField {
  name: string;
  kind: 'floats' | 'floatsOrLabels' | 'labels' | 'float64s' | 'number' | 'integer' | 'boolean';
  nullable?: boolean;
  min?: number;
  max?: number;
  doc?: string;
}

export interface Protocol {
  planVersion: number;
  blocks: Record<'maxBlocks' | 'minBlockWork', { value: number; doc: string }>;
  typedArrays: { name: string; napi: string; bytes: number }[];
  floatArrays: string[];
  labelTypes: { enum: string; element: string; arrays: string[] }[];
  plans: Record<'sigmoid' | 'softmax', PlanField[]>;
  result: { doc: string; slots: string[]; errorKinds: { doc: string; kinds: string[] } };
}

export declare function readProtocol(root?: string): Protocol;
export declare function labelWidths(protocol: Protocol): string;
/** The generated files, path -> contents. */
export declare function generate(root?: string): Promise<Record<string, string>>;
/** The generated files whose committed contents differ from what native/protocol.json gives. */
export declare function staleFiles(root?: string): Promise<string[]>;
