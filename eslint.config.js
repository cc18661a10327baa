// ESLint for the TypeScript and JavaScript of the package, its tests, benchmarks and scripts.
// Formatting is prettier's job (npm run lint runs both); these are the rules that find bugs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/', 'prebuilds/', 'docs/api/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name` marks a parameter or binding kept on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // The library reads its environment in one module (lib/environment.ts): each variable documented
    // once, read lazily, so that importing never throws because of it.
    files: ['lib/**'],
    ignores: ['lib/environment.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read environment variables in lib/environment.ts.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: ['process', 'node:process'].map((name) => ({
            name,
            importNames: ['env', 'default'],
            message: 'Read environment variables in lib/environment.ts.',
          })),
        },
      ],
    },
  },
);
