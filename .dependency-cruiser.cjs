// The architecture of lib/ and cli/ as rules (npm run lint:deps; the README's architecture section
// describes the same layers). Imports are read from the TypeScript sources, type-only ones included:
// a type import is a dependency of the design even when the compiler erases it.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-not-cli',
      comment:
        "The library never loads the CLI nor its dependencies: a consumer's import graph holds no " +
        'command-line code (commander and cli-progress are dependencies only because the bin ships here).',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: ['^cli/', '(^|/)node_modules/(commander|cli-progress|@types/cli-progress)/'] },
    },
    {
      name: 'cli-through-package-name',
      comment:
        "The CLI uses the library as any consumer does, through the package name 'focal-loss' " +
        '(its public entry points), never by a relative path into lib/.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^lib/', dependencyTypesNot: ['aliased-tsconfig-paths', 'aliased-tsconfig'] },
    },
    {
      name: 'cli-public-entry-only',
      comment: "'focal-loss' and 'focal-loss/tfjs' are the library's public surface; the CLI reaches nothing else.",
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: '^lib/', pathNot: '^lib/(index|tfjs)[.]ts$' },
    },
    {
      name: 'backends-independent',
      comment: 'The JS backend and the native loader are alternatives behind one contract (lib/backends/contract.ts).',
      severity: 'error',
      from: { path: '^lib/backends/(js|native)/' },
      to: { path: '^lib/backends/(js|native)/', pathNot: '^lib/backends/$1/' },
    },
    {
      name: 'only-native-loads-the-addon',
      comment: 'lib/backends/native/ is the only code that touches the compiled addon.',
      severity: 'error',
      from: { pathNot: '^lib/backends/native/' },
      to: { path: ['(^|/)node_modules/node-gyp-build/', '[.]node$'] },
    },
    {
      name: 'backends-wired-in-composition-root',
      comment:
        'Only lib/index.ts (the composition root) picks and wires a backend implementation; the facade, ' +
        'the async layer and the rest see the contract (lib/backends/contract.ts) and simd.ts.',
      severity: 'error',
      from: { path: '^lib/', pathNot: ['^lib/index[.]ts$', '^lib/backends/(js|native)/'] },
      to: { path: '^lib/backends/(js|native)/' },
    },
    {
      name: 'no-circular',
      comment: 'Layers form a tree: a cycle means two modules are one layer or one is in the wrong place.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'A module nothing imports and that imports nothing is dead code or a missing wire.',
      severity: 'error',
      from: { orphan: true, pathNot: ['[.]d[.]ts$'] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would fail at run time (or is a typo that hides a layer).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|build)/' },
    tsPreCompilationDeps: true,
    // The root tsconfig maps 'focal-loss' to lib/index.ts, so the CLI's imports land in the graph.
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts', '.json'],
    },
  },
};
