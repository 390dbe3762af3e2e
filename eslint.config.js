// The project's lint gate (`npm run lint`, in .ci/run before the tests). Formatting is Prettier's
// (`npm run format`); this file holds what a formatter cannot see: promises left floating, import
// cycles, and the layer rules of docs/architecture.md, so a wrong import fails CI instead of review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';

/** The areas around the core; each plugs in from outside, so the core imports none of them. */
const OUTER = [
  'app',
  'http',
  'cli',
  'security',
  'pathways',
  'registry',
  'measures',
  'terminology',
  'validation',
  'subscriptions',
  'bulk',
  'packages',
  'xml',
];

/** `no-restricted-imports` patterns that forbid importing the given top-level areas of src/. */
function forbid(areas, why) {
  return {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: areas.flatMap((a) => [`**/${a}/*`, `**/${a}`]), message: why }] },
    ],
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/', '**/*.d.ts', 'src/app/validation-worker.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'max-len': [
        'error',
        { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
      // an error now that no function is over it: a longer one needs an eslint-disable comment with its reason
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }],
    },
  },
  // the core (store, search, history, bundles, routing, errors) is handed everything else through ports
  {
    files: ['src/fhir/**/*.ts'],
    rules: forbid(OUTER, 'src/fhir is the core: it receives outer areas through the ports in src/fhir/ports.ts'),
  },
  // storage knows SQL and nothing of FHIR's areas
  {
    files: ['src/storage/**/*.ts'],
    rules: forbid([...OUTER, 'fhir'], 'src/storage is below the core: it knows SQL, not FHIR'),
  },
  // the areas plug into the core from outside; only the composition root (src/app) and the adapters see them all
  {
    files: ['src/{security,pathways,registry,measures,terminology,validation,subscriptions,bulk,packages,xml}/**/*.ts'],
    rules: forbid(['app', 'http', 'cli'], 'an area plugs into the core; it does not reach the adapters or the root'),
  },
  // tests and tools may reach anything; test data builders use loose shapes
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts', 'conformance/**/*.ts'],
    rules: { 'max-lines-per-function': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
