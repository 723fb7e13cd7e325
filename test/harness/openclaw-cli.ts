import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runOpenclaw, type CliRun } from "./openclaw-entry.ts";
import { natsCliInProcess } from "./cli-in-process.ts";

/**
 * A throw-away OpenClaw home (config file, state dir, HOME) for running real `openclaw …` CLI
 * commands without a gateway: doctor against broken setups, setup and import-config on real
 * config files. The config is written as given (a string keeps JSON5 comments).
 */
export class OpenClawHome {
  readonly dir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly home: string;

  constructor(config: object | string) {
    this.dir = mkdtempSync(join(tmpdir(), "openclaw-cli-"));
    this.stateDir = join(this.dir, "state");
    this.home = join(this.dir, "home");
    this.configPath = join(this.dir, "openclaw.json");
    mkdirSync(this.stateDir);
    mkdirSync(this.home);
    this.writeConfig(config);
  }

  writeConfig(config: object | string): void {
    writeFileSync(this.configPath, typeof config === "string" ? config : JSON.stringify(config, null, 2));
  }

  readConfig(): string {
    return readFileSync(this.configPath, "utf8");
  }

  /** `plugins.entries.nats` state dir, as the plugin derives it. */
  get pluginDir(): string {
    return join(this.stateDir, "plugins", "nats");
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OPENCLAW_")));
    return { ...base, ...this.ownEnv(extra) };
  }

  /** What this home sets on top of the test process's environment. */
  private ownEnv(extra: Record<string, string>): Record<string, string> {
    return {
      HOME: this.home,
      OPENCLAW_STATE_DIR: this.stateDir,
      OPENCLAW_CONFIG_PATH: this.configPath,
      OPENCLAW_DISABLE_BONJOUR: "1",
      OPENCLAW_NO_RESPAWN: "1",
      OPENCLAW_NO_AUTO_UPDATE: "1",
      NO_COLOR: "1",
      ...extra,
    };
  }

  /**
   * `openclaw nats <args…>` (args start after "nats") as the same command code run in the test
   * process with this home's config and environment: for a command's behaviour matrix, beside one
   * real `run` of the command (see test/harness/cli-in-process.ts).
   */
  runInProcess(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliRun> {
    return natsCliInProcess(this.configPath, args, this.ownEnv(opts.env ?? {}));
  }

  /** Runs `openclaw <args>`; never rejects on a non-zero exit. */
  run(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
    return runOpenclaw(args, this.env(opts.env), opts.timeoutMs);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A minimal OpenClaw config that loads the staged plugin with `natsConfig`, plus `extra` top-level keys. */
export function cliConfig(pluginPath: string, natsConfig: object, extra: { hooks?: object; top?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    gateway: { mode: "local", bind: "loopback", port: 1, auth: { mode: "token", token: "t0ken-for-the-cli-tests" } },
    ...extra.top,
    plugins: { load: { paths: [pluginPath] }, entries: { nats: { enabled: true, ...(extra.hooks ? { hooks: extra.hooks } : {}), config: natsConfig } } },
  };
}

/**
 * The JSON a `--json` command printed. Strict on purpose (issue #19): stdout must be exactly one JSON
 * document, logs go to stderr; every `--json` run of the CLI e2e tests goes through here, so a log line
 * on stdout fails the test that ran the command.
 */
export function jsonOut<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not exactly one JSON document (${(err as Error).message}; code ${run.code})\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  }
}
