import type { PluginRuntime } from "openclaw/plugin-sdk/runtime-store";
import type { RunWait, SessionInfo, TurnRuntime } from "./run-turn.ts";
import { agentOfSessionKey } from "../shared/session-key.ts";

/** Runs `fn` in the async context captured when the plugin registered (see register.ts). */
export type Detached = <R>(fn: () => R) => R;

type HostRuntime = Pick<PluginRuntime, "subagent" | "system"> & { agent: { session: Pick<PluginRuntime["agent"]["session"], "getSessionEntry"> } };

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** Session entry → where its replies go. Only an `external` delivery state names a channel. */
export function sessionInfoOf(entry: unknown): SessionInfo {
  const delivery = record(record(entry)?.delivery);
  if (delivery?.kind !== "external") return {};
  const context = record(delivery.context);
  const channel = text(context?.channel);
  return channel ? { route: { channel, to: text(context?.to) } } : {};
}

/** agent.wait result → the fields the relay reads (terminalDelivery is returned by the host but not in its types). */
export function runWaitOf(raw: unknown): RunWait {
  const r = record(raw) ?? {};
  const status = r.status === "ok" || r.status === "error" || r.status === "timeout" || r.status === "pending" ? r.status : "error";
  const reply = record(r.terminalReply);
  const delivery = text(record(r.terminalDelivery)?.status);
  const out: RunWait = { status };
  if (text(r.error)) out.error = r.error as string;
  if (reply?.disposition === "visible" && typeof reply.text === "string") out.reply = { disposition: "visible", text: reply.text };
  else if (reply?.disposition === "silent" || reply?.disposition === "empty") out.reply = { disposition: reply.disposition };
  if (delivery) out.delivery = delivery;
  return out;
}

/** The text of the last assistant message that `runId` wrote. */
export function answerFromMessages(messages: unknown[], runId: string): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = record(messages[i]);
    if (m?.role !== "assistant" || record(m.__openclaw)?.runId !== runId) continue;
    if (typeof m.content === "string") return m.content;
    if (!Array.isArray(m.content)) return undefined;
    return m.content
      .map((part) => record(part))
      .filter((part) => part?.type === "text" && typeof part.text === "string")
      .map((part) => part?.text as string)
      .join("");
  }
  return undefined;
}

/**
 * The gateway's in-process runtime as a TurnRuntime. Every host call runs through `detached`, i.e. in
 * the plugin's own context rather than the caller's: an `auth: "plugin"` HTTP route carries a request
 * scope with no operator scopes ("missing scope: operator.write"), and a tool call would otherwise tie the
 * target's run to the calling agent's run. The relay's own checks (bearer token, allowedTargets) come first.
 */
export function hostTurnRuntime(runtime: HostRuntime, detached: Detached): TurnRuntime {
  return {
    lookup(sessionKey) {
      const entry = detached(() => runtime.agent.session.getSessionEntry({ sessionKey, agentId: agentOfSessionKey(sessionKey) ?? "" }));
      return entry === undefined ? undefined : sessionInfoOf(entry);
    },
    async start({ sessionKey, message, deliver, idempotencyKey }) {
      const r = await detached(() => runtime.subagent.run({ sessionKey, message, deliver, idempotencyKey }));
      return { runId: r.runId, sessionKey: r.sessionKey ?? sessionKey };
    },
    async wait(runId, timeoutMs) {
      return runWaitOf(await detached(() => runtime.subagent.waitForRun({ runId, timeoutMs })));
    },
    async lastAnswer(sessionKey, runId) {
      const { messages } = await detached(() => runtime.subagent.getSessionMessages({ sessionKey, limit: 20 }));
      return answerFromMessages(messages, runId);
    },
    queueSystemEvent(sessionKey, agentId, eventText) {
      return detached(() => {
        const queued = runtime.system.enqueueSystemEvent(eventText, { sessionKey, agentId });
        runtime.system.requestHeartbeat({ source: "hook", intent: "immediate", reason: "hook:nats-relay", agentId, sessionKey });
        return queued;
      });
    },
  };
}
