import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import JSON5 from "json5";
import type { HostCliContext } from "../../src/cli/context.ts";
import { registerNatsCommands } from "../../src/cli/register.ts";
import type { CliRun } from "./openclaw-entry.ts";

/**
 * `openclaw nats <args>` run in the test process: the plugin's own command code (src/cli) under the
 * same commander the host uses, with the OpenClaw config a gateway or home was given. Each real
 * `openclaw` process costs ~6 CPU-s of host start-up and plugin loading, so a command's behaviour
 * matrix (filters, ranges, refusals) runs here; every command shape is also run once through the
 * real CLI beside it, which is what proves the host loads and dispatches it.
 */
export async function natsCliInProcess(config: object | string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  // The host's helpers the commands use (state dir, gateway client defaults) read process.env, as in
  // the real CLI; set for the run only. Tests in a file run one after another, so nothing else reads it meanwhile.
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await run(config, args);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A gateway's `openclaw nats <args>` in-process: its config file and its CLI environment. */
export function gatewayNatsCli(gw: { configPath: string; cliEnv(): Record<string, string> }, args: string[]): Promise<CliRun> {
  return natsCliInProcess(gw.configPath, args, gw.cliEnv());
}

async function run(config: object | string, args: string[]): Promise<CliRun> {
  const cfg = (typeof config === "string" ? JSON5.parse(readFileSync(config, "utf8")) : config) as HostCliContext["config"];
  let stdout = "";
  let stderr = "";
  let code = 0;
  const program = new Command("openclaw").exitOverride().configureOutput({ writeOut: (s) => void (stdout += s), writeErr: (s) => void (stderr += s) });
  const log = (level: string) => (message: string) => void (stderr += `[${level}] ${message}\n`);
  const host = { program, parentPath: [], config: cfg, logger: { info: log("info"), warn: log("warn"), error: log("error"), debug: () => {} } } as unknown as HostCliContext;
  await registerNatsCommands(host, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    setExitCode: (c) => void (code = c),
  });
  try {
    await program.parseAsync(["nats", ...args], { from: "user" });
  } catch (err) {
    // commander's own refusals (unknown option, missing argument) end the real CLI with its exit code.
    if (!(err instanceof CommanderError)) throw err;
    code = err.exitCode;
  }
  return { code, signal: null, stdout, stderr };
}
