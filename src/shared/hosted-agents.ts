import { listAgentIds } from "openclaw/plugin-sdk/agent-scope-runtime";

/**
 * The agents this gateway hosts: the host's own list from an OpenClaw config (the configured agents,
 * else the default one). The one place that asks; the wake side (which subjects to take), the agent
 * protocol (which agents to register), the dashboard and the CLI (doctor, setup) read it from here.
 */
export function hostedAgentIds(config: unknown): string[] {
  return listAgentIds(config as Parameters<typeof listAgentIds>[0]);
}
