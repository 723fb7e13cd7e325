import type { EventsConfig } from "../config/schema.ts";
import type { EventInput, EventMeta } from "./envelope.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";

/** The hook → event type table (docs/events.md lists it). Seed event-store names kept; the rest in the same style. */
export const HOOK_EVENT_TYPES = {
  message_received: "msg.in",
  message_sending: "msg.sending",
  message_sent: "msg.out",
  before_tool_call: "tool.call",
  after_tool_call: "tool.result",
  before_agent_run: "run.start",
  agent_end: "run.end", // run.error when the run failed
  llm_input: "llm.input",
  llm_output: "llm.output",
  before_compaction: "session.compaction_start",
  after_compaction: "session.compaction_end",
  before_reset: "session.reset",
  session_start: "session.start",
  session_end: "session.end",
  subagent_spawned: "subagent.spawned",
  subagent_ended: "subagent.ended",
  gateway_start: "gateway.start",
  gateway_stop: "gateway.stop",
  "command:new": "command.new",
  "command:reset": "command.reset",
  "command:stop": "command.stop",
} as const;
export type HookName = keyof typeof HOOK_EVENT_TYPES;

/**
 * The conversation itself, for turns whatever started them (docs/events.md). `turn.user` and
 * `turn.reply` come from the same hooks as run.start / run.end; `wake.in` is recorded by the plugin's
 * own wake path when it hands a NATS message to an agent as a system event.
 */
export const CONVERSATION_EVENT_TYPES = {
  "turn.user": "before_agent_run",
  "turn.reply": "agent_end",
  "wake.in": undefined,
} as const;
export type ConversationType = keyof typeof CONVERSATION_EVENT_TYPES;

type HookFilter = Pick<EventsConfig, "includeHooks" | "excludeHooks">;

function enabled(names: readonly string[], cfg: HookFilter): boolean {
  if (cfg.includeHooks.length > 0 && !names.some((n) => cfg.includeHooks.includes(n))) return false;
  return !names.some((n) => cfg.excludeHooks.includes(n));
}

/** includeHooks/excludeHooks accept hook names (`llm_input`) or event types (`llm.input`). */
export function hookEnabled(hook: HookName, cfg: HookFilter): boolean {
  const names: string[] = [hook, HOOK_EVENT_TYPES[hook]];
  if (hook === "agent_end") names.push("run.error");
  return enabled(names, cfg);
}

/** The same for the conversation types: named by type, or by the hook they come from. */
export function conversationEnabled(type: ConversationType, cfg: HookFilter): boolean {
  const hook = CONVERSATION_EVENT_TYPES[type];
  return enabled(hook ? [type, hook] : [type], cfg);
}

/** The fields of the host's hook contexts the mapping reads (all optional there too). */
export interface HookCtx {
  agentId?: string;
  sessionKey?: string;
  runId?: string;
  channelId?: string;
  channel?: string;
  messageProvider?: string;
  modelId?: string;
}

export type Capture = EventsConfig["capture"];


