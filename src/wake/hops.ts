import type { MsgHdrs } from "@nats-io/transport-node";
import { processEntry, processState } from "../shared/process-state.ts";

/**
 * Every message the plugin sends on behalf of an agent carries how many agent → agent hops led to it.
 * A wake received with n hops makes the woken session's own sends carry n + 1; past `maxHops` they are
 * refused, so two agents cannot make each other take turns forever.
 */
export const HOPS_HEADER = "OpenClaw-Hops";

/** How long a session's hop count outlives the message that set it (the turn it started uses it). */
const HOP_CONTEXT_MS = 10 * 60_000;
const MAX_SESSIONS = 10_000;

/** The hop count a received message declares: 0 without the header; a bad value is a rejection reason. */
export function readHops(headers: MsgHdrs | undefined): { ok: true; hops: number } | { ok: false; reason: string } {
  const raw = headers?.get(HOPS_HEADER);
  if (!raw) return { ok: true, hops: 0 };
  if (!/^\d{1,4}$/.test(raw)) return { ok: false, reason: `${HOPS_HEADER}: must be a whole number of hops, got "${raw.slice(0, 20)}"` };
  return { ok: true, hops: Number(raw) };
}

export function hopLimitReason(hops: number, maxHops: number): string {
  return `hop limit reached: this message is hop ${hops}, maxHops is ${maxHops} (agents messaging each other in a loop?)`;
}

/** Per session: the hops of the last message handed to it, so its tool calls send one more. */
export class HopContext {
  private readonly bySession = new Map<string, { hops: number; at: number }>();

  /** A message with `hops` was handed to the session. */
  set(sessionKey: string, hops: number): void {
    this.bySession.delete(sessionKey);
    this.bySession.set(sessionKey, { hops, at: Date.now() });
    if (this.bySession.size > MAX_SESSIONS) this.bySession.delete(this.bySession.keys().next().value as string);
  }

  /** Hops of what the session is acting on (0: nothing from another agent lately). */
  get(sessionKey: string | undefined): number {
    if (!sessionKey) return 0;
    const e = this.bySession.get(sessionKey);
    if (!e) return 0;
    if (Date.now() - e.at > HOP_CONTEXT_MS) {
      this.bySession.delete(sessionKey);
      return 0;
    }
    return e.hops;
  }
}

const HOPS = processEntry("wake", "hops", () => new HopContext());

/** One hop context per process: the wake side sets it, the tools (registered per instance) read it. */
export function processHops(): HopContext {
  return processState(HOPS);
}
