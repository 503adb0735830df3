// ESLint with typescript-eslint's type-aware rules over the functions, local commands and tests.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The pure core: decisions, plans, shapes and checks that run the same in a test, the offline
 * planner (`npm run plan`) and the functions. They take what they need as arguments (a Firestore
 * probe, a clock, verifiers) and never load Firebase, Google clients or the modules that touch them.
 */
export const PURE_FILES = [
  "functions/src/engine/**/*.ts",
  "functions/src/planner/**/*.ts",
  "functions/src/schema/**/*.ts",
  "functions/src/health/**/*.ts",
  "functions/src/trust/principals.ts",
  "functions/src/trust/policy.ts",
  "functions/src/trust/credentials.ts",
  "functions/src/schedules/cron.ts",
  "functions/src/schedules/fire.ts",
];

/** SDKs with side effects or credentials: Firebase (admin, functions, client) and Google's clients. */
const IMPURE_PACKAGES = String.raw`^(?:firebase-admin|firebase-functions|firebase|@firebase/[^/]+|@google-cloud/[^/]+|google-gax|google-auth-library|googleapis)(?:/.*)?$`;
/** The folders that talk to Firestore, Pub/Sub or Google's APIs, by relative path (`../store/tasks`, `../../executors/firebase`). */
const IMPURE_FOLDERS = ["store", "runtime", "triggers", "bus", "clients", "executors"];
const impureFolderImport = (allowed = []) =>
  String.raw`^${allowed.map((path) => `(?!${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$)`).join("")}\.\.?/(?:.+/)?(?:${IMPURE_FOLDERS.join("|")})(?:/|$)`;

/**
 * Impure imports pure files make today, one by one, so that no other may join them. Each is a
 * debt to pay off by passing the value in (or moving the pure part out of executors/ and clients/):
 *   health/environments.ts takes job names and integration names from executors/firebase, which
 *     loads @google-cloud/scheduler, @google-cloud/monitoring and google-gax with it;
 *   health/probes.ts (the probes that touch the world) reads gRPC codes with clients/grpc-code
 *     (itself pure).
 */
const KNOWN_IMPURE_IMPORTS = {
  "functions/src/health/environments.ts": ["../executors/firebase/backup", "../executors/firebase/health", "../executors/firebase/index"],
  "functions/src/health/probes.ts": ["../clients/grpc-code"],
};

const pureImportsRule = (allowed = []) => [
  "error",
  {
    patterns: [
      {
        regex: IMPURE_PACKAGES,
        message: "pure modules (engine, planner, schema, health, trust/principals|policy|credentials) load no Firebase or Google SDK: take what you need as an argument, and do the I/O in store/, runtime/ or clients/",
      },
      {
        regex: impureFolderImport(allowed),
        // Types vanish at compile time; a value import would load the module and its SDKs.
        allowTypeImports: true,
        message: "pure modules do not import store/, runtime/, triggers/, bus/, clients/ or executors/ (they load Firebase and Google clients): pass the value in, or use `import type` for a type",
      },
    ],
  },
];

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
  { files: PURE_FILES, rules: { "@typescript-eslint/no-restricted-imports": pureImportsRule() } },
  ...Object.entries(KNOWN_IMPURE_IMPORTS).map(([file, allowed]) => ({ files: [file], rules: { "@typescript-eslint/no-restricted-imports": pureImportsRule(allowed) } })),
  { files: ["**/*.cjs"], languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly", __dirname: "readonly" } } },
  {
    files: ["hosting/**/*.js", "local/**/*.mjs"],
    languageOptions: { globals: { window: "readonly", document: "readonly", location: "readonly", history: "readonly", fetch: "readonly", console: "readonly", setInterval: "readonly", URLSearchParams: "readonly", Node: "readonly", process: "readonly" } },
  },
);
