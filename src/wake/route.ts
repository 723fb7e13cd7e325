import { AGENT_ID_PATTERN, agentOfSessionKey, mainSessionKey } from "../shared/session-key.ts";
import type { Priority, WakeMessage } from "./message.ts";

export interface WakeTarget {
  agentId: string;
  sessionKey: string;
}

const AGENT_SUBJECT = new RegExp(`^agent\\.(${AGENT_ID_PATTERN.slice(1, -1)})\\.`);

/**
 * `sessionKey` wins; else `to` → agent:<to>:main; else the agent named by an `agent.<id>.…` subject
 * (so a bare publish to agent.ops.inbox reaches ops); else the default agent's main session.
 */
export function resolveTarget(message: Pick<WakeMessage, "sessionKey" | "to">, defaultAgent: string, subject = ""): WakeTarget {
  if (message.sessionKey) return { agentId: agentOfSessionKey(message.sessionKey) ?? defaultAgent, sessionKey: message.sessionKey };
  const agentId = message.to ?? AGENT_SUBJECT.exec(subject)?.[1] ?? defaultAgent;
  return { agentId, sessionKey: mainSessionKey(agentId) };
}

/** `[URGENT from alertmanager] Service X is down` */
export function formatWakeText(priority: Priority, from: string, body: string): string {
  return `[${priority.toUpperCase()} from ${from}] ${body}`;
}
