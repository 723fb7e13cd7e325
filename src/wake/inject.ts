import type { PluginRuntime } from "openclaw/plugin-sdk/runtime-store";
import type { Priority } from "./message.ts";
import { formatWakeText, type WakeTarget } from "./route.ts";

export type SystemRuntime = Pick<PluginRuntime["system"], "enqueueSystemEvent" | "requestHeartbeat">;

export interface InjectResult {
  /** false when the host dropped it as a repeat of the event already pending for the session. */
  queued: boolean;
  woke: boolean;
}

/**
 * Enqueue the message as a system event in the target session; `urgent` also wakes the agent now.
 * The wake uses source "hook" + reason "hook:…": the host runs such targeted wakes even for agents
 * without a heartbeat schedule (the deprecated requestHeartbeatNow defaults to source "other" and is skipped).
 */
export function injectWake(system: SystemRuntime, target: WakeTarget, priority: Priority, from: string, body: string): InjectResult {
  const queued = system.enqueueSystemEvent(formatWakeText(priority, from, body), { sessionKey: target.sessionKey, agentId: target.agentId });
  if (priority !== "urgent") return { queued, woke: false };
  system.requestHeartbeat({ source: "hook", intent: "immediate", reason: "hook:nats", agentId: target.agentId, sessionKey: target.sessionKey });
  return { queued, woke: true };
}
