import { childSpan, continueTrace, readTrace, traceHeaders, type Trace, type TraceHeaders } from "./context.ts";
import type { Logger } from "../shared/logger.ts";

/**
 * The host starts a turn through APIs that take no trace context (subagent.run, the session store,
 * system events), and the SDK exposes no way to enter its diagnostics trace scope. So the trace of the
 * message that woke a session is kept here, per session, where the hooks of the turn it starts (event
 * store) and the tools it calls (nats tool) read it. Same lifetime rules as the hop context
 * (src/wake/hops.ts): bounded, and forgotten after the turn that used it ended or 10 minutes.
 */
const TRACE_CONTEXT_MS = 10 * 60_000;
const MAX_SESSIONS = 10_000;

interface Entry {
  trace: Trace;
  at: number;
  /** A turn of the session began after the trace was set: its end ends the trace's use. */
  inRun: boolean;
}

export class SessionTraces {
  private readonly bySession = new Map<string, Entry>();

  /** A message carrying `trace` (this hop's span) was handed to the session. */
  set(sessionKey: string, trace: Trace): void {
    this.bySession.delete(sessionKey);
    this.bySession.set(sessionKey, { trace, at: Date.now(), inRun: false });
    if (this.bySession.size > MAX_SESSIONS) this.bySession.delete(this.bySession.keys().next().value as string);
  }

  get(sessionKey: string | null | undefined): Trace | undefined {
    if (!sessionKey) return undefined;
    const e = this.bySession.get(sessionKey);
    if (!e) return undefined;
    if (Date.now() - e.at > TRACE_CONTEXT_MS) {
      this.bySession.delete(sessionKey);
      return undefined;
    }
    return e.trace;
  }

  /** The envelope/header form of the session's trace, if it has one. */
  headers(sessionKey: string | null | undefined): TraceHeaders | undefined {
    const t = this.get(sessionKey);
    return t ? traceHeaders(t) : undefined;
  }

  /** What the session sends next: a child span of its trace, or a new trace when it has none. */
  outgoing(sessionKey: string | undefined): Trace {
    const t = this.get(sessionKey);
    return t ? childSpan(t) : continueTrace(undefined);
  }

  runStarted(sessionKey: string | undefined): void {
    const e = sessionKey ? this.bySession.get(sessionKey) : undefined;
    if (e) e.inRun = true;
  }

  /** The turn that carried the trace ended; a trace set during the turn (the next message) stays. */
  runEnded(sessionKey: string | undefined): void {
    if (!sessionKey) return;
    const e = this.bySession.get(sessionKey);
    if (e?.inRun) this.bySession.delete(sessionKey);
  }
}

const SLOT = Symbol.for("openclaw-nats.traces");
type Slot = { [SLOT]?: SessionTraces };

/** One per process: each host registry generation loads its own copy of this module (like processHops). */
export function processTraces(): SessionTraces {
  const slot = globalThis as Slot;
  slot[SLOT] ??= new SessionTraces();
  return slot[SLOT];
}

/**
 * This hop's trace for an inbound message: a child of the sender's traceparent, or a new trace.
 * Dropped header values are logged at debug with their reason; they never fail the message.
 */
export function inboundTrace(get: (name: string) => string | undefined, where: string, log: Logger | undefined): Trace {
  const r = readTrace(get);
  for (const reason of r.dropped) log?.debug?.(`nats: trace context on ${where} dropped: ${reason}`);
  return continueTrace(r.trace);
}
