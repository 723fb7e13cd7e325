import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export interface StoredEvent {
  id: string;
  type: string;
  agent: string;
  session: string | null;
  payload: Record<string, unknown>;
  meta: Record<string, unknown>;
}

/**
 * Read every event stored under `filter` in the `openclaw-events` stream, again and again until
 * `done(events)` holds; on timeout the error lists the types seen (plus `describe()`, if given).
 */
export async function readEvents(nc: NatsConnection, filter: string, done: (events: StoredEvent[]) => boolean, timeoutMs = 30_000, describe?: () => Promise<string>): Promise<StoredEvent[]> {
  const deadline = Date.now() + timeoutMs;
  const js = jetstream(nc);
  for (;;) {
    const events: StoredEvent[] = [];
    const consumer = await js.consumers.get("openclaw-events", { filter_subjects: filter });
    const pending = (await consumer.info(true)).num_pending;
    if (pending > 0) {
      for await (const m of await consumer.fetch({ max_messages: pending, expires: 2000 })) {
        events.push(m.json<StoredEvent>());
        if (events.length >= pending) break;
      }
    }
    if (done(events)) return events;
    if (Date.now() > deadline) throw new Error(`events under ${filter}: ${events.map((e) => e.type).join(", ") || "none"}${describe ? `\n${await describe()}` : ""}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
