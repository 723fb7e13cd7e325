import { v7 as uuidv7 } from "uuid";

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
  payload: Record<string, unknown>;
  meta: EventMeta;
}

export const SYSTEM_AGENT = "system";
export const DEFAULT_VISIBILITY: Visibility = "internal";

/** A unique, time-ordered event id (RFC 9562 UUIDv7, monotonic within the process). */
export function newEventId(): string {
  return uuidv7();
}

/** One NATS subject token from free text: no dots, wildcards, whitespace or empty tokens. */
export function subjectToken(text: string): string {
  const token = text.replace(/[.*>\s\u0000-\u001f\u007f]/g, "_");
  return token.length > 0 ? token : "_";
}

export function agentOf(input: Pick<EventInput, "agent">): string {
  return input.agent && input.agent.length > 0 ? input.agent : SYSTEM_AGENT;
}

/** `{prefix}.{agent}.{type with . → _}`, e.g. `openclaw.events.main.msg_in`. */
export function eventSubject(prefix: string, agent: string, type: string): string {
  return `${prefix}.${subjectToken(agent)}.${subjectToken(type)}`;
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

export function buildEnvelope(input: EventInput, id: string = newEventId(), ts: number = Date.now()): EventEnvelope {
  return {
    id,
    ts,
    agent: agentOf(input),
    session: input.session ?? null,
    type: input.type,
    visibility: input.visibility ?? DEFAULT_VISIBILITY,
    payload: input.payload,
    meta: cleanMeta(input.meta),
  };
}
