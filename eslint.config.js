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
  { files: ['client/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
  // The build, start and test runners are plain ES modules outside every tsconfig: no type information.
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  prettier,
);
