// Types for scripts/check-sources.mjs (imported by test/build-sources.test.ts).

export declare const ROOT: string;
export declare const TARGET: string;
export declare const CMAKE_SOURCES_VARIABLE: string;

export interface SourceListDiff {
  equal: boolean;
  onlyInA: string[];
  onlyInB: string[];
  duplicates: string[];
}

export interface SourceCheck {
  ok: boolean;
  gyp: string[];
  cmake: string[];
  onDisk: string[];
  problems: string[];
}

export declare function normalizeSource(path: string): string;
export declare function parseGyp(text: string): unknown;
export declare function gypSources(text: string): string[];
export declare function cmakeSources(text: string): string[];
export declare function nativeSourcesOnDisk(root?: string): string[];
export declare function compareSourceLists(a: readonly string[], b: readonly string[]): SourceListDiff;
export declare function checkSources(root?: string): SourceCheck;
