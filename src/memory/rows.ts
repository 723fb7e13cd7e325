import type { EventEnvelope } from "../events/envelope.ts";
import { eventSubject } from "../shared/subjects.ts";
import { isSessionKey, restOfSessionKey } from "../shared/session-key.ts";

/** Who speaks in a memory row: the user (or whoever wrote to the agent), the agent, or the agent's notes. */
export type Role = "user" | "agent" | "note" | "event";

/** One event as memory keeps it: the text and what scope checks need, nothing else. */
export interface MemoryRow {
  id: string;
  ts: number;
  agent: string;
  /** Session key, or null for agent-wide events (notes, custom events without a session). */
  session: string | null;
  /** The conversation: the session key without its `agent:<id>:` part; null when there is no session. */
  peer: string | null;
  type: string;
  role: Role;
  /** `from` of a message or wake, `to` of a delivery, the path of a note. */
  speaker: string | null;
  channel: string | null;
  text: string;
  /** Notes only: which file version and chunk this is. */
  note: NoteChunk | null;
}

export interface NoteChunk {
  path: string;
  sha256: string;
  index: number;
  count: number;
}

/** Imported workspace memory (`openclaw nats migrate`): MEMORY.md, daily notes, life/areas. */
export const NOTE_TYPES = ["memory.longterm", "memory.daily", "memory.area"] as const;
export const LONGTERM_TYPE = "memory.longterm";

/** Longest text kept per row: a turn's words, or one note chunk (migrate cuts 96 KiB chunks). */
export const MAX_TEXT_CHARS = 128 * 1024;

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

function roleOf(type: string, payload: Record<string, unknown>): Role | undefined {
  switch (type) {
    case "msg.in":
    case "turn.user":
    case "wake.in":
      return "user";
    case "msg.out":
    case "msg.sending":
    case "turn.reply":
      // A delivery of a turn.reply names it instead of repeating the text; a silent reply says nothing.
      return payload.replyId !== undefined || payload.silent === true ? undefined : "agent";
    default:
      return (NOTE_TYPES as readonly string[]).includes(type) ? "note" : "event";
  }
}

function noteChunk(payload: Record<string, unknown>): NoteChunk | undefined {
  const chunk = payload.chunk as Record<string, unknown> | undefined;
  const path = str(payload.path);
  const sha256 = str(payload.sha256);
  if (!path || !sha256 || typeof chunk !== "object" || chunk === null) return undefined;
  const index = Number(chunk.index);
  const count = Number(chunk.count);
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || count < 1 || index >= count) return undefined;
  return { path, sha256, index, count };
}

/** The text an event contributes, or undefined when it has none worth remembering. */
function textOf(role: Role, payload: Record<string, unknown>): string | undefined {
  if (role === "note") return payload.encoding === "utf8" ? str(payload.content) : undefined;
  if (role === "event") return str(payload.content) ?? str(payload.text) ?? str(payload.body);
  return str(payload.content);
}

export type RowResult = { ok: true; row: MemoryRow } | { ok: false; skip: true } | { ok: false; skip: false; problem: string };

/**
 * Maps one stored event to a memory row. `subject` (when the event came from the stream) must agree with
 * the envelope: the agent token and type come from the subject the publisher was allowed to use, so an
 * event cannot claim another agent's memory by its body. Events without text are skipped quietly.
 */
export function rowOf(event: EventEnvelope, subject?: { prefix: string; value: string }): RowResult {
  if (subject) {
    const expected = eventSubject(subject.prefix, event.agent, event.type);
    if (subject.value !== expected) return { ok: false, skip: false, problem: `event ${event.id} on ${subject.value} claims agent "${event.agent}" and type "${event.type}"` };
  }
  if (!Number.isFinite(event.ts) || event.ts <= 0) return { ok: false, skip: false, problem: `event ${event.id} has no valid ts` };
  const role = roleOf(event.type, event.payload);
  if (!role) return { ok: false, skip: true };
  const raw = textOf(role, event.payload);
  if (!raw || raw.trim().length === 0) return { ok: false, skip: true };
  // A note chunk is a slice of a file: kept as is, so the chunks join back into the file.
  const text = role === "note" ? raw : raw.trim();
  let note: NoteChunk | null = null;
  if (role === "note") {
    const chunk = noteChunk(event.payload);
    if (!chunk) return { ok: false, skip: false, problem: `note ${event.id} has no path, sha256 or chunk` };
    note = chunk;
  }
  const session = event.session && isSessionKey(event.session) ? event.session : null;
  const speaker = str(event.payload.from) ?? str(event.payload.senderId) ?? str(event.payload.to) ?? str(event.payload.path) ?? null;
  return {
    ok: true,
    row: {
      id: event.id,
      ts: Math.floor(event.ts),
      agent: event.agent,
      session,
      peer: session ? (restOfSessionKey(session) ?? null) : null,
      type: event.type,
      role,
      speaker: speaker ? speaker.slice(0, 256) : null,
      channel: str(event.meta.channel)?.slice(0, 64) ?? null,
      text: text.length > MAX_TEXT_CHARS ? text.slice(0, MAX_TEXT_CHARS) : text,
      note,
    },
  };
}