function base(type: string, ctx: HookCtx, payload: Record<string, unknown>, meta: EventMeta = {}): EventInput {
  const channel = ctx.channelId ?? ctx.channel ?? ctx.messageProvider;
  return {
    agent: ctx.agentId ?? agentOfSessionKey(ctx.sessionKey) ?? "system",
    session: ctx.sessionKey,
    type,
    visibility: type.startsWith("msg.") ? "public" : "internal",
    payload,
    meta: { runId: ctx.runId, model: ctx.modelId, channel, ...stripUndefined(meta) },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function content(text: string, capture: Capture): Record<string, unknown> {
  return capture.messageContent ? { content: text, length: text.length } : { length: text.length };
}

export function messageIn(e: { from: string; content: string; messageId?: string; senderId?: string; sessionKey?: string; runId?: string; threadId?: string | number }, ctx: HookCtx, capture: Capture): EventInput {
  return base("msg.in", { ...ctx, sessionKey: ctx.sessionKey ?? e.sessionKey, runId: ctx.runId ?? e.runId }, stripUndefined({ from: e.from, messageId: e.messageId, senderId: e.senderId, threadId: e.threadId, ...content(e.content, capture) }));
}

export function messageSending(e: { to: string; content: string; threadId?: string | number }, ctx: HookCtx, capture: Capture): EventInput {
  return base("msg.sending", ctx, stripUndefined({ to: e.to, threadId: e.threadId, ...content(e.content, capture) }));
}

export function messageOut(e: { to: string; content: string; success: boolean; messageId?: string; sessionKey?: string; runId?: string; error?: string }, ctx: HookCtx, capture: Capture): EventInput {
  return base("msg.out", { ...ctx, sessionKey: ctx.sessionKey ?? e.sessionKey, runId: ctx.runId ?? e.runId }, stripUndefined({ to: e.to, success: e.success, messageId: e.messageId, error: e.error, ...content(e.content, capture) }));
}

/**
 * What started a turn (`before_agent_run`'s prompt). When the text already arrived as a channel message
 * (`msg.in`, Control UI included), the event names those events in `inIds` instead of repeating it.
 */
export function turnUser(prompt: string, ctx: HookCtx & { trigger?: string; senderId?: string }, capture: Capture, inIds: string[] = []): EventInput {
  const text = inIds.length > 0 ? { length: prompt.length } : content(prompt, capture);
  return base("turn.user", ctx, stripUndefined({ trigger: ctx.trigger, senderId: ctx.senderId, inIds: inIds.length > 0 ? inIds : undefined, ...text }));
}

/** The agent's final reply of a turn (its last assistant text); `silent` for NO_REPLY / HEARTBEAT_OK. */
export function turnReply(text: string, ctx: HookCtx & { trigger?: string }, capture: Capture, success: boolean): EventInput {
  const silent = SILENT_REPLY.test(text.trim()) || undefined;
  return base("turn.reply", ctx, stripUndefined({ trigger: ctx.trigger, success, silent, ...content(text, capture) }));
}

/** The host's silent-reply and heartbeat tokens (`NO_REPLY`, `HEARTBEAT_OK`), alone in a reply. */
const SILENT_REPLY = /^\W*(NO_REPLY|HEARTBEAT_OK)\W*$/;

/** A NATS message the wake path handed to an agent as a system event: what "the user" said to a wake-started turn. */
export function wakeIn(e: { from: string; body: string; priority: string; subject: string; queued: boolean }, target: { agentId: string; sessionKey: string }, capture: Capture): EventInput {
  const payload = stripUndefined({ from: e.from, priority: e.priority, subject: e.subject, queued: e.queued, ...content(e.body, capture) });
  return { agent: target.agentId, session: target.sessionKey, type: "wake.in", visibility: "internal", payload, meta: { channel: "nats" } };
}

/** msg.sending / msg.out of a turn's final reply: the text lives in that `turn.reply`, named by `replyId`. */
export function referToReply(input: EventInput, replyId: string): EventInput {
  const { content: _content, ...rest } = input.payload;
  return { ...input, payload: { ...rest, replyId } };
}

/** Tool errors are kept by default (they say what went wrong), cut to this many characters. */
export const MAX_TOOL_ERROR_CHARS = 300;

/**
 * Tool parameters or results: by default only their size; with capture.toolContent the value itself
 * when its JSON fits capture.maxToolContentBytes, else the size and `…Truncated: true`.
 */
function toolContent(key: "params" | "result", value: unknown, capture: Capture): Record<string, unknown> {
  if (value === undefined) return {};
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    return { [`${key}Bytes`]: -1 };
  }
  const bytes = json === undefined ? 0 : Buffer.byteLength(json, "utf8");
  if (!capture.toolContent) return { [`${key}Bytes`]: bytes };
  if (bytes > capture.maxToolContentBytes) return { [`${key}Bytes`]: bytes, [`${key}Truncated`]: true };
  return { [`${key}Bytes`]: bytes, [key]: value };
}

export function toolCall(e: { toolName: string; params: Record<string, unknown>; toolCallId?: string; runId?: string }, ctx: HookCtx, capture: Capture): EventInput {
  return base("tool.call", { ...ctx, runId: ctx.runId ?? e.runId }, stripUndefined({ tool: e.toolName, toolCallId: e.toolCallId, ...toolContent("params", e.params, capture) }));
}

export function toolResult(e: { toolName: string; toolCallId?: string; runId?: string; result?: unknown; error?: string; durationMs?: number }, ctx: HookCtx, capture: Capture): EventInput {
  const error = e.error === undefined ? undefined : e.error.length > MAX_TOOL_ERROR_CHARS ? `${e.error.slice(0, MAX_TOOL_ERROR_CHARS)}…` : e.error;
  return base(
    "tool.result",
    { ...ctx, runId: ctx.runId ?? e.runId },
    stripUndefined({ tool: e.toolName, toolCallId: e.toolCallId, success: e.error === undefined, error, durationMs: e.durationMs, ...toolContent("result", e.result, capture) }),
  );
}

export function runStart(e: { prompt: string; channelId?: string; senderId?: string }, ctx: HookCtx, capture: Capture): EventInput {
  return base("run.start", { ...ctx, channelId: ctx.channelId ?? e.channelId }, stripUndefined({ senderId: e.senderId, promptLength: e.prompt.length, ...(capture.llmContent ? { prompt: e.prompt } : {}) }));
}

export function runEnd(e: { runId?: string; success: boolean; error?: string; durationMs?: number; messages: unknown[] }, ctx: HookCtx): EventInput {
  return base(e.success ? "run.end" : "run.error", { ...ctx, runId: ctx.runId ?? e.runId }, stripUndefined({ success: e.success, error: e.error, durationMs: e.durationMs, messageCount: e.messages.length }));
}

/** LLM events carry metadata only unless capture.llmContent: never prompt or completion text by default. */
export function llmInput(e: { runId: string; provider: string; model: string; systemPrompt?: string; prompt: string; historyMessages: unknown[]; imagesCount: number; tools?: unknown[] }, ctx: HookCtx, capture: Capture): EventInput {
  const payload: Record<string, unknown> = {
    provider: e.provider,
    model: e.model,
    promptLength: e.prompt.length,
    systemPromptLength: e.systemPrompt?.length ?? 0,
    historyCount: e.historyMessages.length,
    imagesCount: e.imagesCount,
    toolsCount: e.tools?.length ?? 0,
  };
  if (capture.llmContent) Object.assign(payload, { prompt: e.prompt, systemPrompt: e.systemPrompt });
  return base("llm.input", { ...ctx, runId: ctx.runId ?? e.runId }, payload, { model: e.model });
}

export function llmOutput(e: { runId: string; provider: string; model: string; assistantTexts: string[]; usage?: Record<string, number | undefined> }, ctx: HookCtx, capture: Capture): EventInput {
  const payload: Record<string, unknown> = {
    provider: e.provider,
    model: e.model,
    textsCount: e.assistantTexts.length,
    textLength: e.assistantTexts.reduce((n, t) => n + t.length, 0),
    ...(e.usage ? { usage: stripUndefined(e.usage) } : {}),
  };
  if (capture.llmContent) payload.assistantTexts = e.assistantTexts;
  return base("llm.output", { ...ctx, runId: ctx.runId ?? e.runId }, payload, { model: e.model });
}

export function sessionEvent(type: string, payload: Record<string, unknown>, ctx: HookCtx): EventInput {
  return base(type, ctx, stripUndefined(payload));
}
