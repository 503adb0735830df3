/** The egress policy: IP literals in every spelling, address classes, the allow-list, URL checks. */
import {
  checkAddress,
  checkUrl,
  classifyIp,
  createEgressPolicy,
  formatIp,
  hostMatches,
  isMetadataHostname,
  parseAllowEntry,
  parseIp,
  withAllowed,
  type AddressCategory,
} from "../../../functions/src/egress/policy";

const NONE = createEgressPolicy([]);

describe("parseIp", () => {
  it.each([
    ["169.254.169.254", "169.254.169.254"],
    ["2852039166", "169.254.169.254"],
    ["0251.0376.0251.0376", "169.254.169.254"],
    ["0xa9.0xfe.0xa9.0xfe", "169.254.169.254"],
    ["0XA9.0XFE.0XA9.0XFE", "169.254.169.254"],
    ["0xa9fea9fe", "169.254.169.254"],
    ["169.254.43518", "169.254.169.254"],
    ["169.16689662", "169.254.169.254"],
    ["0xa9.0376.43518", "169.254.169.254"],
    ["127.1", "127.0.0.1"],
    ["0x7f.1", "127.0.0.1"],
    ["0177.0.0.1", "127.0.0.1"],
    ["127.0.0.1.", "127.0.0.1"],
    ["0", "0.0.0.0"],
    ["0x", "0.0.0.0"],
    ["10.0.0.5", "10.0.0.5"],
    ["4294967295", "255.255.255.255"],
    ["::1", "::1"],
    ["[::1]", "::1"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["::", "::"],
    ["fe80::1%eth0", "fe80::1"],
    ["[fe80::1%25eth0]", "fe80::1"],
    ["FD00:EC2::254", "fd00:ec2::254"],
    ["::ffff:169.254.169.254", "::ffff:169.254.169.254"],
    ["::ffff:a9fe:a9fe", "::ffff:169.254.169.254"],
    ["[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"],
    ["::ffff:0:a9fe:a9fe", "::ffff:0:169.254.169.254"],
    ["::169.254.169.254", "::169.254.169.254"],
    ["64:ff9b::a9fe:a9fe", "64:ff9b::169.254.169.254"],
    ["64:ff9b::169.254.169.254", "64:ff9b::169.254.169.254"],
    ["2001:4860:4860::8888", "2001:4860:4860::8888"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ])("%s is %s", (text, canonical) => {
    const ip = parseIp(text);
    expect(ip).not.toBeNull();
    expect(formatIp(ip!)).toBe(canonical);
  });

  it.each([
    "example.com",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3.08",
    "0x1g.0.0.1",
    "4294967296",
    "1.16777216",
    "127.0.0.1..",
    "",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "12345::1",
    "::ffff:1.2.3",
    "::ffff:01.2.3.4",
    "fe80::1%",
    "localhost",
    "metadata.google.internal",
  ])("%s is not an IP literal", (text) => {
    expect(parseIp(text)).toBeNull();
  });
});

describe("classifyIp", () => {
  it.each<[string, AddressCategory]>([
    ["169.254.169.254", "metadata"],
    ["2852039166", "metadata"],
    ["0251.0376.0251.0376", "metadata"],
    ["0xa9fea9fe", "metadata"],
    ["::ffff:169.254.169.254", "metadata"],
    ["::ffff:a9fe:a9fe", "metadata"],
    ["::169.254.169.254", "metadata"],
    ["64:ff9b::a9fe:a9fe", "metadata"],
    ["2002:a9fe:a9fe::", "metadata"],
    ["fd00:ec2::254", "metadata"],
    ["169.254.0.1", "link-local"],
    ["169.254.170.2", "link-local"],
    ["169.254.255.255", "link-local"],
    ["fe80::1", "link-local"],
    ["febf:ffff::1", "link-local"],
    ["::ffff:169.254.1.1", "link-local"],
    ["127.0.0.1", "loopback"],
    ["127.1", "loopback"],
    ["127.255.255.254", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["64:ff9b::7f00:1", "loopback"],
    ["10.0.0.5", "private"],
    ["10.255.255.255", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["::ffff:10.0.0.5", "private"],
    ["2002:0a00:0005::1", "private"],
    ["64:ff9b:1::1", "private"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.255", "cgnat"],
    ["0.0.0.0", "unspecified"],
    ["0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["2001:db8::1", "reserved"],
    ["2001:0:4136:e378::1", "reserved"],
    ["8.8.8.8", "public"],
    ["172.15.255.255", "public"],
    ["172.32.0.0", "public"],
    ["100.63.255.255", "public"],
    ["100.128.0.0", "public"],
    ["169.253.255.255", "public"],
    ["11.0.0.0", "public"],
    ["::ffff:8.8.8.8", "public"],
    ["2001:4860:4860::8888", "public"],
    ["2606:4700::1111", "public"],
  ])("%s is %s", (text, category) => {
    expect(classifyIp(parseIp(text)!)).toBe(category);
  });
});

describe("metadata hostnames", () => {
  it.each(["metadata.google.internal", "metadata.google.internal.", "METADATA.Google.Internal", "metadata", "metadata."])("%s is the metadata server", (host) => {
    expect(isMetadataHostname(host)).toBe(true);
    const check = checkUrl(createEgressPolicy(["*.google.internal", "metadata", "metadata.google.internal"]), `http://${host}/computeMetadata/v1/`);
    expect(check).toMatchObject({ allowed: false, reason: "metadata" });
  });

  it.each(["metadata.example.com", "google.internal", "my-metadata.google.internal"])("%s is not", (host) => {
    expect(isMetadataHostname(host)).toBe(false);
  });
});

describe("allow-list entries", () => {
  it.each([
    ["127.0.0.0/8", "127.0.0.1", undefined, true],
    ["127.0.0.0/8", "127.255.0.1", undefined, true],
    ["127.0.0.0/8", "::ffff:127.0.0.1", undefined, true],
    ["127.0.0.0/8", "::1", undefined, false],
    ["::1/128", "::1", undefined, true],
    ["::1", "::1", undefined, true],
    ["::1/128", "127.0.0.1", undefined, false],
    ["10.1.2.0/24", "10.1.2.200", undefined, true],
    ["10.1.2.0/24", "10.1.3.1", undefined, false],
    ["10.1.2.3/24", "10.1.2.99", undefined, true],
    ["10.1.2.3", "10.1.2.3", undefined, true],
    ["10.1.2.3", "10.1.2.4", undefined, false],
    ["fd00::/8", "fd12::1", undefined, true],
    ["internal.example.com", "10.0.0.5", "internal.example.com", true],
    ["internal.example.com", "10.0.0.5", "INTERNAL.example.com.", true],
    ["internal.example.com", "10.0.0.5", "other.example.com", false],
    ["internal.example.com", "10.0.0.5", undefined, false],
    ["*.corp.example", "10.0.0.5", "api.corp.example", true],
    ["*.corp.example", "10.0.0.5", "a.b.corp.example", true],
    ["*.corp.example", "10.0.0.5", "corp.example", false],
    ["*.corp.example", "10.0.0.5", "evilcorp.example", false],
    ["localhost", "127.0.0.1", "localhost", true],
    ["100.64.0.0/10", "100.100.100.200", undefined, true],
    ["0.0.0.0/8", "0.0.0.0", undefined, true],
  ])("%s allows %s (from %s): %s", (entry, address, host, allowed) => {
    expect(checkAddress(createEgressPolicy([entry]), address, host).allowed).toBe(allowed);
  });

  it.each([
    ["169.254.0.0/16", "169.254.169.254"],
    ["169.254.0.0/16", "169.254.1.1"],
    ["169.254.169.254", "169.254.169.254"],
    ["0.0.0.0/0", "169.254.169.254"],
    ["fe80::/10", "fe80::1"],
    ["::/0", "fd00:ec2::254"],
    ["::/0", "::ffff:169.254.169.254"],
    ["0.0.0.0/0", "::ffff:a9fe:a9fe"],
    ["0.0.0.0/0", "224.0.0.1"],
  ])("link-local, metadata and multicast stay refused even when %s is allowed (%s)", (entry, address) => {
    expect(checkAddress(createEgressPolicy([entry]), address).allowed).toBe(false);
  });

  it("a link-local answer stays refused even when its hostname is allowed", () => {
    expect(checkAddress(createEgressPolicy(["evil.example.com"]), "169.254.169.254", "evil.example.com")).toMatchObject({ allowed: false, reason: "metadata" });
    expect(checkAddress(createEgressPolicy(["*.example.com"]), "169.254.1.1", "evil.example.com")).toMatchObject({ allowed: false, reason: "link-local" });
  });

  it.each(["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x", "not a host", "http://example.com", "*.", "exa mple.com", "a..b"])("%s is refused as an entry", (entry) => {
    expect(() => parseAllowEntry(entry)).toThrow();
  });

  it("withAllowed adds entries to a policy", () => {
    const policy = withAllowed(NONE, ["127.0.0.1"]);
    expect(checkAddress(policy, "127.0.0.1").allowed).toBe(true);
    expect(checkAddress(NONE, "127.0.0.1").allowed).toBe(false);
  });
});

describe("checkAddress messages", () => {
  it("names the address, where it came from, the class and (when it can be allowed) the variable", () => {
    expect(checkAddress(NONE, "169.254.1.1")).toEqual({ allowed: false, reason: "link-local", message: "egress to 169.254.1.1 is not allowed (link-local)" });
    expect(checkAddress(NONE, "10.0.0.5", "internal.example.com")).toEqual({
      allowed: false,
      reason: "private",
      message: "egress to 10.0.0.5 (resolved from internal.example.com) is not allowed (private): add it to ORCHESTRATOR_EGRESS_ALLOW to allow it",
    });
  });

  it("allows public addresses by default", () => {
    expect(checkAddress(NONE, "93.184.216.34", "example.com")).toEqual({ allowed: true, category: "public" });
  });

  it("refuses an answer that is not an address", () => {
    expect(checkAddress(NONE, "not-an-ip", "example.com")).toMatchObject({ allowed: false, reason: "no_address" });
  });
});

describe("checkUrl", () => {
  // WHATWG URL parsing already rewrites many IPv4 spellings in the hostname; the check must hold either way.
  it.each([
    ["http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token", "metadata"],
    ["http://2852039166/", "metadata"],
    ["http://0251.0376.0251.0376/", "metadata"],
    ["http://0xa9.0xfe.0xa9.0xfe/", "metadata"],
    ["http://0xa9fea9fe/", "metadata"],
    ["http://169.254.43518/", "metadata"],
    ["http://[::ffff:169.254.169.254]/", "metadata"],
    ["http://[::ffff:a9fe:a9fe]/", "metadata"],
    ["http://[64:ff9b::a9fe:a9fe]/", "metadata"],
    ["http://[fd00:ec2::254]/latest/meta-data/", "metadata"],
    ["http://metadata.google.internal/computeMetadata/v1/", "metadata"],
    ["http://metadata.google.internal./computeMetadata/v1/", "metadata"],
    ["http://metadata/computeMetadata/v1/", "metadata"],
    ["http://169.254.1.1:8080/", "link-local"],
    ["http://[fe80::1]/", "link-local"],
    ["http://127.0.0.1/", "loopback"],
    ["http://127.1/", "loopback"],
    ["http://0x7f.1/", "loopback"],
    ["http://%31%32%37.0.0.1/", "loopback"],
    ["http://[::1]:8080/", "loopback"],
    ["https://10.0.0.5/", "private"],
    ["http://192.168.0.1/", "private"],
    ["http://100.64.1.1/", "cgnat"],
    ["http://0.0.0.0:8080/", "unspecified"],
    ["http://0/", "unspecified"],
    ["http://[::]/", "unspecified"],
    ["ftp://example.com/", "scheme"],
    ["file:///etc/passwd", "scheme"],
    ["gopher://127.0.0.1/", "scheme"],
    ["http://user:pass@example.com/", "userinfo"],
    ["http://user@example.com/", "userinfo"],
    ["not a url", "invalid_url"],
  ])("%s is refused (%s)", (url, reason) => {
    expect(checkUrl(NONE, url)).toMatchObject({ allowed: false, reason });
    if (!url.includes(" ")) expect(checkUrl(NONE, new URL(url))).toMatchObject({ allowed: false, reason });
  });

  it("never echoes credentials", () => {
    const check = checkUrl(NONE, "https://alice:hunter2@example.com/");
    expect(check.allowed).toBe(false);
    expect(JSON.stringify(check)).not.toContain("hunter2");
    expect(JSON.stringify(check)).not.toContain("alice");
  });

  it("passes hostnames on for resolution and allowed literals with their address", () => {
    expect(checkUrl(NONE, "https://hooks.example.com/x")).toMatchObject({ allowed: true, hostname: "hooks.example.com", ip: null });
    const loopback = checkUrl(createEgressPolicy(["127.0.0.0/8", "::1"]), "http://[::1]:9/");
    expect(loopback).toMatchObject({ allowed: true, hostname: "::1" });
    expect(checkUrl(createEgressPolicy(["127.0.0.0/8"]), "http://127.1:9/").allowed).toBe(true);
  });
});

describe("hostMatches", () => {
  it.each([
    ["hooks.slack.com", ["hooks.slack.com"], true],
    ["HOOKS.slack.com.", ["hooks.slack.com"], true],
    ["evil-hooks.slack.com", ["hooks.slack.com"], false],
    ["hooks.slack.com.evil.com", ["hooks.slack.com"], false],
    ["a.example.com", ["*.example.com"], true],
    ["example.com", ["*.example.com"], false],
    ["badexample.com", ["*.example.com"], false],
    ["[::1]", ["::1"], true],
    ["127.0.0.1", ["127.0.0.1"], true],
    ["x.com", [], false],
  ])("%s in %j: %s", (host, patterns, expected) => {
    expect(hostMatches(host, patterns)).toBe(expected);
  });
});
