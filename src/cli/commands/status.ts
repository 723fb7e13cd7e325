import type { GatewayRpcOpts } from "openclaw/plugin-sdk/gateway-runtime";
import { formatStatus, type PluginStatus } from "../../status/status.ts";
import type { CliCommand, NatsCli, OutputFlags } from "../context.ts";

type StatusFlags = GatewayRpcOpts & OutputFlags;

/**
 * `openclaw nats status`: what /eventstatus shows, asked from the running gateway (`nats.status`),
 * since the connection, counters and spool live in that process.
 */
export async function registerStatusCommand(nats: CliCommand, cli: NatsCli): Promise<void> {
  const { addGatewayClientOptions } = await import("openclaw/plugin-sdk/gateway-runtime");
  const cmd = nats.command("status").description("Connection, wake counters, event store and spool, from the running gateway").option("--json", "the nats.status JSON");
  // The host's standard gateway flags (--url, --token, --timeout, …), as `openclaw gateway call` has them.
  addGatewayClientOptions(cmd, { timeoutMs: 10_000 });
  cmd.action(
    cli.action(async (flags: StatusFlags) => {
      const status = (await cli.callGateway("nats.status", flags)) as unknown as PluginStatus;
      cli.print(flags, formatStatus(status, { markdown: false }), status);
      if (!status.connected) {
        cli.err("next: NATS is not connected; `openclaw nats doctor` tells why");
        cli.fail(1);
      }
    }),
  );
}
