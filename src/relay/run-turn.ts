import { randomUUID } from "node:crypto";
import { errorMessage } from "../shared/logger.ts";

/** Where the host delivers a session's replies: its last external route (channel + recipient). */
export interface SessionRoute {
  channel: string;
  to?: string;
}

/** A session the host knows; `route` is absent when it has no external channel (webchat only). */
export interface SessionInfo {
  route?: SessionRoute;
}

export interface RunWait {
  status: "ok" | "error" | "timeout" | "pending";
  error?: string;
  /** The run's final reply as the host recorded it. */
  reply?: { disposition: "visible"; text: string } | { disposition: "silent" | "empty" };
  /** What became of delivering that reply to the session's channel ("sent", "failed", …), when delivery was asked for. */
  delivery?: string;
}

/**
 * The slice of the host the relay needs. The gateway implementation (host-runtime.ts) maps it onto
 * api.runtime.subagent / agent.session / system; unit tests use a fake.
 */
export interface TurnRuntime {
  /** undefined: no such session. */
  lookup(sessionKey: string): SessionInfo | undefined;
  start(params: { sessionKey: string; message: string; deliver: boolean; idempotencyKey: string }): Promise<{ runId: string; sessionKey: string }>;
  wait(runId: string, timeoutMs: number): Promise<RunWait>;
  /** Text of the run's last assistant message in the transcript (used when the wait result carries no reply). */
  lastAnswer(sessionKey: string, runId: string): Promise<string | undefined>;
  /** Enqueue a system event in the session and wake its agent now; false when the host dropped it as a duplicate. */
  queueSystemEvent(sessionKey: string, agentId: string, text: string): boolean;
}

export type TurnOutcome =
  | { kind: "not-started"; error: string }
  | { kind: "failed"; runId: string; error: string }
  /** The wait ended before the run did; the run goes on. */
  | { kind: "running"; runId: string; sessionKey: string }
  | { kind: "finished"; runId: string; sessionKey: string; answer?: string; delivery?: string };

export interface TurnRequest {
  sessionKey: string;
  message: string;
  deliver: boolean;
  timeoutMs: number;
}

/** Run one agent turn in an existing (or, for a main session, new) session and wait for it, bounded by timeoutMs. Never throws. */
export async function runTurn(rt: TurnRuntime, req: TurnRequest): Promise<TurnOutcome> {
  let started: { runId: string; sessionKey: string };
  try {
    started = await rt.start({ sessionKey: req.sessionKey, message: req.message, deliver: req.deliver, idempotencyKey: `nats-relay:${randomUUID()}` });
  } catch (err) {
    return { kind: "not-started", error: errorMessage(err) };
  }
  const { runId, sessionKey } = started;
  let waited: RunWait;
  try {
    waited = await rt.wait(runId, req.timeoutMs);
  } catch (err) {
    return { kind: "failed", runId, error: `waiting for the run failed: ${errorMessage(err)}` };
  }
  if (waited.status === "timeout" || waited.status === "pending") return { kind: "running", runId, sessionKey };
  if (waited.status === "error") return { kind: "failed", runId, error: waited.error ?? "the run ended with an error" };
  let answer = waited.reply?.disposition === "visible" ? waited.reply.text : undefined;
  if (!waited.reply) answer = await rt.lastAnswer(sessionKey, runId).catch(() => undefined);
  return { kind: "finished", runId, sessionKey, answer, delivery: waited.delivery };
}
