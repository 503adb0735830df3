/**
 * Group commit and grouped reads for the engine's hot path. A Cloud Functions (2nd gen) instance
 * serves many deliveries at once (concurrency up to 1,000; 80 by default), and most of what each
 * one does is a one-document read and a one-document compare-and-set. Sent one by one, those are
 * hundreds of tiny round trips; here, while a commit (or a read) is in flight, the next ones queue,
 * and go out together as one atomic commit (or one batched read) when it returns. Nothing waits
 * on a timer: a lone request goes out at once, and groups grow only under load (group commit, as
 * databases do it for their logs).
 *
 * Every member keeps the outcome it would have alone: a group commit is atomic, so if any member's
 * precondition fails (or any write is refused) the whole group is retried member by member, and
 * each gets its own result or error. Writes to one document are never in two commits at once.
 * A group whose answer was lost (isAmbiguousCommit) may have applied: a member whose own commit
 * then fails its precondition may be failing on the group's write of it, so it gets the group's
 * ambiguous error, never a lost race (store/firestore.ts compareAndSet finds out which it was).
 */
import { GrpcStatus, type DocumentData, type DocumentReference, type DocumentSnapshot, type Firestore, type Timestamp, type WriteResult } from "firebase-admin/firestore";
import { grpcCode } from "../clients/grpc-code";

/**
 * Answers after which a commit may or may not have applied: the answer was lost, not (surely) the
 * write. DEADLINE_EXCEEDED and UNAVAILABLE above all; CANCELLED, UNKNOWN and INTERNAL too.
 */
const AMBIGUOUS_CODES: ReadonlySet<number> = new Set([GrpcStatus.CANCELLED, GrpcStatus.UNKNOWN, GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.INTERNAL, GrpcStatus.UNAVAILABLE]);

export function isAmbiguousCommit(error: unknown): boolean {
  const code = grpcCode(error);
  return code !== undefined && AMBIGUOUS_CODES.has(code);
}

/** A write of a group member, as plain data (what a `WriteBatch` call would say). */
export type Write =
  | { op: "set"; ref: DocumentReference; data: DocumentData }
  | { op: "create"; ref: DocumentReference; data: DocumentData }
  | { op: "update"; ref: DocumentReference; data: DocumentData; lastUpdateTime?: Timestamp };

/** Collects writes with the calls of a `WriteBatch`, for decisions that describe their writes. */
export class WriteList {
  readonly writes: Write[] = [];
  set(ref: DocumentReference, data: DocumentData): this {
    this.writes.push({ op: "set", ref, data });
    return this;
  }
  create(ref: DocumentReference, data: DocumentData): this {
    this.writes.push({ op: "create", ref, data });
    return this;
  }
  update(ref: DocumentReference, data: DocumentData, precondition?: { lastUpdateTime: Timestamp }): this {
    this.writes.push({ op: "update", ref, data, ...(precondition === undefined ? {} : { lastUpdateTime: precondition.lastUpdateTime }) });
    return this;
  }
}

/** One atomic commit of `writes`; results in the same order. */
async function commitTogether(db: Firestore, writes: readonly Write[]): Promise<WriteResult[]> {
  const batch = db.batch();
  for (const w of writes) {
    if (w.op === "set") batch.set(w.ref, w.data);
    else if (w.op === "create") batch.create(w.ref, w.data);
    else if (w.lastUpdateTime === undefined) batch.update(w.ref, w.data);
    else batch.update(w.ref, w.data, { lastUpdateTime: w.lastUpdateTime });
  }
  return batch.commit();
}

/** Firestore's limit on writes in one commit. */
const MAX_WRITES_PER_COMMIT = 500;
/** Documents in one grouped read (a batched read has no hard limit; this keeps answers small). */
const MAX_DOCUMENTS_PER_READ = 300;
/** Groups in flight at once: one fills while the other commits. */
const GROUPS_IN_FLIGHT = 2;

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * A queue that sends its members in groups, at most `GROUPS_IN_FLIGHT` at a time. A member joins
 * the group being formed while the group's total `size` stays within `limit` and none of its
 * `keys` (the documents it writes) is in flight or taken by an earlier member still waiting: writes
 * to one document go out one at a time, in the order they were asked for.
 */
class GroupQueue<M extends Waiter<R>, R> {
  private queue: M[] = [];
  private readonly inFlight = new Set<M[]>();
  private readonly busyKeys = new Map<string, number>();

  constructor(
    private readonly send: (group: M[]) => Promise<void>,
    private readonly size: (member: M) => number,
    private readonly limit: number,
    private readonly keys: (member: M) => readonly string[] = () => [],
  ) {}

  add(member: M): void {
    this.queue.push(member);
    this.drain();
  }

  private drain(): void {
    while (this.inFlight.size < GROUPS_IN_FLIGHT && this.queue.length > 0) {
      const group: M[] = [];
      const later: M[] = [];
      const taken = new Set<string>();
      let total = 0;
      for (const member of this.queue) {
        const keys = this.keys(member);
        const free = keys.every((k) => !taken.has(k) && !this.busyKeys.has(k));
        if (free && (group.length === 0 || total + this.size(member) <= this.limit)) {
          group.push(member);
          total += this.size(member);
        } else later.push(member);
        keys.forEach((k) => taken.add(k));
      }
      if (group.length === 0) return; // everything waits for a document in flight
      this.queue = later;
      this.inFlight.add(group);
      const groupKeys = group.flatMap((m) => this.keys(m));
      groupKeys.forEach((k) => this.busyKeys.set(k, (this.busyKeys.get(k) ?? 0) + 1));
      void this.send(group)
        .catch((error: unknown) => group.forEach((m) => m.reject(error)))
        .finally(() => {
          this.inFlight.delete(group);
          for (const k of groupKeys) {
            const n = this.busyKeys.get(k)! - 1;
            if (n === 0) this.busyKeys.delete(k);
            else this.busyKeys.set(k, n);
          }
          this.drain();
        });
    }
  }
}

