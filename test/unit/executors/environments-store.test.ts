/** `environments/{envId}`: what recordEnvironmentState writes, checked against a recording Firestore double. */
import { FieldPath, type Firestore } from "firebase-admin/firestore";
import { environmentStateRecorder } from "../../../functions/src/store/environments";

interface Write {
  path: string;
  data: Record<string, unknown>;
  options: { mergeFields?: Array<string | FieldPath> };
}

function recordingFirestore(writes: Write[]): Firestore {
  const db = {
    collection: (collection: string) => ({
      doc: (id: string) => ({
        set: async (data: Record<string, unknown>, options: Write["options"]) => {
          writes.push({ path: `${collection}/${id}`, data, options });
        },
      }),
    }),
  };
  return db as unknown as Firestore;
}

describe("environment state store", () => {
  it("replaces one integration's desired/observed map at environments/{envId}, leaving others alone", async () => {
    const writes: Write[] = [];
    const record = environmentStateRecorder(() => recordingFirestore(writes));
    await record("lang-trak-prod", "backup", {
      desired: { schedule: "0 3 * * *", body: Buffer.from("x") },
      observed: { schedule: "0 4 * * *", missing: undefined },
      drift: [{ resource: "projects/lang-trak-prod/locations/us-central1/jobs/orchestrator-firestore-backup", field: "schedule", desired: "0 3 * * *", observed: "0 4 * * *" }],
      action: "verify",
      at: 1_700_000_000_000,
    });
    expect(writes).toHaveLength(1);
    const [write] = writes;
    expect(write!.path).toBe("environments/lang-trak-prod");
    expect(write!.data).toEqual({
      integrations: {
        backup: {
          desired: { schedule: "0 3 * * *", body: { type: "Buffer", data: [120] } },
          observed: { schedule: "0 4 * * *" },
          drift: [expect.objectContaining({ field: "schedule" })],
          inSync: false,
          action: "verify",
          at: 1_700_000_000_000,
        },
      },
      updatedAt: 1_700_000_000_000,
    });
    expect(write!.options.mergeFields).toEqual([new FieldPath("integrations", "backup"), "updatedAt"]);
  });
});
