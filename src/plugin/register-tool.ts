import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import { NatsToolParameters, runNatsTool, toolSender, type NatsToolParams } from "../tool/nats-tool.ts";

export function registerNatsTool(api: OpenClawPluginApi, cfg: NatsPluginConfig, link: NatsLink): void {
  api.registerTool(
    (ctx) => ({
      name: "nats",
      label: "NATS",
      description:
        "Publish a message on NATS or send a request and wait for the reply. Use `to: <agentId>` to message another agent (subject agent.<id>.inbox); priority urgent wakes it now.",
      parameters: NatsToolParameters,
      execute: (_toolCallId: string, params: NatsToolParams) => runNatsTool(link.current, cfg, toolSender(cfg, ctx.agentId), params),
    }),
    { name: "nats" },
  );
}
