import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bootSlot } from "./boot-slots.ts";
import { freePort } from "./free-port.ts";
import { GatewayRpc } from "./gateway-rpc.ts";
import type { ScriptedModel } from "./model-server.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const OPENCLAW_ENTRY = join(REPO_ROOT, "node_modules", "openclaw", "openclaw.mjs");

export interface GatewayPlugin {
  /** Plugin folder (absolute, or relative to the repo root). */
  path: string;
  id: string;
  /** `plugins.entries.<id>.config`. */
  config?: object;
  /** Needed for llm_input, agent_end, before_prompt_build and friends. Default true. */
  allowConversationAccess?: boolean;
}

export interface TestGatewayOptions {
  model: ScriptedModel;
  plugins?: GatewayPlugin[];
  /** Agent ids; default ["main"]. Each gets session `agent:<id>:main`. */
  agents?: string[];
  /** Deep-merged into the generated config (objects merge, arrays and scalars replace). */
  extraConfig?: object;
  env?: Record<string, string>;
  /** Extra log line to wait for after `[gateway] ready`, e.g. the plugin saying it subscribed. */
  readyLog?: RegExp;
  /** Boot deadline for `[gateway] ready` plus `readyLog` (also per restart); default 240 s (a wait deadline for loaded machines, not a speed check). */
  timeoutMs?: number;
}

export interface RunAgentOptions {
  sessionKey: string;
  message: string;
  timeoutMs?: number;
}

type JsonObject = { [key: string]: unknown };

/** What an `openclaw …` CLI run printed and how it ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
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

type LogWaiter = { re: RegExp; from: number; resolve: (match: string) => void };

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const live = new Set<ChildProcess>();
// Last line of defence when a test process dies without running its `after` hooks: the gateway
// would otherwise outlive it. Signals are re-raised so the default exit still happens.
const killLive = (): void => {
  for (const child of live) child.kill("SIGKILL");
};
process.once("exit", killLive);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    killLive();
    process.kill(process.pid, sig);
  });
}

/** A real `openclaw gateway run` child process in its own temp HOME/state/config, on a free loopback port. */
export class TestGateway {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly port: number;
  readonly token: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly readyLog: RegExp | undefined;
  private readonly timeoutMs: number;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private buffer = "";
  private logWaiters: LogWaiter[] = [];
  private readonly cliProcs = new Set<ChildProcess>();
  private readonly rpc: GatewayRpc;
  private booted = false;

  private constructor(opts: TestGatewayOptions, port: number) {
    this.dir = mkdtempSync(join(tmpdir(), "openclaw-gw-"));
    const home = join(this.dir, "home");
    this.stateDir = join(this.dir, "state");
    this.configPath = join(this.dir, "openclaw.json");
    mkdirSync(home);
    mkdirSync(this.stateDir);
    this.port = port;
    this.token = randomBytes(16).toString("hex");
    this.rpc = new GatewayRpc(`ws://127.0.0.1:${port}`, this.token);
    this.readyLog = opts.readyLog;
    this.timeoutMs = opts.timeoutMs ?? 240_000;
    const config = deepMerge(buildConfig(opts, port, this.token, this.dir), (opts.extraConfig ?? {}) as JsonObject);
    writeFileSync(this.configPath, JSON.stringify(config, null, 2));
    this.env = {
      ...withoutOpenclawEnv(process.env),
      HOME: home,
      OPENCLAW_STATE_DIR: this.stateDir,
      OPENCLAW_CONFIG_PATH: this.configPath,
      OPENCLAW_GATEWAY_PORT: String(port),
      OPENCLAW_GATEWAY_TOKEN: this.token,
      // SKIP_CHANNELS=1 defers channel account start-up (gateway.startAccount, health monitor) and
      // hides `channels` config from startup secret resolution; plugins, services, hooks and gateway
      // methods still load. A test channel plugin that must receive inbound needs env
      // { OPENCLAW_SKIP_CHANNELS: "0" } (read in dist/server-startup-post-attach-*.mjs, not tried).
      // OPENCLAW_ALLOW_MULTI_GATEWAY is not needed: the lock files live under the state dir, so
      // gateways with separate state dirs run side by side (checked with three at once).
      OPENCLAW_SKIP_CHANNELS: "1",
      // The side services the host itself skips for its update-rehearsal gateway
      // (dist/update-rehearsal-paths-*.mjs): none of them is under test here, and each costs boot time.
      OPENCLAW_SKIP_GMAIL_WATCHER: "1",
      OPENCLAW_SKIP_CANVAS_HOST: "1",
      OPENCLAW_SKIP_BROWSER_CONTROL_SERVER: "1",
      OPENCLAW_SKIP_STARTUP_MODEL_PREWARM: "1",
      OPENCLAW_DISABLE_BONJOUR: "1",
      OPENCLAW_NO_RESPAWN: "1",
      OPENCLAW_NO_AUTO_UPDATE: "1",
      OPENCLAW_EXEC_SHELL_SNAPSHOT: "0",
      NO_COLOR: "1",
      ...opts.env,
    };
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
    return this.buffer;
  }

