import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { REPO_ROOT, stagePlugin } from "../../scripts/stage-plugin.ts";
import type { GatewayPlugin } from "./gateway-config.ts";

let staged: string | undefined;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * This plugin, compiled and staged as an installed package, with `config` as
 * plugins.entries.nats.config. Staging (tsc + copying the runtime dependencies, ~12 s of CPU) is done
 * once per source tree, not once per test file: the staged copy lives in the temp dir under a hash of
 * everything that goes into it, and concurrent test processes wait for the one that builds it.
 * Gateways only read the staged folder, so sharing it between processes is safe.
 */
export function natsPlugin(config: object): GatewayPlugin {
  return { path: stagedNatsPlugin(), id: "nats", config };
}

/**
 * The staged plugin's folder for this source tree, staging it when no process has yet. Synchronous
 * (natsPlugin() is called while building option objects); a process that waits for another's
 * staging blocks for that time, which is what it would otherwise spend staging itself.
 */
export function stagedNatsPlugin(): string {
  if (staged) return staged;
  const dir = join(tmpdir(), `openclaw-nats-staged-${sourceHash()}`);
  const lock = `${dir}.lock`;
  for (;;) {
    if (existsSync(join(dir, ".complete"))) return (staged = dir);
    if (tryLock(lock)) {
      try {
        if (!existsSync(join(dir, ".complete"))) {
          const tmp = `${dir}.tmp-${process.pid}`;
          rmSync(tmp, { recursive: true, force: true });
          stagePlugin(mkdirp(tmp));
          writeFileSync(join(tmp, ".complete"), new Date().toISOString());
          rmSync(dir, { recursive: true, force: true });
          renameSync(tmp, dir);
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      continue;
    }
    Atomics.wait(SLEEPER, 0, 0, 200); // another test process is staging this tree
  }
}

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(join(lock, "pid"), String(process.pid));
    return true;
  } catch {
    try {
      const pid = Number(readFileSync(join(lock, "pid"), "utf8"));
      process.kill(pid, 0);
    } catch (err) {
      // The stager died (ESRCH) or left no pid: free the lock unless it was only just taken.
      const fresh = Date.now() - safeMtime(lock) < 5_000;
      if ((err as NodeJS.ErrnoException).code === "ESRCH" || !fresh) rmSync(lock, { recursive: true, force: true });
    }
    return false;
  }
}

function safeMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Hash of every file that goes into a staged copy: sources, UI, manifest, package files, build config, the stager itself. */
function sourceHash(): string {
  const hash = createHash("sha256");
  const files = ["package.json", "package-lock.json", "openclaw.plugin.json", "tsconfig.build.json", "index.ts", "scripts/stage-plugin.ts", "scripts/copy-ui.ts", ...walk(join(REPO_ROOT, "src"))];
  for (const file of files.sort()) {
    hash.update(file).update("\0").update(readFileSync(join(REPO_ROOT, file))).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (!entry.name.endsWith(".test.ts")) out.push(relative(REPO_ROOT, path));
  }
  return out;
}
