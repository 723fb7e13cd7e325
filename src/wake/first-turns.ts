import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { PLUGIN_ID } from "./host.ts";

/**
 * The text of a new session's first wake turn, handed to that turn by the plugin's `agent_turn_prepare`
 * hook instead of as the turn's message.
 *
 * Why: the host lists every running plugin turn in the turn's own context ("Active Subagents … task_json=
 * <the run's message>"). A first turn whose message was the wake text showed the model that text twice
 * (issue #17: the demo model quoted the wake twice). With the fixed WAKE_TURN_MESSAGE as the message and the
 * text appended by the hook — where the host appends later turns' next-turn injections — the model sees it
 * once, after the same line as on any wake turn.
 *
 * Without the hook (hooks.allowConversationAccess off, or prompt injection off) `enabled` is false and a
 * first turn carries its text as its message, as before.
 */
/** Far above the sessions that start a first turn at once (one per session, rate-limited per agent). */
const MAX_HELD = 4096;

export class FirstTurnTexts {
  /** Set by each registration: whether its agent_turn_prepare hook can hand the text to the turn. */
  enabled = false;
  /** Keyed by run id (the host's run id is our idempotency key). One per first turn starting or running. */
  private readonly held = new Map<string, { sessionKey: string; text: string; taken: boolean }>();

  hold(runId: string, sessionKey: string, text: string): void {
    this.held.set(runId, { sessionKey, text, taken: false });
    // Only a turn that timed out before its prompt was built stays held past its run (see Waker); bounded anyway.
    while (this.held.size > MAX_HELD) this.held.delete(this.held.keys().next().value as string);
  }

  /** The host ran the turn under another id than the key it was given (not so in 2026.9.6): follow it. */
  rekey(from: string, to: string): void {
    const h = this.held.get(from);
    if (!h || from === to) return;
    this.held.delete(from);
    this.held.set(to, h);
  }

  /**
   * The hook: the text for this run, marked as handed over. The host builds a prompt once per attempt, so a
   * retried attempt gets the same text again; it stays held until the run ends (release).
   */
  take(runId: string | undefined): string | undefined {
    const h = runId ? this.held.get(runId) : undefined;
    if (!h) return undefined;
    h.taken = true;
    return h.text;
  }

  /** What this run carries besides its message (memory leaves it out of the block), without taking it. */
  peek(runId: string | undefined): string | undefined {
    return runId ? this.held.get(runId)?.text : undefined;
  }

  /** A first turn of this session holds a text its prompt has not taken yet (later messages wait behind it). */
  waiting(sessionKey: string): boolean {
    for (const h of this.held.values()) if (h.sessionKey === sessionKey && !h.taken) return true;
    return false;
  }

  /** The run ended (or never started): forget it; says whether the turn's prompt took the text. */
  release(runId: string): { text: string; taken: boolean } | undefined {
    const h = this.held.get(runId);
    this.held.delete(runId);
    return h ? { text: h.text, taken: h.taken } : undefined;
  }

  get size(): number {
    return this.held.size;
  }
}

/**
 * Hands each first turn its text: appended after the turn's message, where the host appends next-turn
 * injections. The host only runs agent_turn_prepare for a non-bundled plugin with
 * hooks.allowConversationAccess, and ignores its context with hooks.allowPromptInjection false: without
 * both, `enabled` stays false and first turns carry their text as their message.
 */
export function registerFirstTurnHook(api: Pick<OpenClawPluginApi, "on" | "config">, texts: FirstTurnTexts): void {
  const hooks = api.config.plugins?.entries?.[PLUGIN_ID]?.hooks;
  texts.enabled = hooks?.allowConversationAccess === true && hooks.allowPromptInjection !== false;
  if (!texts.enabled) return;
  api.on("agent_turn_prepare", (_event, ctx) => {
    const text = texts.take(ctx.runId);
    return text ? { appendContext: text } : undefined;
  });
}
