import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { EventsConfig } from "../config/schema.ts";
import type { EventInput } from "./envelope.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";
import {
  hookEnabled,
  llmInput,
  llmOutput,
  messageIn,
  messageOut,
  messageSending,
  runEnd,
  runStart,
  sessionEvent,
  toolCall,
  toolResult,
  type HookName,
} from "./mapping.ts";

export interface EventSink {
  record(e: EventInput): void;
}

/**
 * Subscribe the event store to every host hook. Handlers only map and call sink.record (a spool write):
 * the agent's turn never waits on NATS.
 */
export function registerEventHooks(api: OpenClawPluginApi, cfg: EventsConfig, sink: EventSink): void {
  const capture = cfg.capture;
  const on = (hook: HookName): boolean => hookEnabled(hook, cfg);

  if (on("message_received")) api.on("message_received", (e, ctx) => sink.record(messageIn(e, ctx, capture)));
  if (on("message_sending")) api.on("message_sending", (e, ctx) => sink.record(messageSending(e, ctx, capture)));
  if (on("message_sent")) api.on("message_sent", (e, ctx) => sink.record(messageOut(e, ctx, capture)));
  if (on("before_tool_call")) api.on("before_tool_call", (e, ctx) => sink.record(toolCall(e, ctx, capture)));
  if (on("after_tool_call")) api.on("after_tool_call", (e, ctx) => sink.record(toolResult(e, ctx, capture)));
  if (on("before_agent_run")) api.on("before_agent_run", (e, ctx) => sink.record(runStart(e, ctx, capture)));
  if (on("agent_end")) api.on("agent_end", (e, ctx) => sink.record(runEnd(e, ctx)));
  if (on("llm_input")) api.on("llm_input", (e, ctx) => sink.record(llmInput(e, ctx, capture)));
  if (on("llm_output")) api.on("llm_output", (e, ctx) => sink.record(llmOutput(e, ctx, capture)));
  if (on("before_compaction"))
    api.on("before_compaction", (e, ctx) => sink.record(sessionEvent("session.compaction_start", { messageCount: e.messageCount, compactingCount: e.compactingCount, tokenCount: e.tokenCount }, ctx)));
  if (on("after_compaction"))
    api.on("after_compaction", (e, ctx) => sink.record(sessionEvent("session.compaction_end", { messageCount: e.messageCount, compactedCount: e.compactedCount, tokenCount: e.tokenCount }, ctx)));
  if (on("before_reset")) api.on("before_reset", (e, ctx) => sink.record(sessionEvent("session.reset", { reason: e.reason, messageCount: e.messages?.length }, ctx)));
  if (on("session_start"))
    api.on("session_start", (e, ctx) => sink.record(sessionEvent("session.start", { sessionId: e.sessionId, resumedFrom: e.resumedFrom }, { ...ctx, sessionKey: ctx.sessionKey ?? e.sessionKey })));
  if (on("session_end"))
    api.on("session_end", (e, ctx) =>
      sink.record(sessionEvent("session.end", { sessionId: e.sessionId, messageCount: e.messageCount, durationMs: e.durationMs, reason: e.reason, nextSessionKey: e.nextSessionKey }, { ...ctx, sessionKey: ctx.sessionKey ?? e.sessionKey })),
    );
  if (on("subagent_spawned"))
    api.on("subagent_spawned", (e, ctx) =>
      sink.record(sessionEvent("subagent.spawned", { childSessionKey: e.childSessionKey, agentId: e.agentId, mode: e.mode, label: e.label }, { runId: e.runId, sessionKey: ctx.requesterSessionKey, agentId: agentOfSessionKey(ctx.requesterSessionKey) })),
    );
  if (on("subagent_ended"))
    api.on("subagent_ended", (e, ctx) =>
      sink.record(sessionEvent("subagent.ended", { targetSessionKey: e.targetSessionKey, reason: e.reason, outcome: e.outcome, error: e.error }, { runId: e.runId, sessionKey: ctx.requesterSessionKey, agentId: agentOfSessionKey(ctx.requesterSessionKey) })),
    );
  if (on("gateway_start")) api.on("gateway_start", (e) => sink.record(sessionEvent("gateway.start", { port: e.port }, {})));
  if (on("gateway_stop")) api.on("gateway_stop", (e) => sink.record(sessionEvent("gateway.stop", { reason: e.reason }, {})));

  const commands = (["command:new", "command:reset", "command:stop"] as const).filter(on);
  if (commands.length > 0) {
    api.registerHook(
      [...commands],
      (e) => {
        const source = typeof e.context.commandSource === "string" ? e.context.commandSource : undefined;
        sink.record(sessionEvent(`command.${e.action}`, { source }, { sessionKey: e.sessionKey || undefined }));
      },
      { name: "nats-events-commands", description: "records /new, /reset and /stop in the event store" },
    );
  }
}
