// A real `openclaw gateway run` for the e2e tests: its process, its log and how tests talk to it.
// The generated config and environment are in gateway-config.ts, spawning the host in openclaw-entry.ts.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { bootSlot } from "./boot-slots.ts";
import { freePort } from "./free-port.ts";
import { gatewayConfig, gatewayEnv, type GatewayDirs, type JsonObject, type TestGatewayOptions } from "./gateway-config.ts";
import { GatewayRpc } from "./gateway-rpc.ts";
import { LogBuffer } from "./log-buffer.ts";
import { runOpenclaw, spawnOpenclaw, type CliRun } from "./openclaw-entry.ts";


export interface RunAgentOptions {
  sessionKey: string;
  message: string;
  timeoutMs?: number;
}

/** What `openclaw agent --json` prints for a gateway-backed turn (the fields tests use; more exist). */
export interface AgentRunResult {
  runId: string;
  /** "ok" for a completed turn. */
  status: string;
  summary?: string;
  result?: {
    payloads?: Array<{ text?: string; mediaUrl?: string | null }>;
    meta?: {
      durationMs?: number;
      stopReason?: string;
      finalAssistantVisibleText?: string;
      agentMeta?: { sessionId?: string; provider?: string; model?: string; [key: string]: unknown };
      [key: string]: unknown;
    };
  };
  [key: string]: unknown;
}

/** The reply text of an agent run: its payload texts joined by newlines. */
export function replyText(run: AgentRunResult): string {
  return (run.result?.payloads ?? []).map((p) => p.text ?? "").join("\n");
}

/** A real `openclaw gateway run` child process in its own temp HOME/state/config, on a free loopback port. */
export class TestGateway {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly port: number;
  readonly token: string;
  private readonly home: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly readyLog: RegExp | undefined;
  private readonly timeoutMs: number;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly log = new LogBuffer();
  private readonly cliProcs = new Set<ChildProcess>();
  private readonly rpc: GatewayRpc;
  private booted = false;

  private constructor(opts: TestGatewayOptions, port: number) {
    this.dir = mkdtempSync(join(tmpdir(), "openclaw-gw-"));
    this.home = join(this.dir, "home");
    this.stateDir = join(this.dir, "state");
    this.configPath = join(this.dir, "openclaw.json");
    mkdirSync(this.home);
    mkdirSync(this.stateDir);
    this.port = port;
    this.token = randomBytes(16).toString("hex");
    this.rpc = new GatewayRpc(`ws://127.0.0.1:${port}`, this.token);
    this.readyLog = opts.readyLog;
    this.timeoutMs = opts.timeoutMs ?? 240_000;
    writeFileSync(this.configPath, JSON.stringify(gatewayConfig(opts, port, this.token, this.dir), null, 2));
    const dirs: GatewayDirs = { dir: this.dir, home: this.home, stateDir: this.stateDir, configPath: this.configPath };
    this.env = gatewayEnv(opts, dirs, port, this.token);
  }

