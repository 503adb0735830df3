/**
 * Where outbound requests named by plans (http tasks, health probes) may go. Pure: no Firebase, no
 * I/O; the guarded request (egress/request.ts) asks this module about every address it is about
 * to connect to, and the configuration (egress/config.ts) builds the policy from the environment.
 *
 * - link-local (169.254.0.0/16, fe80::/10) and metadata servers (169.254.169.254, fd00:ec2::254,
 *   `metadata.google.internal`) are always refused: they hand out the function's own credentials;
 * - loopback, private, CGNAT and unspecified addresses are refused unless the deployment's
 *   allow-list names them (a CIDR, an address, or the hostname whose private answer it is);
 * - multicast, broadcast and reserved ranges are always refused (nothing a webhook lives on);
 * - everything else (public addresses) is allowed.
 *
 * IP literals are parsed in every spelling a URL parser, `inet_aton` or `getaddrinfo` accepts
 * (`2852039166`, `0251.0376.0251.0376`, `0xa9fea9fe`, `127.1`, `::ffff:a9fe:a9fe`, zone ids), and
 * IPv6 addresses that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by it.
 */

/** The environment variable the refusal messages point to (read by egress/config.ts). */
export const EGRESS_ALLOW_ENV = "ORCHESTRATOR_EGRESS_ALLOW";

export type AddressCategory =
  | "public"
  | "link-local"
  | "metadata"
  | "loopback"
  | "private"
  | "cgnat"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved";

/** Refused whatever the allow-list says. */
const ALWAYS_REFUSED: ReadonlySet<AddressCategory> = new Set<AddressCategory>(["link-local", "metadata", "multicast", "broadcast", "reserved"]);

/** An IPv4 (32-bit) or IPv6 (128-bit) address as a number, so ranges are one shift and compare. */
export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

interface Cidr {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

const bitsOf = (version: 4 | 6): number => (version === 4 ? 32 : 128);

function inCidr(ip: IpAddress, cidr: Cidr): boolean {
  if (ip.version !== cidr.version) return false;
  const shift = BigInt(bitsOf(ip.version) - cidr.prefix);
  return ip.value >> shift === cidr.network >> shift;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** One part of a WHATWG/inet_aton IPv4 address: decimal, octal (leading 0) or hex (0x). */
function ipv4Part(part: string): number | null {
  if (part === "") return null;
  let radix = 10;
  let digits = part;
  if (/^0x/i.test(part)) {
    radix = 16;
    digits = part.slice(2);
  } else if (part.length > 1 && part.startsWith("0")) {
    radix = 8;
    digits = part.slice(1);
  }
  // WHATWG reads a bare "0x" as zero.
  if (digits === "") return 0;
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return null;
  return parseInt(digits, radix);
}

/**
 * An IPv4 address in any spelling URL parsers and `inet_aton` accept: 1 to 4 parts, each decimal,
 * octal or hex, the last filling the remaining bytes (`127.1` is 127.0.0.1, `2852039166` is
 * 169.254.169.254). Null when `text` is not one.
 */
export function parseIpv4(text: string): bigint | null {
  let parts = text.split(".");
  // One trailing dot is allowed (`127.0.0.1.`), as in WHATWG's host parser.
  if (parts.length > 1 && parts.at(-1) === "") parts = parts.slice(0, -1);
  if (parts.length === 0 || parts.length > 4) return null;
  const numbers = parts.map(ipv4Part);
  if (numbers.some((n) => n === null)) return null;
  const values = numbers as number[];
  const last = values.at(-1)!;
  if (values.slice(0, -1).some((n) => n > 255)) return null;
  if (last >= 256 ** (5 - values.length)) return null;
  let value = BigInt(last);
  values.slice(0, -1).forEach((n, i) => {
    value += BigInt(n) << BigInt(8 * (3 - i));
  });
  return value;
}

/** A strict dotted quad (what may end an IPv6 address): four decimal parts, no leading zeros. */
function strictDottedQuad(text: string): bigint | null {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255)) return null;
  return parts.reduce((value, p) => (value << 8n) + BigInt(p), 0n);
}

