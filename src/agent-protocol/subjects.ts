import { AGENT_PROTOCOL_ROOT } from "../shared/reply-safety.ts";

/**
 * Synadia Agent Protocol v0.3 names: the service, its endpoints and the verb-first subject tree
 * `agents.{verb}.{agent}.{owner}.{name}` (spec §2).
 */

export const SERVICE_NAME = AGENT_PROTOCOL_ROOT;
export const PROTOCOL_VERSION = "0.3";
/** `metadata.agent` for OpenClaw and its conventional subject token (spec Appendix C). */
export const AGENT_KIND = "openclaw";
export const AGENT_TOKEN = "oc";
/** Queue group of both endpoints (§3.3, §8.7): gateways hosting the same agent share its prompts. */
export const QUEUE_GROUP = "agents";

export type Verb = "prompt" | "status" | "hb";

/** The spec's SHOULD for every token (§2.2); the config only accepts these. */
export const TOKEN_PATTERN = "^[a-z0-9_-]{1,63}$";
const TOKEN = new RegExp(TOKEN_PATTERN);

/** Why `token` cannot be a subject token, or undefined when it can (§2.2 MUST and SHOULD rules). */
export function tokenProblem(token: string): string | undefined {
  if (token.length === 0) return "must not be empty";
  if (token.startsWith("$")) return "must not begin with '$'";
  if (/[.*>\s\0]/.test(token)) return "must not contain '.', '*', '>', whitespace or NUL";
  if (!TOKEN.test(token)) return "must be 1-63 characters of a-z, 0-9, '-' and '_'";
  return undefined;
}

/** Where one hosted agent lives on the bus. */
export interface AgentAddress {
  /** OpenClaw agent id. */
  agentId: string;
  owner: string;
  /** Instance name, the 5th token (the agent id unless configured otherwise). */
  name: string;
}

export function agentSubject(verb: Verb, address: Pick<AgentAddress, "owner" | "name">): string {
  return `${SERVICE_NAME}.${verb}.${AGENT_TOKEN}.${address.owner}.${address.name}`;
}
