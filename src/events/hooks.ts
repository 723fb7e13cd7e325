import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { EventsConfig } from "../config/schema.ts";
import type { EventInput } from "./envelope.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";
import { processEntry, processState } from "../shared/process-state.ts";
import { processTraces } from "../trace/sessions.ts";
import { ConversationCapture } from "./conversation.ts";
import {
  conversationEnabled,
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
  wakeIn,
  type HookName,
} from "./mapping.ts";
import type { InjectedListener } from "../wake/dispatcher.ts";

export interface EventSink {
  /** The event's id, or undefined when it was filtered out or dropped. */
  record(e: EventInput): string | undefined;
}

/** The slice of the wake dispatcher the event store listens to. */
export interface WakeSource {
  onInjected: InjectedListener | undefined;
}

/** Records each NATS message handed to an agent as a system event (`wake.in`): the words a wake-started turn answers. */
export function recordWakes(wake: WakeSource, cfg: EventsConfig, sink: EventSink): void {
  if (!conversationEnabled("wake.in", cfg)) return;
  wake.onInjected = (e) => {
    sink.record(wakeIn({ from: e.message.from, body: e.message.body, priority: e.priority, subject: e.subject, queued: e.queued }, e.target, cfg.capture));
  };
}

/**
 * One conversation capture per event store: the host registers the plugin once per registry
 * generation, and a turn's agent_end and its delivery's message_sending can reach different
 * registrations, so the matching state must be shared by all of them (the store is process-wide).
 * Each generation loads its own copy of this module, so the map is a process-state entry like the runtime.
 */
const CAPTURES = processEntry("events", "conversation-captures", () => new WeakMap<EventSink, ConversationCapture>());
function conversationFor(sink: EventSink, capture: EventsConfig["capture"]): ConversationCapture {
  const captures = processState(CAPTURES);
  let c = captures.get(sink);
  if (!c) {
    c = new ConversationCapture(sink, capture);
    captures.set(sink, c);
  }
  return c;
}

/**
 * Subscribe the event store to every host hook. Handlers only map and call sink.record (a spool write):
 * the agent's turn never waits on NATS.
 */
export function registerEventHooks(api: OpenClawPluginApi, cfg: EventsConfig, sink: EventSink): void {
  const capture = cfg.capture;
  const on = (hook: HookName): boolean => hookEnabled(hook, cfg);
  const turns = conversationFor(sink, capture);
  // Hook handlers return nothing; only the conversation capture needs the ids.
  const put = (e: EventInput): void => {
    sink.record(e);
  };

  if (on("message_received"))
    api.on("message_received", (e, ctx) => {
      const sessionKey = ctx.sessionKey ?? e.sessionKey;
      turns.messageIn(sessionKey, e.content, sink.record(messageIn(e, ctx, capture)));
    });
  if (on("message_sending")) api.on("message_sending", (e, ctx) => put(turns.outbound(messageSending(e, ctx, capture), ctx.sessionKey, e.content)));
  if (on("message_sent")) api.on("message_sent", (e, ctx) => put(turns.outbound(messageOut(e, ctx, capture), ctx.sessionKey ?? e.sessionKey, e.content)));
  if (conversationEnabled("turn.user", cfg)) api.on("before_agent_run", (e, ctx) => turns.runStart(e.prompt, { ...ctx, channelId: ctx.channelId ?? e.channelId, senderId: ctx.senderId ?? e.senderId }));
  if (conversationEnabled("turn.reply", cfg)) api.on("agent_end", (e, ctx) => turns.runEnd(e, { ...ctx, runId: ctx.runId ?? e.runId }));
  if (on("before_tool_call")) api.on("before_tool_call", (e, ctx) => put(toolCall(e, ctx, capture)));
  if (on("after_tool_call")) api.on("after_tool_call", (e, ctx) => put(toolResult(e, ctx, capture)));
  if (on("before_agent_run")) api.on("before_agent_run", (e, ctx) => put(runStart(e, ctx, capture)));
  if (on("agent_end")) api.on("agent_end", (e, ctx) => put(runEnd(e, ctx)));
  if (on("llm_input")) api.on("llm_input", (e, ctx) => put(llmInput(e, ctx, capture)));
  if (on("llm_output")) api.on("llm_output", (e, ctx) => put(llmOutput(e, ctx, capture)));
  if (on("before_compaction"))
    api.on("before_compaction", (e, ctx) => put(sessionEvent("session.compaction_start", { messageCount: e.messageCount, compactingCount: e.compactingCount, tokenCount: e.tokenCount }, ctx)));
  if (on("after_compaction"))
    api.on("after_compaction", (e, ctx) => put(sessionEvent("session.compaction_end", { messageCount: e.messageCount, compactedCount: e.compactedCount, tokenCount: e.tokenCount }, ctx)));
  if (on("before_reset")) api.on("before_reset", (e, ctx) => put(sessionEvent("session.reset", { reason: e.reason, messageCount: e.messages?.length }, ctx)));
  if (on("session_start"))
    api.on("session_start", (e, ctx) => put(sessionEvent("session.start", { sessionId: e.sessionId, resumedFrom: e.resumedFrom }, { ...ctx, sessionKey: ctx.sessionKey ?? e.sessionKey })));
  if (on("session_end"))
    api.on("session_end", (e, ctx) =>
      put(sessionEvent("session.end", { sessionId: e.sessionId, messageCount: e.messageCount, durationMs: e.durationMs, reason: e.reason, nextSessionKey: e.nextSessionKey }, { ...ctx, sessionKey: ctx.sessionKey ?? e.sessionKey })),
    );
  if (on("subagent_spawned"))
    api.on("subagent_spawned", (e, ctx) =>
      put(sessionEvent("subagent.spawned", { childSessionKey: e.childSessionKey, agentId: e.agentId, mode: e.mode, label: e.label }, { runId: e.runId, sessionKey: ctx.requesterSessionKey, agentId: agentOfSessionKey(ctx.requesterSessionKey) })),
    );
  if (on("subagent_ended"))
    api.on("subagent_ended", (e, ctx) =>
      put(sessionEvent("subagent.ended", { targetSessionKey: e.targetSessionKey, reason: e.reason, outcome: e.outcome, error: e.error }, { runId: e.runId, sessionKey: ctx.requesterSessionKey, agentId: agentOfSessionKey(ctx.requesterSessionKey) })),
    );
  if (on("gateway_start")) api.on("gateway_start", (e) => put(sessionEvent("gateway.start", { port: e.port }, {})));
  if (on("gateway_stop")) api.on("gateway_stop", (e) => put(sessionEvent("gateway.stop", { reason: e.reason }, {})));

  // The trace a wake/relay/prompt left for the session covers the turn it starts, not the ones after it.
  const traces = processTraces();
  api.on("before_agent_run", (_e, ctx) => traces.runStarted(ctx.sessionKey));
  api.on("agent_end", (_e, ctx) => traces.runEnded(ctx.sessionKey));

  const commands = (["command:new", "command:reset", "command:stop"] as const).filter(on);
  if (commands.length > 0) {
    api.registerHook(
      [...commands],
      (e) => {
        const source = typeof e.context.commandSource === "string" ? e.context.commandSource : undefined;
        put(sessionEvent(`command.${e.action}`, { source }, { sessionKey: e.sessionKey || undefined }));
      },
      { name: "nats-events-commands", description: "records /new, /reset and /stop in the event store" },
    );
  }
}