/** An IPv6 address, with or without brackets and zone id (`fe80::1%eth0`); null when not one. */
export function parseIpv6(text: string): bigint | null {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = s.indexOf("%");
  if (zone !== -1) {
    if (zone === s.length - 1) return null;
    s = s.slice(0, zone);
  }
  if (!s.includes(":")) return null;
  const lastColon = s.lastIndexOf(":");
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = strictDottedQuad(tail);
    if (v4 === null) return null;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): string[] | null => {
    if (half === "") return [];
    const g = half.split(":");
    return g.every((x) => /^[0-9a-f]{1,4}$/i.test(x)) ? g : null;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  let all: string[];
  if (halves.length === 2) {
    if (head.length + rest.length > 7) return null;
    all = [...head, ...Array<string>(8 - head.length - rest.length).fill("0"), ...rest];
  } else {
    if (head.length !== 8) return null;
    all = head;
  }
  return all.reduce((value, g) => (value << 16n) + BigInt(parseInt(g, 16)), 0n);
}

/** An IP literal in any spelling (see parseIpv4, parseIpv6), or null for a hostname. */
export function parseIp(host: string): IpAddress | null {
  const v6 = parseIpv6(host);
  if (v6 !== null) return { version: 6, value: v6 };
  const v4 = parseIpv4(host);
  if (v4 !== null) return { version: 4, value: v4 };
  return null;
}

/**
 * The IPv4 address an IPv6 address stands for, if it embeds one: IPv4-mapped (`::ffff:a.b.c.d`),
 * SIIT (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, not `::` or `::1`), NAT64
 * (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`). A request to any of them can reach the IPv4
 * host, so they are judged by it.
 */
export function embeddedIpv4(ip: IpAddress): IpAddress | null {
  if (ip.version !== 6) return null;
  const high96 = ip.value >> 32n;
  const low32 = ip.value & 0xffffffffn;
  if (high96 === 0xffffn || high96 === 0xffff0000n || high96 === 0x64ff9b0000000000000000n) return { version: 4, value: low32 };
  if (high96 === 0n && low32 > 1n) return { version: 4, value: low32 };
  if (ip.value >> 112n === 0x2002n) return { version: 4, value: (ip.value >> 80n) & 0xffffffffn };
  return null;
}

