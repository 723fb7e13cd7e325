import { nuid, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { NatsLink } from "../connection/link.ts";
import { TurnSlots } from "../relay/limits.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { AUTH_FAILURE_LOG_INTERVAL_MS, RateLimitedLog } from "../shared/rate-limited-log.ts";
import { Reservoir } from "../shared/reservoir.ts";
import type { ProtocolTrust } from "./caller.ts";
import { errorFrame, formatBytes } from "./chunks.ts";
import { encodeHeartbeat, heartbeatPayload } from "./heartbeat.ts";
import { MicroService, serveControlPlane } from "./micro.ts";
import { handlePrompt, PROMPT_OUTCOMES, type PromptEndpoint, type PromptOutcome } from "./prompt.ts";
import type { ReplyStream } from "./reply.ts";
import { AGENT_KIND, agentSubject, PROTOCOL_VERSION, QUEUE_GROUP, SERVICE_NAME, type AgentAddress } from "./subjects.ts";
import { replyProblem } from "../shared/reply-safety.ts";
import type { StreamingTurns } from "./turns.ts";

export interface AgentProtocolSettings {
  owner: string;
  heartbeatIntervalS: number;
  keepAliveMs: number;
  /** Configured request limit; the server's max_payload when absent (and never above it). */
  maxPayloadBytes: number | undefined;
  minSenderTrust: "any" | "signed";
  /** The relay's limits: relay.timeoutMs, relay.maxTimeoutMs, relay.maxConcurrent, relay.maxConcurrentPerSession. */
  timeoutMs: number;
  maxTimeoutMs: number;
  maxConcurrent: number;
  maxConcurrentPerSession: number;
  /** Semver of this plugin (`version` of the service, §3.1). */
  version: string;
}

export interface AgentProtocolDeps {
  turns: StreamingTurns;
  trust: ProtocolTrust;
  log: Logger;
  /** The agents to register, resolved when the service starts on a connection. */
  agents: () => AgentAddress[];
}

interface Hosted {
  address: AgentAddress;
  service: MicroService;
  endpoint: PromptEndpoint;
}

export interface AgentProtocolStatus {
  agents: Array<{ agentId: string; prompt: string; instanceId: string }>;
  activeTurns: number;
  /** Prompt arrival → ack handed to the socket, µs. */
  ackMicros: ReturnType<Reservoir["summary"]>;
}

/**
 * Every hosted agent as an agent-protocol service (spec §3): `prompt` and `status` endpoints in queue
 * group `agents`, the `$SRV` control plane, and heartbeats. Runs on the plugin's shared connection:
 * subscriptions survive reconnects by themselves; a new connection object (the link starting over)
 * gets everything again, with the same instance ids.
 */
export class AgentProtocolService {
  private readonly settings: AgentProtocolSettings;
  private readonly deps: AgentProtocolDeps;
  private readonly slots: TurnSlots;
  private readonly open = new Set<ReplyStream>();
  private readonly ackMicros = new Reservoir(1024);
  /** Prompts by how they ended, and arrival → end of each (metrics). */
  readonly outcomes: Record<PromptOutcome, number> = Object.fromEntries(PROMPT_OUTCOMES.map((k) => [k, 0])) as Record<PromptOutcome, number>;
  readonly promptMicros = new Reservoir(256);
  private readonly authFailures: RateLimitedLog;
  private hosted: Hosted[] = [];
  private subs: Subscription[] = [];
  private nc: NatsConnection | undefined;
  private beat: NodeJS.Timeout | undefined;
  private detach: (() => void) | undefined;
  private stopped = false;

  constructor(settings: AgentProtocolSettings, deps: AgentProtocolDeps) {
    this.settings = settings;
    this.deps = deps;
    this.slots = new TurnSlots(settings.maxConcurrent, settings.maxConcurrentPerSession);
    this.authFailures = new RateLimitedLog(deps.log, "nats: agent protocol: unauthenticated prompts", { intervalMs: AUTH_FAILURE_LOG_INTERVAL_MS });
  }

  attach(link: NatsLink): void {
    this.detach?.();
    this.stopped = false; // a service stop → start attaches again
    this.detach = link.onConnect((nc) => this.start(nc));
  }

  status(): AgentProtocolStatus {
    return {
      agents: this.hosted.map((h) => ({ agentId: h.address.agentId, prompt: agentSubject("prompt", h.address), instanceId: h.service.def.id })),
      activeTurns: this.slots.active,
      ackMicros: this.ackMicros.summary(),
    };
  }

  /** Register on `nc` (again, if it is a new connection). Resolves once the first heartbeats are out. */
  async start(nc: NatsConnection): Promise<void> {
    if (this.stopped || this.nc === nc) return;
    this.unsubscribe();
    this.nc = nc;
    const serverMax = nc.info?.max_payload ?? 1024 * 1024;
    const maxPayload = Math.min(this.settings.maxPayloadBytes ?? serverMax, serverMax);
    if (this.hosted.length === 0) this.hosted = this.deps.agents().map((address) => this.host(address, maxPayload));
    if (this.hosted.length === 0) this.deps.log.warn("nats: agent protocol: enabled, but there is no agent to register (see the lines above, or agentProtocol.agents)");
    for (const h of this.hosted) this.subscribeEndpoints(nc, h);
    this.subs.push(...serveControlPlane(nc, SERVICE_NAME, () => this.hosted.map((h) => h.service), this.deps.log));
    // Registered at the server before anyone hears of us (§8.2: heartbeats only after registration).
    await nc.flush();
    for (const h of this.hosted) {
      this.deps.log.info(`nats: agent protocol: agent ${h.address.agentId} registered as ${agentSubject("prompt", h.address)} (instance ${h.service.def.id}, max_payload ${formatBytes(maxPayload)})`);
    }
    this.heartbeat();
    if (this.beat) clearInterval(this.beat);
    this.beat = setInterval(() => this.heartbeat(), this.settings.heartbeatIntervalS * 1000);
    this.beat.unref();
  }

  /** Stop answering; streams still open get a 500 and their terminator (nothing just goes quiet). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.detach?.();
    if (this.beat) clearInterval(this.beat);
    this.beat = undefined;
    for (const out of this.open) {
      out.error(500, "the gateway is stopping; the turn may still finish in its session");
      out.end();
    }
    this.open.clear();
    this.unsubscribe();
    await this.nc?.flush().catch(() => {});
    this.nc = undefined;
  }

  private host(address: AgentAddress, maxPayload: number): Hosted {
    const service = new MicroService({
      name: SERVICE_NAME,
      id: nuid.next(),
      version: this.settings.version,
      description: `OpenClaw agent ${address.agentId}`,
      metadata: { agent: AGENT_KIND, owner: address.owner, protocol_version: PROTOCOL_VERSION, openclaw_agent_id: address.agentId },
      endpoints: [
        {
          name: "prompt",
          subject: agentSubject("prompt", address),
          queue_group: QUEUE_GROUP,
          metadata: {
            max_payload: formatBytes(maxPayload),
            attachments_ok: "false",
            min_sender_trust: this.settings.minSenderTrust,
          },
        },
        { name: "status", subject: agentSubject("status", address), queue_group: QUEUE_GROUP },
      ],
    });
    const endpoint: PromptEndpoint = {
      address,
      service,
      turns: this.deps.turns,
      trust: this.deps.trust,
      minSenderTrust: this.settings.minSenderTrust,
      slots: this.slots,
      timeoutMs: this.settings.timeoutMs,
      maxTimeoutMs: this.settings.maxTimeoutMs,
      keepAliveMs: this.settings.keepAliveMs,
      maxPayloadBytes: maxPayload,
      open: this.open,
      ackMicros: this.ackMicros,
      onOutcome: (outcome, micros) => {
        this.outcomes[outcome]++;
        this.promptMicros.add(micros);
      },
      authFailures: this.authFailures,
      log: this.deps.log,
    };
    return { address, service, endpoint };
  }

  private subscribeEndpoints(nc: NatsConnection, h: Hosted): void {
    const log = this.deps.log;
    const prompt = agentSubject("prompt", h.address);
    const status = agentSubject("status", h.address);
    this.subs.push(
      nc.subscribe(prompt, {
        queue: QUEUE_GROUP,
        callback: (err, msg) => (err ? log.warn(`nats: agent protocol: ${prompt}: ${errorMessage(err)}`) : void handlePrompt(h.endpoint, nc, msg, performance.now())),
      }),
      nc.subscribe(status, {
        queue: QUEUE_GROUP,
        callback: (err, msg) => (err ? log.warn(`nats: agent protocol: ${status}: ${errorMessage(err)}`) : this.answerStatus(h, msg)),
      }),
    );
  }

  /** §8.7: the heartbeat payload, fresh; the body is ignored and identity never refuses a status probe (§13.9). */
  private answerStatus(h: Hosted, msg: Msg): void {
    const done = h.service.begin("status");
    if (!msg.reply) return done("no reply subject");
    const unsafe = replyProblem(msg.reply);
    if (unsafe) {
      this.deps.log.warn(`nats: agent protocol: status probe for ${h.address.agentId} ignored: its reply subject ${msg.reply} is ${unsafe}`);
      return done(`reply subject is ${unsafe}`);
    }
    // §13.9: a status probe is classified for the log, never refused on identity grounds.
    const sender = this.deps.trust.verify({ subject: msg.subject, data: msg.data, headers: msg.headers }, "live");
    this.deps.log.debug?.(`nats: agent protocol: status probe for ${h.address.agentId}, sender ${sender.trust === "rejected" ? `rejected (${sender.reason})` : sender.trust === "absent" ? "absent" : `${sender.trust} ${sender.user}`}`);
    try {
      msg.respond(encodeHeartbeat(heartbeatPayload(h.address.owner, h.service.def.id, this.settings.heartbeatIntervalS)));
      done();
    } catch (err) {
      const frame = errorFrame(500, `status failed: ${errorMessage(err)}`);
      try {
        msg.respond(frame.data, { headers: frame.headers });
      } catch {
        // the caller or the connection is gone; nothing left to tell
      }
      done(errorMessage(err));
    }
  }

  private heartbeat(): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    for (const h of this.hosted) {
      try {
        nc.publish(agentSubject("hb", h.address), encodeHeartbeat(heartbeatPayload(h.address.owner, h.service.def.id, this.settings.heartbeatIntervalS)));
      } catch (err) {
        this.deps.log.warn(`nats: agent protocol: heartbeat for ${h.address.agentId} failed: ${errorMessage(err)}`);
      }
    }
  }

  private unsubscribe(): void {
    for (const s of this.subs) {
      try {
        s.unsubscribe();
      } catch {
        // a closed connection already dropped it
      }
    }
    this.subs = [];
  }
}
