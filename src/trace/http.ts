import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "../shared/logger.ts";
import { traceHeaders, type Trace } from "./context.ts";
import { inboundTrace } from "./sessions.ts";

/** This hop's trace for an HTTP request (node lowercases header names; a repeated header is not a trace). */
export function httpTrace(h: IncomingHttpHeaders, where: string, log: Logger | undefined): Trace {
  return inboundTrace((name) => {
    const v = h[name];
    return typeof v === "string" ? v : undefined;
  }, where, log);
}

/** The response names the trace the request was handled under, so a caller without one learns it. */
export function traceResponseHeaders(trace: Trace): Record<string, string> {
  return { ...traceHeaders(trace) };
}
