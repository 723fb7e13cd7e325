import type { MemoryConfig, NatsPluginConfig } from "../config/schema.ts";
import { conversationKind, restOfSessionKey } from "../shared/session-key.ts";
import type { Visibility } from "./projection.ts";

/** memory.* with the agent's overrides applied. */
export interface AgentMemory {
  agentId: string;
  enabled: boolean;
  scope: "peer" | "agent";
  everyTurn: boolean;
  /** Agent tokens readable besides its own (memory.read + agents.<id>.read), without itself. */
  read: string[];
  lookbackMs: number;
  maxEvents: number;
  maxChars: number;
  types: string[];
  notes: MemoryConfig["notes"];
  timeoutMs: number;
  search: MemoryConfig["search"];
}

/** Memory is on by default exactly when the event store is: it reads what the store records. */
export function memoryEnabled(cfg: NatsPluginConfig): boolean {
  return cfg.memory.enabled ?? cfg.events.enabled;
}

export function agentMemory(cfg: NatsPluginConfig, agentId: string): AgentMemory {
  const m = cfg.memory;
  const own = m.agents[agentId] ?? {};
  const read = [...new Set([...m.read, ...(own.read ?? [])])].filter((a) => a !== agentId);
  return {
    agentId,
    enabled: memoryEnabled(cfg) && (own.enabled ?? true),
    scope: own.scope ?? m.scope,
    everyTurn: own.everyTurn ?? m.everyTurn,
    read,
    lookbackMs: m.lookbackHours > 0 ? m.lookbackHours * 3_600_000 : Number.POSITIVE_INFINITY,
    maxEvents: m.maxEvents,
    maxChars: m.maxChars,
    types: m.types,
    notes: m.notes,
    timeoutMs: m.timeoutMs,
    search: m.search,
  };
}

/** Notes in this session? "private": not where a group or channel reads along. */
export function notesAllowed(settings: AgentMemory, sessionKey: string | undefined): boolean {
  if (settings.notes === "never") return false;
  if (settings.notes === "always") return true;
  if (!sessionKey) return false;
  const kind = conversationKind(sessionKey);
  return kind !== "group" && kind !== "channel";
}

/**
 * What one session may see. Scope "peer": rows of the same conversation (the session key's rest, which
 * is the host's own boundary: under `session.dmScope: "main"` every DM shares `main`), plus agent-wide
 * notes; scope "agent": every row of the agent. Other readable agents are filtered the same way.
 * A session-less caller under "peer" sees no conversation at all.
 */
export function visibilityFor(settings: AgentMemory, sessionKey: string | undefined): Visibility {
  const agents = [settings.agentId, ...settings.read];
  const agentWide = notesAllowed(settings, sessionKey);
  if (settings.scope === "agent") return { agents, peer: undefined, agentWide };
  const peer = sessionKey ? (restOfSessionKey(sessionKey) ?? "\u0000none") : "\u0000none";
  return { agents, peer, agentWide };
}
