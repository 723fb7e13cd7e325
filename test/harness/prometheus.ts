import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { until } from "./wait.ts";

const BINARY = process.env.PROMETHEUS_BIN ?? "/usr/bin/prometheus";

export interface ScrapeTarget {
  /** host:port */
  target: string;
  metricsPath: string;
  /** Sent as `Authorization: Bearer …` (written to a credentials file, as an operator would). */
  bearerToken?: string;
}

export interface InstantSample {
  metric: Record<string, string>;
  value: number;
}

/**
 * A real Prometheus server (the Debian `prometheus` binary) scraping one target every second, with its
 * TSDB in a temp dir, on a free loopback port; queried through its HTTP API.
 */
export class Prometheus {
  readonly url: string;
  private readonly proc: ChildProcess;
  private readonly dir: string;
  private readonly output: () => string;

  private constructor(url: string, proc: ChildProcess, dir: string, output: () => string) {
    this.url = url;
    this.proc = proc;
    this.dir = dir;
    this.output = output;
  }

  static async start(t: ScrapeTarget): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), "prometheus-test-"));
    const port = await freePort();
    const auth = t.bearerToken ? ["    authorization:", `      credentials_file: ${join(dir, "token")}`] : [];
    if (t.bearerToken) writeFileSync(join(dir, "token"), t.bearerToken, { mode: 0o600 });
    const config = ["global:", "  scrape_interval: 1s", "  scrape_timeout: 1s", "scrape_configs:", "  - job_name: openclaw-nats", `    metrics_path: ${t.metricsPath}`, ...auth, "    static_configs:", `      - targets: ["${t.target}"]`, ""];
    writeFileSync(join(dir, "prometheus.yml"), config.join("\n"));
    const proc = spawn(BINARY, [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr?.on("data", (b: Buffer) => {
      if (stderr.length < 8000) stderr += b.toString();
    });
    const url = `http://127.0.0.1:${port}`;
    const prom = new Prometheus(url, proc, dir, () => stderr);
    try {
      await until(async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited with code ${proc.exitCode}: ${stderr.trim() || "(nothing on stderr)"}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true;
      }, 30_000, "prometheus ready");
    } catch (err) {
      await prom.stop();
      throw err;
    }
    return prom;
  }

  /** An instant query (`/api/v1/query`); a vector result as samples. */
  async query(expr: string): Promise<InstantSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== "success" || !body.data) throw new Error(`prometheus query ${expr}: ${body.error ?? res.status}`);
    if (body.data.resultType !== "vector") throw new Error(`prometheus query ${expr}: a ${body.data.resultType}, not a vector`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** The scrape target's health as Prometheus sees it ("up", "down", "unknown") and its last error. */
  async target(): Promise<{ health: string; lastError: string } | undefined> {
    const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string; lastError: string }> } };
    return body.data.activeTargets[0];
  }

  get logs(): string {
    return this.output();
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
