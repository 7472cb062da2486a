// Lint: the recommended JavaScript and typescript-eslint rules over sources, tests and benchmarks.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration through src/config/' }],
    },
  },
  {
    // The mock upstreams are the outside world: they import nothing of the product (DESIGN §1).
    files: ['mocks/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/src', '**/src/**'], message: 'a mock imports nothing of the product' }] }],
    },
  },
  {
    // The few scripts our pages load run in the browser, as classic scripts.
    files: ['public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', setTimeout: 'readonly' },
    },
  },
  {
    files: ['src/config/index.ts', 'src/main.ts', 'src/cli/index.ts', 'test/**/*.ts', 'bench/**/*.ts', 'jest.config.js'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
