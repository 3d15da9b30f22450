// @ts-check
// ESLint 9 flat config: the recommended JavaScript rules and typescript-eslint's type-checked preset
// over every folder with code, with Prettier's config last so no lint rule argues with the formatter.
// Types come from the project service: each file is checked against its nearest tsconfig.json (the
// root one, or client/tsconfig.json for the PWA). `npm run lint` runs it; `npm test` does not yet.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Built output, local data and generated reports are not sources; fixtures are upstream's markup.
  { ignores: ['dist/', 'data/', 'data-demo/', 'test-output/', '.tmp/', 'test/fixtures/'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
  },
  {
    rules: {
      // Objects here are closures made by factories (listeners().add, an action's helpers) and never use
      // `this`, so passing or destructuring their methods is safe; the rule cannot tell them from classes.
      '@typescript-eslint/unbound-method': 'off',
      // `async` without `await` is how this code meets Promise-returning contracts (actions, fakes, Koa
      // handlers) and turns a synchronous throw into a rejection; the rule flags exactly that on purpose.
      '@typescript-eslint/require-await': 'off',
      // A leading underscore names what is left out on purpose (`const { seenAt: _seenAt, ...rest }`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Passing on an abort reason or a caught error unchanged (typed any/unknown) is the point of those rejects.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // Koa's app.callback() returns a Promise that Koa settles itself (errors go to ctx.onerror) and
      // node:http/https take it as their request listener. Arguments only: async listeners given to
      // on()/once()/setTimeout go unreported too; a rejection there is still an unhandled rejection.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  // Koa types `next` as `() => Promise<any>`: every middleware's `return next()` would be reported.
  { files: ['server/**/*.ts'], rules: { '@typescript-eslint/no-unsafe-return': 'off' } },
  {
    // Tests read HTTP and socket replies as the wire shape (`json: any` in the request helpers) and assert
    // on it, so a wrong shape fails the assertion; typing every reply would restate common/ in each test.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['client/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
  // The build, start and test runners are plain ES modules outside every tsconfig: no type information.
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  prettier,
);
