import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import type { Logger } from "../shared/logger.ts";
import { WakeDispatcher } from "../wake/dispatcher.ts";
import { DurableInbox } from "../wake/durable-inbox.ts";
import type { SystemRuntime } from "../wake/inject.ts";
import { subscribeWake } from "../wake/subscriber.ts";
import { errorMessage } from "../shared/logger.ts";

/** Inbound side: core subscriptions, or the durable JetStream inbox when `inbox.durable` is on. */
export class WakeService {
  readonly dispatcher: WakeDispatcher;
  private readonly cfg: NatsPluginConfig;
  private readonly log: Logger;
  private inbox: DurableInbox | undefined;
  private subs: Subscription[] = [];
  private subscribedOn: NatsConnection | undefined;

  constructor(cfg: NatsPluginConfig, system: SystemRuntime, log: Logger) {
    this.cfg = cfg;
    this.log = log;
    this.dispatcher = new WakeDispatcher(cfg, system, log);
  }

  attach(link: NatsLink): void {
    link.onConnect(async (nc) => {
      if (this.cfg.inbox.durable) {
        this.inbox ??= new DurableInbox(this.cfg, this.dispatcher, this.log);
        try {
          await this.inbox.start(nc);
        } catch (err) {
          this.log.error(`nats: durable inbox unavailable: ${errorMessage(err)}`);
        }
        return;
      }
      if (this.subscribedOn === nc) return; // reconnect: nats.js restores the subscriptions itself
      this.subscribedOn = nc;
      this.subs = subscribeWake(nc, this.cfg.subjects, this.dispatcher, this.cfg.deadLetterSubject, this.log);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    await this.inbox?.stop();
  }
}
