import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Test files run in parallel processes, and a port is often bound long after it was picked (a
// gateway binds its port ~20 s into its boot). The kernel may hand the same "free" port to another
// process in that window, so each port handed out is reserved for the life of the process that got
// it: a directory holding its pid, taken over once that process is gone.
const DIR = join(tmpdir(), "openclaw-nats-ports");
const mine = new Set<string>();
process.once("exit", () => {
  for (const dir of mine) rmSync(dir, { recursive: true, force: true });
});

/** A loopback TCP port that was free a moment ago and that no other test process of this machine holds. */
export async function freePort(): Promise<number> {
  mkdirSync(DIR, { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const port = await kernelPort();
    if (reserve(port) || attempt >= 50) return port;
  }
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function reserve(port: number): boolean {
  const dir = join(DIR, String(port));
  try {
    mkdirSync(dir);
  } catch {
    if (!ownerGone(dir)) return false;
    rmSync(dir, { recursive: true, force: true });
    try {
      mkdirSync(dir);
    } catch {
      return false;
    }
  }
  writeFileSync(join(dir, "pid"), String(process.pid));
  mine.add(dir);
  return true;
}

function ownerGone(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, "pid"), "utf8"));
  } catch {
    // No pid yet: its owner is between mkdir and writing it — or was killed right there.
    return Date.now() - mtimeMs(dir) > 10_000;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}
