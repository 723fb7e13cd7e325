import { randomUUID } from "node:crypto";
import type { TurnRuntime } from "../relay/run-turn.ts";
import { errorMessage } from "../shared/logger.ts";

/** The host's agent event feed (`api.runtime.events.onAgentEvent`), the slice the stream needs. */
export interface AgentEventFeed {
  onAgentEvent(listener: (evt: { runId: string; stream: string; data: Record<string, unknown> }) => void): () => void;
}

export type StreamedTurnResult =
  | { kind: "not-started"; error: string }
  | { kind: "failed"; runId: string; error: string }
  /** The wait ended before the run did; the run goes on in its session. */
  | { kind: "timeout"; runId: string }
  | { kind: "finished"; runId: string; answer?: string };

export interface StreamedTurnRequest {
  sessionKey: string;
  message: string;
  timeoutMs: number;
  /** Each `assistant` event of this run, in order. */
  onAssistant: (data: Record<string, unknown>) => void;
  /** The run was accepted by the host. */
  onStarted?: (runId: string) => void;
}

/** Runs agent turns and reports their assistant output as it is produced. */
export interface StreamingTurns {
  /** undefined when the host has no such session. */
  exists(sessionKey: string): boolean;
  run(req: StreamedTurnRequest): Promise<StreamedTurnResult>;
  /** Resolves when run `runId` has ended, or after `timeoutMs`; never rejects. */
  settle(runId: string, timeoutMs: number): Promise<void>;
}

/**
 * The gateway implementation: the relay's in-process runtime (`subagent.run` + `waitForRun`, through
 * the plugin's own async context) plus the host's agent events filtered by run id. The listener is
 * attached before the run starts and buffers until the run id is known, so no early delta is lost.
 */
export function hostStreamingTurns(rt: TurnRuntime, feed: AgentEventFeed): StreamingTurns {
  return {
    exists(sessionKey) {
      return rt.lookup(sessionKey) !== undefined;
    },
    async run(req) {
      let runId: string | undefined;
      const early: Array<{ runId: string; data: Record<string, unknown> }> = [];
      const unsubscribe = feed.onAgentEvent((evt) => {
        if (evt.stream !== "assistant") return;
        if (runId === undefined) early.push({ runId: evt.runId, data: evt.data });
        else if (evt.runId === runId) req.onAssistant(evt.data);
      });
      try {
        try {
          const started = await rt.start({ sessionKey: req.sessionKey, message: req.message, deliver: false, idempotencyKey: `nats-agent-protocol:${randomUUID()}` });
          runId = started.runId;
        } catch (err) {
          return { kind: "not-started", error: errorMessage(err) };
        }
        req.onStarted?.(runId);
        for (const e of early.splice(0)) if (e.runId === runId) req.onAssistant(e.data);
        const waited = await rt.wait(runId, req.timeoutMs).catch((err: unknown) => ({ status: "error" as const, error: `waiting for the run failed: ${errorMessage(err)}` }));
        if (waited.status === "timeout" || waited.status === "pending") return { kind: "timeout", runId };
        if (waited.status === "error") return { kind: "failed", runId, error: waited.error ?? "the run ended with an error" };
        if (!("reply" in waited) || waited.reply === undefined) {
          const answer = await rt.lastAnswer(req.sessionKey, runId).catch(() => undefined);
          return { kind: "finished", runId, answer };
        }
        return { kind: "finished", runId, answer: waited.reply.disposition === "visible" ? waited.reply.text : undefined };
      } finally {
        unsubscribe();
      }
    },
    async settle(runId, timeoutMs) {
      await rt.wait(runId, timeoutMs).catch(() => undefined);
    },
  };
}
