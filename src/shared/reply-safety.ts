/** The agent protocol's subject root (`agents.…`); agent-protocol/subjects.ts builds its tree on it. */
export const AGENT_PROTOCOL_ROOT = "agents";

/**
 * Why the gateway will not publish to `reply`, or undefined when it may. A reply subject is whatever
 * the requester wrote, and the gateway publishes with its own permissions: a reply to
 * `$KV.<bucket>.<key>` would write our chunk into that KV bucket, one to `agents.prompt.…` would prompt
 * another agent with it. System (`$…`) and protocol (`agents.…`) subjects are therefore never replied to.
 * Here, below both wake/ and agent-protocol/, because both answer requests.
 */
export function replyProblem(reply: string): string | undefined {
  if (reply.startsWith("$")) return "a system subject ($…)";
  if (reply === AGENT_PROTOCOL_ROOT || reply.startsWith(`${AGENT_PROTOCOL_ROOT}.`)) return `an agent-protocol subject (${AGENT_PROTOCOL_ROOT}.…)`;
  if (/[\s*>]/.test(reply)) return "not a subject one can publish to";
  return undefined;
}
