// The parts of node-gyp-build (which ships no types) that lib/backends/native/loader.ts uses: its rules for matching
// a prebuilds/<platform>-<arch>/<tags>.node file to the running process.
declare module 'node-gyp-build' {
  interface Tuple {
    name: string;
    platform: string;
    architectures: string[];
  }
  interface Tags {
    file: string;
    specificity: number;
  }
  interface NodeGypBuild {
    (dir: string): unknown;
    resolve(dir: string): string;
    parseTuple(name: string): Tuple | undefined;
    matchTuple(platform: string, arch: string): (tuple: Tuple | undefined) => tuple is Tuple;
    compareTuples(a: Tuple, b: Tuple): number;
    parseTags(file: string): Tags | undefined;
    matchTags(runtime: string, abi: string): (tags: Tags | undefined) => tags is Tags;
    compareTags(runtime: string): (a: Tags, b: Tags) => number;
  }
  const nodeGypBuild: NodeGypBuild;
  export default nodeGypBuild;
}