  /**
   * Resolves with the first matching log line at or after `fromOffset` (a `logs().length` taken
   * earlier); rejects with the log tail on timeout or when `signal` aborts.
   */
  waitForLog(re: RegExp, timeoutMs = 30_000, fromOffset = 0, signal?: AbortSignal): Promise<string> {
    const plain = new RegExp(re.source, re.flags.replace("g", ""));
    const hit = matchFrom(this.buffer, plain, fromOffset);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolvePromise, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.logWaiters = this.logWaiters.filter((w) => w !== waiter);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`gateway log did not match ${re}: ${why}\n${this.tail()}`));
      };
      const onAbort = (): void => fail("aborted");
      const waiter: LogWaiter = {
        re: plain,
        from: fromOffset,
        resolve: (line) => {
          done();
          resolvePromise(line);
        },
      };
      const timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.logWaiters.push(waiter);
    });
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
   * non-zero exit (tests assert on code, stdout and stderr).
   */
  openclaw(args: string[], timeoutMs = 300_000, env: Record<string, string> = {}): Promise<CliRun> {
    return new Promise((resolvePromise) => {
      const child = spawn(process.execPath, [OPENCLAW_ENTRY, ...args], { cwd: REPO_ROOT, env: { ...this.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      this.cliProcs.add(child);
      live.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s));
      child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const t0 = Date.now();
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (process.env.TEST_BOOT_LOG) appendFileSync(process.env.TEST_BOOT_LOG, `${process.argv[1] ?? "?"} ${Date.now() - t0} cli ${args.slice(0, 2).join(" ")}\n`);
        this.cliProcs.delete(child);
        live.delete(child);
        resolvePromise({ code, signal, stdout: stdout.replace(ANSI, ""), stderr: stderr.replace(ANSI, "") });
      });
    });
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
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Boots hold one of the run's boot slots (CPU-bound: ~25 s of CPU each), waiting for one first. */
  private async launch(): Promise<void> {
    const release = await bootSlot();
    const t0 = Date.now();
    try {
      for (let attempt = 1; ; attempt++) {
        const from = this.buffer.length;
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
          const hostGaveUp = /state lease heartbeat did not become ready/.test(this.buffer.slice(from));
          if (!hostGaveUp || attempt > 2) throw err;
          await this.kill();
          this.append(`\n[harness] the host gave up its start-up (state lease heartbeat not ready in 5 s); booting again (attempt ${attempt + 1})\n`);
          if (!this.booted) this.freshDirs();
        }
      }
    } finally {
      release();
    }
  }

  private freshDirs(): void {
    for (const dir of [this.stateDir, join(this.dir, "home")]) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
    }
  }

  private async launchNow(): Promise<void> {
    const from = this.buffer.length;
    const args = [OPENCLAW_ENTRY, "gateway", "run", "--port", String(this.port), "--bind", "loopback", "--allow-unconfigured"];
    const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    live.add(proc);
    proc.stdout?.setEncoding("utf8").on("data", (s: string) => this.append(s));
    proc.stderr?.setEncoding("utf8").on("data", (s: string) => this.append(s));
    this.exited = new Promise((res) =>
      proc.once("exit", (code, signal) => {
        live.delete(proc);
        this.append(`\n[harness] gateway exited code=${code} signal=${signal}\n`);
        res();
      }),
    );
    const gaveUp = new AbortController();
    const died = this.exited.then(() => {
      gaveUp.abort();
      throw new Error(`gateway exited before it was ready (dir ${this.dir})\n${this.tail()}`);
    });
    const deadline = Date.now() + this.timeoutMs;
    const ready = (async () => {
      await this.waitForLog(/\[gateway\] ready/, this.timeoutMs, from, gaveUp.signal);
      if (this.readyLog) await this.waitForLog(this.readyLog, Math.max(1, deadline - Date.now()), from, gaveUp.signal);
    })();
    await Promise.race([ready, died]);
  }

  private append(chunk: string): void {
    this.buffer += chunk.replace(ANSI, "");
    for (const w of [...this.logWaiters]) {
      const hit = matchFrom(this.buffer, w.re, w.from);
      if (hit !== undefined) w.resolve(hit);
    }
  }

  private tail(lines = 60): string {
    return this.buffer.split("\n").slice(-lines).join("\n");
  }

  private stopCli(): void {
    for (const child of this.cliProcs) child.kill("SIGKILL");
  }
}

