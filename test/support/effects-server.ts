/**
 * A local webhook that tasks call through the `http` executor, recording every effect with its
 * idempotency key and time: `/ok/<name>` succeeds, `/flaky/<name>/<n>` answers 503 n times then
 * 200, `/fail/<name>` always 500, `/reject/<name>` always 400, `/slow/<name>/<ms>` waits first.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Effect {
  path: string;
  name: string;
  key: string;
  at: number;
}

export class EffectsServer {
  readonly effects: Effect[] = [];
  private readonly seen = new Map<string, number>();
  private constructor(private readonly server: Server, readonly base: string) {}

  static async start(): Promise<EffectsServer> {
    const holder: { self?: EffectsServer } = {};
    const server = createServer((req, res) => {
      const self = holder.self!;
      const [, kind, name, arg] = (req.url ?? "").split("/");
      const key = String(req.headers["idempotency-key"] ?? "");
      const count = (self.seen.get(`${kind}/${name}`) ?? 0) + 1;
      self.seen.set(`${kind}/${name}`, count);
      const respond = (status: number) => {
        if (status < 300) self.effects.push({ path: req.url ?? "", name: name ?? "", key, at: Date.now() });
        res.statusCode = status;
        res.end(status < 300 ? "ok" : "no");
      };
      if (kind === "ok") respond(200);
      else if (kind === "flaky") respond(count <= Number(arg) ? 503 : 200);
      else if (kind === "fail") respond(500);
      else if (kind === "reject") respond(400);
      else if (kind === "slow") setTimeout(() => respond(200), Number(arg));
      else respond(404);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const self = new EffectsServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    holder.self = self;
    return self;
  }

  url(path: string): string {
    return `${this.base}/${path}`;
  }

  effectsOf(name: string): Effect[] {
    return this.effects.filter((e) => e.name === name);
  }

  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}
