/**
 * An http.Agent for tests that counts the sockets it opens and refuses, before any packet, every
 * connection that would leave loopback: a regression in the egress guard then fails the test
 * instead of reaching the metadata server, a private network or real DNS.
 */
import http from "node:http";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";

const isLoopback = (address: string): boolean => address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");

export class LoopbackAgent extends http.Agent {
  readonly connections: http.ClientRequestArgs[] = [];

  constructor() {
    super({ keepAlive: false });
  }

  createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    this.connections.push(options);
    const host = options.hostname ?? options.host ?? "";
    let targets: string[];
    if (isIP(host) !== 0) targets = [host];
    else if (options.lookup === undefined) throw new Error(`test agent: ${host} would be resolved by the system resolver`);
    else {
      // The guard's lookup is pinned and answers synchronously: these are the addresses the socket would use.
      targets = [];
      options.lookup(host, { all: true }, (_error, addresses) => {
        targets = Array.isArray(addresses) ? addresses.map((a) => a.address) : [addresses];
      });
    }
    if (targets.length === 0 || !targets.every(isLoopback)) throw new Error(`test agent: refusing to connect to ${host} (${targets.join(", ") || "no address"})`);
    return super.createConnection(options, callback);
  }
}
