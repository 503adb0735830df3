// Suites against the emulators wait on real processes (worker start-up, Pub/Sub delivery).
jest.setTimeout(120_000);