const v4Text = (value: bigint): string => [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join(".");

/** The canonical text of an address: dotted IPv4; compressed IPv6 (with a dotted tail when it embeds IPv4 in its last 32 bits). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return v4Text(ip.value);
  const words = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((ip.value >> s) & 0xffffn));
  const embedded = embeddedIpv4(ip);
  const dottedTail = embedded !== null && ip.value >> 112n !== 0x2002n;
  const hex = (dottedTail ? words.slice(0, 6) : words).map((w) => w.toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < hex.length; i += 1) {
    let j = i;
    while (j < hex.length && hex[j] === "0") j += 1;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    if (j > i) i = j - 1;
  }
  const tail = dottedTail ? [v4Text(ip.value & 0xffffffffn)] : [];
  if (best === -1) return [...hex, ...tail].join(":");
  const left = hex.slice(0, best).join(":");
  const right = [...hex.slice(best + bestLength), ...tail].join(":");
  return `${left}::${right}`;
}

// ---------------------------------------------------------------------------------------------
// Classification

function cidr(text: string): Cidr {
  const [address, prefix] = text.split("/");
  const ip = parseIp(address!)!;
  return { version: ip.version, network: ip.value, prefix: Number(prefix) };
}

/** First match wins: the metadata address before its link-local range, the AWS IPv6 metadata address before fc00::/7. */
const RANGES: ReadonlyArray<readonly [Cidr, AddressCategory]> = (
  [
    ["169.254.169.254/32", "metadata"],
    ["169.254.0.0/16", "link-local"],
    ["0.0.0.0/8", "unspecified"],
    ["10.0.0.0/8", "private"],
    ["100.64.0.0/10", "cgnat"],
    ["127.0.0.0/8", "loopback"],
    ["172.16.0.0/12", "private"],
    ["192.168.0.0/16", "private"],
    // IETF protocol assignments, documentation and benchmarking ranges: nothing to call there.
    ["192.0.0.0/24", "reserved"],
    ["192.0.2.0/24", "reserved"],
    ["198.18.0.0/15", "reserved"],
    ["198.51.100.0/24", "reserved"],
    ["203.0.113.0/24", "reserved"],
    ["255.255.255.255/32", "broadcast"],
    ["224.0.0.0/4", "multicast"],
    ["240.0.0.0/4", "reserved"],
    ["::/128", "unspecified"],
    ["::1/128", "loopback"],
    ["fd00:ec2::254/128", "metadata"],
    ["fe80::/10", "link-local"],
    ["fec0::/10", "private"],
    ["fc00::/7", "private"],
    ["ff00::/8", "multicast"],
    // Local-use NAT64 (RFC 8215): translates to whatever the local network routes.
    ["64:ff9b:1::/48", "private"],
    ["100::/64", "reserved"],
    // Teredo: the IPv4 client is obfuscated in the address; nothing legitimate to call there.
    ["2001::/32", "reserved"],
    ["2001:db8::/32", "reserved"],
  ] as const
).map(([range, category]) => [cidr(range), category] as const);

const GLOBAL_UNICAST_V6 = cidr("2000::/3");

/** What kind of address `ip` is; an IPv6 address embedding IPv4 is what its IPv4 address is. */
export function classifyIp(ip: IpAddress): AddressCategory {
  const embedded = embeddedIpv4(ip);
  if (embedded !== null) return classifyIp(embedded);
  for (const [range, category] of RANGES) if (inCidr(ip, range)) return category;
  // Outside 2000::/3 IPv6 is unassigned or special-purpose.
  if (ip.version === 6 && !inCidr(ip, GLOBAL_UNICAST_V6)) return "reserved";
  return "public";
}

/** Lower case, no brackets, no trailing dots (`Metadata.Google.Internal.` is `metadata.google.internal`); IPs in canonical form. */
export function normaliseHost(host: string): string {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const ip = parseIp(bare);
  if (ip !== null) return formatIp(ip);
  return bare.toLowerCase().replace(/\.+$/, "");
}

const METADATA_HOSTNAMES: ReadonlySet<string> = new Set(["metadata", "metadata.google.internal"]);

export function isMetadataHostname(host: string): boolean {
  return METADATA_HOSTNAMES.has(normaliseHost(host));
}

/**
 * Whether `host` matches one of `patterns`: an exact host, or `*.example.com` for any host below
 * example.com (not example.com itself). Case, brackets and trailing dots do not matter.
 */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = normaliseHost(host);
  return patterns.some((pattern) => {
    if (pattern.startsWith("*.")) {
      const suffix = normaliseHost(pattern.slice(2));
      return h.endsWith(`.${suffix}`);
    }
    return h === normaliseHost(pattern);
  });
}

// ---------------------------------------------------------------------------------------------
// The policy

export type AllowEntry = { kind: "cidr"; cidr: Cidr; text: string } | { kind: "host"; pattern: string; text: string };

export interface EgressPolicy {
  readonly allow: readonly AllowEntry[];
}

const HOSTNAME_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** One allow-list entry (`127.0.0.0/8`, `::1/128`, `10.1.2.3`, `internal.example.com`, `*.corp.example`); throws when it is none of these. */
export function parseAllowEntry(text: string): AllowEntry {
  const entry = text.trim();
  const slash = entry.indexOf("/");
  if (slash !== -1) {
    const ip = parseIp(entry.slice(0, slash));
    const prefixText = entry.slice(slash + 1);
    const prefix = Number(prefixText);
    if (ip === null || !/^[0-9]{1,3}$/.test(prefixText) || prefix > bitsOf(ip.version)) {
      throw new Error(`"${entry}" is not a CIDR range (e.g. 10.1.2.0/24 or fd00::/8)`);
    }
    return { kind: "cidr", cidr: { version: ip.version, network: ip.value, prefix }, text: entry };
  }
  const ip = parseIp(entry);
  if (ip !== null) return { kind: "cidr", cidr: { version: ip.version, network: ip.value, prefix: bitsOf(ip.version) }, text: entry };
  const host = entry.toLowerCase().replace(/\.+$/, "");
  if (host.length > 0 && host.length <= 253 && HOSTNAME_PATTERN.test(host)) return { kind: "host", pattern: host, text: entry };
  throw new Error(`"${entry}" is neither an address, a CIDR range nor a hostname`);
}

