import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { replyProblem } from "../shared/reply-safety.ts";

/**
 * The NATS micro-service control plane (ADR-32): `$SRV.PING|INFO|STATS`, `….<name>` and `….<name>.<id>`,
 * answered for every service instance this gateway hosts (one per agent). One set of subscriptions
 * serves all instances: a request to `$SRV.INFO.agents` gets one reply per hosted agent, as it would
 * from separate services.
 *
 * Written against the ADR rather than with `@nats-io/services`: the only published version is a
 * 3.0.0 prerelease that pins its own, older nats-core beside ours, counts processing time only for the
 * synchronous part of a handler (a streamed prompt runs for seconds after it returns) and counts only
 * thrown errors, and leaves `last_error` out of STATS where the ADR's schema requires it.
 */

export interface EndpointInfo {
  name: string;
  subject: string;
  queue_group: string;
  metadata?: Record<string, string>;
}

export interface ServiceDefinition {
  name: string;
  id: string;
  version: string;
  description: string;
  metadata: Record<string, string>;
  endpoints: EndpointInfo[];
}

class EndpointStats {
  numRequests = 0;
  numErrors = 0;
  lastError = "";
  processingNanos = 0n;

  toJSON(info: EndpointInfo): Record<string, unknown> {
    const avg = this.numRequests === 0 ? 0n : this.processingNanos / BigInt(this.numRequests);
    return {
      name: info.name,
      subject: info.subject,
      queue_group: info.queue_group,
      num_requests: this.numRequests,
      num_errors: this.numErrors,
      last_error: this.lastError,
      processing_time: Number(this.processingNanos),
      average_processing_time: Number(avg),
    };
  }
}

/** One hosted service instance: its fixed identity and its endpoints' counters. */
export class MicroService {
  readonly def: ServiceDefinition;
  readonly started = new Date().toISOString();
  private readonly stats = new Map<string, EndpointStats>();
  private readonly pingJson: string;
  private readonly infoJson: string;

  constructor(def: ServiceDefinition) {
    this.def = def;
    for (const ep of def.endpoints) this.stats.set(ep.name, new EndpointStats());
    const identity = { name: def.name, id: def.id, version: def.version, metadata: def.metadata };
    this.pingJson = JSON.stringify({ type: "io.nats.micro.v1.ping_response", ...identity });
    this.infoJson = JSON.stringify({ type: "io.nats.micro.v1.info_response", ...identity, description: def.description, endpoints: def.endpoints });
  }

  /** A request reached `endpoint`; call the returned function once it is fully answered. */
  begin(endpoint: string): (error?: string) => void {
    const s = this.stats.get(endpoint);
    if (!s) throw new Error(`unknown endpoint ${endpoint}`);
    s.numRequests++;
    const t0 = process.hrtime.bigint();
    let done = false;
    return (error) => {
      if (done) return;
      done = true;
      s.processingNanos += process.hrtime.bigint() - t0;
      if (error !== undefined) {
        s.numErrors++;
        s.lastError = error;
      }
    };
  }

  answer(verb: string): string | undefined {
    if (verb === "PING") return this.pingJson;
    if (verb === "INFO") return this.infoJson;
    if (verb !== "STATS") return undefined;
    return JSON.stringify({
      type: "io.nats.micro.v1.stats_response",
      name: this.def.name,
      id: this.def.id,
      version: this.def.version,
      metadata: this.def.metadata,
      started: this.started,
      endpoints: this.def.endpoints.map((ep) => (this.stats.get(ep.name) as EndpointStats).toJSON(ep)),
    });
  }
}

const VERBS = ["PING", "INFO", "STATS"] as const;

/**
 * Subscribes the control subjects for services named `name` (no queue group: every instance must
 * answer discovery) and answers for whichever instances `current()` returns at request time.
 */
export function serveControlPlane(nc: NatsConnection, name: string, current: () => MicroService[], log: Logger): Subscription[] {
  const subs: Subscription[] = [];
  const handle = (msg: Msg): void => {
    if (!msg.reply) return;
    const unsafe = replyProblem(msg.reply);
    if (unsafe) {
      log.warn(`nats: agent protocol: ${msg.subject} ignored: its reply subject ${msg.reply} is ${unsafe}`);
      return;
    }
    const tokens = msg.subject.split(".");
    const verb = tokens[1];
    if (tokens.length >= 3 && tokens[2] !== name) return;
    const id = tokens[3];
    for (const svc of current()) {
      if (id !== undefined && svc.def.id !== id) continue;
      const body = svc.answer(verb);
      if (body === undefined) continue;
      try {
        msg.respond(body);
      } catch (err) {
        log.warn(`nats: agent protocol: cannot answer ${msg.subject}: ${errorMessage(err)}`);
      }
    }
  };
  for (const verb of VERBS) {
    for (const subject of [`$SRV.${verb}`, `$SRV.${verb}.${name}`, `$SRV.${verb}.${name}.*`]) {
      subs.push(nc.subscribe(subject, { callback: (err, msg) => (err ? log.warn(`nats: agent protocol: ${subject}: ${errorMessage(err)}`) : handle(msg)) }));
    }
  }
  return subs;
}
