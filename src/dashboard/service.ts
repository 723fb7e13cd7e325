import type { AlertService } from "../alertmanager/service.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import type { EventStore } from "../events/store.ts";
import type { Logger } from "../shared/logger.ts";
import type { WakeDispatcher } from "../wake/dispatcher.ts";
import { DashboardCollector } from "./collector.ts";
import { EventFeed } from "./feed.ts";
import { PageTokens } from "./page-token.ts";

/** The dashboard's process-wide part: the collector (and its live DLQ listener), the event feed, the page tokens. */
export class DashboardService {
  readonly collector: DashboardCollector;
  readonly feed: EventFeed;
  readonly tokens = new PageTokens();

  constructor(cfg: NatsPluginConfig, deps: { link: NatsLink; dispatcher: WakeDispatcher; events: EventStore | undefined; alerts: AlertService | undefined; logger: Logger }) {
    this.collector = new DashboardCollector({ cfg, link: deps.link, dispatcher: deps.dispatcher, events: deps.events, alerts: deps.alerts });
    const prefixes = [cfg.events.subjectPrefix, ...Object.values(cfg.events.agents).flatMap((a) => (a.subjectPrefix && !a.url ? [a.subjectPrefix] : []))];
    this.feed = new EventFeed(deps.link, cfg.events.enabled ? prefixes : [], deps.logger);
  }

  start(): void {
    this.collector.start();
  }

  stop(): void {
    this.feed.stop();
    this.collector.stop();
  }
}
