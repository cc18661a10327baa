// Types for scripts/arm64-node.mjs (imported by test/arm64/ and test/pack/).

export declare const NODE_VERSION: string;
export declare const SYSROOT: string;
export declare const nodePath: string;
export declare function missing(): string | null;
export declare function arm64Node(...args: string[]): string[];
export declare function fetchNode(): string;
