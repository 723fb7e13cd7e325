import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import type { GatewayRpcOpts } from "openclaw/plugin-sdk/gateway-runtime";
import { connect, wsconnect, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { ConfigError, parseConfig } from "../config/parse.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { authOptions, dialTarget, isWebSocketUrl } from "../connection/options.ts";
import { credentialSecrets, redactSecrets, redactUrl, urlSecrets } from "../connection/redact.ts";
import { setJetStreamDomain } from "../connection/domain.ts";
import { errorMessage } from "../shared/logger.ts";
import { pluginStateDir } from "../shared/paths.ts";

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

/** Where and how to connect; `secrets` are what must never be printed (token, password, seed). */
export interface ConnectionTarget {
  url: string;
  /** The URL with any user:password replaced by *** */
  safeUrl: string;
  options: ConnectionOptions;
  secrets: Array<string | undefined>;
  /** `jetstreamDomain` of the plugin config: the CLI's JetStream calls go where the gateway's do. */
  jetstreamDomain?: string;
}

/** Flags every command that talks to NATS accepts; without them the plugin's own config is used. */
export interface ConnectionFlags {
  url?: string;
  creds?: string;
}

export interface OutputFlags {
  json?: boolean;
}

/** How a command reaches the running gateway: the host's own flags (`--url`, `--token`, …) or `--gateway-*`. */
export interface GatewayFlags {
  gatewayUrl?: string;
  gatewayToken?: string;
  gatewayPassword?: string;
  gatewayTimeout?: string;
}

/** The running gateway could not be asked: not running, unreachable, refused, or without this plugin. */
export class GatewayUnavailableError extends CliError {
  readonly reason: "unreachable" | "no-plugin" | "refused";
  constructor(reason: GatewayUnavailableError["reason"], message: string, next: string) {
    super(message, { next });
    this.name = "GatewayUnavailableError";
    this.reason = reason;
  }
}

/**
 * Where a command's output and exit status go. The CLI process's own streams in `openclaw nats …`;
 * a test hands its own to run the very same command code in-process (one Node start-up of the host
 * costs ~6 CPU-s, so behaviour matrices run in the test process and each command shape is also run
 * once through the real CLI).
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The exit status the process ends with (commands never call process.exit: the host finishes its own work). */
  setExitCode(code: number): void;
}

export const PROCESS_IO: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

/**
 * Shared by every `openclaw nats …` command: the OpenClaw config the CLI loaded, the plugin's parsed
 * config, and one way to connect and to print.
 */
export class NatsCli {
  readonly host: HostCliContext;
  readonly io: CliIo;

  constructor(host: HostCliContext, io: CliIo = PROCESS_IO) {
    this.host = host;
    this.io = io;
  }

