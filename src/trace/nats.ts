import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import { continueTrace, readTrace, setTraceHeaders, TRACEPARENT_HEADER, TRACESTATE_HEADER, traceparentProblem, type Trace } from "./context.ts";

/**
 * NATS headers are case-sensitive; HTTP-minded senders write `Traceparent`. Header names are read
 * ignoring case (W3C says the header name is case-insensitive), values as written.
 */
export function headerGetter(h: MsgHdrs | undefined): (name: string) => string | undefined {
  return (name) => (h?.has(name, "insensitive") ? h.get(name, "insensitive") : undefined);
}

/** Headers for a message answering or copying `incoming` (a receipt, a dead letter): a child span of its trace, or a new trace. */
export function answerHeaders(incoming: MsgHdrs | undefined, into: MsgHdrs = natsHeaders()): MsgHdrs {
  setTraceHeaders(into, continueTrace(readTrace(headerGetter(incoming)).trace));
  return into;
}

/** Headers carrying `trace` (what a traced sender publishes). */
export function tracedHeaders(trace: Trace, into: MsgHdrs = natsHeaders()): MsgHdrs {
  setTraceHeaders(into, trace);
  return into;
}

// `"trace":{"traceparent":"…"(,"tracestate":"…")?}` as buildEnvelope writes it, before "payload".
const ENVELOPE_TRACE = /"trace":\{"traceparent":"([0-9a-f-]{55})"(?:,"tracestate":("(?:[^"\\]|\\.)*"))?\}/;

/**
 * The trace headers of a spooled event, read from its JSON without parsing it (the publisher's hot path).
 * Only the part before `"payload":` is searched: there a `"trace":` key can only be the envelope's own
 * (agent, session and type are JSON strings, whose quotes are escaped), so an event's payload cannot
 * choose the headers its publish carries.
 */
export function envelopeTraceHeaders(data: string): { traceparent: string; tracestate?: string } | undefined {
  const end = data.indexOf('"payload":');
  if (end < 0) return undefined;
  const m = ENVELOPE_TRACE.exec(data.slice(0, end));
  if (!m || traceparentProblem(m[1])) return undefined;
  if (!m[2]) return { traceparent: m[1] };
  return { traceparent: m[1], tracestate: JSON.parse(m[2]) as string };
}

export function setEnvelopeTraceHeaders(h: MsgHdrs, data: string): void {
  const t = envelopeTraceHeaders(data);
  if (!t) return;
  h.set(TRACEPARENT_HEADER, t.traceparent);
  if (t.tracestate) h.set(TRACESTATE_HEADER, t.tracestate);
}
