/**
 * A refresh's change sets for a person, like `terraform plan`: per environment and integration,
 * `+` create, `~` update (with its fields; multi-line text such as rules as a unified diff),
 * `-/+` replace, `=` unchanged, and the totals.
 */
import type { Change, ChangeSummary } from "../executors/firebase/change-set";
import type { RefreshResult } from "../executors/refresh";

/** "3 to create, 2 to change, 14 unchanged" (Terraform's wording). */
export function summaryLine(s: ChangeSummary): string {
  const parts = [`${s.create} to create`, `${s.update} to change`];
  if (s.replace > 0) parts.push(`${s.replace} to replace`);
  parts.push(`${s.noop} unchanged`);
  return parts.join(", ");
}

const SIGN: Readonly<Record<Change["action"], string>> = { create: "+", update: "~", replace: "-/+", noop: "=" };

/** Unified diff of two texts, by line (the common head and tail are trimmed before the LCS). */
export function unifiedDiff(before: string, after: string, context = 2): string[] {
  const a = before.split("\n");
  const b = after.split("\n");
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head += 1;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail += 1;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const ops: Array<[" " | "-" | "+", string]> = [];
  if (midA.length * midB.length > 4_000_000) {
    for (const line of midA) ops.push(["-", line]);
    for (const line of midB) ops.push(["+", line]);
  } else {
    // LCS table over the differing middle.
    const lcs: number[][] = Array.from({ length: midA.length + 1 }, () => new Array<number>(midB.length + 1).fill(0));
    for (let i = midA.length - 1; i >= 0; i--) for (let j = midB.length - 1; j >= 0; j--) lcs[i]![j] = midA[i] === midB[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    let i = 0;
    let j = 0;
    while (i < midA.length || j < midB.length) {
      if (i < midA.length && j < midB.length && midA[i] === midB[j]) {
        ops.push([" ", midA[i]!]);
        i += 1;
        j += 1;
      } else if (i < midA.length && (j === midB.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
        // Removals before additions, as diff prints them.
        ops.push(["-", midA[i]!]);
        i += 1;
      } else {
        ops.push(["+", midB[j]!]);
        j += 1;
      }
    }
  }
  const lead = a.slice(Math.max(0, head - context), head).map((l): [" ", string] => [" ", l]);
  const trail = a.slice(a.length - tail, a.length - tail + context).map((l): [" ", string] => [" ", l]);
  const startA = head - lead.length + 1;
  const countA = lead.length + ops.filter(([k]) => k !== "+").length + trail.length;
  const countB = lead.length + ops.filter(([k]) => k !== "-").length + trail.length;
  return ["--- before", "+++ after", `@@ -${startA},${countA} +${startA},${countB} @@`, ...[...lead, ...ops, ...trail].map(([k, l]) => `${k}${l}`)];
}

const brief = (v: unknown): string => {
  const text = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v ?? null);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
};

function fieldLines(change: Change): string[] {
  if (change.action === "noop" || change.action === "create") return [];
  return change.fields.flatMap((f) => {
    if (typeof f.before === "string" && typeof f.after === "string" && (f.before.includes("\n") || f.after.includes("\n"))) {
      return [`${f.field}:`, ...unifiedDiff(f.before, f.after).map((l) => `  ${l}`)];
    }
    return [`${f.field}: ${brief(f.before)} → ${brief(f.after)}`];
  });
}

export function formatRefresh(result: RefreshResult): string {
  const out: string[] = ["Changes against the live state (refreshed; nothing was changed)"];
  const envs = new Map<string, RefreshResult["tasks"]>();
  for (const t of result.tasks) envs.set(`${t.environment} (${t.projectId})`, [...(envs.get(`${t.environment} (${t.projectId})`) ?? []), t]);
  for (const [env, tasks] of envs) {
    out.push(`  ${env}`);
    for (const t of tasks) {
      // A change that only supports another (a new ruleset for a release) shows as part of it.
      for (const c of t.changes.filter((x) => x.supports === undefined)) {
        out.push(`    ${SIGN[c.action].padStart(3)} ${t.integration.padEnd(15)} ${c.resource}${c.action === "noop" ? "" : `  (${c.action})`}`);
        for (const line of fieldLines(c)) out.push(`          ${line}`);
      }
    }
  }
  for (const e of result.errors) out.push(`  ! ${e.taskId}: could not read the live state: ${e.message}`);
  out.push("");
  out.push(`Plan: ${summaryLine(result.total)}.${result.errors.length > 0 ? ` ${result.errors.length} task(s) could not be refreshed.` : ""}`);
  return out.join("\n");
}
