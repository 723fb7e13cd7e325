import { createServer, connect, type Server, type Socket } from "node:net";
import { freePort } from "./free-port.ts";

/**
 * A TCP relay on loopback that a test can cut and heal: a network link (a leaf node's link to its hub)
 * broken without killing either end. cut() closes every relayed connection and stops accepting;
 * heal() accepts again on the same port.
 */
export class TcpProxy {
  readonly port: number;
  private readonly target: { host: string; port: number };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(port: number, target: { host: string; port: number }) {
    this.port = port;
    this.target = target;
  }

  /** Relays its own port (`port`, else a free one) to `targetPort` on loopback. */
  static async start(targetPort: number, port?: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(port ?? (await freePort()), { host: "127.0.0.1", port: targetPort });
    await proxy.heal();
    return proxy;
  }

  /** Accepting and relaying (again). */
  async heal(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => s.destroy());
        s.on("close", () => this.sockets.delete(s));
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
  }

  /** Every relayed connection closed; new ones refused until heal(). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
