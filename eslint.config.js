import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", ".data/**", "bench-results/**", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Services log through pino; scripts print to the terminal on purpose.
      "no-console": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  {
    // No import circles: a module's dependencies must be readable without coming back to it.
    // Type-only imports are not followed (they vanish at compile time); types many modules
    // share go in a module of types only (e.g. services/gateway/src/socket/types.ts).
    files: ["**/*.ts", "**/*.tsx"],
    plugins: { "import-x": importX },
    settings: {
      // What the plugin's own TypeScript preset sets (importX.flatConfigs.typescript), with
      // its node resolver in place of a separate TypeScript resolver package.
      "import-x/extensions": [".ts", ".tsx", ".js", ".mjs", ".cjs"],
      "import-x/external-module-folders": ["node_modules", "node_modules/@types"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts", ".tsx"] },
      // Our sources import "./x.js" for "./x.ts" (NodeNext); workspace packages resolve
      // through their package.json exports like any other dependency.
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".tsx", ".js", ".mjs", ".json", ".node"], extensionAlias: { ".js": [".ts", ".tsx", ".js"] } })],
    },
    rules: { "import-x/no-cycle": "error" },
  },
  {
    // The web chat's page and the React bindings run in the browser (or React Native).
    files: ["examples/web/src/**/*.ts", "examples/web/src/**/*.tsx", "libs/react/src/**/*.ts", "libs/react/src/**/*.tsx"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The Expo example: React Native's own sources are Flow, which no parser here reads, so
    // the circle check does not follow imports into them; its jest files are CommonJS.
    files: ["examples/expo/**/*.ts", "examples/expo/**/*.tsx"],
    settings: { "import-x/ignore": ["node_modules/react-native/", "node_modules/@react-native/"] },
  },
  {
    files: ["examples/expo/*.js"],
    languageOptions: { globals: { ...globals.jest }, sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["services/**/*.ts", "libs/**/*.ts", "libs/**/*.tsx"],
    ignores: ["**/*.test.ts", "**/*.test.tsx", "libs/testkit/**"],
    rules: { "no-console": "error" },
  },
);
