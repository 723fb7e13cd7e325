import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { registerSend } from "./commands/send.ts";
import { NatsCli, type CliCommand, type HostCliContext } from "./context.ts";

/** The root command, also listed in the manifest's `cliCommands` so root help needs no plugin code. */
export const CLI_DESCRIPTOR = { name: "nats", description: "NATS for OpenClaw agents: status, checks, setup, a local server, send, events", hasSubcommands: true };

/** One entry per subcommand module; each adds its commands to `openclaw nats`. */
const COMMANDS: Array<(nats: CliCommand, cli: NatsCli) => void> = [registerSend];

export function registerNatsCommands(host: HostCliContext): void {
  const nats = host.program.command(CLI_DESCRIPTOR.name).description(CLI_DESCRIPTOR.description);
  const cli = new NatsCli(host);
  for (const register of COMMANDS) register(nats, cli);
}

/** `openclaw nats …`, registered in every mode (it must work when the plugin config is invalid or off). */
export function registerCli(api: Pick<OpenClawPluginApi, "registerCli">): void {
  api.registerCli((host) => registerNatsCommands(host), { descriptors: [CLI_DESCRIPTOR] });
}
