import { childSpan, continueTrace, readTrace, traceHeaders, type Trace, type TraceHeaders } from "./context.ts";
import type { Logger } from "../shared/logger.ts";
import { processEntry, processState } from "../shared/process-state.ts";

/**
 * The host starts a turn through APIs that take no trace context (subagent.run, the session store,
 * system events), and the SDK exposes no way to enter its diagnostics trace scope. So the trace of the
 * message that woke a session is kept here, per session, where the hooks of the turn it starts (event
 * store) and the tools it calls (nats tool) read it. Same lifetime rules as the hop context
 * (src/wake/hops.ts): bounded, and forgotten when the next turn starts after the one it started (or 1 minute after that turn, 10 without one).
 */
const TRACE_CONTEXT_MS = 10 * 60_000;
const MAX_SESSIONS = 10_000;

/** After its turn ended, a trace still covers that turn's deliveries (msg.sending/msg.out come after agent_end). */
const AFTER_RUN_MS = 60_000;

interface Entry {
  trace: Trace;
  at: number;
  /** set: waiting for the turn it starts; run: that turn is going; ended: only its deliveries are left. */
  state: "set" | "run" | "ended";
}

export class SessionTraces {
  private readonly bySession = new Map<string, Entry>();

  /** A message carrying `trace` (this hop's span) was handed to the session. */
  set(sessionKey: string, trace: Trace): void {
    this.bySession.delete(sessionKey);
    this.bySession.set(sessionKey, { trace, at: Date.now(), state: "set" });
    if (this.bySession.size > MAX_SESSIONS) this.bySession.delete(this.bySession.keys().next().value as string);
  }

  get(sessionKey: string | null | undefined): Trace | undefined {
    if (!sessionKey) return undefined;
    const e = this.bySession.get(sessionKey);
    if (!e) return undefined;
    if (Date.now() - e.at > (e.state === "ended" ? AFTER_RUN_MS : TRACE_CONTEXT_MS)) {
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

  /** A turn began: it carries a waiting trace; a trace whose turn already ended is not this turn's. */
  runStarted(sessionKey: string | undefined): void {
    const e = sessionKey ? this.bySession.get(sessionKey) : undefined;
    if (!e) return;
    if (e.state === "ended") this.bySession.delete(sessionKey as string);
    else e.state = "run";
  }

  /** The turn that carried the trace ended (a trace set during the turn, for the next one, stays as it is). */
  runEnded(sessionKey: string | undefined): void {
    const e = sessionKey ? this.bySession.get(sessionKey) : undefined;
    if (e?.state === "run") {
      e.state = "ended";
      e.at = Date.now();
    }
  }
}

const TRACES = processEntry("trace", "sessions", () => new SessionTraces());

/** One per process (shared/process-state.ts): each host registry generation loads its own copy of this module. */
export function processTraces(): SessionTraces {
  return processState(TRACES);
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
