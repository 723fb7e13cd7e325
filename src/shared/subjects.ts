import { AGENT_ID_PATTERN } from "./session-key.ts";

/**
 * NATS subjects: the one place that matches, checks, builds and parses them. The subject families the
 * plugin builds are here too: an agent's wake inbox (`agent.<id>.inbox`), the agent an `agent.<id>.…`
 * subject names, and event subjects (`{prefix}.{agent}.{type}`). The agent protocol's `agents.…` tree
 * is built in agent-protocol/subjects.ts on the root that shared/reply-safety.ts declares.
 */

/** Subject matching: `*` matches one token, `>` one or more trailing tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** A subject one may publish to: non-empty tokens, no wildcards, no whitespace. */
export function isPublishableSubject(subject: string): boolean {
  return subject.length > 0 && !/\s/.test(subject) && subject.split(".").every((t) => t.length > 0 && t !== "*" && t !== ">");
}

/** True when some subject could match both patterns (JetStream refuses two streams whose subjects overlap). */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const s = x[i];
    const t = y[i];
    if (s === ">" || t === ">") return s !== undefined && t !== undefined;
    if (s === undefined || t === undefined) return false;
    if (s !== "*" && t !== "*" && s !== t) return false;
  }
  return true;
}

/** An agent's wake inbox, `agent.<id>.inbox`: what the default wake subject `agent.*.inbox` subscribes to. */
export function agentInboxSubject(agentId: string): string {
  return `agent.${agentId}.inbox`;
}

const AGENT_SUBJECT = new RegExp(`^agent\\.(${AGENT_ID_PATTERN.slice(1, -1)})\\.`);

/** The agent an `agent.<id>.…` subject names, or undefined for subjects that name none (`alerts.>`, broadcasts). */
export function agentOfSubject(subject: string): string | undefined {
  return AGENT_SUBJECT.exec(subject)?.[1];
}

/** One NATS subject token from free text: no dots, wildcards, whitespace or empty tokens. */
export function subjectToken(text: string): string {
  const token = text.replace(/[.*>\s\u0000-\u001f\u007f]/g, "_");
  return token.length > 0 ? token : "_";
}

/** `{prefix}.{agent}.{type with . → _}`, e.g. `openclaw.events.main.msg_in`. */
export function eventSubject(prefix: string, agent: string, type: string): string {
  return `${prefix}.${subjectToken(agent)}.${subjectToken(type)}`;
}

/** The subject filter for events of one agent and/or one type: `{prefix}.{agent|*}.{type|>}`. */
export function eventFilter(prefix: string, agent?: string, type?: string): string {
  if (type) return agent ? eventSubject(prefix, agent, type) : `${prefix}.*.${subjectToken(type)}`;
  return agent ? `${prefix}.${subjectToken(agent)}.>` : `${prefix}.>`;
}
