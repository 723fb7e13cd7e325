// Spawning the host's `openclaw` entry point: one home for the path, the child registry that kills
// what a dying test process leaves behind, and the CLI run both TestGateway and OpenClawHome use.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const OPENCLAW_ENTRY = join(REPO_ROOT, "node_modules", "openclaw", "openclaw.mjs");

/** What an `openclaw …` CLI run printed and how it ended. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// eslint-disable-next-line no-control-regex
export const ANSI = /\x1b\[[0-9;]*m/g;

const live = new Set<ChildProcess>();
// Last line of defence when a test process dies without running its `after` hooks: a gateway or CLI
// child would otherwise outlive it. Signals are re-raised so the default exit still happens.
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

/**
 * `node openclaw.mjs <args>` from the repo root; the child is killed with the test process.
 * TEST_CPU_PROF=<dir>: each gateway and CLI process writes a V8 CPU profile there when it exits (where
 * a run's CPU goes; Node refuses --cpu-prof in NODE_OPTIONS).
 */
export function spawnOpenclaw(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const prof = process.env.TEST_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.TEST_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, OPENCLAW_ENTRY, ...args], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/**
 * Any `openclaw …` CLI command; never rejects on a non-zero exit (tests assert on code, stdout and
 * stderr). `timeoutMs` is a kill deadline for loaded machines, not a speed check.
 */
export function runOpenclaw(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000, onSpawn?: (child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolvePromise) => {
    const child = spawnOpenclaw(args, env);
    onSpawn?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const t0 = Date.now();
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      // TEST_BOOT_LOG=<file>: one line per CLI run too (test file, ms, command), to count what a run spends on them.
      if (process.env.TEST_BOOT_LOG) appendFileSync(process.env.TEST_BOOT_LOG, `${process.argv[1] ?? "?"} ${Date.now() - t0} cli ${args.slice(0, 2).join(" ")}\n`);
      resolvePromise({ code, signal, stdout: stdout.replace(ANSI, ""), stderr: stderr.replace(ANSI, "") });
    });
  });
}
