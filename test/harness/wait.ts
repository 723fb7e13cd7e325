import { setTimeout as delay } from "node:timers/promises";
import type { TestGateway } from "./gateway.ts";

/** Polls `cond` every 100 ms until it holds; throws naming `what` after `ms`. */
export async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await delay(100);
  }
}

/** The wake figures of `nats.status` that tests wait on (the plugin's own counters). */
export interface WakeFigures {
  received: number;
  injected: number;
  rejected: number;
  turns?: { wakes: number; turns: number; coalesced: number; rateLimited: number; failed: number };
}

export async function wakeFigures(gw: TestGateway): Promise<WakeFigures> {
  return ((await gw.call("nats.status")) as unknown as { wake: WakeFigures }).wake;
}
