import { jetstream, type ConsumerMessages, type JsMsg, type OrderedConsumerOptions } from "@nats-io/jetstream";
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { errorMessage } from "../shared/logger.ts";
import type { EventEnvelope } from "./envelope.ts";
import { jsDomain } from "../connection/domain.ts";

/**
 * Reading events back from the stream: the one place that does it (memory, `openclaw nats events`,
 * export). Every read is a filtered, time- or sequence-bounded JetStream ordered consumer, so it never
 * walks the whole stream: the server seeks to `since` / `startSeq` and delivers only the filter's subjects.
 *
 * nats-server 2.9 takes one filter subject per consumer and has no batched direct get, so a read over
 * several subjects runs one ordered consumer per subject and merges them by stream sequence.
 */
export interface ReadRange {
  stream: string;
  /** NATS subject filters (wildcards allowed); see `eventFilter`. */
  subjects: readonly string[];
  /** Start at the first event stored at or after this time (ms since the epoch; the server seeks). */
  since?: number;
  /** Or start at this stream sequence (resuming a read); wins over `since`. */
  startSeq?: number;
  /** Stop before the first event stored after this time (ms since the epoch). */
  until?: number;
  /** Keep delivering new events as they are stored, until `signal` aborts. */
  follow?: boolean;
  signal?: AbortSignal;
  /** JetStream API timeout (consumer creation); default 5000 ms. */
  timeoutMs?: number;
  /** Messages per pull; default 256. */
  batch?: number;
}

export interface ReadEvent {
  /** Stream sequence. */
  seq: number;
  subject: string;
  /** When the server stored it (ms since the epoch). */
  storedAt: number;
  /** The parsed envelope, or undefined when the message is not one (`problem` says why). */
  event: EventEnvelope | undefined;
  problem?: string;
  /** The raw message body. */
  data: Uint8Array;
  /** The stored message's headers (Nats-Msg-Id, traceparent), if it carries headers. */
  headers?: MsgHdrs;
}

// Built in shared/subjects.ts (the home of subjects); re-exported because readers pass it to readEvents.
export { eventFilter } from "../shared/subjects.ts";

const DEFAULT_BATCH = 256;

function parse(m: JsMsg): ReadEvent {
  const base = { seq: m.seq, subject: m.subject, storedAt: Math.floor(m.info.timestampNanos / 1_000_000), data: m.data, ...(m.headers ? { headers: m.headers } : {}) };
  try {
    const value: unknown = m.json();
    if (!isEnvelope(value)) return { ...base, event: undefined, problem: "not an event envelope" };
    return { ...base, event: value };
  } catch (err) {
    return { ...base, event: undefined, problem: `invalid JSON: ${errorMessage(err)}` };
  }
}

/** Enough of the envelope's shape that readers can rely on its fields (payload and meta are objects). */
export function isEnvelope(v: unknown): v is EventEnvelope {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.id === "string" &&
    typeof e.ts === "number" &&
    typeof e.agent === "string" &&
    (e.session === null || typeof e.session === "string") &&
    typeof e.type === "string" &&
    typeof e.payload === "object" &&
    e.payload !== null &&
    typeof e.meta === "object" &&
    e.meta !== null
  );
}

/**
 * One subject: an ordered consumer from `startSeq` / `since`, in stream order. Without `follow` it ends
 * at the last message stored when it started (or at `until`).
 */
async function* readSubject(nc: NatsConnection, range: ReadRange, subject: string): AsyncGenerator<ReadEvent> {
  if (range.signal?.aborted) return;
  const js = jetstream(nc, { ...jsDomain(nc), timeout: range.timeoutMs ?? 5000 });
  const opts: Partial<OrderedConsumerOptions> = { filter_subjects: subject };
  if (range.startSeq !== undefined) opts.opt_start_seq = Math.max(1, range.startSeq);
  else if (range.since !== undefined) opts.opt_start_time = new Date(range.since).toISOString();
  const consumer = await js.consumers.get(range.stream, opts);
  let messages: ConsumerMessages | undefined;
  const stop = (): void => {
    messages?.stop();
  };
  range.signal?.addEventListener("abort", stop, { once: true });
  try {
    // num_pending at creation: what there is to read right now.
    const pending = (await consumer.info(true)).num_pending;
    if (pending === 0 && !range.follow) return;
    const batch = range.batch ?? DEFAULT_BATCH;
    messages = await consumer.consume({ max_messages: batch, expires: 5000 });
    if (range.signal?.aborted) return;
    for await (const m of messages) {
      const item = parse(m);
      if (range.until !== undefined && item.storedAt > range.until) return;
      yield item;
      if (!range.follow && m.info.pending === 0) return;
    }
  } finally {
    range.signal?.removeEventListener("abort", stop);
    messages?.stop();
    // Ordered consumers are ephemeral; deleting now spares the server five idle minutes.
    await consumer.delete().catch(() => {});
  }
}

/**
 * Events under `range.subjects` in stream order (several subjects: merged by sequence; with `follow`,
 * in arrival order once the backlog is read). Throws when the stream or a consumer cannot be reached.
 */
export async function* readEvents(nc: NatsConnection, range: ReadRange): AsyncGenerator<ReadEvent> {
  const subjects = [...new Set(range.subjects)];
  if (subjects.length === 0) return;
  // Ends every consumer when the caller stops early (break, return) or aborts: a follow read would
  // otherwise wait for its next message forever.
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  range.signal?.addEventListener("abort", onAbort, { once: true });
  if (range.signal?.aborted) inner.abort();
  const sources = subjects.map((s) => readSubject(nc, { ...range, signal: inner.signal }, s));
  try {
    if (sources.length === 1) yield* sources[0];
    else if (range.follow) yield* interleave(sources);
    else yield* mergeBySeq(sources);
  } finally {
    range.signal?.removeEventListener("abort", onAbort);
    inner.abort();
    await Promise.all(sources.map((s) => s.return(undefined)));
  }
}

/** k-way merge of iterators that are each in stream order. */
async function* mergeBySeq(sources: AsyncGenerator<ReadEvent>[]): AsyncGenerator<ReadEvent> {
  const heads = await Promise.all(sources.map((s) => s.next()));
  for (;;) {
    let best: ReadEvent | undefined;
    let at = -1;
    heads.forEach((h, i) => {
      if (!h.done && (best === undefined || h.value.seq < best.seq)) {
        best = h.value;
        at = i;
      }
    });
    if (best === undefined) return;
    yield best;
    heads[at] = await sources[at].next();
  }
}

/** Whatever any source yields next (follow mode: there is no global order to wait for). */
async function* interleave(sources: AsyncGenerator<ReadEvent>[]): AsyncGenerator<ReadEvent> {
  const next = sources.map((s, i) => s.next().then((r) => ({ r, i })));
  const live = new Set(sources.map((_, i) => i));
  while (live.size > 0) {
    const { r, i } = await Promise.race([...live].map((j) => next[j]));
    if (r.done) {
      live.delete(i);
      continue;
    }
    next[i] = sources[i].next().then((x) => ({ r: x, i }));
    yield r.value;
  }
}

/** Reads the whole range into memory (tests, small CLI queries). Stops after `limit` events. */
export async function collectEvents(nc: NatsConnection, range: ReadRange, limit = Number.POSITIVE_INFINITY): Promise<ReadEvent[]> {
  const out: ReadEvent[] = [];
  if (limit <= 0) return out;
  for await (const e of readEvents(nc, range)) {
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}
