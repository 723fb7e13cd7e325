import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { errorMessage } from "../shared/logger.ts";
import { collectStatus, formatStatus, type StatusSources } from "../status/status.ts";
import type { NatsRuntime } from "./shared-runtime.ts";

/** `/eventstatus` for people, `nats.status` (alias `eventstore.status`, seed 002) for programs. */
export function registerStatus(api: OpenClawPluginApi, sources: StatusSources): void {
  api.registerCommand({
    name: "eventstatus",
    description: "NATS connection, wake and event store status",
    handler: async () => ({ text: formatStatus(await collectStatus(sources)) }),
  });
  for (const method of ["nats.status", "eventstore.status"]) {
    api.registerGatewayMethod(
      method,
      async ({ respond }) => {
        try {
          respond(true, await collectStatus(sources));
        } catch (err) {
          respond(false, undefined, { code: "UNAVAILABLE", message: errorMessage(err) });
        }
      },
      { scope: "operator.read" },
    );
  }
}

/** The runtime's parts as status sources: every figure read at each `/eventstatus` or `nats.status` call. */
export function runtimeStatusSources(rt: NatsRuntime): StatusSources {
  const { cfg, link, wake, events, agentProtocol, trust } = rt;
  const d = wake.dispatcher;
  return {
    url: cfg.url,
    link: () => link.status(),
    wake: () => ({
      subjects: cfg.subjects,
      durableInbox: cfg.inbox.durable,
      ...d.counts,
      ...wake.status(),
      lifecycle: rt.lifecycle(),
      handoff: d.handoff.counts,
      turns: d.handoff.waker.counts,
      injectMicros: d.injectMicros.summary(),
      hostMicros: d.hostMicros.summary(),
    }),
    events: events && (() => events.status()),
    agentProtocol: agentProtocol && (() => agentProtocol.status()),
    trust: () => trust.status(),
  };
}
