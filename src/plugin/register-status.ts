import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { errorMessage } from "../shared/logger.ts";
import { collectStatus, formatStatus, type StatusSources } from "../status/status.ts";

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
