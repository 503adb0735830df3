/**
 * firestore.rules in the Firestore emulator: clients never write engine or health state, only
 * operators create plans and only in the shape a user writes, viewers read what the page shows.
 * A project of its own, so the rules loaded here do not touch other suites' project.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assertFails, assertSucceeds, initializeTestEnvironment, type RulesTestEnvironment } from "@firebase/rules-unit-testing";
import { addDoc, collection, deleteDoc, doc, getDoc, getDocs, limit, orderBy, query, setDoc, setLogLevel, updateDoc, type Firestore } from "firebase/firestore";
import { requireEmulators } from "../../support/emulators";

requireEmulators("FIRESTORE_EMULATOR_HOST");
let env: RulesTestEnvironment;

const as = {
  anonymous: (): Firestore => env.unauthenticatedContext().firestore() as unknown as Firestore,
  noRole: (): Firestore => env.authenticatedContext("nobody", { email: "nobody@example.com" }).firestore() as unknown as Firestore,
  viewer: (): Firestore => env.authenticatedContext("viewer-1", { role: "viewer" }).firestore() as unknown as Firestore,
  operator: (): Firestore => env.authenticatedContext("op-1", { role: "operator" }).firestore() as unknown as Firestore,
};

const goodPlan = { name: "from the SDK", tasks: [{ id: "a", run: "noop" }], labels: { submittedBy: "op-1" } };

beforeAll(async () => {
  setLogLevel("error");
  const [host, port] = process.env.FIRESTORE_EMULATOR_HOST!.split(":");
  env = await initializeTestEnvironment({
    projectId: "demo-orchestrator-rules",
    firestore: { rules: readFileSync(join(__dirname, "../../../firestore.rules"), "utf8"), host, port: Number(port) },
  });
  await env.withSecurityRulesDisabled(async (ctx) => {
    const db = ctx.firestore();
    await setDoc(doc(db, "plans/p1"), { name: "seeded", tasks: [{ id: "a", run: "noop" }], status: "running", createdAt: 1 });
    await setDoc(doc(db, "plans/p1/tasks/a"), { id: "a", status: "running" });
    await setDoc(doc(db, "plans/p1/events/e1"), { at: 1, type: "plan.started" });
    await setDoc(doc(db, "plans/p1/report/overview"), { outcome: "run" });
    await setDoc(doc(db, "plans/p1/secrets/x"), { token: "hashed" });
    await setDoc(doc(db, "environments/lang-trak-prod"), { health: { status: "ok" } });
    await setDoc(doc(db, "reports/r1"), { runId: "r1" });
    await setDoc(doc(db, "alerts/a1"), { status: "open" });
    await setDoc(doc(db, "locks/lang-trak-prod"), { owner: "p1" });
    await setDoc(doc(db, "deadLetters/d1"), { reason: "bad" });
    await setDoc(doc(db, "healthState/alerts"), { keys: {} });
    await setDoc(doc(db, "plans/p1/outputs/a"), { output: { status: 200, body: "captured" } });
    await setDoc(doc(db, "config/protection"), { protectedEnvironments: [] });
    await setDoc(doc(db, "schedules/s1"), { cron: "* * * * *", plan: { tasks: [{ id: "a", run: "noop" }] } });
    await setDoc(doc(db, "templates/t1"), { params: {}, plan: { tasks: [{ id: "a", run: "noop" }] }, version: 1 });
    await setDoc(doc(db, "templates/t1/versions/1"), { params: {}, plan: { tasks: [{ id: "a", run: "noop" }] }, version: 1 });
  });
});

afterAll(async () => {
  await env.cleanup();
});

const READABLE = ["plans/p1", "plans/p1/tasks/a", "plans/p1/events/e1", "plans/p1/report/overview", "environments/lang-trak-prod", "reports/r1", "alerts/a1", "schedules/s1", "templates/t1", "templates/t1/versions/1"];
const HIDDEN = ["locks/lang-trak-prod", "deadLetters/d1", "healthState/alerts", "plans/p1/secrets/x", "config/protection"];

describe("reading", () => {
  it.each(READABLE)("lets viewers and operators read %s, and nobody else", async (path) => {
    await assertSucceeds(getDoc(doc(as.viewer(), path)));
    await assertSucceeds(getDoc(doc(as.operator(), path)));
    await assertFails(getDoc(doc(as.anonymous(), path)));
    await assertFails(getDoc(doc(as.noRole(), path)));
  });

  it.each(HIDDEN)("hides %s from every client", async (path) => {
    await assertFails(getDoc(doc(as.operator(), path)));
  });

  it("lets only operators read task outputs (captured bodies, external payloads), never viewers", async () => {
    await assertSucceeds(getDoc(doc(as.operator(), "plans/p1/outputs/a")));
    await assertFails(getDoc(doc(as.viewer(), "plans/p1/outputs/a")));
    await assertFails(getDoc(doc(as.noRole(), "plans/p1/outputs/a")));
    await assertFails(getDoc(doc(as.anonymous(), "plans/p1/outputs/a")));
    await assertFails(getDocs(query(collection(as.viewer(), "plans/p1/outputs"), limit(10))));
    await assertSucceeds(getDocs(query(collection(as.operator(), "plans/p1/outputs"), limit(10))));
  });

  it("lets viewers run the page's listener queries", async () => {
    const db = as.viewer();
    await assertSucceeds(getDocs(query(collection(db, "plans"), orderBy("createdAt", "desc"), limit(50))));
    await assertSucceeds(getDocs(query(collection(db, "plans/p1/tasks"), limit(5000))));
    await assertSucceeds(getDocs(query(collection(db, "plans/p1/events"), orderBy("at", "desc"), limit(100))));
  });
});

describe("writing", () => {
  it.each(["plans/p1/tasks/a", "plans/p1/events/e2", "plans/p1/report/overview", "environments/lang-trak-prod", "reports/r2", "alerts/a2", "locks/lang-trak-dev", "deadLetters/d2", "plans/p1/outputs/a", "config/protection", "schedules/s2", "templates/t1", "templates/t2", "templates/t1/versions/2"])("never lets a client write %s", async (path) => {
    await assertFails(setDoc(doc(as.operator(), path), { status: "succeeded" }));
    await assertFails(setDoc(doc(as.viewer(), path), { status: "succeeded" }));
  });

  it("lets an operator create a plan in the user's shape, attributed to them", async () => {
    await assertSucceeds(addDoc(collection(as.operator(), "plans"), goodPlan));
    await assertSucceeds(addDoc(collection(as.operator(), "plans"), { environments: [], labels: { submittedBy: "op-1" } }));
    // An instance of a plan template: the plan trigger renders and validates it.
    await assertSucceeds(addDoc(collection(as.operator(), "plans"), { template: "t1", params: { region: "eu" }, labels: { submittedBy: "op-1" } }));
  });

  it("refuses a template's instance that also gives tasks or environments, or names no template by id", async () => {
    const op = as.operator();
    const instance = { template: "t1", params: {}, labels: { submittedBy: "op-1" } };
    await assertFails(addDoc(collection(op, "plans"), { ...instance, tasks: [{ id: "a", run: "noop" }] }));
    await assertFails(addDoc(collection(op, "plans"), { ...instance, environments: [] }));
    await assertFails(addDoc(collection(op, "plans"), { ...instance, template: { id: "t1" } }));
    await assertFails(addDoc(collection(as.viewer(), "plans"), { ...instance, labels: { submittedBy: "viewer-1" } }));
  });

  it("refuses plans from viewers and the anonymous, and plans with system fields or the wrong shape", async () => {
    await assertFails(addDoc(collection(as.viewer(), "plans"), { ...goodPlan, labels: { submittedBy: "viewer-1" } }));
    await assertFails(addDoc(collection(as.anonymous(), "plans"), goodPlan));
    const op = as.operator();
    for (const field of ["status", "compiled", "errors", "createdAt", "startLease", "startedAt", "finishedAt", "failedTask", "updatedAt", "createdBy"]) {
      await assertFails(addDoc(collection(op, "plans"), { ...goodPlan, [field]: field === "status" ? "succeeded" : 1 }));
    }
    await assertFails(addDoc(collection(op, "plans"), { ...goodPlan, environments: [] }));
    await assertFails(addDoc(collection(op, "plans"), { name: "neither", labels: { submittedBy: "op-1" } }));
    await assertFails(addDoc(collection(op, "plans"), { ...goodPlan, tasks: [] }));
    await assertFails(addDoc(collection(op, "plans"), { ...goodPlan, tasks: "all of them" }));
    await assertFails(addDoc(collection(op, "plans"), { ...goodPlan, labels: { submittedBy: "someone-else" } }));
    await assertFails(addDoc(collection(op, "plans"), { name: "unattributed", tasks: [{ id: "a", run: "noop" }] }));
  });

  it("never lets a client update or delete a plan", async () => {
    await assertFails(updateDoc(doc(as.operator(), "plans/p1"), { status: "cancelled" }));
    await assertFails(updateDoc(doc(as.operator(), "plans/p1"), { name: "renamed" }));
    await assertFails(deleteDoc(doc(as.operator(), "plans/p1")));
  });
});
