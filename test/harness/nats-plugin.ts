import { stagePlugin } from "../../scripts/stage-plugin.ts";
import type { GatewayPlugin } from "./gateway.ts";

let staged: string | undefined;

/** This plugin, compiled and staged once per test process, with `config` as plugins.entries.nats.config. */
export function natsPlugin(config: object): GatewayPlugin {
  staged ??= stagePlugin();
  return { path: staged, id: "nats", config };
}
