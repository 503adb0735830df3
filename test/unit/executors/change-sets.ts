/**
 * The change-set contract every integration meets, against the local control plane with the real
 * clients: provision over three starting states (nothing, the same desired state, a different
 * pre-existing state), then compensate, and the control plane's state equals what it was before,
 * resource by resource (server timestamps and Hosting's release history aside). A crash after each
 * mutating call (the call lands, its answer is lost), then rollback, restores the state too.
 */
import { MUTATING_CALLS, isMutating, type ControlPlaneState } from "../../../local/control-plane";
import { comparable } from "../../support/control-plane-state";
import type { AppliedChange, FirebaseProvisionOutput } from "../../../functions/src/executors/types";
import { errorOf, firebaseParams, outputOf, startHarness, type Harness } from "./harness";

export const P = "lang-trak-dev";

export interface ChangeCase {
  /** Shown in the test name. */
  name: string;
  integration: string;
  settings: Record<string, unknown>;
  /** Runs before each test, after the reset (e.g. what the integration needs to exist). */
  setup?: (h: Harness) => Promise<void> | void;
  /** Someone else's resources where this integration manages them: the "different" starting state. */
  different: (s: ControlPlaneState) => void;
  /** After a from-nothing provision, someone changes what it made (`edit`): the rollback must leave that as it is (`kept`). */
  tamper?: { edit: (s: ControlPlaneState) => void; kept: (s: ControlPlaneState) => boolean };
  /** The resource always exists (e.g. a project's Auth config): a provision from nothing updates it. */
  alwaysExists?: boolean;
  /** Extra checks of the change set over the different state. */
  expectDifferent?: (changeSet: AppliedChange[]) => void;
}

const mutations = (h: Harness): string[] => h.cp.calls().filter(isMutating).map((c) => c.method);

export function describeChangeSets(cases: readonly ChangeCase[]): void {
  describe.each(cases)("change sets: $name", (c) => {
    let h: Harness;
    let task = 0;
    const params = (): Record<string, unknown> => firebaseParams(c.integration, { settings: c.settings });
    /** One task's provision and compensation share its journal. */
    const newTask = () => {
      const taskId = `${c.integration}-${++task}`;
      return {
        provision: async () => h.executor.execute(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1` })),
        compensate: async () => h.executor.compensate!(params(), h.ctx({ taskId, idempotencyKey: `plan-1/${taskId}/1/compensate` })),
      };
    };
    const start = async (different: boolean): Promise<Record<string, unknown>> => {
      h.cp.reset();
      await c.setup?.(h);
      if (different) h.cp.edit(c.different);
      h.cp.clearCalls();
      return comparable(h.cp.state());
    };

    beforeAll(async () => {
      h = await startHarness();
    });
    afterAll(async () => h.stop());

    it("from nothing: creates what is absent, and a rollback leaves the state as before", async () => {
      const before = await start(false);
      const t = newTask();
      const out = outputOf(await t.provision());
      expect(out.changed).toBe(true);
      expect(out.changeSet.some((ch) => ch.action === (c.alwaysExists === true ? "update" : "create"))).toBe(true);
      expect(comparable(h.cp.state())).not.toEqual(before);
      outputOf(await t.compensate());
      expect(comparable(h.cp.state())).toEqual(before);
      // A second rollback finds nothing left to undo.
      h.cp.clearCalls();
      outputOf(await t.compensate());
      expect(mutations(h)).toEqual([]);
    });

    it("over the same desired state: a no-op with zero mutating calls, and a rollback changes nothing", async () => {
      await start(false);
      outputOf(await newTask().provision());
      const before = comparable(h.cp.state());
      h.cp.clearCalls();
      const t = newTask();
      const out = outputOf(await t.provision());
      expect(mutations(h)).toEqual([]);
      expect(out.changed).toBe(false);
      expect(out.changeSet.every((ch) => ch.action === "noop")).toBe(true);
      expect(out.summary).toMatchObject({ create: 0, update: 0 });
      outputOf(await t.compensate());
      expect(mutations(h)).toEqual([]);
      expect(comparable(h.cp.state())).toEqual(before);
    });

    it("over a different pre-existing state: changes it, and a rollback restores exactly what was there", async () => {
      const before = await start(true);
      const t = newTask();
      const out: FirebaseProvisionOutput = outputOf(await t.provision());
      expect(out.changed).toBe(true);
      c.expectDifferent?.(out.changeSet);
      for (const ch of out.changeSet.filter((x) => x.action === "update")) expect(ch.fields.length).toBeGreaterThan(0);
      outputOf(await t.compensate());
      expect(comparable(h.cp.state())).toEqual(before);
    });

    it.each([false, true])("a crash after each mutating call, then rollback, restores the state (different start: %s)", async (different) => {
      await start(different);
      outputOf(await newTask().provision());
      const calls = mutations(h).length;
      expect(calls).toBeGreaterThan(0);
      for (let k = 0; k < calls; k++) {
        const before = await start(different);
        // INTERNAL: a code no client retries on its own, so the attempt sees the loss.
        h.cp.inject({ match: MUTATING_CALLS, skip: k, after: true, grpcCode: 13, message: `crash after mutating call ${k + 1}` });
        const t = newTask();
        errorOf(await t.provision());
        h.cp.clearFaults();
        outputOf(await t.compensate());
        expect({ k, state: comparable(h.cp.state()) }).toEqual({ k, state: before });
      }
    });

    if (c.tamper !== undefined) {
      it("a resource someone changed after the apply is a conflict, left as it is", async () => {
        await start(false);
        const t = newTask();
        outputOf(await t.provision());
        h.cp.edit(c.tamper!.edit);
        expect(c.tamper!.kept(h.cp.state())).toBe(true);
        const failure = errorOf(await t.compensate());
        expect(failure).toMatchObject({ code: "conflict", retryable: false });
        expect(failure.message).toContain("left as it is");
        expect(c.tamper!.kept(h.cp.state())).toBe(true);
      });
    }

    it("a rollback with no record changes nothing and says so", async () => {
      await start(true);
      const before = comparable(h.cp.state());
      const out = outputOf(await newTask().compensate()) as unknown as { changed: boolean; note?: string };
      expect(out.changed).toBe(false);
      expect(out.note).toMatch(/no change set was recorded/);
      expect(mutations(h)).toEqual([]);
      expect(comparable(h.cp.state())).toEqual(before);
    });
  });
}
