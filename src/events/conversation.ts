import { stripMemoryBlock } from "../shared/memory-block.ts";
import type { EventInput } from "./envelope.ts";
import { referToReply, turnReply, turnUser, type Capture, type HookCtx } from "./mapping.ts";
import { WAKE_TURN_MESSAGE } from "../wake/waker.ts";

/** Records events and says which id each got (undefined when filtered or dropped). */
export interface IdSink {
  record(e: EventInput): string | undefined;
}

interface Recent {
  id: string;
  text: string;
  at: number;
}

/** How long a channel message waits for the run it starts, and a reply for its delivery. */
const KEEP_MS = 10 * 60_000;
/** Per session; a busy group chat queues a few messages per run at most. */
const KEEP_PER_SESSION = 16;
const MAX_SESSIONS = 2048;

/** Triggers whose prompt is the host's own text (heartbeat boilerplate, memory flush, compaction), not anyone's words. */
const INTERNAL_TRIGGERS = new Set(["heartbeat", "memory", "overflow"]);

function normalise(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** One text is part of the other: a channel may strip a mention, or deliver a reply in chunks. */
function sameText(a: string, b: string): boolean {
  if (a.length === 0 || b.length === 0) return false;
  return a.includes(b) || b.includes(a);
}

/**
 * Records both sides of every turn exactly once.
 *
 * The host reports channel traffic as message_received / message_sending / message_sent (`msg.*`, the
 * Control UI included) but a turn started by `openclaw agent`, the relay, cron or a wake has none of
 * them. So every run gets a `turn.user` (its prompt) and a `turn.reply` (its final reply), and the text
 * is stored once:
 * - a prompt that already arrived as `msg.in` in the same session: `turn.user` names those events (`inIds`);
 * - a final reply that then goes out to a channel: `turn.reply` holds the text, and the `msg.sending` /
 *   `msg.out` carrying it (or a chunk of it) name it by `replyId` instead of repeating it.
 * Matching is by session and text, so a message the agent sends with a tool is still recorded in full.
 */
export class ConversationCapture {
  private readonly sink: IdSink;
  private readonly capture: Capture;
  private readonly now: () => number;
  private readonly inbound = new Map<string, Recent[]>();
  private readonly replies = new Map<string, Recent[]>();

  constructor(sink: IdSink, capture: Capture, now: () => number = Date.now) {
    this.sink = sink;
    this.capture = capture;
    this.now = now;
  }

  /** message_received: the msg.in event was recorded with this id. */
  messageIn(sessionKey: string | undefined, text: string, id: string | undefined): void {
    if (!sessionKey || !id) return;
    this.remember(this.inbound, sessionKey, { id, text: normalise(text), at: this.now() });
  }

  /** before_agent_run. Internal triggers record nothing: their prompt is the host's. */
  runStart(fullPrompt: string, ctx: HookCtx & { trigger?: string; senderId?: string }): void {
    if (ctx.trigger && INTERNAL_TRIGGERS.has(ctx.trigger)) return;
    const prompt = stripMemoryBlock(fullPrompt);
    // A wake turn's message is this plugin's own line; the words it carries are recorded as wake.in.
    if (normalise(prompt).startsWith(WAKE_TURN_MESSAGE)) return;
    const key = ctx.sessionKey;
    const text = normalise(prompt);
    const pending = key ? this.fresh(this.inbound, key) : [];
    const matched = pending.filter((m) => sameText(text, m.text));
    if (key && matched.length > 0) this.inbound.set(key, pending.filter((m) => !matched.includes(m)));
    this.sink.record(turnUser(prompt, ctx, this.capture, matched.map((m) => m.id)));
  }

  /** agent_end: the run's final reply is its last assistant text after the last user message. */
  runEnd(e: { success: boolean; messages: unknown[] }, ctx: HookCtx & { trigger?: string }): void {
    const text = finalReplyText(e.messages);
    if (text === undefined) return;
    const id = this.sink.record(turnReply(text, ctx, this.capture, e.success));
    if (id && ctx.sessionKey) this.remember(this.replies, ctx.sessionKey, { id, text: normalise(text), at: this.now() });
  }

  /** message_sending / message_sent: the event to record, referring to the turn.reply it carries. */
  outbound(input: EventInput, sessionKey: string | undefined, text: string): EventInput {
    if (!sessionKey) return input;
    const sent = normalise(text);
    const reply = this.fresh(this.replies, sessionKey).findLast((r) => sameText(r.text, sent));
    return reply ? referToReply(input, reply.id) : input;
  }

  private fresh(map: Map<string, Recent[]>, key: string): Recent[] {
    const cutoff = this.now() - KEEP_MS;
    const list = (map.get(key) ?? []).filter((r) => r.at >= cutoff);
    if (list.length === 0) map.delete(key);
    else map.set(key, list);
    return list;
  }

  private remember(map: Map<string, Recent[]>, key: string, entry: Recent): void {
    const list = this.fresh(map, key);
    list.push(entry);
    if (list.length > KEEP_PER_SESSION) list.shift();
    map.set(key, list);
    if (map.size > MAX_SESSIONS) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}

/** The text parts of one host message (content is a string or an array of typed parts). */
function textOf(message: Record<string, unknown>): string {
  const c = message.content;
  if (typeof c === "string") return c;
  if (!Array.isArray(c)) return "";
  return c
    .filter((p): p is Record<string, unknown> => isRecord(p) && p.type === "text" && typeof p.text === "string")
    .map((p) => String(p.text))
    .join("\n");
}

/** The last assistant text of the run: only messages after the last user message count (an error run has none). */
export function finalReplyText(messages: unknown[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isRecord(m)) continue;
    if (m.role === "user") return undefined;
    if (m.role !== "assistant") continue;
    const text = textOf(m).trim();
    if (text.length > 0) return text;
  }
  return undefined;
}
