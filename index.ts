import { definePluginEntry } from "openclaw/plugin-sdk/plugin-entry";
import { NatsLink } from "./src/connection/link.ts";
import { loadConfig } from "./src/plugin/load-config.ts";
import { registerNatsTool } from "./src/plugin/register-tool.ts";
import { WakeService } from "./src/plugin/wake-service.ts";

export default definePluginEntry({
  id: "nats",
  name: "NATS",
  description: "Agents on NATS: wake from subjects, the nats tool, a never-lose event store in JetStream, relay.",
  register(api) {
    const cfg = loadConfig(api.pluginConfig, api.logger);
    if (!cfg) return;
    const link = new NatsLink(
      { url: cfg.url, credentials: cfg.credentials, tls: cfg.tls, reconnect: cfg.reconnect, name: `openclaw-nats${cfg.agentName ? `:${cfg.agentName}` : ""}` },
      api.logger,
    );
    const wake = new WakeService(cfg, api.runtime.system, api.logger);
    registerNatsTool(api, cfg, link);

    api.registerService({
      id: "nats",
      start: () => {
        wake.attach(link);
        void link.start();
      },
      stop: async () => {
        await wake.stop();
        await link.stop();
      },
    });
  },
});
