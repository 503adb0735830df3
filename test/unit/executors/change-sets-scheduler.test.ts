/** Change sets of the integrations made of Scheduler jobs and Pub/Sub topics: backup, health, functions. */
import { describeChangeSets, P } from "./change-sets";

const JOBS = `projects/${P}/locations/us-central1/jobs`;
const TOPICS = `projects/${P}/topics`;
const SUBS = `projects/${P}/subscriptions`;

describeChangeSets([
  {
    name: "backup (a Scheduler job)",
    integration: "backup",
    settings: { schedule: "0 4 * * *" },
    different: (s) => {
      s.schedulerJobs[`${JOBS}/orchestrator-firestore-backup`] = {
        name: `${JOBS}/orchestrator-firestore-backup`,
        description: "someone's own export",
        schedule: "0 1 * * 0",
        timeZone: "Europe/Berlin",
        state: "ENABLED",
        attemptDeadline: { seconds: "120" },
        httpTarget: { uri: "https://example.invalid/export", httpMethod: "POST", body: "" },
      };
    },
    expectDifferent: (changes) => {
      const job = changes.find((c) => c.type === "scheduler.job")!;
      expect(job.action).toBe("update");
      expect(job.fields.map((f) => f.field)).toEqual(expect.arrayContaining(["schedule", "timeZone", "description"]));
      expect(job.fields.find((f) => f.field === "schedule")).toEqual({ field: "schedule", before: "0 1 * * 0", after: "0 4 * * *" });
    },
    tamper: {
      edit: (s) => {
        s.schedulerJobs[`${JOBS}/orchestrator-firestore-backup`]!.schedule = "0 9 * * *";
        s.schedulerJobs[`${JOBS}/orchestrator-firestore-backup`]!.userUpdateTime = { seconds: "1", nanos: 0 };
      },
      kept: (s) => s.schedulerJobs[`${JOBS}/orchestrator-firestore-backup`]?.schedule === "0 9 * * *",
    },
  },
  {
    name: "health (a topic and a Scheduler job)",
    integration: "health",
    settings: {},
    different: (s) => {
      // The topic exists already (someone else's, with their labels): it is left alone, and kept on rollback.
      s.topics[`${TOPICS}/orchestrator-health-runs`] = { name: `${TOPICS}/orchestrator-health-runs`, labels: { team: "sre" } };
    },
    expectDifferent: (changes) => {
      expect(changes.map((c) => [c.type, c.action])).toEqual([
        ["pubsub.topic", "noop"],
        ["scheduler.job", "create"],
      ]);
    },
    tamper: {
      edit: (s) => {
        s.topics[`${TOPICS}/orchestrator-health-runs`]!.labels = { team: "sre" };
      },
      kept: (s) => s.topics[`${TOPICS}/orchestrator-health-runs`] !== undefined,
    },
  },
  {
    name: "functions (topics and subscriptions)",
    integration: "functions",
    settings: { topics: [{ topic: "dev-events", subscriptions: ["dev-events-worker"], ackDeadlineSeconds: 120 }] },
    different: (s) => {
      s.topics[`${TOPICS}/dev-events`] = { name: `${TOPICS}/dev-events` };
      s.subscriptions[`${SUBS}/dev-events-worker`] = { name: `${SUBS}/dev-events-worker`, topic: `${TOPICS}/dev-events`, ackDeadlineSeconds: 30 };
    },
    expectDifferent: (changes) => {
      expect(changes.find((c) => c.type === "pubsub.subscription")).toMatchObject({ action: "update", fields: [{ field: "ackDeadlineSeconds", before: 30, after: 120 }] });
    },
  },
]);
