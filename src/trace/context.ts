import {
  createChildDiagnosticTraceContext,
  createDiagnosticTraceContext,
  formatDiagnosticTraceparent,
  parseDiagnosticTraceparent,
  type DiagnosticTraceContext,
} from "openclaw/plugin-sdk/diagnostic-runtime";

/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) on NATS messages and HTTP requests.
 * The host's diagnostics already model a trace as DiagnosticTraceContext and ship the traceparent
 * parser/formatter and id generators (node:crypto); this module reuses them and adds what the host
 * does not have: `tracestate`, W3C's strict version-00 rules, and a reason for every value it drops.
 */
export const TRACEPARENT_HEADER = "traceparent";
export const TRACESTATE_HEADER = "tracestate";

/** W3C §3.3.1.5: at most 32 list-members; vendors must propagate at least 512 characters, we keep at most that. */
export const MAX_TRACESTATE_MEMBERS = 32;
export const MAX_TRACESTATE_CHARS = 512;
/** W3C §3.2.2: version 00 is exactly 55 characters; later versions may append fields. */
const MAX_TRACEPARENT_CHARS = 128;

export interface Trace {
  traceId: string;
  /** This hop's span id: the parent of whatever this hop sends. */
  spanId: string;
  /** The span id the trace came in with (the sender's span); absent for a trace started here. */
  parentSpanId?: string;
  traceFlags: string;
  /** Vendor entries, passed on unchanged (W3C: a non-vendor must not change them). */
  tracestate?: string;
}

/** What an event or a message carries: the two W3C header values. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

export type Incoming = { trace?: { traceId: string; spanId: string; traceFlags: string; tracestate?: string }; dropped: string[] };

// version-traceid-parentid-flags; a later version may append "-…" fields (W3C §3.2.4).
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Why a traceparent value is not one (undefined: it is valid). Never throws. */
export function traceparentProblem(value: string): string | undefined {
  if (value.length > MAX_TRACEPARENT_CHARS) return `traceparent is ${value.length} characters (at most ${MAX_TRACEPARENT_CHARS})`;
  const m = TRACEPARENT.exec(value);
  if (!m) return `traceparent "${show(value)}" is not version-traceid-parentid-flags in lowercase hex`;
  const [, version, traceId, parentId, , rest] = m;
  if (version === "ff") return "traceparent version ff is invalid";
  if (version === "00" && rest !== undefined) return `traceparent "${show(value)}": version 00 has exactly four fields`;
  if (/^0+$/.test(traceId)) return "traceparent trace id is all zeros";
  if (/^0+$/.test(parentId)) return "traceparent parent id is all zeros";
  return undefined;
}

const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
// 1–256 printable ASCII characters except "," and "=", not ending in a space (W3C §3.3.1.3.2).
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** A tracestate value normalized (empty members dropped), or why the whole value is dropped. */
export function parseTracestate(value: string): { ok: true; tracestate?: string } | { ok: false; reason: string } {
  if (value.length > MAX_TRACESTATE_CHARS) return { ok: false, reason: `tracestate is ${value.length} characters (at most ${MAX_TRACESTATE_CHARS})` };
  const members = value.split(",").map((m) => m.replace(/^[ \t]+|[ \t]+$/g, "")).filter((m) => m.length > 0);
  if (members.length > MAX_TRACESTATE_MEMBERS) return { ok: false, reason: `tracestate has ${members.length} list-members (at most ${MAX_TRACESTATE_MEMBERS})` };
  const keys = new Set<string>();
  for (const member of members) {
    const eq = member.indexOf("=");
    const key = eq < 0 ? member : member.slice(0, eq);
    if (eq < 0 || !KEY.test(key)) return { ok: false, reason: `tracestate member "${show(member)}" is not key=value with a valid key` };
    if (!VALUE.test(member.slice(eq + 1))) return { ok: false, reason: `tracestate member "${show(member)}" has an invalid value` };
    if (keys.has(key)) return { ok: false, reason: `tracestate key "${show(key)}" appears twice` };
    keys.add(key);
  }
  return members.length > 0 ? { ok: true, tracestate: members.join(",") } : { ok: true };
}

/**
 * The trace context a message came with. An invalid traceparent or tracestate is dropped, with the
 * reason in `dropped` (the caller logs it at debug): a trace header never makes a message fail.
 * A tracestate without a valid traceparent is ignored (W3C §3.3).
 */
export function readTrace(get: (name: string) => string | undefined): Incoming {
  const dropped: string[] = [];
  const rawParent = get(TRACEPARENT_HEADER)?.trim();
  const rawState = get(TRACESTATE_HEADER);
  if (!rawParent) {
    if (rawState) dropped.push("tracestate without traceparent");
    return { dropped };
  }
  const problem = traceparentProblem(rawParent);
  const parsed = problem ? undefined : parseDiagnosticTraceparent(rawParent);
  if (!parsed?.spanId || !parsed.traceFlags) {
    dropped.push(problem ?? `traceparent "${show(rawParent)}" is not valid`);
    if (rawState) dropped.push("tracestate ignored with its traceparent");
    return { dropped };
  }
  let tracestate: string | undefined;
  if (rawState !== undefined) {
    const state = parseTracestate(rawState);
    if (state.ok) tracestate = state.tracestate;
    else dropped.push(state.reason);
  }
  return { trace: { traceId: parsed.traceId, spanId: parsed.spanId, traceFlags: parsed.traceFlags, ...(tracestate ? { tracestate } : {}) }, dropped };
}

/** This hop's span: a child of what came in (same trace id and flags, new span id), or a new trace. */
export function continueTrace(incoming: Incoming["trace"]): Trace {
  const ctx: DiagnosticTraceContext = incoming
    ? createChildDiagnosticTraceContext({ traceId: incoming.traceId, spanId: incoming.spanId, traceFlags: incoming.traceFlags })
    : createDiagnosticTraceContext();
  return fromHost(ctx, incoming?.tracestate);
}

/** A new span of the same trace (one per message this hop sends): its id is the receiver's parent id. */
export function childSpan(trace: Trace): Trace {
  return fromHost(createChildDiagnosticTraceContext({ traceId: trace.traceId, spanId: trace.spanId, traceFlags: trace.traceFlags }), trace.tracestate);
}

export function traceHeaders(trace: Trace): TraceHeaders {
  const traceparent = formatDiagnosticTraceparent(trace) as string; // a Trace always has valid ids
  return trace.tracestate ? { traceparent, tracestate: trace.tracestate } : { traceparent };
}

/** Set the W3C headers on a NATS header object (or anything with set()). */
export function setTraceHeaders(headers: { set(k: string, v: string): void }, trace: Trace): void {
  const h = traceHeaders(trace);
  headers.set(TRACEPARENT_HEADER, h.traceparent);
  if (h.tracestate) headers.set(TRACESTATE_HEADER, h.tracestate);
}

function fromHost(ctx: DiagnosticTraceContext, tracestate: string | undefined): Trace {
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId as string, // the host's constructors always make one
    ...(ctx.parentSpanId ? { parentSpanId: ctx.parentSpanId } : {}),
    traceFlags: ctx.traceFlags ?? "01",
    ...(tracestate ? { tracestate } : {}),
  };
}

/** A bounded, printable excerpt of a sender's value for a log line. */
function show(value: string): string {
  return value.slice(0, 60).replace(/[^\x20-\x7e]/g, "?");
}
