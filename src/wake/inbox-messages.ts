import type { JsMsg } from "@nats-io/jetstream";
import { errorMessage, type Logger } from "../shared/logger.ts";

/**
 * ack / nak / term / working, never throwing: the connection may be closed or draining (a stop, an
 * outage), and a keep-alive timer must not throw out of itself. A failed answer is logged; the server
 * redelivers the message after its ack wait.
 */
export function settle(m: JsMsg, how: "ack" | "nak" | "term" | "working", log: Logger, arg?: number | string): void {
  try {
    if (how === "nak") m.nak(typeof arg === "number" ? arg : undefined);
    else if (how === "term") m.term(typeof arg === "string" ? arg : undefined);
    else m[how]();
  } catch (err) {
    log.debug?.(`nats: durable inbox: ${how} for ${m.subject} failed: ${errorMessage(err)}`);
  }
}

/**
 * Every message the durable inbox holds (pulled, not yet acked or nak'ed), each kept alive with
 * `working()` from the moment it is pulled — also while it waits for a free slot — so a long relay
 * turn is not redelivered; on stop, every one still held is handed back.
 */
export class HeldMessages {
  private readonly held = new Map<JsMsg, ReturnType<typeof setInterval>>();
  private readonly keepAliveMs: number;
  private readonly log: Logger;

  /** `ackWaitMs`: the consumer's ack wait; the keep-alive goes out three times per wait (at least every 500 ms). */
  constructor(ackWaitMs: number, log: Logger) {
    this.keepAliveMs = Math.max(500, Math.floor(ackWaitMs / 3));
    this.log = log;
  }

  hold(m: JsMsg): void {
    this.held.set(m, setInterval(() => settle(m, "working", this.log), this.keepAliveMs));
  }

  /** Stop keeping `m` alive; with `how`, also answer the server for it. */
  release(m: JsMsg, how?: "nak", delayMs?: number): void {
    const timer = this.held.get(m);
    if (timer === undefined) return;
    clearInterval(timer);
    this.held.delete(m);
    if (how) settle(m, how, this.log, delayMs);
  }

  /** Hand every held message back (nak after `delayMs`). */
  handBackAll(delayMs: number): void {
    for (const m of [...this.held.keys()]) this.release(m, "nak", delayMs);
  }
}
