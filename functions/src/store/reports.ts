/**
 * Where a compiled plan's report lives: `plans/{planId}/report/overview` (cost, risks, compliance,
 * milestones, critical path, effective spec) and `plans/{planId}/report/graph-NNNN` chunks (nodes
 * with their timeline, edges), so a 20,000-task plan never comes near Firestore's 1 MiB per
 * document. Firestore cannot store nested arrays, so edges are stored as `{from, to}` objects and
 * the levels are rebuilt from each node's `level` when read.
 */
import type { Firestore } from "firebase-admin/firestore";
import type { PlanReport } from "../planner/compile";
import { planRef } from "./paths";

const NODES_PER_CHUNK = 1_000;
const EDGES_PER_CHUNK = 4_000;
const REPORT = "report";

type Node = PlanReport["graph"]["nodes"][number];
type Row = PlanReport["timeline"][number];

export async function writePlanReport(db: Firestore, planId: string, report: PlanReport): Promise<void> {
  const col = planRef(db, planId).collection(REPORT);
  const { graph, timeline, ...overview } = report;
  const chunks = Math.max(Math.ceil(Math.max(graph.nodes.length, timeline.length) / NODES_PER_CHUNK), Math.ceil(graph.edges.length / EDGES_PER_CHUNK), 1);
  const writes: Array<Promise<unknown>> = [
    col.doc("overview").set({ ...overview, graphChunks: chunks, nodeCount: graph.nodes.length, edgeCount: graph.edges.length }),
  ];
  for (let i = 0; i < chunks; i++) {
    const nodes = graph.nodes.slice(i * NODES_PER_CHUNK, (i + 1) * NODES_PER_CHUNK);
    writes.push(
      col.doc(`graph-${String(i).padStart(4, "0")}`).set({
        part: i,
        nodes,
        timeline: timeline.slice(i * NODES_PER_CHUNK, (i + 1) * NODES_PER_CHUNK),
        edges: graph.edges.slice(i * EDGES_PER_CHUNK, (i + 1) * EDGES_PER_CHUNK).map(([from, to]) => ({ from, to })),
      }),
    );
  }
  await Promise.all(writes);
}

export async function readPlanReport(db: Firestore, planId: string): Promise<PlanReport | undefined> {
  const snap = await planRef(db, planId).collection(REPORT).get();
  const overviewDoc = snap.docs.find((d) => d.id === "overview");
  if (overviewDoc === undefined) return undefined;
  const { graphChunks: _chunks, nodeCount: _nodes, edgeCount: _edges, ...overview } = overviewDoc.data();
  const parts = snap.docs.filter((d) => d.id.startsWith("graph-")).sort((a, b) => a.id.localeCompare(b.id));
  const nodes: Node[] = parts.flatMap((d) => d.get("nodes") as Node[]);
  const timeline: Row[] = parts.flatMap((d) => d.get("timeline") as Row[]);
  const edges = parts.flatMap((d) => d.get("edges") as Array<{ from: string; to: string }>).map((e): [string, string] => [e.from, e.to]);
  const levels: string[][] = [];
  for (const node of nodes) (levels[node.level] ??= []).push(node.id);
  return { ...(overview as Omit<PlanReport, "graph" | "timeline">), graph: { nodes, edges, levels }, timeline };
}
