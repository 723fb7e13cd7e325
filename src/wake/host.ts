import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { hostedAgentIds } from "../shared/hosted-agents.ts";
import { errorMessage } from "../shared/logger.ts";

/** Runs `fn` in the async context captured when the plugin registered (host calls act as the plugin). */
export type Detached = <R>(fn: () => R) => R;

/** The plugin id the host files our next-turn injections under (`entry.pluginNextTurnInjections[id]`). */
export const PLUGIN_ID = "nats";

export interface InjectionResult {
  /** true: committed to the session store. */
  enqueued: boolean;
  /** "" when the host refused before looking at the session (no row, or a stale registration). */
  id: string;
}

/**
 * The slice of the host the durable hand-off needs. The gateway implementation is wakeHost(api); unit
 * tests use a fake. Every method may throw; callers turn that into a log line and a retry.
 */
export interface WakeHost {
  /** api.session.workflow.enqueueNextTurnInjection: durable (SQLite session store) before it resolves. */
  enqueueInjection(p: { sessionKey: string; agentId: string; text: string; idempotencyKey: string }): Promise<InjectionResult>;
  /** Our entries still pending in the session; undefined when the session has no row. */
  pendingInjections(sessionKey: string, agentId: string): number | undefined;
  /** Sessions that still hold our injections (after a restart). */
  sessionsWithPending(): Array<{ sessionKey: string; agentId: string }>;
  /** Memory-only system event: the fallback for a session that has no row yet and must not take a turn. */
  enqueueSystemEvent(text: string, target: { sessionKey: string; agentId: string }): boolean;
  /** Start an agent turn in the session (subagent.run: the heartbeat flood guard never sees it). */
  startTurn(p: { sessionKey: string; message: string; idempotencyKey: string }): Promise<{ runId: string }>;
  /** Resolves when the run ended or the wait timed out. */
  waitTurn(runId: string, timeoutMs: number): Promise<string>;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Count of our pending injections in a session entry (0 when none). */
export function ourPending(entry: unknown): number {
  const all = record(record(entry)?.pluginNextTurnInjections);
  const ours = all?.[PLUGIN_ID];
  return Array.isArray(ours) ? ours.length : 0;
}

type HostApi = Pick<OpenClawPluginApi, "runtime" | "session">;

/** The gateway's in-process host as a WakeHost; every call runs through `detached`. */
export function wakeHost(api: HostApi, detached: Detached): WakeHost {
  const session = api.runtime.agent.session;
  return {
    async enqueueInjection({ sessionKey, agentId, text, idempotencyKey }) {
      const r = await detached(() => api.session.workflow.enqueueNextTurnInjection({ sessionKey, agentId, text, idempotencyKey, placement: "append_context" }));
      return { enqueued: r.enqueued, id: r.id };
    },
    pendingInjections(sessionKey, agentId) {
      const entry = detached(() => session.getSessionEntry({ sessionKey, agentId }));
      return entry === undefined ? undefined : ourPending(entry);
    },
    sessionsWithPending() {
      // The SQLite session store is scoped per agent: list each hosted agent's sessions.
      const out: Array<{ sessionKey: string; agentId: string }> = [];
      for (const agentId of hostedAgentIds(api.runtime.config.current())) {
        for (const row of detached(() => session.listSessionEntries({ agentId }))) {
          if (ourPending(row.entry) > 0) out.push({ sessionKey: row.sessionKey, agentId });
        }
      }
      return out;
    },
    enqueueSystemEvent(text, target) {
      return detached(() => api.runtime.system.enqueueSystemEvent(text, target));
    },
    async startTurn({ sessionKey, message, idempotencyKey }) {
      const r = await detached(() => api.runtime.subagent.run({ sessionKey, message, deliver: false, idempotencyKey }));
      return { runId: r.runId };
    },
    async waitTurn(runId, timeoutMs) {
      try {
        const r = await detached(() => api.runtime.subagent.waitForRun({ runId, timeoutMs }));
        return r.status;
      } catch (err) {
        return `error: ${errorMessage(err)}`;
      }
    },
  };
}
