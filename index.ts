import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { NatsLink } from "./src/connection/link.ts";
import type { ConnectionSettings } from "./src/connection/options.ts";
import { registerEventHooks } from "./src/events/hooks.ts";
import { EventStore } from "./src/events/store.ts";
import { loadConfig } from "./src/plugin/load-config.ts";
import { registerStatus } from "./src/plugin/register-status.ts";
import { registerNatsTool } from "./src/plugin/register-tool.ts";
import { WakeService } from "./src/plugin/wake-service.ts";

export default definePluginEntry({
  id: "nats",
  name: "NATS",
  description: "Agents on NATS: wake from subjects, the nats tool, a never-lose event store in JetStream, relay.",
  register(api) {
    const cfg = loadConfig(api.pluginConfig, api.logger);
    if (!cfg) return;
    const settings: ConnectionSettings = { url: cfg.url, credentials: cfg.credentials, tls: cfg.tls, reconnect: cfg.reconnect, name: `openclaw-nats${cfg.agentName ? `:${cfg.agentName}` : ""}` };
    const link = new NatsLink(settings, api.logger);
    const stateDir = join(api.runtime.state.resolveStateDir(), "plugins", "nats");

    const wake = new WakeService(cfg, api.runtime.system, api.logger);
    registerNatsTool(api, cfg, link);
    const events = cfg.events.enabled ? new EventStore({ config: cfg.events, stateDir, link, logger: api.logger, connection: settings }) : undefined;
    if (events) registerEventHooks(api, cfg.events, events);
    registerStatus(api, {
      url: cfg.url,
      link: () => link.status(),
      wake: () => ({ subjects: cfg.subjects, durableInbox: cfg.inbox.durable, ...wake.dispatcher.counts }),
      events: events && (() => events.status()),
    });

    api.registerService({
      id: "nats",
      start: async () => {
        mkdirSync(stateDir, { recursive: true });
        wake.attach(link);
        void link.start();
        await events?.start();
      },
      stop: async () => {
        await wake.stop();
        await events?.flush(2000);
        await events?.stop();
        await link.stop();
      },
    });
  },
});
