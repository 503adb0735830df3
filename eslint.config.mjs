// ESLint with typescript-eslint's type-aware rules over the functions, local commands and tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "functions/lib/**", "hosting/dist/**", ".cache/**", "coverage/**", "test/artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly", __dirname: "readonly" } } },
  {
    files: ["hosting/**/*.js", "local/**/*.mjs"],
    languageOptions: { globals: { window: "readonly", document: "readonly", location: "readonly", history: "readonly", fetch: "readonly", console: "readonly", setInterval: "readonly", URLSearchParams: "readonly", Node: "readonly", process: "readonly" } },
  },
);
