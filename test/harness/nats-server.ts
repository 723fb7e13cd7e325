import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { natsServerBinary } from "../../src/server/local-server.ts";

const live = new Set<ChildProcess>();
// A test process that dies without its `after` hooks must not leave servers behind.
process.once("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

// One home for finding the binary: the plugin's local-server module (the CLI and npm start use it too).
export { natsServerBinary } from "../../src/server/local-server.ts";

/**
 * A random password for a nats-server config variable (`password: $VAR`). nats-server parses the variable's
 * value as a config value, so a hex string such as "9e1234ab…" is read as a number and the server refuses
 * to start; a leading letter keeps it a string.
 */
export function serverVarPassword(): string {
  return `pw${randomBytes(12).toString("hex")}`;
}

export interface NatsServerOptions {
  /** Enable JetStream with storage in `storeDir` (default true). */
  jetstream?: boolean;
  /** Fixed client port; default a free one. */
  port?: number;
  /** JetStream store dir; default a fresh temp dir. */
  storeDir?: string;
  /** Extra nats-server config text (accounts, cluster block, …) appended to the generated config. */
  config?: string;
  /** Server name (required for clusters). */
  name?: string;
  /** JetStream domain (`jetstream { domain }`): a hub and its leaf nodes each have their own. */
  domain?: string;
  /** Accept leaf-node connections on this port (`leafnodes { listen }`). */
  leafPort?: number;
  /**
   * The leaf-node address this server tells its leaf nodes (`leafnodes { advertise }`). A leaf adds the
   * address it is told to its remote's URLs and fails over to it (nats-server 2.9 does so even with
   * `no_advertise`), so a test that relays the link to cut it advertises the relay's address.
   */
  leafAdvertise?: string;
}

/** A real nats-server process on loopback that a test can stop, kill and restart. */
export class NatsServer {
  readonly port: number;
  readonly storeDir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Where leaf nodes connect (when started with `leafPort`). */
  leafPort: number | undefined;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(port: number, storeDir: string, configFile: string, logFile: string) {
    this.port = port;
    this.storeDir = storeDir;
    this.configFile = configFile;
    this.logFile = logFile;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const dir = mkdtempSync(join(tmpdir(), "nats-test-"));
    const port = opts.port ?? (await freePort());
    const storeDir = opts.storeDir ?? join(dir, "js");
    const lines = [
      `listen: "127.0.0.1:${port}"`,
      opts.name ? `server_name: "${opts.name}"` : "",
      opts.jetstream === false ? "" : `jetstream { store_dir: "${storeDir}"${opts.domain ? `, domain: "${opts.domain}"` : ""} }`,
      opts.leafPort ? `leafnodes { listen: "127.0.0.1:${opts.leafPort}"${opts.leafAdvertise ? `, advertise: "${opts.leafAdvertise}"` : ""} }` : "",
      opts.config ?? "",
    ];
    const configFile = join(dir, "nats.conf");
    writeFileSync(configFile, lines.filter(Boolean).join("\n") + "\n");
    const server = new NatsServer(port, storeDir, configFile, join(dir, "nats.log"));
    server.leafPort = opts.leafPort;
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const proc = spawn(natsServerBinary(), ["-c", this.configFile, "-l", this.logFile], { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    // Config errors go to stderr before the log file is opened: kept for the error below.
    let stderr = "";
    proc.stderr?.on("data", (b: Buffer) => {
      if (stderr.length < 4000) stderr += b.toString();
    });
    live.add(proc);
    this.exited = new Promise((resolve) =>
      proc.once("exit", () => {
        live.delete(proc);
        resolve();
      }),
    );
    await waitForPort(this.port, 10_000, proc, () => stderr.trim());
  }

  /** Graceful stop (SIGTERM), waits for exit. */
  async stop(): Promise<void> {
    await this.signal("SIGTERM");
  }

  /** kill -9: no flush, no goodbye. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** Start again on the same port with the same store (after stop or kill). */
  async restart(): Promise<void> {
    await this.launch();
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(sig);
    await this.exited;
    this.proc = undefined;
  }
}

function waitForPort(port: number, timeoutMs: number, proc: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (proc.exitCode !== null) return reject(new Error(`nats-server exited with code ${proc.exitCode}: ${stderr() || "(nothing on stderr)"}`));
      const sock = tcpConnect(port, "127.0.0.1");
      sock.once("connect", () => {
        sock.destroy();
        resolve();
      });
      sock.once("error", () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nats-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export interface ClusterOptions {
  /** JetStream domain of the whole cluster (a hub for leaf nodes). */
  domain?: string;
  /**
   * The first node accepts leaf-node connections. Only one: a leaf learns the leaf URLs of every node
   * that listens and fails over to them, so a test that cuts "the" leaf link needs a single one.
   */
  leafNodes?: boolean;
  /** `leafAdvertise` of that first node (host:port of a relay in front of it). */
  leafAdvertise?: string;
}

/** A JetStream cluster of `size` nodes on loopback (routes between them), for replicated streams. */
export async function startCluster(size = 3, opts: ClusterOptions = {}): Promise<NatsServer[]> {
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const leafPort = opts.leafNodes ? await freePort() : undefined;
  const routes = routePorts.map((p) => `"nats-route://127.0.0.1:${p}"`).join(", ");
  const servers = await Promise.all(
    routePorts.map((routePort, i) =>
      NatsServer.start({
        name: `n${i + 1}`,
        ...(opts.domain ? { domain: opts.domain } : {}),
        ...(i === 0 && leafPort ? { leafPort, ...(opts.leafAdvertise ? { leafAdvertise: opts.leafAdvertise } : {}) } : {}),
        config: `cluster { name: "test-cluster", listen: "127.0.0.1:${routePort}", routes: [${routes}] }`,
      }),
    ),
  );
  return servers;
}

/**
 * A leaf node with its own JetStream in `domain`, joined to a hub at `hubLeafUrl` (nats-leaf://…).
 * `deny` subjects cross the leaf link in neither direction (leafnodes remote deny_imports/deny_exports).
 */
export function startLeaf(opts: { name: string; domain: string; hubLeafUrl: string; deny?: string[] }): Promise<NatsServer> {
  const deny = (opts.deny ?? []).map((s) => `"${s}"`).join(", ");
  const lists = deny ? `, deny_imports: [${deny}], deny_exports: [${deny}]` : "";
  return NatsServer.start({
    name: opts.name,
    domain: opts.domain,
    // The leaf dials the hub again 1 s after the link broke (nats-server's default).
    config: `leafnodes { remotes: [{ urls: ["${opts.hubLeafUrl}"]${lists} }] }`,
  });
}

/**
 * One nats-server and a nats.js client on it for a whole test file: registers the file's before/after
 * hooks and returns the handles (filled in once `before` ran).
 */
export function natsServerPerFile(): { server: NatsServer; client: NatsConnection } {
  const handles = {} as { server: NatsServer; client: NatsConnection };
  before(async () => {
    handles.server = await NatsServer.start();
    handles.client = await connect({ servers: handles.server.url });
  });
  after(async () => {
    await handles.client?.close();
    await handles.server?.stop();
  });
  return handles;
}
