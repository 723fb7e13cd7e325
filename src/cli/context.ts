import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { connect, wsconnect, type NatsConnection } from "@nats-io/transport-node";
import { ConfigError, parseConfig } from "../config/parse.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { authOptions, isWebSocketUrl, serverList } from "../connection/options.ts";
import { redactSecrets } from "../connection/redact.ts";
import { errorMessage } from "../shared/logger.ts";

/** What the host hands a CLI registrar (`api.registerCli`). */
export type HostCliContext = Parameters<Parameters<OpenClawPluginApi["registerCli"]>[0]>[0];
/** The commander command `openclaw nats` (subcommands hang off it). */
export type CliCommand = HostCliContext["program"];
export type OpenClawConfigShape = HostCliContext["config"];

/** A failure the CLI reports as `error: <message>` plus `next: <what to do>` and a non-zero exit. */
export class CliError extends Error {
  readonly next: string | undefined;
  readonly exitCode: number;
  constructor(message: string, opts: { next?: string; exitCode?: number } = {}) {
    super(message);
    this.name = "CliError";
    this.next = opts.next;
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Flags every command that talks to NATS accepts; without them the plugin's own config is used. */
export interface ConnectionFlags {
  url?: string;
  creds?: string;
}

export interface OutputFlags {
  json?: boolean;
}

/**
 * Shared by every `openclaw nats …` command: the OpenClaw config the CLI loaded, the plugin's parsed
 * config, and one way to connect and to print.
 */
export class NatsCli {
  readonly host: HostCliContext;

  constructor(host: HostCliContext) {
    this.host = host;
  }

  /** `plugins.entries.nats.config` as loaded by the CLI (raw, unvalidated). */
  rawPluginConfig(): unknown {
    const entries = (this.host.config as { plugins?: { entries?: Record<string, { config?: unknown } | undefined> } }).plugins?.entries;
    return entries?.nats?.config;
  }

  /** The validated plugin config (defaults filled in); a CliError naming each bad field otherwise. */
  pluginConfig(): NatsPluginConfig {
    try {
      return parseConfig(this.rawPluginConfig());
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(`plugins.entries.nats.config is ${err.message}`, { next: "fix the fields named above (openclaw config validate shows them too)" });
      throw err;
    }
  }

  /** Connect with the plugin's URL and credentials, or the flags' (`--url`, `--creds`). */
  async connect(flags: ConnectionFlags = {}, name = "openclaw-nats-cli"): Promise<NatsConnection> {
    const cfg = this.pluginConfig();
    const url = flags.url ?? cfg.url;
    const credentials = flags.creds ? { credsFile: flags.creds } : flags.url ? undefined : cfg.credentials;
    const secrets = [credentials?.token, credentials?.pass, credentials?.nkeySeed];
    const opts = { servers: serverList(url), name, timeout: 5000, maxReconnectAttempts: 0, ...authOptions({ credentials, tls: cfg.tls }) };
    try {
      return isWebSocketUrl(url) ? await wsconnect(opts) : await connect(opts);
    } catch (err) {
      throw new CliError(`cannot connect to NATS: ${redactSecrets(errorMessage(err), secrets)}`, {
        next: "is nats-server running (openclaw nats server status)? check url and credentials in plugins.entries.nats.config, or pass --url",
      });
    }
  }

  /** Print `data` as JSON with --json, else the human text. */
  print(flags: OutputFlags, human: string, data: unknown): void {
    process.stdout.write(flags.json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
  }

  /**
   * Wrap a command action: a CliError (or any error) becomes `error: …` / `next: …` on stderr (or
   * `{"ok":false,…}` with --json) and a non-zero exit code; nothing is thrown into commander.
   */
  action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
    return async (...args: A) => {
      try {
        await fn(...args);
      } catch (err) {
        const json = args.some((a) => typeof a === "object" && a !== null && (a as OutputFlags).json === true);
        const cliErr = err instanceof CliError ? err : new CliError(errorMessage(err));
        if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: cliErr.message, next: cliErr.next })}\n`);
        else {
          process.stderr.write(`error: ${cliErr.message}\n`);
          if (cliErr.next) process.stderr.write(`next: ${cliErr.next}\n`);
        }
        process.exitCode = cliErr.exitCode;
      }
    };
  }
}

/** Adds --url and --creds to a command that connects to NATS. */
export function withConnectionFlags(cmd: CliCommand): CliCommand {
  return cmd.option("--url <url>", "NATS server URL (default: the plugin's url)").option("--creds <file>", "NATS .creds file (default: the plugin's credentials)");
}
