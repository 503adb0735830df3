/** Change sets of the Security Rules integrations (database with its indexes, storage, security). */
import type { ControlPlaneState } from "../../../local/control-plane";
import { MUTATING_CALLS } from "../../../local/control-plane";
import { comparable } from "../../support/control-plane-state";
import { describeChangeSets, P } from "./change-sets";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

const RULESETS = `projects/${P}/rulesets`;
const FIRESTORE_RELEASE = `projects/${P}/releases/cloud.firestore`;
const STORAGE_RELEASE = `projects/${P}/releases/firebase.storage/${P}.firebasestorage.app`;
const INDEXES = `projects/${P}/databases/(default)/collectionGroups/words/indexes`;
const SEEDED = "2024-05-01T10:00:00.000Z";

const OUR_FIRESTORE_RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /words/{word} {
      allow read: if true;
      allow write: if request.auth != null;
    }
  }
}
`;
const OUR_STORAGE_RULES = `rules_version = '2';
service firebase.storage {
  match /b/{bucket}/o {
    match /public/{allPaths=**} {
      allow read: if true;
    }
  }
}
`;
const THEIR_FIRESTORE_RULES = "rules_version = '2';\nservice cloud.firestore { match /databases/{database}/documents { match /{d=**} { allow read: if true; } } }\n";
const THEIR_STORAGE_RULES = "rules_version = '2';\nservice firebase.storage { match /b/{bucket}/o { match /{p=**} { allow read: if true; } } }\n";
const LATER_RULES = "rules_version = '2';\nservice cloud.firestore { match /databases/{database}/documents { match /{d=**} { allow read, write: if true; } } }\n";

const INDEX = { collectionGroup: "words", fields: [{ fieldPath: "lang", order: "ASCENDING" }, { fieldPath: "createdAt", order: "DESCENDING" }] };
const THEIR_INDEX = `${INDEXES}/theirs`;

function addRuleset(s: ControlPlaneState, id: string, fileName: string, content: string, createTime = SEEDED): string {
  const name = `${RULESETS}/${id}`;
  s.rulesets[name] = { name, source: { files: [{ name: fileName, content }] }, createTime };
  return name;
}

/** Someone's rules, released (a ruleset and the release serving it). */
function release(s: ControlPlaneState, releaseName: string, id: string, fileName: string, content: string): void {
  const rulesetName = addRuleset(s, id, fileName, content);
  s.rulesReleases[releaseName] = { name: releaseName, rulesetName, createTime: SEEDED, updateTime: SEEDED };
}

/** Someone releases other rules after the apply. */
function reRelease(s: ControlPlaneState, releaseName: string, fileName: string): void {
  const rulesetName = addRuleset(s, "theirs-later", fileName, LATER_RULES, new Date().toISOString());
  const current = s.rulesReleases[releaseName] ?? { name: releaseName, createTime: SEEDED };
  s.rulesReleases[releaseName] = { ...current, rulesetName, updateTime: new Date().toISOString() };
}
const reReleased = (releaseName: string) => (s: ControlPlaneState): boolean => s.rulesReleases[releaseName]?.rulesetName === `${RULESETS}/theirs-later`;

function theirIndex(s: ControlPlaneState): void {
  s.firestoreIndexes[THEIR_INDEX] = {
    name: THEIR_INDEX,
    queryScope: "COLLECTION",
    fields: [
      { fieldPath: "lang", order: "ASCENDING" },
      { fieldPath: "level", order: "ASCENDING" },
    ],
    state: "READY",
  };
}

const actions = (changes: Array<{ type: string; action: string }>): string[][] => changes.map((c) => [c.type, c.action]);

describeChangeSets([
  {
    name: "database (rules and an index) over someone's released rules and index",
    integration: "database",
    settings: { rules: OUR_FIRESTORE_RULES, indexes: [INDEX] },
    different: (s) => {
      release(s, FIRESTORE_RELEASE, "theirs", "firestore.rules", THEIR_FIRESTORE_RULES);
      theirIndex(s);
    },
    expectDifferent: (changes) => {
      expect(actions(changes)).toEqual([
        ["rules.ruleset", "create"],
        ["rules.release", "update"],
        ["firestore.index", "create"],
      ]);
      expect(changes[1]!.fields).toEqual([{ field: "source", before: THEIR_FIRESTORE_RULES, after: OUR_FIRESTORE_RULES }]);
    },
    tamper: { edit: (s) => reRelease(s, FIRESTORE_RELEASE, "firestore.rules"), kept: reReleased(FIRESTORE_RELEASE) },
  },
  {
    name: "database without settings.rules over someone's released rules (rules: noop)",
    integration: "database",
    settings: { indexes: [INDEX] },
    different: (s) => release(s, FIRESTORE_RELEASE, "theirs", "firestore.rules", THEIR_FIRESTORE_RULES),
    expectDifferent: (changes) => {
      expect(actions(changes)).toEqual([
        ["rules.release", "noop"],
        ["firestore.index", "create"],
      ]);
    },
    tamper: { edit: (s) => reRelease(s, FIRESTORE_RELEASE, "firestore.rules"), kept: reReleased(FIRESTORE_RELEASE) },
  },
  {
    name: "storage (rules) over someone's released rules",
    integration: "storage",
    settings: { rules: OUR_STORAGE_RULES },
    different: (s) => release(s, STORAGE_RELEASE, "theirs", "storage.rules", THEIR_STORAGE_RULES),
    expectDifferent: (changes) => {
      expect(actions(changes)).toEqual([
        ["rules.ruleset", "create"],
        ["rules.release", "update"],
      ]);
    },
    tamper: { edit: (s) => reRelease(s, STORAGE_RELEASE, "storage.rules"), kept: reReleased(STORAGE_RELEASE) },
  },
  {
    name: "security (hardened Firestore and Storage rules) over someone's released rules",
    integration: "security",
    settings: {},
    different: (s) => {
      release(s, FIRESTORE_RELEASE, "their-firestore", "firestore.rules", THEIR_FIRESTORE_RULES);
      release(s, STORAGE_RELEASE, "their-storage", "storage.rules", THEIR_STORAGE_RULES);
    },
    expectDifferent: (changes) => {
      expect(actions(changes)).toEqual([
        ["rules.ruleset", "create"],
        ["rules.release", "update"],
        ["rules.ruleset", "create"],
        ["rules.release", "update"],
      ]);
    },
    tamper: { edit: (s) => reRelease(s, FIRESTORE_RELEASE, "firestore.rules"), kept: reReleased(FIRESTORE_RELEASE) },
  },
]);

describe("database rollback never deletes what existed before", () => {
  let h: Harness;
  let n = 0;
  const params = (settings: Record<string, unknown>) => firebaseParams("database", { settings });
  const newTask = (settings: Record<string, unknown>) => {
    const taskId = `database-before-${++n}`;
    return {
      provision: async () => h.executor.execute(params(settings), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1` })),
      compensate: async () => h.executor.compensate!(params(settings), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1/compensate` })),
    };
  };
  const settings = { rules: OUR_FIRESTORE_RULES, indexes: [INDEX] };
  /** Someone's release, an old and a recent unreferenced ruleset holding exactly our rules, our index and theirs. */
  const seed = (): Record<string, unknown> => {
    h.cp.reset();
    h.cp.edit((s) => {
      release(s, FIRESTORE_RELEASE, "theirs", "firestore.rules", THEIR_FIRESTORE_RULES);
      addRuleset(s, "old-copy", "firestore.rules", OUR_FIRESTORE_RULES);
      addRuleset(s, "recent-copy", "firestore.rules", OUR_FIRESTORE_RULES, new Date().toISOString());
      theirIndex(s);
      s.firestoreIndexes[`${INDEXES}/ours-before`] = { name: `${INDEXES}/ours-before`, queryScope: "COLLECTION", fields: INDEX.fields, state: "READY" };
    });
    return comparable(h.cp.state());
  };
  const kept = (s: ControlPlaneState): void => {
    expect(Object.keys(s.rulesets).sort()).toEqual([`${RULESETS}/old-copy`, `${RULESETS}/recent-copy`, `${RULESETS}/theirs`]);
    expect(Object.keys(s.firestoreIndexes).sort()).toEqual([`${INDEXES}/ours-before`, THEIR_INDEX]);
    expect(s.rulesReleases[FIRESTORE_RELEASE]?.rulesetName).toBe(`${RULESETS}/theirs`);
  };

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it("a provision over them, then a rollback, leaves every ruleset and index that was there", async () => {
    const before = seed();
    const t = newTask(settings);
    const out = outputOf(await t.provision());
    expect(actions(out.changeSet)).toEqual([
      ["rules.ruleset", "create"],
      ["rules.release", "update"],
      ["firestore.index", "noop"],
    ]);
    // The replaced ruleset is kept on apply: the rollback needs it.
    expect(h.cp.state().rulesets[`${RULESETS}/theirs`]).toBeDefined();
    expect(out.outputs).toMatchObject({ integration: "database", indexNames: [`${INDEXES}/ours-before`] });
    outputOf(await t.compensate());
    kept(h.cp.state());
    expect(comparable(h.cp.state())).toEqual(before);
  });

  it.each([0, 1])("a crash after mutating call %i (its answer lost), then a rollback, deletes only what the plan made", async (k) => {
    const before = seed();
    h.cp.clearCalls();
    h.cp.inject({ match: MUTATING_CALLS, skip: k, after: true, grpcCode: 13, message: "crash" });
    const t = newTask(settings);
    errorOf(await t.provision());
    h.cp.clearFaults();
    // The call landed: there is one ruleset more than before.
    expect(Object.keys(h.cp.state().rulesets)).toHaveLength(4);
    outputOf(await t.compensate());
    kept(h.cp.state());
    expect(comparable(h.cp.state())).toEqual(before);
  });

  it("a rollback of a from-nothing provision never deletes an index someone created alongside", async () => {
    h.cp.reset();
    const t = newTask(settings);
    outputOf(await t.provision());
    h.cp.edit(theirIndex);
    outputOf(await t.compensate());
    const s = h.cp.state();
    expect(Object.keys(s.firestoreIndexes)).toEqual([THEIR_INDEX]);
    expect(s.rulesReleases).toEqual({});
    expect(s.rulesets).toEqual({});
  });

  it("rules released by someone else survive the rollback of database without settings.rules", async () => {
    const before = seed();
    const t = newTask({ indexes: [INDEX] });
    const out = outputOf(await t.provision());
    expect(out.changed).toBe(false);
    expect(out.outputs).toMatchObject({ rulesetName: `${RULESETS}/theirs` });
    outputOf(await t.compensate());
    expect(comparable(h.cp.state())).toEqual(before);
  });

  it("a replaced ruleset someone deleted meanwhile is released again from its before source", async () => {
    h.cp.reset();
    h.cp.edit((s) => release(s, FIRESTORE_RELEASE, "theirs", "firestore.rules", THEIR_FIRESTORE_RULES));
    const t = newTask({ rules: OUR_FIRESTORE_RULES });
    outputOf(await t.provision());
    h.cp.edit((s) => {
      delete s.rulesets[`${RULESETS}/theirs`];
    });
    outputOf(await t.compensate());
    const s = h.cp.state();
    const rulesetName = s.rulesReleases[FIRESTORE_RELEASE]?.rulesetName as string;
    expect(Object.keys(s.rulesets)).toEqual([rulesetName]);
    expect((s.rulesets[rulesetName]!.source as { files: Array<{ content: string }> }).files[0]!.content).toBe(THEIR_FIRESTORE_RULES);
  });
});