interface CommitMember extends Waiter<WriteResult[]> {
  writes: readonly Write[];
}

interface ReadMember extends Waiter<DocumentSnapshot[]> {
  refs: readonly DocumentReference[];
}

/**
 * One read at a time per key, shared by everyone who asked while it was queued: a caller gets the
 * result of a read issued after it asked (so it sees every write it made before asking), but
 * callers that ask while one read of the key is in flight share the next one instead of sending
 * their own. For reads that sum what concurrent callers just wrote (a wide join's arrivals).
 */
class SharedReads {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly next = new Map<string, Promise<unknown>>();

  read<T>(key: string, read: () => Promise<T>): Promise<T> {
    const queued = this.next.get(key);
    if (queued !== undefined) return queued as Promise<T>;
    const current = this.inFlight.get(key);
    const issue = (): Promise<T> => {
      const p = read().finally(() => {
        if (this.inFlight.get(key) === p) this.inFlight.delete(key);
      });
      this.inFlight.set(key, p);
      return p;
    };
    if (current === undefined) return issue();
    const later = current
      .catch(() => undefined)
      .then(() => {
        this.next.delete(key);
        return issue();
      });
    this.next.set(key, later);
    return later;
  }
}

class Grouped {
  private readonly commits: GroupQueue<CommitMember, WriteResult[]>;
  readonly shared = new SharedReads();
  private readonly reads = new Map<string, GroupQueue<ReadMember, DocumentSnapshot[]>>();

  constructor(private readonly db: Firestore) {
    this.commits = new GroupQueue<CommitMember, WriteResult[]>(
      (group) => this.sendCommit(group),
      (member) => member.writes.length,
      MAX_WRITES_PER_COMMIT,
      (member) => member.writes.map((w) => w.ref.path),
    );
  }

  commit(writes: readonly Write[]): Promise<WriteResult[]> {
    return new Promise((resolve, reject) => this.commits.add({ writes, resolve, reject }));
  }

  getAll(refs: readonly DocumentReference[], fieldMask: readonly string[] | undefined): Promise<DocumentSnapshot[]> {
    const key = fieldMask === undefined ? "*" : JSON.stringify(fieldMask);
    let queue = this.reads.get(key);
    if (queue === undefined) {
      queue = new GroupQueue<ReadMember, DocumentSnapshot[]>(
        (group) => this.sendRead(group, fieldMask),
        (member) => member.refs.length,
        MAX_DOCUMENTS_PER_READ,
      );
      this.reads.set(key, queue);
    }
    const q = queue;
    return new Promise((resolve, reject) => q.add({ refs, resolve, reject }));
  }

  private async sendCommit(group: CommitMember[]): Promise<void> {
    let lost: unknown;
    if (group.length > 1) {
      try {
        const results = await commitTogether(this.db, group.flatMap((m) => m.writes));
        let at = 0;
        for (const m of group) {
          m.resolve(results.slice(at, at + m.writes.length));
          at += m.writes.length;
        }
        return;
      } catch (error) {
        // Which member failed is not said: each one commits on its own, to get its own outcome.
        if (isAmbiguousCommit(error)) lost = error;
      }
    }
    await Promise.all(
      group.map(async (m) => {
        try {
          m.resolve(await commitTogether(this.db, m.writes));
        } catch (error) {
          // After a group whose answer was lost, a failed precondition may be the group's own write.
          m.reject(lost !== undefined && grpcCode(error) === GrpcStatus.FAILED_PRECONDITION ? lost : error);
        }
      }),
    );
  }

  private async sendRead(group: ReadMember[], fieldMask: readonly string[] | undefined): Promise<void> {
    // Members that read the same document (the plan, for every claim of its tasks) share one read.
    const unique = new Map<string, DocumentReference>();
    for (const m of group) for (const ref of m.refs) unique.set(ref.path, ref);
    const refs = [...unique.values()];
    const snaps = await this.db.getAll(...refs, ...(fieldMask === undefined ? [] : [{ fieldMask: [...fieldMask] }]));
    const byPath = new Map(snaps.map((s, i) => [refs[i]!.path, s]));
    for (const m of group) m.resolve(m.refs.map((ref) => byPath.get(ref.path)!));
  }
}

const grouped = new WeakMap<Firestore, Grouped>();

function groupedFor(db: Firestore): Grouped {
  let g = grouped.get(db);
  if (g === undefined) {
    g = new Grouped(db);
    grouped.set(db, g);
  }
  return g;
}

/** Commits `writes` atomically, possibly in one commit with other callers' writes; results in order. */
export function groupCommit(db: Firestore, writes: readonly Write[]): Promise<WriteResult[]> {
  return groupedFor(db).commit(writes);
}

/** Reads `refs` (with an optional field mask), possibly in one batched read with other callers'. */
export function groupRead(db: Firestore, refs: readonly DocumentReference[], fieldMask?: readonly string[]): Promise<DocumentSnapshot[]> {
  return groupedFor(db).getAll(refs, fieldMask);
}

/**
 * Runs `read` for `key` (e.g. a collection's path), or shares a read of the same key that is issued
 * after this call: see SharedReads.
 */
export function sharedRead<T>(db: Firestore, key: string, read: () => Promise<T>): Promise<T> {
  return groupedFor(db).shared.read(key, read);
}
