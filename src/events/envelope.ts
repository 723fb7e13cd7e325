import { randomFillSync } from "node:crypto";
import type { TraceHeaders } from "../trace/context.ts";

export type Visibility = "public" | "internal" | "private";

export interface EventMeta {
  runId?: string;
  seq?: number;
  model?: string;
  channel?: string;
}

/** What a hook hands to EventStore.record(). */
export interface EventInput {
  /** Agent id; gateway-level events use "system" (also the fallback when empty). */
  agent: string;
  session?: string;
  /** Dotted event type, e.g. "msg.in"; dots become underscores in the subject. */
  type: string;
  visibility?: Visibility;
  payload: Record<string, unknown>;
  meta?: EventMeta;
  /** The W3C trace the event belongs to; the store fills in the session's (src/trace/sessions.ts) when absent. */
  trace?: TraceHeaders;
}

/** The JSON document stored in the stream, one per event. */
export interface EventEnvelope {
  /** UUIDv7: unique, time-ordered (sorts as text); also the Nats-Msg-Id header. */
  id: string;
  /** Milliseconds since the epoch when record() was called. */
  ts: number;
  agent: string;
  session: string | null;
  type: string;
  visibility: Visibility;
  /**
   * The W3C trace context of the message that started the turn (docs/tracing.md); absent when none.
   * Optional and additive, like every envelope key added after the first: readers ignore keys they do
   * not know. It comes before `payload` so the publisher can read it without parsing (src/trace/nats.ts).
   */
  trace?: TraceHeaders;
  payload: Record<string, unknown>;
  meta: EventMeta;
}

export const SYSTEM_AGENT = "system";
export const DEFAULT_VISIBILITY: Visibility = "internal";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const randomPool = Buffer.allocUnsafe(8192);
let poolPos = randomPool.length;
let lastMs = -1;
let counter = 0;

/**
 * A unique, time-ordered event id: an RFC 9562 UUIDv7 with a 12-bit counter in rand_a (method 1),
 * so ids made in the same millisecond still sort in creation order; if the counter runs out the
 * timestamp borrows the next millisecond. 62 random bits keep ids of different processes apart.
 * Random bytes come from a pooled CSPRNG buffer: the `uuid` package fetches 16 fresh bytes per id,
 * which made it 10× slower than this (1.2 µs against 0.13 µs) on the agent's path.
 */
export function newEventId(): string {
  if (poolPos + 10 > randomPool.length) {
    randomFillSync(randomPool);
    poolPos = 0;
  }
  const r = poolPos;
  poolPos += 10;
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = ((randomPool[r] & 0x07) << 8) | randomPool[r + 1]; // random start, at least 2048 steps left
  } else if (counter < 0xfff) {
    counter++;
    ms = lastMs;
  } else {
    ms = ++lastMs;
    counter = 0;
  }
  const hi = Math.floor(ms / 0x10000);
  const lo = ms % 0x10000;
  const b = randomPool;
  return (
    HEX[(hi >>> 24) & 0xff] + HEX[(hi >>> 16) & 0xff] + HEX[(hi >>> 8) & 0xff] + HEX[hi & 0xff] + "-" +
    HEX[lo >>> 8] + HEX[lo & 0xff] + "-" +
    HEX[0x70 | (counter >>> 8)] + HEX[counter & 0xff] + "-" +
    HEX[0x80 | (b[r + 2] & 0x3f)] + HEX[b[r + 3]] + "-" +
    HEX[b[r + 4]] + HEX[b[r + 5]] + HEX[b[r + 6]] + HEX[b[r + 7]] + HEX[b[r + 8]] + HEX[b[r + 9]]
  );
}

export function agentOf(input: Pick<EventInput, "agent">): string {
  return input.agent && input.agent.length > 0 ? input.agent : SYSTEM_AGENT;
}

function cleanMeta(meta: EventMeta | undefined): EventMeta {
  const out: EventMeta = {};
  if (!meta) return out;
  if (meta.runId !== undefined) out.runId = meta.runId;
  if (meta.seq !== undefined) out.seq = meta.seq;
  if (meta.model !== undefined) out.model = meta.model;
  if (meta.channel !== undefined) out.channel = meta.channel;
  return out;
}

/** When an event id from newEventId() was made (its UUIDv7 millisecond field); undefined for other ids. */
export function eventIdTime(id: string): number | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7/i.exec(id);
  return m ? parseInt(m[1] + m[2], 16) : undefined;
}

export function buildEnvelope(input: EventInput, id: string = newEventId(), ts: number = Date.now()): EventEnvelope {
  return {
    id,
    ts,
    agent: agentOf(input),
    session: input.session ?? null,
    type: input.type,
    visibility: input.visibility ?? DEFAULT_VISIBILITY,
    ...(input.trace ? { trace: input.trace.tracestate ? { traceparent: input.trace.traceparent, tracestate: input.trace.tracestate } : { traceparent: input.trace.traceparent } } : {}),
    payload: input.payload,
    meta: cleanMeta(input.meta),
  };
}
