/**
 * What other tools subscribe to: an Atom feed (RFC 4287) of incidents, for feed readers and chat
 * integrations, and an SVG uptime badge per environment, for READMEs (shields.io's flat style).
 * Pure string formatting; the API serves them.
 */
import type { Incident } from "./incidents";

const xml = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
const iso = (ms: number): string => new Date(ms).toISOString();

export interface FeedContext {
  /** The feed's own URL (its id and rel=self). */
  selfUrl: string;
  /** The status page (rel=alternate of the feed and of each entry). */
  pageUrl: string;
  title: string;
  now: number;
}

function entryText(i: Incident): string {
  const span = i.endedAt === null ? `open since ${iso(i.startedAt)} (${i.durationMinutes} min so far)` : `${iso(i.startedAt)} → ${iso(i.endedAt)} (${i.durationMinutes} min)`;
  const cost = i.budgetCost === null ? "" : ` It cost ${i.budgetCost.minutes} min of the error budget${i.budgetCost.fraction === null ? "" : ` (${Math.round(i.budgetCost.fraction * 1000) / 10} %)`}.`;
  return `${i.status === "open" ? "Open" : "Resolved"}: ${i.message} ${span}.${cost}`;
}

/** The feed: one entry per incident, updated when it last changed (its end, or its start while open). */
export function incidentsAtom(incidents: readonly Incident[], ctx: FeedContext): string {
  const updated = Math.max(0, ...incidents.map((i) => i.endedAt ?? i.startedAt));
  const entries = incidents
    .map(
      (i) => `  <entry>
    <id>${xml(`${ctx.selfUrl}#${i.id}`)}</id>
    <title>${xml(`${i.status === "open" ? "[open] " : "[resolved] "}${i.title}`)}</title>
    <updated>${iso(i.endedAt ?? i.startedAt)}</updated>
    <published>${iso(i.startedAt)}</published>
    <link rel="alternate" href="${xml(ctx.pageUrl)}"/>
    <category term="${xml(i.severity)}"/>${i.environmentId === null ? "" : `\n    <category term="${xml(i.environmentId)}"/>`}
    <summary>${xml(entryText(i))}</summary>
  </entry>`,
    )
    .join("\n");
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>${xml(ctx.selfUrl)}</id>
  <title>${xml(ctx.title)}</title>
  <updated>${iso(updated === 0 ? ctx.now : updated)}</updated>
  <link rel="self" href="${xml(ctx.selfUrl)}"/>
  <link rel="alternate" href="${xml(ctx.pageUrl)}"/>
  <author><name>Firebase Orchestrator</name></author>
${entries}
</feed>
`;
}

/** Verdana 11px, as shields.io measures: an average advance per character is close enough for short labels. */
const textWidth = (s: string): number => Math.round([...s].reduce((w, c) => w + (/[il.,:;|!' ]/.test(c) ? 3.5 : /[mwMW%]/.test(c) ? 10 : /[A-Z0-9]/.test(c) ? 7.5 : 6.5), 0)) + 10;

/** The colour of an uptime figure, like Upptime's badges: green at 99.9 % or better, down to red under 95 %. */
export function uptimeColour(percent: number | null): string {
  if (percent === null) return "#9f9f9f";
  if (percent >= 99.9) return "#4c1";
  if (percent >= 99) return "#97ca00";
  if (percent >= 98) return "#dfb317";
  if (percent >= 95) return "#fe7d37";
  return "#e05d44";
}

/** A flat two-part badge: `label | value`, the value coloured by uptime. */
export function uptimeBadge(label: string, percent: number | null): string {
  const value = percent === null ? "no data" : `${percent.toFixed(percent >= 99.995 ? 0 : 2)} %`;
  const lw = textWidth(label);
  const vw = textWidth(value);
  const w = lw + vw;
  const title = `${label}: ${value} uptime`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${xml(title)}"><title>${xml(title)}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${uptimeColour(percent)}"/><rect width="${w}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="${lw / 2}" y="14">${xml(label)}</text><text x="${lw + vw / 2}" y="14">${xml(value)}</text></g></svg>`;
}
