import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const proc of live) proc.kill("SIGKILL");
});

/** Debian's `prometheus-alertmanager` (or $ALERTMANAGER_BIN, or `alertmanager` on PATH). */
export function alertmanagerBinary(): string {
  if (process.env.ALERTMANAGER_BIN) return process.env.ALERTMANAGER_BIN;
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/bin", "/usr/local/bin"])) {
    for (const name of ["prometheus-alertmanager", "alertmanager"]) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  throw new Error("Alertmanager not found: apt-get install prometheus-alertmanager, or set ALERTMANAGER_BIN");
}

export interface AlertmanagerOptions {
  /** The webhook receiver URL (the gateway's POST /alertmanager). */
  webhookUrl: string;
  /** Sent as `authorization: {credentials}` (Bearer). */
  token: string;
  receiver?: string;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

export interface PostedAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

/** A real Alertmanager on loopback, clustering off, with a webhook receiver; can restart with or without its storage. */
export class Alertmanager {
  readonly port: number;
  readonly dir: string;
  private readonly configFile: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = "";

  private constructor(port: number, dir: string, configFile: string) {
    this.port = port;
    this.dir = dir;
    this.configFile = configFile;
  }

  static async start(opts: AlertmanagerOptions): Promise<Alertmanager> {
    const dir = mkdtempSync(join(tmpdir(), "alertmanager-"));
    const configFile = join(dir, "alertmanager.yml");
    const receiver = opts.receiver ?? "openclaw";
    // JSON is valid YAML; no YAML library needed.
    const config = {
      route: { receiver, group_by: ["alertname"], group_wait: opts.groupWait ?? "1s", group_interval: opts.groupInterval ?? "2s", repeat_interval: opts.repeatInterval ?? "4s" },
      receivers: [{ name: receiver, webhook_configs: [{ url: opts.webhookUrl, send_resolved: true, http_config: { authorization: { credentials: opts.token } } }] }],
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const am = new Alertmanager(await freePort(), dir, configFile);
    await am.launch();
    return am;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  logs(): string {
    return this.log;
  }

  private async launch(): Promise<void> {
    const storage = join(this.dir, "data");
    mkdirSync(storage, { recursive: true });
    const args = [`--config.file=${this.configFile}`, `--storage.path=${storage}`, `--web.listen-address=127.0.0.1:${this.port}`, "--cluster.listen-address=", "--log.level=debug"];
    const proc = spawn(alertmanagerBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    live.add(proc);
    proc.stdout?.setEncoding("utf8").on("data", (s: string) => (this.log += s));
    proc.stderr?.setEncoding("utf8").on("data", (s: string) => (this.log += s));
    this.exited = new Promise((r) => proc.once("exit", () => (live.delete(proc), r())));
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`alertmanager exited: ${this.log.slice(-2000)}`);
      try {
        if ((await fetch(`${this.url}/-/ready`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`alertmanager not ready within 30 s: ${this.log.slice(-2000)}`);
  }

  /** POST /api/v2/alerts, as Prometheus does. */
  async post(alerts: PostedAlert[]): Promise<void> {
    const res = await fetch(`${this.url}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) });
    if (!res.ok) throw new Error(`alertmanager refused alerts: ${res.status} ${await res.text()}`);
  }

  /** Webhook notifications Alertmanager has sent (its own counter), and how many failed. */
  async notifications(): Promise<{ total: number; failed: number }> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const read = (name: string): number => {
      const m = new RegExp(`^${name}\\{integration="webhook"[^}]*\\} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : 0;
    };
    return { total: read("alertmanager_notifications_total"), failed: read("alertmanager_notifications_failed_total") };
  }

  /** Stop and start again; `wipeStorage` also forgets its notification log, so it re-sends everything at once. */
  async restart(opts: { wipeStorage?: boolean } = {}): Promise<void> {
    await this.stop();
    if (opts.wipeStorage) rmSync(join(this.dir, "data"), { recursive: true, force: true });
    await this.launch();
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
