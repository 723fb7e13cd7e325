/**
 * OpenClaw agent ids and session keys: the one place that validates, parses and builds them.
 *
 * A session key is `agent:<agentId>:<rest>`; `<rest>` is `main` for an agent's main session, or the
 * host's routing shape (`telegram:direct:42`, `discord:group:7:thread:9`, …). Everything else in the
 * plugin goes through these helpers instead of splitting on ":" itself.
 */

/** Agent ids as OpenClaw writes them: lowercase letters, digits, `_` and `-` (no dots, wildcards, spaces). */
export const AGENT_ID_PATTERN = "^[a-z0-9][a-z0-9_-]{0,63}$";
/** `agent:<agentId>:<rest>` with a non-empty rest and no whitespace. */
export const SESSION_KEY_PATTERN = "^agent:[a-z0-9][a-z0-9_-]{0,63}:\\S+$";
export const SESSION_KEY_MAX_LENGTH = 512;

const AGENT_ID = new RegExp(AGENT_ID_PATTERN);
const SESSION_KEY = new RegExp(SESSION_KEY_PATTERN);

export function isAgentId(value: string): boolean {
  return AGENT_ID.test(value);
}

export function isSessionKey(value: string): boolean {
  return value.length <= SESSION_KEY_MAX_LENGTH && SESSION_KEY.test(value);
}

/** `agent:<agentId>:main`. */
export function mainSessionKey(agentId: string): string {
  return `agent:${agentId}:main`;
}

/** The agent id of `agent:<id>:…`, or undefined for anything that is not a session key. */
export function agentOfSessionKey(sessionKey: string | undefined): string | undefined {
  if (!sessionKey?.startsWith("agent:")) return undefined;
  const end = sessionKey.indexOf(":", 6);
  const id = end === -1 ? sessionKey.slice(6) : sessionKey.slice(6, end);
  return id.length > 0 ? id : undefined;
}

/** The part after `agent:<id>:` (`main`, `telegram:direct:42`, …), or undefined. */
export function restOfSessionKey(sessionKey: string): string | undefined {
  const agentId = agentOfSessionKey(sessionKey);
  if (!agentId) return undefined;
  const rest = sessionKey.slice(6 + agentId.length + 1);
  return rest.length > 0 ? rest : undefined;
}

/**
 * A caller's own conversation with an agent over the agent protocol: `agent:<agentId>:nats:<callerKey>`.
 * `callerKey` is one lowercase token without `:` (the host lowercases session keys, and a third `:`-part
 * would make the host read `nats:<kind>:<peer>` as a delivery route).
 */
export const NATS_CALLER_KEY_PATTERN = "^[a-z0-9][a-z0-9_-]{0,127}$";
const NATS_CALLER_KEY = new RegExp(NATS_CALLER_KEY_PATTERN);

export function natsCallerSessionKey(agentId: string, callerKey: string): string {
  if (!isAgentId(agentId)) throw new Error(`not an agent id: ${JSON.stringify(agentId)}`);
  if (!NATS_CALLER_KEY.test(callerKey)) throw new Error(`not a NATS caller key: ${JSON.stringify(callerKey)}`);
  return `agent:${agentId}:nats:${callerKey}`;
}

/**
 * What kind of conversation a session key names, from the host's key shapes: `main` (an agent's main
 * session; with the host's default `session.dmScope: "main"` every DM lands here), `direct` (per-peer
 * DM keys: `direct:<peer>`, `<channel>:direct:<peer>`, `<channel>:<account>:direct:<peer>`), `group` /
 * `channel` (a group chat or channel, threads and topics included), or `other` (cron, subagent, hook …).
 */
export function conversationKind(sessionKey: string): "main" | "direct" | "group" | "channel" | "other" {
  const rest = restOfSessionKey(sessionKey);
  if (!rest) return "other";
  if (rest === "main") return "main";
  const tokens = rest.split(":");
  if (tokens.includes("group")) return "group";
  if (tokens.includes("channel")) return "channel";
  if (tokens.includes("direct") || tokens.includes("dm")) return "direct";
  return "other";
}
