// Types for scripts/check-isa.mjs (imported by test/isa.test.ts).

export interface IsaHit {
  addr: string;
  text: string;
  why: string;
}

export interface IsaVerdict {
  offenders: { name: string; hits: IsaHit[] }[];
  perIsa: { avx2: { functions: number; wide: number }; avx512: { functions: number; zmm: number } };
}

export declare function beyondBaseline(text: string): string | null;
export declare function parseObjdump(text: string): { name: string; instructions: { addr: string; text: string }[] }[];
export declare function checkDisassembly(text: string): IsaVerdict;
