import { listAgentIds } from "openclaw/plugin-sdk/agent-scope-runtime";
import type { WakeDispatcher } from "./dispatcher.ts";

/**
 * The agents this gateway hosts, read from the host config when the wake service starts. Unknown
 * (undefined) when the runtime has no host config to read: every message is then taken.
 */
export class Hosting {
  private readonly read: () => readonly string[] | undefined;
  agents: readonly string[] | undefined;

  constructor(read: () => readonly string[] | undefined = () => undefined) {
    this.read = read;
    this.agents = undefined;
  }

  /** Read the hosted agents again (at service start; a config reload starts the service again). */
  refresh(): readonly string[] | undefined {
    try {
      this.agents = this.read();
    } catch {
      this.agents = undefined; // no readable host config: take every message, as before hosting was known
    }
    return this.agents;
  }

  hosts(agentId: string): boolean {
    return this.agents === undefined || this.agents.includes(agentId);
  }

  describe(): string {
    return this.agents === undefined ? "(any)" : this.agents.join(", ") || "(none)";
  }

  /** The agent a valid message targets when this gateway does not host it; undefined otherwise (invalid ones are the dispatcher's to reject). */
  notHostedTarget(dispatcher: Pick<WakeDispatcher, "parse">, data: Uint8Array, subject: string): string | undefined {
    if (this.agents === undefined) return undefined;
    const parsed = dispatcher.parse(data, subject);
    if (!parsed.ok) return undefined;
    return this.hosts(parsed.target.agentId) ? undefined : parsed.target.agentId;
  }
}

/** The agent ids an OpenClaw config hosts (the host's own list: configured agents, else the default one). */
export function hostedAgentIds(config: unknown): string[] {
  return listAgentIds(config as Parameters<typeof listAgentIds>[0]);
}
