import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import type { Trust } from "../trust/trust.ts";
import { NatsToolParameters, runNatsTool, toolSender, type NatsToolParams } from "../tool/nats-tool.ts";
import { processTraces } from "../trace/sessions.ts";
import { processHops } from "../wake/hops.ts";

/** The tool signs what it publishes as the calling agent (Agent-Sender, this gateway's key; src/trust). */
export function registerNatsTool(api: OpenClawPluginApi, cfg: NatsPluginConfig, link: NatsLink, trust: Pick<Trust, "signedHeaders">): void {
  api.registerTool(
    (ctx) => ({
      name: "nats",
      label: "NATS",
      description:
        "Publish a message on NATS or send a request and wait for the reply. Use `to: <agentId>` to message another agent (subject agent.<id>.inbox); priority urgent wakes it now.",
      parameters: NatsToolParameters,
      execute: (_toolCallId: string, params: NatsToolParams) => {
        const from = toolSender(cfg, ctx.agentId);
        const caller = { sessionKey: ctx.sessionKey, hops: processHops().get(ctx.sessionKey), trace: processTraces().outgoing(ctx.sessionKey) };
        return runNatsTool(link.current, cfg, from, params, (subject, payload, into) => void trust.signedHeaders(subject, payload, from, into), caller);
      },
    }),
    { name: "nats" },
  );
}