  /** One line (or block) on stdout: what a script reads. */
  out(text: string): void {
    this.io.stdout(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** One line on stderr: progress, notes and errors for a person. */
  err(text: string): void {
    this.io.stderr(text.endsWith("\n") ? text : `${text}\n`);
  }

  /** The command failed (or found problems): the process exits with `code`. */
  fail(code = 1): void {
    this.io.setExitCode(code);
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

  /** URL, nats.js options and the secrets to redact, from the plugin config or the flags (`--url`, `--creds`). */
  connectionTarget(flags: ConnectionFlags = {}, name = "openclaw-nats-cli", cfg: NatsPluginConfig = this.pluginConfig()): ConnectionTarget {
    const url = flags.url ?? cfg.url;
    const credentials = flags.creds ? { credsFile: flags.creds } : flags.url ? undefined : cfg.credentials;
    const secrets = [...credentialSecrets(credentials), ...urlSecrets(url)];
    const dial = dialTarget(url, credentials);
    const options = { servers: dial.servers, name, timeout: 5000, maxReconnectAttempts: 0, ...authOptions({ credentials: dial.credentials, tls: cfg.tls }) };
    return { url, safeUrl: redactUrl(url), options, secrets, ...(cfg.jetstreamDomain ? { jetstreamDomain: cfg.jetstreamDomain } : {}) };
  }

  /** Connect, or throw the client's own error (doctor tells an auth failure from a refused connection). */
  async openNats(target: ConnectionTarget): Promise<NatsConnection> {
    const nc = isWebSocketUrl(target.url) ? await wsconnect(target.options) : await connect(target.options);
    setJetStreamDomain(nc, target.jetstreamDomain);
    return nc;
  }

  /** Connect with the plugin's URL and credentials, or the flags' (`--url`, `--creds`). */
  async connect(flags: ConnectionFlags = {}, name = "openclaw-nats-cli"): Promise<NatsConnection> {
    const target = this.connectionTarget(flags, name);
    try {
      return await this.openNats(target);
    } catch (err) {
      throw new CliError(`cannot connect to NATS at ${target.safeUrl}: ${redactSecrets(errorMessage(err), target.secrets)}`, {
        next: "is nats-server running (openclaw nats server status)? check url and credentials in plugins.entries.nats.config, or pass --url; openclaw nats doctor tells which",
      });
    }
  }

  /** The OpenClaw state dir (OPENCLAW_STATE_DIR, else ~/.openclaw) and this plugin's folder in it. */
  async stateDirs(): Promise<{ root: string; plugin: string }> {
    const { resolveStateDir } = await import("openclaw/plugin-sdk/state-paths");
    const root = resolveStateDir();
    return { root, plugin: pluginStateDir(root) };
  }

  /**
   * Call a gateway method of the running gateway (the CLI runs in its own process). Connection
   * failures become a GatewayUnavailableError that says how to start the gateway.
   */
  async callGateway(method: string, opts: GatewayRpcOpts, params: unknown = {}, scopes: Array<"operator.read" | "operator.write"> = ["operator.read"]): Promise<Record<string, unknown>> {
    const { callGatewayFromCli, isGatewayClientRequestError } = await import("openclaw/plugin-sdk/gateway-runtime");
    try {
      return await callGatewayFromCli(method, { ...opts, json: true }, params, { mode: "cli", progress: false, scopes });
    } catch (err) {
      const message = errorMessage(err).split("\n")[0];
      if (isGatewayClientRequestError(err) && /unknown method/i.test(message)) {
        throw new GatewayUnavailableError(
          "no-plugin",
          `the gateway is running but does not answer ${method}: the nats plugin is not loaded there, or its config is invalid (the plugin then stays idle)`,
          "openclaw plugins inspect nats; openclaw nats doctor names what is wrong; openclaw logs shows the plugin's lines",
        );
      }
      // The method ran and said no to the input: its message names what was wrong.
      if (isGatewayClientRequestError(err) && err.gatewayCode === "INVALID_REQUEST") throw new CliError(`${method}: ${message}`);
      if (isGatewayClientRequestError(err)) {
        throw new GatewayUnavailableError("refused", `the gateway refused ${method}: ${message}`, "check the gateway token (--token, OPENCLAW_GATEWAY_TOKEN or gateway.auth.token)");
      }
      throw new GatewayUnavailableError(
        "unreachable",
        `the gateway is not running or not reachable (${message})`,
        "start it with `openclaw gateway run` (or `openclaw gateway start` for the service); `openclaw nats doctor` checks NATS without it",
      );
    }
  }

  /** Print `data` as JSON with --json, else the human text. */
  print(flags: OutputFlags, human: string, data: unknown): void {
    this.io.stdout(flags.json ? `${JSON.stringify(data, null, 2)}\n` : `${human}\n`);
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
        if (json) this.out(JSON.stringify({ ok: false, error: cliErr.message, next: cliErr.next }));
        else {
          this.err(`error: ${cliErr.message}`);
          if (cliErr.next) this.err(`next: ${cliErr.next}`);
        }
        this.fail(cliErr.exitCode);
      }
    };
  }
}

/** `--gateway-url/--gateway-token/…` for commands whose `--url` is the NATS server's. */
export function withGatewayFlags(cmd: CliCommand): CliCommand {
  return cmd
    .option("--gateway-url <url>", "gateway WebSocket URL (default: the local gateway from the OpenClaw config)")
    .option("--gateway-token <token>", "gateway token (default: OPENCLAW_GATEWAY_TOKEN or gateway.auth.token)")
    .option("--gateway-password <password>", "gateway password, when it uses password auth")
    .option("--gateway-timeout <ms>", "how long to wait for the gateway", "10000");
}

export function gatewayRpcOpts(flags: GatewayFlags): GatewayRpcOpts {
  return { url: flags.gatewayUrl, token: flags.gatewayToken, password: flags.gatewayPassword, timeout: flags.gatewayTimeout ?? "10000" };
}

/** Adds --url and --creds to a command that connects to NATS. */
export function withConnectionFlags(cmd: CliCommand): CliCommand {
  return cmd.option("--url <url>", "NATS server URL (default: the plugin's url)").option("--creds <file>", "NATS .creds file (default: the plugin's credentials)");
}