/** A policy from allow-list entries; throws naming the first invalid one. Empty entries are ignored. */
export function createEgressPolicy(allow: readonly string[] = []): EgressPolicy {
  return { allow: allow.filter((e) => e.trim() !== "").map(parseAllowEntry) };
}

/** `policy` with `extra` entries allowed as well. */
export function withAllowed(policy: EgressPolicy, extra: readonly string[]): EgressPolicy {
  return { allow: [...policy.allow, ...createEgressPolicy(extra).allow] };
}

/** Why a request is refused: the address's category, or what is wrong with the URL or the request. */
export type RefusalReason = Exclude<AddressCategory, "public"> | "invalid_url" | "scheme" | "userinfo" | "secret" | "too_many_redirects" | "no_address";

export interface EgressRefusal {
  allowed: false;
  reason: RefusalReason;
  message: string;
}

export type AddressCheck = { allowed: true; category: AddressCategory } | EgressRefusal;

function allowListed(policy: EgressPolicy, ip: IpAddress, host: string | undefined): boolean {
  const embedded = embeddedIpv4(ip);
  return policy.allow.some((entry) => {
    if (entry.kind === "cidr") return inCidr(ip, entry.cidr) || (embedded !== null && inCidr(embedded, entry.cidr));
    return host !== undefined && hostMatches(host, [entry.pattern]);
  });
}

/**
 * Whether a connection to `address` may be made. `host` is the hostname it was resolved from (for
 * the message, and for allow-list hostname entries); absent for IP literals.
 */
export function checkAddress(policy: EgressPolicy, address: IpAddress | string, host?: string): AddressCheck {
  const ip = typeof address === "string" ? parseIp(address) : address;
  if (ip === null) return { allowed: false, reason: "no_address", message: `egress to ${String(address)} is not allowed (not an IP address)` };
  const category = classifyIp(ip);
  // A public address needs neither its text nor its hostname: most answers are public, so they are made only past here.
  if (category === "public") return { allowed: true, category };
  const text = formatIp(ip);
  const hostname = host === undefined || parseIp(host) !== null ? undefined : normaliseHost(host);
  const target = hostname === undefined ? text : `${text} (resolved from ${hostname})`;
  if (ALWAYS_REFUSED.has(category)) return { allowed: false, reason: category, message: `egress to ${target} is not allowed (${category})` };
  if (allowListed(policy, ip, hostname)) return { allowed: true, category };
  return { allowed: false, reason: category, message: `egress to ${target} is not allowed (${category}): add it to ${EGRESS_ALLOW_ENV} to allow it` };
}

export type UrlCheck =
  | {
      allowed: true;
      url: URL;
      /** The hostname without brackets (`::1`, `example.com`). */
      hostname: string;
      /** The address when the host is an IP literal (checked already); null when it must be resolved. */
      ip: IpAddress | null;
    }
  | EgressRefusal;

/**
 * What can be decided from the URL alone: scheme, credentials, metadata hostnames, IP literals.
 * A hostname still has to be resolved and each answer checked with `checkAddress`.
 */
export function checkUrl(policy: EgressPolicy, url: string | URL): UrlCheck {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : url;
  } catch {
    return { allowed: false, reason: "invalid_url", message: "egress to an invalid URL is not allowed" };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return { allowed: false, reason: "scheme", message: `egress over ${u.protocol} is not allowed (only http: and https:)` };
  }
  // Never echo the credentials themselves.
  if (u.username !== "" || u.password !== "") {
    return { allowed: false, reason: "userinfo", message: `egress to a URL with credentials (user:password@${u.host}) is not allowed` };
  }
  const hostname = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  // Parsed once: an IP literal is never a metadata hostname (those are names), so only a name is looked up among them.
  const ip = parseIp(hostname);
  if (ip === null && isMetadataHostname(hostname)) return { allowed: false, reason: "metadata", message: `egress to ${normaliseHost(hostname)} is not allowed (metadata)` };
  if (ip !== null) {
    const check = checkAddress(policy, ip);
    if (!check.allowed) return check;
  }
  return { allowed: true, url: u, hostname, ip };
}
