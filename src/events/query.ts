import { isAgentId, isSessionKey, agentOfSessionKey } from "../shared/session-key.ts";
import type { EventsConfig } from "../config/schema.ts";
import { eventFilter } from "../shared/subjects.ts";
import type { ReadEvent } from "./reader.ts";

/**
 * Filters for reading events back (`openclaw nats events tail|query|replay`): which stream and subjects
 * the server filters on (agent, type), and what is checked per event (session, text). A session key names
 * its agent, so a session filter narrows the subjects to that agent's too: no filtered read walks the stream.
 */
export interface EventQuery {
  agent?: string;
  types: string[];
  session?: string;
  /** Case-insensitive substring of the event's payload (as JSON). */
  text?: string;
  since?: number;
  until?: number;
  /** W3C trace id (32 lowercase hex): only events stamped with this trace (envelope `trace`). */
  trace?: string;
}

export interface QueryTarget {
  stream: string;
  prefix: string;
  subjects: string[];
}

const TYPE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A point in time from the command line: an ISO date/time, epoch milliseconds, or a duration back from
 * `now` (`30s`, `15m`, `2h`, `7d`, `1w`). Throws with what was expected.
 */
export function parseTime(value: string, now: number, flag: string): number {
  const rel = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(value.trim());
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]];
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const t = Date.parse(value);
  if (Number.isFinite(t)) return t;
  throw new Error(`${flag} "${value}" is not a time: use an ISO date/time (2026-11-22T08:00Z), epoch milliseconds, or a duration back from now (30s, 15m, 2h, 7d)`);
}

/** Validated query from command-line strings (types comma-separated). Throws with the field and the rule. */
export function buildQuery(raw: { agent?: string; type?: string; session?: string; text?: string; since?: string; until?: string; trace?: string }, now: number): EventQuery {
  if (raw.agent !== undefined && !isAgentId(raw.agent)) throw new Error(`--agent "${raw.agent}" is not an agent id (lowercase letters, digits, _ or -)`);
  if (raw.session !== undefined && !isSessionKey(raw.session)) throw new Error("--session must be a session key agent:<agentId>:<rest>");
  const sessionAgent = raw.session ? agentOfSessionKey(raw.session) : undefined;
  if (raw.agent && sessionAgent && raw.agent !== sessionAgent) throw new Error(`--session ${raw.session} belongs to agent ${sessionAgent}, not --agent ${raw.agent}`);
  const types = (raw.type ?? "").split(",").map((t) => t.trim()).filter(Boolean);
  for (const t of types) if (!TYPE.test(t)) throw new Error(`--type "${t}" is not an event type (dot-separated letters, digits, _ or -, e.g. msg.in or custom.deploy)`);
  const since = raw.since !== undefined ? parseTime(raw.since, now, "--since") : undefined;
  const until = raw.until !== undefined ? parseTime(raw.until, now, "--until") : undefined;
  if (since !== undefined && until !== undefined && until < since) throw new Error("--until is before --since");
  if (raw.text !== undefined && raw.text.length === 0) throw new Error("--text must not be empty");
  const trace = raw.trace !== undefined ? parseTraceFlag(raw.trace) : undefined;
  return { agent: raw.agent ?? sessionAgent, types: [...new Set(types)], session: raw.session, text: raw.text?.toLowerCase(), since, until, ...(trace ? { trace } : {}) };
}

/** `--trace`: a trace id, or a whole traceparent (what a log line or a response header shows). */
function parseTraceFlag(value: string): string {
  const v = value.trim().toLowerCase();
  const id = /^[0-9a-f]{32}$/.test(v) ? v : /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(v)?.[1];
  if (!id || /^0+$/.test(id)) throw new Error(`--trace "${value.slice(0, 80)}" is not a trace id (32 hex digits, not all zeros) or a traceparent`);
  return id;
}

/** The trace id of an event's envelope `trace`, if it has one. */
export function traceIdOf(e: { trace?: { traceparent?: unknown } }): string | undefined {
  const tp = e.trace?.traceparent;
  return typeof tp === "string" && tp.length >= 35 ? tp.slice(3, 35) : undefined;
}

/**
 * Every stream a trace can have events in: the shared stream and each agent's own (events.agents.<id>),
 * each once, for the agents read over the same connection. A trace crosses agents, so `--trace` without
 * `--agent` reads them all; agents on another server (their own url/credentials) are named in `skipped`.
 */
