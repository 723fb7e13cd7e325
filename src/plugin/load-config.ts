import type { NatsPluginConfig } from "../config/schema.ts";
import { ConfigError, parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";

/** Validate once at registration; on a bad config log one line naming the fields and keep the plugin idle. */
export function loadConfig(raw: unknown, log: Logger): NatsPluginConfig | undefined {
  try {
    const cfg = parseConfig(raw);
    if (!cfg.enabled) {
      log.info("nats: disabled by config (enabled: false)");
      return undefined;
    }
    return cfg;
  } catch (err) {
    if (err instanceof ConfigError) log.error(`nats: ${err.message} — plugin stays idle until the config is fixed`);
    else throw err;
    return undefined;
  }
}
