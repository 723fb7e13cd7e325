import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";

/**
 * A counting semaphore shared by every test process of a run (node --test runs files in parallel
 * processes): at most TEST_GATEWAY_BOOTS gateways (default 2, one per core) boot at once. A boot is
 * ~25 s of CPU; five at once on two cores take longer each than two at a time, and time out.
 * A slot is a directory holding its owner's pid; a slot whose owner died is taken over.
 */
const DIR = join(tmpdir(), "openclaw-nats-boot-slots");
const POLL_MS = 100;
const held = new Set<string>();
process.once("exit", () => {
  for (const slot of held) rmSync(slot, { recursive: true, force: true });
});

export async function bootSlot(slots = Number(process.env.TEST_GATEWAY_BOOTS ?? 2)): Promise<() => void> {
  mkdirSync(DIR, { recursive: true });
  for (;;) {
    for (let i = 0; i < slots; i++) {
      const slot = join(DIR, String(i));
      if (take(slot)) {
        held.add(slot);
        return () => {
          if (!held.delete(slot)) return;
          rmSync(slot, { recursive: true, force: true });
        };
      }
    }
    await delay(POLL_MS);
  }
}

function take(slot: string): boolean {
  try {
    mkdirSync(slot);
  } catch {
    if (!ownerDied(slot)) return false;
    rmSync(slot, { recursive: true, force: true });
    return false; // taken over on the next pass, by whoever gets the mkdir first
  }
  writeFileSync(join(slot, "pid"), String(process.pid));
  return true;
}

function ownerDied(slot: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(slot, "pid"), "utf8"));
  } catch {
    // No pid yet: the owner is between mkdir and writing it — or was killed right there.
    return Date.now() - mtimeMs(slot) > 10_000;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}
