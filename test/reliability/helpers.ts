import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { parseConfig } from "../../src/config/parse.ts";
import type { EventsConfig } from "../../src/config/schema.ts";
import { NatsLink } from "../../src/connection/link.ts";
import type { EventEnvelope } from "../../src/events/envelope.ts";
import type { Logger } from "../../src/shared/logger.ts";

/** The `events` config section with defaults filled in, as the plugin would get it. */
export function eventsConfig(events: Record<string, unknown> = {}): EventsConfig {
  return parseConfig({ events }).events;
}

export function tempDir(prefix = "events-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A Logger that keeps every line (level-prefixed) for assertions; prints nothing unless EVENTS_TEST_LOG is set. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`);
    if (process.env.EVENTS_TEST_LOG) console.error(`${level} ${m}`);
  };
  return { lines, debug: put("debug"), info: put("info"), warn: put("warn"), error: put("error") };
}

/** A NatsLink with fast reconnects, for tests. */
export function testLink(url: string, log: Logger, name = "events-test"): NatsLink {
  return new NatsLink({ url, name, reconnect: { maxAttempts: -1, delayMs: 100, maxDelayMs: 500 } }, log);
}

export interface StoredEvent {
  seq: number;
  subject: string;
  msgId: string | undefined;
  event: EventEnvelope;
}

/** Every message of a stream, in stream order, through an ordered consumer. */
export async function readStream(nc: NatsConnection, stream: string, subject?: string): Promise<StoredEvent[]> {
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info(stream)).state.messages;
  const out: StoredEvent[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream, subject ? { filter_subjects: subject } : {});
  const messages = await consumer.consume({ max_messages: 1000 });
  for await (const m of messages) {
    out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get("Nats-Msg-Id"), event: m.json<EventEnvelope>() });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

/** Problems with a stream's contents: duplicate ids, ids differing from Nats-Msg-Id, per-session order broken. */
export function integrityProblems(events: StoredEvent[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const lastBySession = new Map<string, number>();
  for (const e of events) {
    if (seen.has(e.event.id)) problems.push(`duplicate id ${e.event.id} at stream seq ${e.seq}`);
    seen.add(e.event.id);
    if (e.msgId !== e.event.id) problems.push(`Nats-Msg-Id ${e.msgId} != id ${e.event.id}`);
    const key = `${e.event.agent}/${e.event.session}`;
    const n = e.event.meta.seq ?? -1;
    const prev = lastBySession.get(key);
    if (prev !== undefined && n <= prev) problems.push(`session ${key}: meta.seq ${n} after ${prev} (stream seq ${e.seq})`);
    lastBySession.set(key, n);
  }
  return problems;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `fn` until it succeeds (e.g. a JetStream API call while a cluster elects a new leader). */
export async function retry<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