function buildConfig(opts: TestGatewayOptions, port: number, token: string, dir: string): JsonObject {
  const agents = opts.agents ?? ["main"];
  const plugins = opts.plugins ?? [];
  const config: JsonObject = {
    gateway: { mode: "local", bind: "loopback", port, auth: { mode: "token", token } },
    models: {
      mode: "merge",
      providers: {
        fake: {
          baseUrl: opts.model.baseUrl,
          apiKey: "fake-local",
          api: "openai-completions",
          models: [
            {
              id: "echo",
              name: "echo",
              reasoning: false,
              input: ["text"],
              cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
              contextWindow: 128000,
              maxTokens: 4096,
            },
          ],
        },
      },
    },
    // With more than one agent, "explicit" ownership plus a named heartbeat/system agent is what
    // `openclaw doctor` would otherwise migrate the roster to at every boot.
    agents: {
      ...(agents.length > 1 ? { ownership: "explicit" } : {}),
      defaults: {
        model: { primary: "fake/echo" },
        ...(agents.length > 1 ? { heartbeat: { agentId: agents[0] }, systemAgent: { agentId: agents[0] } } : {}),
      },
      entries: Object.fromEntries(agents.map((id) => [id, {}])),
    },
    // Tool Search (the default) hides plugin tools behind tool_search/tool_call; direct schemas let a
    // scripted model call e.g. `nats_send` by name. Restore the product default with
    // extraConfig `{ tools: { toolSearch: { mode: "tools" } } }`.
    tools: { toolSearch: false },
    logging: { file: join(dir, "openclaw.log") },
  };
  if (plugins.length > 0) {
    config.plugins = {
      // Only the plugins under test, plus memory-core (the memory slot the host fills anyway): the
      // host's twelve other bundled plugins (browser, canvas, voice, providers…) cost ~15 % of every
      // boot's CPU and no test here touches them. A test that needs one sets plugins.allow itself.
      allow: [...plugins.map((p) => p.id), "memory-core"],
      load: { paths: plugins.map((p) => resolve(REPO_ROOT, p.path)) },
      entries: Object.fromEntries(
        plugins.map((p) => [
          p.id,
          { enabled: true, hooks: { allowConversationAccess: p.allowConversationAccess ?? true }, config: p.config ?? {} },
        ]),
      ),
    };
  }
  return config;
}

function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepMerge(base: JsonObject, extra: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function withoutOpenclawEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith("OPENCLAW_")));
}

function isRunning(proc: ChildProcess): boolean {
  return proc.exitCode === null && proc.signalCode === null;
}

function matchFrom(buffer: string, re: RegExp, from: number): string | undefined {
  const m = re.exec(buffer.slice(from));
  if (!m) return undefined;
  const start = from + m.index;
  const lineStart = buffer.lastIndexOf("\n", start) + 1;
  const lineEnd = buffer.indexOf("\n", start);
  return buffer.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
}
