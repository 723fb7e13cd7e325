import { formatChecks, skip, type CheckResult } from "../doctor/check.ts";
import { configCheck, conversationAccessCheck, gatewayAndSpoolChecks, toolSearchCheck } from "../doctor/host-checks.ts";
import { hostedAgentIds } from "../../shared/hosted-agents.ts";
import { replicationCheck } from "../doctor/replication-check.ts";
import { clockCheck, connectChecks, jetstreamCheck, permissionChecks, streamChecks } from "../doctor/nats-checks.ts";
import { CliError, gatewayRpcOpts, withConnectionFlags, withGatewayFlags, type CliCommand, type ConnectionFlags, type GatewayFlags, type NatsCli, type OutputFlags } from "../context.ts";

type DoctorFlags = ConnectionFlags & GatewayFlags & OutputFlags & { maxSpoolAge: string };

/**
 * `openclaw nats doctor`: every check with a plain-language fix. Works without a running gateway
 * (then the spool is read from disk); exits 1 when a check fails, 0 with warnings only.
 */
export function registerDoctor(nats: CliCommand, cli: NatsCli): void {
  const cmd = nats.command("doctor").description("Check NATS, credentials, JetStream, streams, permissions, host settings, spool and clock; each finding says what to do").option("--json", "machine-readable output")
    .option("--max-spool-age <seconds>", "warn when the oldest unpublished event is older than this", "60");
  withGatewayFlags(withConnectionFlags(cmd)).action(
    cli.action(async (flags: DoctorFlags) => {
      const results: CheckResult[] = [];
      const { result, cfg } = configCheck(cli);
      results.push(result);
      let header = "openclaw nats doctor";
      if (cfg) {
        const target = cli.connectionTarget(flags, "openclaw-nats-doctor", cfg);
        header += ` — ${target.safeUrl}`;
        const { nc, results: connect } = await connectChecks(cli, target);
        results.push(...connect);
        if (nc) {
          try {
            const js = await jetstreamCheck(nc, cfg);
            results.push(js.result);
            if (js.jsm) results.push(...(await streamChecks(js.jsm, cfg, hostedAgentIds(cli.host.config))), await replicationCheck(nc, js.jsm, cfg));
            results.push(...(await permissionChecks(nc, cfg)));
            results.push(js.jsm ? await clockCheck(js.jsm, nc) : skip("clock", "clock", "needs JetStream to read the server's time"));
          } finally {
            await nc.close();
          }
        } else {
          for (const [id, title] of [["jetstream", "jetstream"], ["streams", "streams"], ["permissions", "permissions"], ["clock", "clock"]]) results.push(skip(id, title, "needs a connection"));
        }
        results.push(conversationAccessCheck(cli, cfg), toolSearchCheck(cli));
        const maxAge = Number(flags.maxSpoolAge);
        if (!(maxAge >= 0)) throw new CliError(`--max-spool-age must be a number of seconds (got ${flags.maxSpoolAge})`);
        results.push(...(await gatewayAndSpoolChecks(cli, cfg, gatewayRpcOpts(flags), maxAge * 1000)));
      } else {
        results.push(toolSearchCheck(cli));
      }
      const failed = results.some((r) => r.status === "fail");
      cli.print(flags, formatChecks(results, header), { ok: !failed, checks: results });
      if (failed) cli.fail(1);
    }),
  );
}
