// The linter of `npm test` and `npm run lint`: ESLint's recommended rules everywhere, and
// typescript-eslint's type-aware ones on the TypeScript of tsconfig.json (the types come from the
// same program tsc checks, through the project service). The dependency rule between folders and
// the no-cycle check live in tests/unit/architecture.test.ts: it sees type-only imports and cycles,
// which import-restriction rules cannot, without a plugin.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node's globals that the plain JavaScript files use (the `globals` package would be one more dependency for a handful of names). */
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'AbortController'].map((name) => [name, 'readonly']),
);

export default defineConfig(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.tap/', 'var/', 'bench/results/'] },
  js.configs.recommended,
  {
    rules: {
      // Imports first, so a reader sees a file's dependencies at the top (import/first without the plugin).
      'no-restricted-syntax': [
        'error',
        {
          selector: 'Program > :not(ImportDeclaration, ExportAllDeclaration, ExportNamedDeclaration[source]) ~ ImportDeclaration',
          message: 'Imports go at the top of the file, before any other statement.',
        },
      ],
    },
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          // Outside tsconfig.json's folders: type-checked with its options all the same.
          allowDefaultProject: ['scripts/*.ts'],
          defaultProject: 'tsconfig.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `async` states the contract here, awaited or not: fastify plugins are async instead of
      // taking `done`, tap subtests and the start()/close() of every long-lived object return a
      // promise whether or not their body waits on one.
      '@typescript-eslint/require-await': 'off',
      // tsc reports these already (noUnusedLocals, noUnusedParameters), with its `_name` convention.
      '@typescript-eslint/no-unused-vars': 'off',
      // Passing on what a catch or an AbortSignal gave (unknown, or rhea's and Node's `any`) keeps
      // the original error; wrapping it would hide its class from the callers that classify it.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        // A top-level `t.test(…)` is tap's way: tap awaits its subtests itself.
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
);
