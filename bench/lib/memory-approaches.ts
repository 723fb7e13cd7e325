import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { EventEnvelope } from "../../src/events/envelope.ts";
import { isEnvelope, readEvents } from "../../src/events/reader.ts";
import { eventFilter } from "../../src/shared/subjects.ts";
import { buildBlock } from "../../src/memory/context.ts";
import { rowOf, type MemoryRow } from "../../src/memory/rows.ts";

/** The conversation types memory reads by default. */
export const TYPES = ["msg.in", "msg.out", "turn.user", "turn.reply", "wake.in"];

export interface Built {
  block: string | undefined;
  /** The items the context offers, newest first (for recall: the rank of the answer among them). */
  items: string[];
  /** The session each item came from. */
  sessions: Array<string | null>;
  /** Events the approach read from NATS to build it. */
  read: number;
}

/**
 * The RFC's reference approach, as the issue describes it: a new connection per context build, up to
 * 1,000 sequential getMessage calls from the end of the stream, the agent filtered on the client,
 * "topics" from capitalised words, conversation snippets newest first (deduplicated by text).
 */
export async function rfcContext(url: string, stream: string, agent: string, max = 1000): Promise<Built> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const last = (await jsm.streams.info(stream)).state.last_seq;
    const events: EventEnvelope[] = [];
    let read = 0;
    for (let seq = last; seq > 0 && seq > last - max; seq--) {
      const sm = await jsm.streams.getMessage(stream, { seq });
      read++;
      const e: unknown = sm?.json();
      if (isEnvelope(e) && e.agent === agent) events.push(e);
    }
    return rfcBlock(events);
  } finally {
    await nc.close();
  }
}

/** The RFC's block from events newest first: every conversation text of the agent, deduplicated, no scope. */
export function rfcBlock(newestFirst: readonly EventEnvelope[], read = newestFirst.length): Built {
  const seen = new Set<string>();
  const items: string[] = [];
  const sessions: Array<string | null> = [];
  const topics = new Map<string, number>();
  for (const e of newestFirst) {
    const text = typeof e.payload.content === "string" ? e.payload.content : undefined;
    if (!text || !TYPES.includes(e.type) || seen.has(text)) continue;
    seen.add(text);
    items.push(text);
    sessions.push(e.session);
    for (const w of text.match(/\b[A-Z][a-z]{2,}\b/g) ?? []) topics.set(w, (topics.get(w) ?? 0) + 1);
  }
  const top = [...topics.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([w]) => w);
  const block = items.length > 0 ? [`${newestFirst.length} events. Topics: ${top.join(", ")}`, ...items.slice(0, 20).map((t) => `- ${t}`)].join("\n") : undefined;
  return { block, items, sessions, read };
}

/**
 * The alternative to a projection: read by subject and time straight from JetStream on the plugin's
 * connection (one ordered consumer per conversation type, from the start of the lookback), filter the
 * conversation on the client, build the same block.
 */
export async function directContext(nc: NatsConnection, opts: { stream: string; prefix: string; agent: string; peer: string | undefined; since: number; maxEvents: number; maxChars: number }): Promise<Built> {
  const rows: MemoryRow[] = [];
  let read = 0;
  for await (const e of readEvents(nc, { stream: opts.stream, subjects: TYPES.map((t) => eventFilter(opts.prefix, opts.agent, t)), since: opts.since })) {
    read++;
    if (!e.event) continue;
    const r = rowOf(e.event, { prefix: opts.prefix, value: e.subject });
    if (!r.ok || (r.row.role !== "user" && r.row.role !== "agent")) continue;
    if (opts.peer !== undefined && r.row.peer !== opts.peer) continue;
    rows.push(r.row);
  }
  rows.sort((a, b) => b.ts - a.ts);
  const newest = rows.slice(0, opts.maxEvents);
  const block = buildBlock({ agentId: opts.agent, scope: opts.peer === undefined ? "agent" : "peer", rows: newest, notes: undefined, prompt: undefined, maxChars: opts.maxChars, searchHint: true });
  return { block, items: newest.map((r) => r.text), sessions: newest.map((r) => r.session), read };
}

/** The snippets of one of our blocks, in order (recall: the rank of the answer among them). */
export function blockItems(block: string | undefined): string[] {
  return (block ?? "").split("\n").filter((l) => l.startsWith("- ")).map((l) => l.replace(/^- \S+ \S+ [^:]+: /, ""));
}
