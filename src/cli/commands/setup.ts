import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { hostedAgentIds } from "../../shared/hosted-agents.ts";
import { expectedInboxConsumers, inboxConsumerConfig, inboxStreamConfig } from "../../wake/layout.ts";
import { ConfigError, parseConfig } from "../../config/parse.ts";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { redactConfig, redactSecrets } from "../../connection/redact.ts";
import { ensureStream, isStreamNotFound } from "../../events/stream.ts";
import { DEFAULT_PORT, INSTALL_HINT, LocalServerError, NatsServerMissingError, localServerPaths, startLocalServer } from "../../server/local-server.ts";
import { errorMessage } from "../../shared/logger.ts";
import { isObject, mutateOpenClawConfig, objectAt } from "../config-write.ts";
import { CliError, type CliCommand, type NatsCli, type OutputFlags } from "../context.ts";
import { eventSpecs } from "../doctor/nats-checks.ts";
import { parseReplicasFlag, replicasAdvice } from "../doctor/replication-check.ts";
import { addReplicated } from "../../connection/replication.ts";
import { jsDomain } from "../../connection/domain.ts";

interface SetupFlags extends OutputFlags {
  url?: string;
  creds?: string;
  subjects?: string;
  durableInbox?: boolean;
  events: boolean;
  conversationAccess: boolean;
  localServer?: boolean;
  port: string;
  dryRun?: boolean;
  replicas?: string;
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * `openclaw nats setup`: non-interactive. Checks the server, creates the streams, writes
 * `plugins.entries.nats` (validated, nothing else touched) and prints the next steps.
 */
export function registerSetup(nats: CliCommand, cli: NatsCli): void {
  nats
    .command("setup")
    .description("Check the NATS server, create the streams and write plugins.entries.nats into the OpenClaw config")
    .option("--url <url>", "NATS server URL (default: the configured one, else nats://127.0.0.1:4222)")
    .option("--creds <file>", "NATS .creds file for the plugin (other credentials: openclaw config set plugins.entries.nats.config.credentials.…)")
    .option("--subjects <list>", "wake subjects, comma-separated (default agent.*.inbox)")
    .option("--durable-inbox", "keep wake messages in JetStream while the gateway is down")
    .option("--no-events", "turn the event store off")
    .option("--no-conversation-access", "leave hooks.allowConversationAccess as it is (run/LLM events stay unrecorded)")
    .option("--local-server", "use the local nats-server (started now when it is not running)")
    .option("--port <port>", "port for --local-server", String(DEFAULT_PORT))
    .option("--replicas <n>", "copies of every plugin stream (inbox, dead letters, events) on a NATS cluster, 1–5; 3 survives a node loss")
    .option("--dry-run", "check and show what would be written; create and write nothing")
    .option("--json", "machine-readable output")
    .action(
      cli.action(async (flags: SetupFlags) => {
        const steps: string[] = [];
        let url = flags.url;
        if (flags.localServer) {
          const port = Number(flags.port);
          if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port must be a port number (got ${flags.port})`);
          if (flags.url) throw new CliError("--local-server and --url both name the server; give one");
          url = `nats://127.0.0.1:${port}`;
          if (!flags.dryRun) {
            try {
              const s = await startLocalServer(localServerPaths((await cli.stateDirs()).plugin), { port, detached: true });
              steps.push(s.alreadyRunning ? `local nats-server already running at ${s.url} (pid ${s.pid})` : `started the local nats-server at ${s.url} (pid ${s.pid})`);
            } catch (err) {
              if (err instanceof NatsServerMissingError) throw new CliError(err.message, { next: INSTALL_HINT });
              if (err instanceof LocalServerError) throw new CliError(err.message, { next: err.next });
              throw err;
            }
          }
        }
        /** The flags applied to an entry's config; run on the loaded config to check, and on the file's own at write time. */
        const applyFlags = (existing: unknown): Record<string, unknown> => {
          const raw: Record<string, unknown> = isObject(existing) ? structuredClone(existing) : {};
          if (url) raw.url = url;
          if (flags.creds) raw.credentials = { credsFile: flags.creds };
          if (flags.subjects) raw.subjects = flags.subjects.split(",").map((s) => s.trim()).filter(Boolean);
          if (flags.durableInbox) raw.inbox = { ...(isObject(raw.inbox) ? raw.inbox : {}), durable: true };
          if (!flags.events) raw.events = { ...(isObject(raw.events) ? raw.events : {}), enabled: false };
          if (flags.replicas !== undefined) raw.replicas = parseReplicasFlag(flags.replicas);
          if (raw.enabled === false) delete raw.enabled;
          return raw;
        };
        const raw = applyFlags(cli.rawPluginConfig());

        let cfg: NatsPluginConfig;
        try {
          cfg = parseConfig(raw);
        } catch (err) {
          if (err instanceof ConfigError) throw new CliError(`the resulting plugins.entries.nats.config is ${err.message}; nothing was written`, { next: "fix the flags (or the existing entry) named here" });
          throw err;
        }

        // Checked with the config about to be written, not the one loaded.
        const target = cli.connectionTarget({}, "openclaw-nats-setup", cfg);
        let jsm: JetStreamManager | undefined;
        const conn = await cli.openNats(target).catch((err: unknown) => {
          throw new CliError(`cannot connect to NATS at ${target.safeUrl}: ${redactSecrets(errorMessage(err), target.secrets)}; nothing was written`, {
            next: "start a server (`openclaw nats setup --local-server` runs one for you), or fix --url/--creds; `openclaw nats doctor` names the problem",
          });
        });
        try {
          steps.push(`nats-server ${conn.info?.version ?? "?"} answers at ${target.safeUrl}`);
          const advice = replicasAdvice(conn.info?.cluster, cfg.replicas);
          if (advice) steps.push(advice);
          const needsJs = cfg.events.enabled || cfg.inbox.durable;
          if (needsJs) {
            try {
              jsm = await jetstreamManager(conn, { ...jsDomain(conn), timeout: 5000 });
              await jsm.getAccountInfo();
            } catch (err) {
              throw new CliError(`JetStream is not available on ${target.safeUrl} (${errorMessage(err)}); nothing was written`, {
                next: "run nats-server with -js (or `openclaw nats setup --local-server`), or pass --no-events for wake-only use",
              });
            }
          }
          if (jsm && !flags.dryRun) {
            if (cfg.events.enabled) {
              for (const spec of eventSpecs(cfg)) {
                const r = await ensureStream(jsm, spec, silent);
                if (r.outcome === "failed") throw new CliError(`cannot create stream ${spec.name}: ${r.message ?? "unknown error"}; nothing was written`, { next: "openclaw nats doctor names the cause (permissions, JetStream limits)" });
                steps.push(`stream ${spec.name}: ${r.outcome}${r.message ? ` (${r.message})` : ""}`);
              }
            }
            if (cfg.inbox.durable) steps.push(await provisionInbox(jsm, cfg, hostedAgentIds(cli.host.config)));
          }
        } finally {
          await conn.close();
        }

        const entryHooks = flags.conversationAccess && cfg.events.enabled ? { allowConversationAccess: true } : undefined;
        let path = "(dry run)";
        let written = raw;
        if (!flags.dryRun) {
          // Edit the file's own (source) entry: the loaded config has ${ENV} references resolved, which must not be inlined.
          const done = await mutateOpenClawConfig((draft) => {
            const entry = objectAt(draft, ["plugins", "entries", "nats"]);
            entry.enabled = true;
            entry.config = applyFlags(entry.config);
            if (entryHooks) Object.assign(objectAt(entry, ["hooks"]), entryHooks);
            return entry.config as Record<string, unknown>;
          });
          path = done.path;
          written = done.result;
          steps.push(`wrote plugins.entries.nats to ${path}${entryHooks ? " (with hooks.allowConversationAccess: true)" : ""}`);
        }
        const next = [
          "the running gateway applies plugins.entries changes by itself (hybrid reload); otherwise: openclaw gateway restart",
          "openclaw nats doctor        checks everything end to end",
          `openclaw nats send --to ${cfg.defaultAgent} "hello from NATS" --request   wakes an agent and prints the receipt`,
        ];
        const shown = redactConfig({ enabled: true, ...(entryHooks ? { hooks: entryHooks } : {}), config: written });
        cli.print(
          flags,
          [...steps.map((s) => `✔ ${s}`), `${flags.dryRun ? "would write" : "plugins.entries.nats is now"}: ${JSON.stringify(shown)}`, "next:", ...next.map((n) => `  ${n}`)].join("\n"),
          { ok: true, dryRun: Boolean(flags.dryRun), configPath: path, steps, entry: shown, next },
        );
      }),
    );
}

/**
 * The durable inbox's stream and the consumers of the agents this config hosts, built exactly as the
 * gateway builds them (src/wake/layout.ts), so messages published before the gateway first starts are kept.
 */
async function provisionInbox(jsm: JetStreamManager, cfg: NatsPluginConfig, hosted: string[]): Promise<string> {
  const stream = inboxStreamConfig(cfg);
  const consumers = expectedInboxConsumers(cfg, hosted);
  try {
    await jsm.streams.info(stream.name);
    return `inbox stream ${stream.name}: exists (the gateway brings it and its consumers to the config at start)`;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await addReplicated(jsm, stream, silent, "nats: durable inbox");
    for (const c of consumers) await jsm.consumers.add(stream.name, inboxConsumerConfig(cfg, c, stream.subjects));
    return `inbox stream ${stream.name} and consumer ${consumers.map((c) => c.name).join(", ")}: created`;
  }
}
