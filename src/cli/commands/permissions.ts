import { writeFileSync } from "node:fs";
import { permissionsConfig, permissionsPlan } from "../../isolation/permissions.ts";
import { CliError, type CliCommand, type NatsCli, type OutputFlags } from "../context.ts";

interface PermissionsFlags extends OutputFlags {
  account: string;
  out?: string;
}

/**
 * `openclaw nats permissions`: the least-privilege nats-server accounts for the configured per-agent
 * streams (`events.agents.<id>`), to paste into the server's config. Prints no secret; exits 1 when an
 * agent cannot be isolated as configured (the reason is in the output and on stderr).
 */
export function registerPermissions(nats: CliCommand, cli: NatsCli): void {
  nats
    .command("permissions")
    .description("Print the least-privilege nats-server accounts/users for the per-agent event streams (events.agents.<id>)")
    .option("--account <name>", "the account name in the printed config", "OPENCLAW")
    .option("--out <file>", "write the config to this file (nothing but the config: safe to include from nats-server.conf)")
    .option("--json", "the plan as JSON (users, subjects, problems) instead of the config text")
    .action(
      cli.action(async (flags: PermissionsFlags) => {
        if (!/^[A-Za-z0-9_-]+$/.test(flags.account)) throw new CliError(`--account "${flags.account}" must be letters, digits, _ or -`);
        const plan = permissionsPlan(cli.pluginConfig(), flags.account);
        const text = permissionsConfig(plan);
        if (flags.out) {
          // Mode 0600 is not needed (no secret in it), but a config file should not be world-writable.
          writeFileSync(flags.out, text, { mode: 0o644 });
          cli.print(flags, `wrote ${flags.out} (${plan.agents.length} agent user(s))`, { ok: plan.problems.length === 0, out: flags.out, ...plan });
        } else cli.print(flags, text.trimEnd(), { ok: plan.problems.length === 0, ...plan });
        if (plan.agents.length === 0 && !flags.json) cli.err("note: no agent has its own credentials (events.agents.<id>.credentials), so only the gateway's user is printed");
        for (const p of plan.problems) if (!flags.json) cli.err(`error: not isolated: ${p}`);
        if (plan.problems.length > 0) cli.fail(1);
      }),
    );
}