  static async start(opts: TestGatewayOptions): Promise<TestGateway> {
    const gw = new TestGateway(opts, await freePort());
    try {
      await gw.launch();
    } catch (err) {
      await gw.kill();
      throw err;
    }
    return gw;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Everything the gateway wrote to stdout and stderr so far (across restarts). */
  logs(): string {
    return this.log.text();
  }

  /**
   * Resolves with the first matching log line at or after `fromOffset` (a `logs().length` taken
   * earlier); rejects with the log tail on timeout or when `signal` aborts.
   */
  waitForLog(re: RegExp, timeoutMs = 30_000, fromOffset = 0, signal?: AbortSignal): Promise<string> {
    return this.log.waitFor(re, timeoutMs, fromOffset, signal);
  }

  /**
   * Runs one real agent turn through this gateway and returns what `openclaw agent --json` prints,
   * over the host's gateway client in this process (the CLI's own path without its process start).
   */
  async runAgent(opts: RunAgentOptions): Promise<AgentRunResult> {
    return this.rpc.agent<AgentRunResult>(opts.sessionKey, opts.message, opts.timeoutMs ?? 120_000);
  }

  /** What `openclaw gateway call <method> --params <json> --json` returns, over the in-process client. */
  async call(method: string, params: object = {}, timeoutMs = 30_000): Promise<JsonObject> {
    return this.rpc.request<JsonObject>(method, params, { timeoutMs });
  }

  /** The OPENCLAW_* variables a CLI run against this gateway gets (state dir, config path, port, token). */
  cliEnv(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.env).filter((e): e is [string, string] => e[0].startsWith("OPENCLAW_") && typeof e[1] === "string"));
  }

  /**
   * Any `openclaw …` CLI command with this gateway's config, state and token; never rejects on a
   * non-zero exit (tests assert on code, stdout and stderr). Killed when the gateway stops.
   */
  async openclaw(args: string[], timeoutMs = 300_000, env: Record<string, string> = {}): Promise<CliRun> {
    let child: ChildProcess | undefined;
    try {
      return await runOpenclaw(args, { ...this.env, ...env }, timeoutMs, (c) => {
        child = c;
        this.cliProcs.add(c);
      });
    } finally {
      if (child) this.cliProcs.delete(child);
    }
  }

  /**
   * Graceful stop: SIGTERM, then SIGKILL after `killAfterMs` (10 s). Keeps the dirs for restart().
   * Says whether the gateway exited by itself (not SIGKILLed) and how long after the SIGTERM.
   */
  async stop(killAfterMs = 10_000): Promise<{ exitedBySelf: boolean; ms: number }> {
    this.stopCli();
    await this.rpc.close();
    const proc = this.proc;
    if (!proc || !isRunning(proc)) return { exitedBySelf: true, ms: 0 };
    const t0 = performance.now();
    let killed = false;
    proc.kill("SIGTERM");
    const timer = setTimeout(() => ((killed = true), proc.kill("SIGKILL")), killAfterMs);
    await this.exited;
    clearTimeout(timer);
    return { exitedBySelf: !killed, ms: Math.round(performance.now() - t0) };
  }

  /** kill -9. */
  async kill(): Promise<void> {
    this.stopCli();
    await this.rpc.close();
    const proc = this.proc;
    if (!proc || !isRunning(proc)) return;
    proc.kill("SIGKILL");
    await this.exited;
  }

  /** Start again with the same dirs, port and config (after stop or kill, or stops first). */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stop and delete the temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    // TEST_GATEWAY_LOG_DIR=<dir>: every gateway's host log (the JSON file log, timestamps and all) kept
    // after the run, one file per gateway, to read what the host said around a failure in a full run.
    const keep = process.env.TEST_GATEWAY_LOG_DIR;
    try {
      if (keep) {
        mkdirSync(keep, { recursive: true });
        cpSync(join(this.dir, "openclaw.log"), join(keep, `${basename(process.argv[1] ?? "gateway")}-${this.port}.log`));
      }
    } catch {
      // Keeping a log is a debugging aid; a gateway that never wrote one leaves nothing to keep.
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Boots hold one of the run's boot slots (CPU-bound: ~25 s of CPU each), waiting for one first. */
  private async launch(): Promise<void> {
    const release = await bootSlot();
    const t0 = Date.now();
    try {
      for (let attempt = 1; ; attempt++) {
        const from = this.log.length;
        try {
          await this.launchNow();
          this.booted = true;
          // TEST_BOOT_LOG=<file>: one line per boot (test file, ms), to count what a run spends on boots.
          if (process.env.TEST_BOOT_LOG) appendFileSync(process.env.TEST_BOOT_LOG, `${process.argv[1] ?? "?"} ${Date.now() - t0}\n`);
          return;
        } catch (err) {
          // The host refuses to finish its start-up when the worker behind its state lease does not
          // report within a fixed 5 s (openclaw-state-lease-heartbeat-*.mjs), which a CPU-starved
          // machine can miss. That is the host's deadline, not the plugin's behaviour: boot again
          // (from fresh dirs on a first boot, which held nothing yet), at most twice, and say so.
          const hostGaveUp = /state lease heartbeat did not become ready/.test(this.log.text().slice(from));
          if (!hostGaveUp || attempt > 2) throw err;
          await this.kill();
          this.log.append(`\n[harness] the host gave up its start-up (state lease heartbeat not ready in 5 s); booting again (attempt ${attempt + 1})\n`);
          if (!this.booted) this.freshDirs();
        }
      }
    } finally {
      release();
    }
  }

  private freshDirs(): void {
    for (const dir of [this.stateDir, this.home]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
  }

  private async launchNow(): Promise<void> {
    const from = this.log.length;
    const proc = spawnOpenclaw(["gateway", "run", "--port", String(this.port), "--bind", "loopback", "--allow-unconfigured"], this.env);
    this.proc = proc;
    proc.stdout?.setEncoding("utf8").on("data", (s: string) => this.log.append(s));
    proc.stderr?.setEncoding("utf8").on("data", (s: string) => this.log.append(s));
    this.exited = new Promise((res) =>
      proc.once("exit", (code, signal) => {
        this.log.append(`\n[harness] gateway exited code=${code} signal=${signal}\n`);
        res();
      }),
    );
    const gaveUp = new AbortController();
    const died = this.exited.then(() => {
      gaveUp.abort();
      throw new Error(`gateway exited before it was ready (dir ${this.dir})\n${this.log.tail()}`);
    });
    const deadline = Date.now() + this.timeoutMs;
    const ready = (async () => {
      await this.waitForLog(/\[gateway\] ready/, this.timeoutMs, from, gaveUp.signal);
      if (this.readyLog) await this.waitForLog(this.readyLog, Math.max(1, deadline - Date.now()), from, gaveUp.signal);
    })();
    await Promise.race([ready, died]);
  }

  private stopCli(): void {
    for (const child of this.cliProcs) child.kill("SIGKILL");
  }
}

function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}
