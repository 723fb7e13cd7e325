import { randomUUID } from "node:crypto";
import { GatewayClient } from "openclaw/plugin-sdk/gateway-runtime";

type ClientOptions = ConstructorParameters<typeof GatewayClient>[0];

/**
 * The host's own gateway client (what `openclaw gateway call` and `openclaw agent` use underneath),
 * held open in the test process. A CLI spawn costs ~3–6 s of Node start-up and module loading per
 * call; a request over this socket costs milliseconds, and the gateway sees the same `cli` client,
 * token auth and admin scope the CLI would present on loopback.
 */
export class GatewayRpc {
  private client: GatewayClient | undefined;
  private connected: Promise<void> | undefined;

  private readonly url: string;
  private readonly token: string;

  constructor(url: string, token: string) {
    this.url = url;
    this.token = token;
  }

  async request<T>(method: string, params: object, opts: { timeoutMs: number; expectFinal?: boolean }): Promise<T> {
    // The connect gets its own, longer deadline: a gateway busy loading the agent runtime for a first
    // turn answers the hello late on a loaded 2-core machine (run 0: >30 s), which says nothing about
    // the method under test.
    await this.connect(Math.max(opts.timeoutMs, 120_000));
    return this.client!.request<T>(method, params, { timeoutMs: opts.timeoutMs, expectFinal: opts.expectFinal });
  }

  /** An `agent` turn as `openclaw agent --session-key … --message … --json` starts it. */
  agent<T>(sessionKey: string, message: string, timeoutMs: number): Promise<T> {
    const params = { message, sessionKey, deliver: false, timeout: Math.ceil(timeoutMs / 1000), idempotencyKey: randomUUID() };
    return this.request<T>("agent", params, { timeoutMs: timeoutMs + 5_000, expectFinal: true });
  }

  /** Drop the socket (the gateway stopped or restarts); the next request connects again. */
  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = undefined;
    if (client) await client.stopAndWait({ timeoutMs: 2_000 }).catch(() => undefined);
  }

  private connect(timeoutMs: number): Promise<void> {
    if (this.connected) return this.connected;
    this.connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`gateway client did not connect to ${this.url} within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        void this.close();
        reject(err);
      };
      const options: ClientOptions = {
        url: this.url,
        token: this.token,
        clientName: "cli" as ClientOptions["clientName"],
        mode: "cli" as ClientOptions["mode"],
        scopes: ["operator.admin"],
        // Loopback + shared token: the CLI omits the device identity too (no pairing state written).
        deviceIdentity: null,
        onHelloOk: () => {
          clearTimeout(timer);
          resolve();
        },
        onConnectError: (err) => fail(err),
      };
      this.client = new GatewayClient(options);
      this.client.start();
    });
    return this.connected;
  }
}
