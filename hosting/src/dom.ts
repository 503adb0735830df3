/** Tiny DOM helpers: elements from data, text always escaped. */
type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key === "class") node.className = String(value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  append(node, children);
  return node;
}

export function append(node: Node & ParentNode, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} is missing from the page`);
  return node as T;
};

/** Escapes text for the few places that build markup strings (the SVG views, for speed). */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const badge = (status: string, label = status.replace(/_/g, " ")): HTMLElement => el("span", { class: `badge s-${status}` }, label);

export function when(ms: unknown): string {
  return typeof ms === "number" ? new Date(ms).toLocaleString() : "—";
}

export function ago(ms: unknown, now = Date.now()): string {
  if (typeof ms !== "number") return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

export function duration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 360) / 10} h`;
}

export const usd = (n: number | null | undefined): string => (typeof n === "number" ? `$${n.toFixed(2)}` : "—");

/** A list of `{path, message}` problems, shown where they happened. */
export function fieldErrorList(errors: ReadonlyArray<{ path: string; message: string }>, label: string): HTMLElement {
  return el(
    "ul",
    { class: "errors", "aria-label": label },
    ...errors.map((e) => el("li", {}, el("code", {}, e.path === "" ? "(document)" : e.path), " ", e.message)),
  );
}
