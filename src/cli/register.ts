import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { registerAudit } from "./commands/audit.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerEvents } from "./commands/events.ts";
import { registerImportConfig } from "./commands/import-config.ts";
import { registerMigrate } from "./commands/migrate.ts";
import { registerPermissions } from "./commands/permissions.ts";
import { registerSend } from "./commands/send.ts";
import { registerServer } from "./commands/server.ts";
import { registerSetup } from "./commands/setup.ts";
import { registerStatusCommand } from "./commands/status.ts";
import { registerUninstall } from "./commands/uninstall.ts";
import { NatsCli, PROCESS_IO, type CliCommand, type CliIo, type HostCliContext } from "./context.ts";

/** The root command, also listed in the manifest's `cliCommands` so root help needs no plugin code. */
export const CLI_DESCRIPTOR = { name: "nats", description: "NATS for OpenClaw agents: status, checks, setup, a local server, send, events", hasSubcommands: true };

/**
 * One entry per subcommand module; each adds its commands to `openclaw nats`. A module may be async
 * (to import host CLI helpers lazily, so the gateway never loads them).
 */
const COMMANDS: Array<(nats: CliCommand, cli: NatsCli) => void | Promise<void>> = [registerStatusCommand, registerDoctor, registerSetup, registerServer, registerSend, registerEvents, registerMigrate, registerPermissions, registerImportConfig, registerUninstall, registerAudit];

/** `io` is the process's own streams in the CLI; tests pass theirs to run the same commands in-process. */
export async function registerNatsCommands(host: HostCliContext, io: CliIo = PROCESS_IO): Promise<void> {
  const nats = host.program.command(CLI_DESCRIPTOR.name).description(CLI_DESCRIPTOR.description);
  const cli = new NatsCli(host, io);
  for (const register of COMMANDS) await register(nats, cli);
}

/** `openclaw nats …`, registered in every mode (it must work when the plugin config is invalid or off). */
export function registerCli(api: Pick<OpenClawPluginApi, "registerCli">): void {
  api.registerCli((host) => registerNatsCommands(host), { descriptors: [CLI_DESCRIPTOR] });
}