export function traceTargets(events: EventsConfig, q: Pick<EventQuery, "types">): { targets: QueryTarget[]; skipped: string[] } {
  const targets = [queryTarget(events, { types: q.types })];
  const skipped: string[] = [];
  for (const [agent, own] of Object.entries(events.agents)) {
    if (!own.streamName && !own.subjectPrefix) continue;
    if (own.url || own.credentials) {
      skipped.push(agent);
      continue;
    }
    const t = queryTarget(events, { agent, types: q.types });
    if (!targets.some((x) => x.stream === t.stream && x.subjects.join() === t.subjects.join())) targets.push(t);
  }
  return { targets, skipped };
}

/** The stream, prefix and subject filters for a query: an agent with its own stream (`events.agents.<id>`) is read there. */
export function queryTarget(events: EventsConfig, q: Pick<EventQuery, "agent" | "types">, override: { stream?: string; prefix?: string } = {}): QueryTarget {
  const own = q.agent ? events.agents[q.agent] : undefined;
  const stream = override.stream ?? own?.streamName ?? events.streamName;
  const prefix = override.prefix ?? own?.subjectPrefix ?? events.subjectPrefix;
  const subjects = q.types.length > 0 ? q.types.map((t) => eventFilter(prefix, q.agent, t)) : [eventFilter(prefix, q.agent)];
  return { stream, prefix, subjects };
}

/** What the server cannot filter on: the session and the text. */
export function matches(q: EventQuery, e: ReadEvent): boolean {
  if (!e.event) return false;
  if (q.session !== undefined && e.event.session !== q.session) return false;
  if (q.trace !== undefined && traceIdOf(e.event) !== q.trace) return false;
  if (q.text !== undefined && !JSON.stringify(e.event.payload).toLowerCase().includes(q.text)) return false;
  return true;
}

const PAYLOAD_CHARS = 160;

/** One line per event for people: stored time, sequence, agent, type, session, the payload's text or JSON. */
export function formatEvent(e: ReadEvent): string {
  const ev = e.event;
  const when = new Date(e.storedAt).toISOString();
  if (!ev) return `${when} #${e.seq} ${e.subject} (${e.problem ?? "not an event"})`;
  const p = ev.payload;
  const textual = typeof p.content === "string" ? p.content : typeof p.text === "string" ? p.text : typeof p.body === "string" ? p.body : undefined;
  const body = (textual ?? JSON.stringify(p)).replace(/\s+/g, " ");
  const cut = body.length > PAYLOAD_CHARS ? `${body.slice(0, PAYLOAD_CHARS - 1)}…` : body;
  const trace = traceIdOf(ev);
  return `${when} #${e.seq} ${ev.agent} ${ev.type}${ev.session ? ` ${ev.session}` : ""}${trace ? ` trace=${trace}` : ""} ${cut}`;
}

/** The machine form: one JSON object per line (NDJSON) with the stream position and the envelope. */
export function jsonEvent(e: ReadEvent): string {
  return JSON.stringify({ seq: e.seq, subject: e.subject, storedAt: e.storedAt, event: e.event ?? null, ...(e.problem ? { problem: e.problem } : {}) });
}

/**
 * Where `replay --to` may publish: a concrete subject (no wildcards, no empty tokens), not a `$` system
 * subject (JetStream API, system account), and not inside the event stream's own subjects (the replayed
 * events would be recorded a second time). Returns the reason it may not, or undefined.
 */
export function replayTargetProblem(subject: string, eventPrefixes: readonly string[]): string | undefined {
  if (subject.length === 0 || /\s/.test(subject)) return "--to must be a subject without whitespace";
  if (subject.startsWith("$")) return `--to ${subject}: $-subjects are the server's own (JetStream API, system events); replay refuses them`;
  const tokens = subject.split(".");
  if (tokens.some((t) => t.length === 0)) return `--to ${subject} has an empty token`;
  if (tokens.some((t) => t === "*" || t === ">")) return `--to ${subject}: wildcards cannot be published to`;
  for (const p of eventPrefixes) {
    if (subject === p || subject.startsWith(`${p}.`)) return `--to ${subject} is inside the event stream (${p}.>): the replayed events would be recorded again`;
  }
  return undefined;
}
