import { AsyncLocalStorage } from "node:async_hooks";
import { hostedAgentIds } from "../shared/hosted-agents.ts";
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import { hostTurnRuntime } from "../relay/host-runtime.ts";
import type { Logger } from "../shared/logger.ts";
import { parseBytes } from "./chunks.ts";
import type { AgentProtocolDeps, AgentProtocolSettings } from "./service.ts";
import { tokenProblem, type AgentAddress } from "./subjects.ts";
import { hostStreamingTurns } from "./turns.ts";

type HostApi = Pick<OpenClawPluginApi, "runtime" | "version">;

/** The plugin config's `agentProtocol` section plus the relay's limits it shares. */
export function agentProtocolSettings(cfg: NatsPluginConfig, version: string | undefined): AgentProtocolSettings {
  const ap = cfg.agentProtocol;
  return {
    owner: ap.owner,
    heartbeatIntervalS: ap.heartbeatIntervalS,
    keepAliveMs: ap.keepAliveS * 1000,
    maxPayloadBytes: ap.maxPayload === undefined ? undefined : parseBytes(ap.maxPayload),
    minSenderTrust: ap.minSenderTrust,
    timeoutMs: cfg.relay.timeoutMs,
    maxTimeoutMs: cfg.relay.maxTimeoutMs,
    maxConcurrent: cfg.relay.maxConcurrent,
    maxConcurrentPerSession: cfg.relay.maxConcurrentPerSession,
    version: version && /^\d+\.\d+\.\d+/.test(version) ? version : "0.0.0",
  };
}

/**
 * Which agents to register: the ones listed in `agentProtocol.agents` (default: every agent the
 * gateway hosts), each under its configured name or its id. A listed agent the gateway does not host, a
 * name that is not a valid subject token, or two agents on one name: one log line each, agent skipped.
 */
export function resolveAgents(cfg: NatsPluginConfig, hosted: string[], log: Logger): AgentAddress[] {
  const ap = cfg.agentProtocol;
  const out: AgentAddress[] = [];
  const taken = new Map<string, string>();
  for (const agentId of ap.agents ?? hosted) {
    if (!hosted.includes(agentId)) {
      log.warn(`nats: agent protocol: agentProtocol.agents lists "${agentId}", which this gateway does not host (hosted: ${hosted.join(", ") || "none"}); skipped`);
      continue;
    }
    const name = ap.names[agentId] ?? agentId;
    const problem = tokenProblem(name);
    if (problem) {
      log.warn(`nats: agent protocol: agent "${agentId}" cannot be registered as name "${name}": ${problem}; set agentProtocol.names.${agentId}`);
      continue;
    }
    const other = taken.get(name);
    if (other) {
      log.warn(`nats: agent protocol: agents "${other}" and "${agentId}" would both be named "${name}"; "${agentId}" skipped (set agentProtocol.names)`);
      continue;
    }
    taken.set(name, agentId);
    out.push({ agentId, owner: ap.owner, name });
  }
  return out;
}

/**
 * The host side of the service, from the registering plugin instance: turns run through the relay's
 * in-process runtime in the async context captured here (they act as the plugin, not as whatever
 * triggered them), assistant output comes from the host's agent events, and the hosted agents are
 * read from the live host config when the service starts. Trust is the process-wide runtime's.
 */
export function agentProtocolHost(api: HostApi, cfg: NatsPluginConfig, log: Logger): Omit<AgentProtocolDeps, "trust"> {
  const detached = AsyncLocalStorage.snapshot();
  return {
    turns: hostStreamingTurns(hostTurnRuntime(api.runtime, detached), api.runtime.events),
    log,
    agents: () => resolveAgents(cfg, hostedAgentIds(api.runtime.config.current()), log),
  };
}
