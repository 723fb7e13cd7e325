import { join } from "node:path";

/**
 * `<OpenClaw state dir>/plugins/nats`: everything this plugin keeps on disk (the event spool, the
 * local nats-server's config, data and pid file). The gateway and the CLI both derive it from here.
 */
export function pluginStateDir(stateRoot: string): string {
  return join(stateRoot, "plugins", "nats");
}
