import type { EventStore } from "../../src/events/store.ts";

export interface ProducerOptions {
  total: number;
  sessions: number;
  /** Events recorded per timer tick. */
  perTick: number;
  tickMs: number;
  /** Number of the first event (a second run continues where the first stopped). */
  from?: number;
  onProgress?: (recorded: number) => void | Promise<void>;
}

/**
 * Records `total` events at a steady pace, round-robin over `sessions` sessions, each event
 * carrying its number as payload.n and its place in its session as meta.seq.
 */
export async function produce(store: EventStore, opts: ProducerOptions): Promise<void> {
  const from = opts.from ?? 0;
  for (let n = from; n < opts.total; ) {
    const end = Math.min(opts.total, n + opts.perTick);
    for (; n < end; n++) {
      const session = n % opts.sessions;
      store.record({
        agent: "main",
        session: `s${session}`,
        type: "msg.in",
        payload: { n, text: `event ${n}` },
        meta: { seq: Math.floor(n / opts.sessions), runId: `run-${session}` },
      });
    }
    await opts.onProgress?.(n);
    await new Promise((r) => setTimeout(r, opts.tickMs));
  }
}
