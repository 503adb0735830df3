#!/usr/bin/env node
// The `firebase-orchestrator` command (package.json "bin"; `npm link` puts it on the PATH). The
// command line is TypeScript: tsx registers itself as a loader here, as `node --import tsx` does
// for `npm run orchestrator -- …`.
import "tsx";

await import("./orchestrator.ts");
