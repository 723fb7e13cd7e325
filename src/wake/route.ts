import { agentOfSessionKey, mainSessionKey } from "../shared/session-key.ts";
import { agentOfSubject } from "../shared/subjects.ts";
import type { Priority, WakeMessage } from "./message.ts";

export interface WakeTarget {
  agentId: string;
  sessionKey: string;
}

/**
 * `sessionKey` wins; else `to` → agent:<to>:main; else the agent named by an `agent.<id>.…` subject
 * (so a bare publish to agent.ops.inbox reaches ops); else the default agent's main session.
 */
export function resolveTarget(message: Pick<WakeMessage, "sessionKey" | "to">, defaultAgent: string, subject = ""): WakeTarget {
  if (message.sessionKey) return { agentId: agentOfSessionKey(message.sessionKey) ?? defaultAgent, sessionKey: message.sessionKey };
  const agentId = message.to ?? agentOfSubject(subject) ?? defaultAgent;
  return { agentId, sessionKey: mainSessionKey(agentId) };
}

/**
 * A subject that names an agent binds the message to it: NATS permissions on `agent.support.>` then
 * confine a publisher to support. A `to` or `sessionKey` naming another agent is refused (the reason
 * is the rejection text); subjects that name no agent keep `to` / default routing.
 */
export function checkSubjectBinding(message: Pick<WakeMessage, "sessionKey" | "to">, subject: string): string | undefined {
  const bound = agentOfSubject(subject);
  if (bound === undefined) return undefined;
  if (message.to !== undefined && message.to !== bound) return `to "${message.to}" names another agent than the subject ${subject} (${bound}); a message on agent.<id>.… reaches that agent only`;
  const keyAgent = message.sessionKey === undefined ? undefined : agentOfSessionKey(message.sessionKey);
  if (message.sessionKey !== undefined && keyAgent !== bound) {
    return `sessionKey ${message.sessionKey} belongs to another agent than the subject ${subject} (${bound}); a message on agent.<id>.… reaches that agent only`;
  }
  return undefined;
}

/** Longest sender name shown in a frame; the rest is cut with "…". */
export const MAX_FRAME_NAME = 64;
/** Control, format (bidi overrides, zero-width) and line/paragraph separator characters. */
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/**
 * A sender name as data inside a frame: it cannot close the frame or start a new line. `[` and `]`
 * become `(` and `)`, control and format characters are shown as `\uXXXX`, and the name is cut at
 * MAX_FRAME_NAME characters. (Escape rather than refuse: a wake from a sloppy script still arrives.)
 */
export function frameName(from: string): string {
  const chars = [...from];
  const cut = chars.length > MAX_FRAME_NAME;
  let out = "";
  for (const ch of cut ? chars.slice(0, MAX_FRAME_NAME) : chars) {
    if (ch === "[") out += "(";
    else if (ch === "]") out += ")";
    else if (INVISIBLE.test(ch)) out += `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return cut ? `${out}…` : out;
}

/** `[URGENT from alertmanager] Service X is down` */
export function formatWakeText(priority: Priority, from: string, body: string): string {
  return `[${priority.toUpperCase()} from ${frameName(from)}] ${body}`;
}
