// Types for scripts/check-sources.mjs (imported by test/build-sources.test.ts).

export declare const ROOT: string;
export declare const TARGET: string;
export declare const BUILD_JSON: string;
export declare const SOURCES_VARIABLE: string;
export declare const DEFINES_VARIABLE: string;
export declare const BUILD_FILES: readonly string[];

/** The `variables` of native/build.json: each a string or a list of strings. */
export type BuildVariables = Record<string, string | string[]>;

export interface BuildCheck {
  ok: boolean;
  sources: string[];
  onDisk: string[];
  problems: string[];
}

export declare function normalizeSource(path: string): string;
export declare function parseGyp(text: string): unknown;
export declare function parseBuildDescription(text: string): BuildVariables;
export declare function nativeSourcesOnDisk(root?: string): string[];
export declare function checkBuild(root?: string): BuildCheck;
