import type { Logger } from "../shared/logger.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";
import { isRefusal, type Caller, type NotifyRequest, type NotifyResult } from "./relay.ts";
import { checkFields, NotifyParameters, type NotifyParams } from "./request.ts";

export interface NotifyToolResult {
  content: Array<{ type: "text"; text: string }>;
  details: Record<string, unknown>;
}

export type Notify = (caller: Caller, req: NotifyRequest) => Promise<NotifyResult>;

/** One sentence for the calling agent: delivered, queued as a system event, or the error. */
export function describeNotify(result: NotifyResult): string {
  if (!result.ok) return `Error: ${result.error}`;
  if (result.method === "system-event") {
    return `Queued as a system event in ${result.sessionKey}: no turn could be started (${result.reason}). The agent sees it on its next wake.`;
  }
  const run = `run ${result.runId}`;
  if (result.status === "delivered") return `Delivered: the agent in ${result.sessionKey} answered and its reply went to ${result.channel}${result.to ? `:${result.to}` : ""} (${run}).`;
  if (result.status === "running") return `Started: the agent in ${result.sessionKey} is still working on it (${run}); its reply goes to the session's channel when it is done.`;
  return `The agent in ${result.sessionKey} answered (${run}), but the session has no channel to deliver to, so the reply stayed in the session (webchat).`;
}

/**
 * notify_agent for one calling agent: a turn in the target session with delivery on. Bad input and
 * refusals come back as results, never as exceptions into the agent loop.
 */
export function notifyTool(notify: Notify, ctx: { agentId?: string; sessionKey?: string }, log: Logger) {
  const caller: Caller = { id: ctx.agentId ?? agentOfSessionKey(ctx.sessionKey) ?? "unknown", via: "tool", auth: "in-process", sessionKey: ctx.sessionKey };
  return {
    name: "notify_agent",
    label: "Notify agent",
    description:
      "Make another agent speak to its user: runs a turn in the target session (e.g. agent:support:telegram:direct:123) with its full history, and the reply goes to that session's channel. Use when a user should hear something from that agent.",
    parameters: NotifyParameters,
    execute: async (_toolCallId: string, params: NotifyParams): Promise<NotifyToolResult> => {
      const checked = checkFields(NotifyParameters, params);
      let result: NotifyResult;
      if (!checked.ok) result = { ok: false, kind: "invalid", error: checked.error };
      else {
        try {
          result = await notify(caller, checked.value);
        } catch (err) {
          result = { ok: false, kind: "failed", error: err instanceof Error ? err.message : String(err) };
        }
      }
      if (!result.ok && isRefusal(result.kind)) log.warn(`nats: relay tool ${caller.id} → ${checked.ok ? checked.value.sessionKey : "?"}: ${result.error}`);
      return { content: [{ type: "text", text: describeNotify(result) }], details: result };
    },
  };
}
