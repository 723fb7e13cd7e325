import type { ParsedWake, WakeDispatcher } from "./dispatcher.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";

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

  /**
   * Read the hosted agents again (at service start; a config reload starts the service again). A host
   * config that cannot be read fails closed: this gateway hosts nothing (one error line), rather than
   * taking every agent's messages — which would answer for agents another gateway hosts.
   */
  refresh(log?: Logger): readonly string[] | undefined {
    try {
      this.agents = this.read();
    } catch (err) {
      this.agents = [];
      log?.error(`nats: cannot read the host config to learn the hosted agents (${errorMessage(err)}); hosting no agent until the service starts again`);
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
    return this.check(dispatcher, data, subject).away;
  }

  /** notHostedTarget, plus the parse it needed (handed to dispatch, so a message is parsed once). */
  check(dispatcher: Pick<WakeDispatcher, "parse">, data: Uint8Array, subject: string): { away?: string; parsed?: ParsedWake } {
    if (this.agents === undefined) return {};
    const parsed = dispatcher.parse(data, subject);
    if (!parsed.ok) return { parsed };
    return this.hosts(parsed.target.agentId) ? { parsed } : { away: parsed.target.agentId, parsed };
  }
}
