import { join } from "node:path";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { runStopSteps, type StopStep } from "../shared/stop-steps.ts";
import { deadLetters, ensureDeadLetterStream, refusedReplies } from "./dead-letter.ts";
import { WakeDispatcher } from "./dispatcher.ts";
import { DurableInbox } from "./durable-inbox.ts";
import { Hosting } from "./hosting.ts";
import type { SystemRuntime } from "./inject.ts";
import { subscribeWake } from "./subscriber.ts";

/**
 * Inbound side: core subscriptions, or the durable JetStream inbox when `inbox.durable` is on (plus the
 * core broadcast subscriptions either way). attach → stop → attach again gives a working service: one
 * connect handler at a time, subscriptions made once per connection, nothing left behind by stop.
 */
export class WakeService {
  readonly dispatcher: WakeDispatcher;
  readonly hosting: Hosting;
  private readonly cfg: NatsPluginConfig;
  private readonly log: Logger;
  private inbox: DurableInbox | undefined;
  private subs: Subscription[] = [];
  private subscribedOn: NatsConnection | undefined;
  private dlqOn: NatsConnection | undefined;
  private detach: (() => void) | undefined;
  private active = false;
  /** The durable inbox's record of committed messages (HandedOffJournal); none without a state dir. */
  private readonly journalPath: string | undefined;
  private quiesced = false;

  constructor(cfg: NatsPluginConfig, system: SystemRuntime, log: Logger, hosting: Hosting = new Hosting(), stateDir?: string) {
    this.cfg = cfg;
    this.journalPath = stateDir ? join(stateDir, "inbox", `${cfg.inbox.streamName}.handed-off`) : undefined;
    this.log = log;
    this.hosting = hosting;
    this.dispatcher = new WakeDispatcher(cfg, system, log);
  }

  attach(link: NatsLink): void {
    this.detach?.();
    if (this.quiesced) this.inbox = undefined; // handed back on a signal, never stopped: start a fresh one
    this.quiesced = false;
    this.active = true;
    this.dispatcher.handoff.resume();
    this.hosting.refresh(this.log);
    this.detach = link.onConnect((nc) => this.connected(nc));
  }

  private async connected(nc: NatsConnection): Promise<void> {
    if (!this.active) return;
    if (this.dlqOn !== nc) {
      this.dlqOn = nc;
      await ensureDeadLetterStream(nc, this.cfg, this.log);
    }
    if (this.subscribedOn !== nc) {
      // Reconnects keep the connection object: nats.js restores the subscriptions itself.
      for (const s of this.subs) s.unsubscribe();
      this.subscribedOn = nc;
      this.subs = subscribeWake(nc, this.cfg, this.dispatcher, this.hosting, this.log, { broadcastOnly: this.cfg.inbox.durable });
    }
    if (this.cfg.inbox.durable) {
      this.inbox ??= new DurableInbox(this.cfg, this.dispatcher, this.log, this.hosting, this.journalPath);
      try {
        await this.inbox.start(nc);
      } catch (err) {
        this.log.error(`nats: durable inbox unavailable: ${errorMessage(err)}`);
      }
    }
  }

  /** What status shows about the inbound side beyond the dispatcher's counts. */
  status(): { hostedAgents: readonly string[] | "any"; refusedReplies: number; deadLetters: { published: number; failed: number }; inbox?: DurableInbox["counts"] } {
    return { hostedAgents: this.hosting.agents ?? "any", refusedReplies: refusedReplies.count, deadLetters: { ...deadLetters }, ...(this.inbox ? { inbox: { ...this.inbox.counts } } : {}) };
  }

  /**
   * The process is going down (SIGTERM/SIGINT): the host now drains active work for up to minutes before it
   * stops services, and refuses new turns meanwhile. Do what the service stop would, at once: no retried turn
   * starts, no hand-off waits, the inbox stops pulling and naks every message the host does not hold yet
   * (JetStream redelivers it after the restart), so nothing of ours keeps the drain waiting.
   */
  async quiesce(): Promise<void> {
    if (!this.active || this.quiesced) return;
    this.quiesced = true;
    await runStopSteps(
      "wake service hand-back",
      [
        ["hand-offs", () => this.dispatcher.handoff.stop()],
        ["durable inbox", () => this.inbox?.stop()],
      ],
      this.log,
    );
  }

  async stop(): Promise<void> {
    this.active = false;
    const subs = this.subs;
    const inbox = this.inbox;
    const detach = this.detach;
    this.subs = [];
    this.subscribedOn = undefined;
    this.dlqOn = undefined;
    this.inbox = undefined;
    this.detach = undefined;
    // Every step runs even when one throws (a closed connection's unsubscribe, say).
    await runStopSteps(
      "wake service stop",
      [
        // First: wake turns being retried and hand-offs waiting for capacity end now (a stop must not wait for them).
        ["hand-offs", () => this.dispatcher.handoff.stop()],
        ["connect handler", () => detach?.()],
        ...subs.map((s): StopStep => [`subscription ${s.getSubject()}`, () => s.unsubscribe()]),
        ["durable inbox", () => inbox?.stop()],
      ],
      this.log,
    );
  }
}
