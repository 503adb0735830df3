// Three suites: `unit` runs anywhere; `integration` needs the Firestore and Pub/Sub emulators;
// `e2e` needs the whole suite with the functions loaded. `npm test` runs each in the right place.
const tsJest = ["ts-jest", { tsconfig: "<rootDir>/test/tsconfig.json", diagnostics: { warnOnly: false } }];
const common = { testEnvironment: "node", transform: { "^.+\\.ts$": tsJest }, rootDir: __dirname };

module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/test/integration/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/test/support/slow-suite.ts"], slowTestThreshold: 30 },
    { ...common, displayName: "browser", testMatch: ["<rootDir>/test/browser/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/test/support/slow-suite.ts"], slowTestThreshold: 60 },
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/test/support/slow-suite.ts"], slowTestThreshold: 60 },
  ],
};
