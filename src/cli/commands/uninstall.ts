import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { isStreamNotFound } from "../../events/stream.ts";
import { localServerPaths, localServerStatus, stopLocalServer } from "../../server/local-server.ts";
import { errorMessage } from "../../shared/logger.ts";
import { peekSpool } from "../../spool/peek.ts";
import { mutateOpenClawConfig, objectAt } from "../config-write.ts";
import { CliError, withConnectionFlags, type CliCommand, type ConnectionFlags, type NatsCli, type OutputFlags } from "../context.ts";
import { eventSpecs } from "../doctor/nats-checks.ts";
import { jsDomain } from "../../connection/domain.ts";

interface UninstallFlags extends ConnectionFlags, OutputFlags {
  purge?: boolean;
  waitMs: string;
}

interface Item {
  kind: "stream" | "consumer" | "spool" | "state" | "server";
  name: string;
  detail: string;
}

/** The streams and consumer this plugin creates, as configured, that exist on the server. */
async function natsItems(jsm: JetStreamManager, cfg: NatsPluginConfig): Promise<Item[]> {
  const items: Item[] = [];
  const names = [...eventSpecs(cfg).map((s) => s.name), cfg.inbox.streamName, ...(cfg.deadLetterStream.enabled ? [cfg.deadLetterStream.name] : [])];
  for (const name of new Set(names)) {
    try {
      const info = await jsm.streams.info(name);
      items.push({ kind: "stream", name, detail: `${info.state.messages} message(s), ${info.state.bytes} bytes` });
      if (name === cfg.inbox.streamName) {
        for (const c of await inboxConsumerNames(jsm, cfg)) {
          const ci = await jsm.consumers.info(name, c).catch(() => undefined);
          if (ci) items.push({ kind: "consumer", name: `${name}/${c}`, detail: `${ci.num_pending} pending` });
        }
      }
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
  }
  return items;
}

/** The inbox consumers the plugin made: `<consumerName>` and `<consumerName>-<agentId>` (whichever gateway made them). */
async function inboxConsumerNames(jsm: JetStreamManager, cfg: NatsPluginConfig): Promise<string[]> {
  const out: string[] = [];
  const base = cfg.inbox.consumerName;
  for await (const ci of jsm.consumers.list(cfg.inbox.streamName)) if (ci.name === base || ci.name.startsWith(`${base}-`)) out.push(ci.name);
  return out;
}

function size(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + size(join(path, f)), 0);
}

async function localItems(pluginDir: string): Promise<Item[]> {
  const items: Item[] = [];
  if (!existsSync(pluginDir)) return items;
  const spool = join(pluginDir, "event-spool.sqlite");
  if (existsSync(spool)) {
    let detail: string;
    try {
      const peek = peekSpool(spool);
      detail = `${peek?.rows ?? 0} unpublished event(s)`;
    } catch (err) {
      detail = errorMessage(err);
    }
    items.push({ kind: "spool", name: spool, detail });
  }
  const server = await localServerStatus(localServerPaths(pluginDir));
  if (existsSync(server.dir)) items.push({ kind: "server", name: server.dir, detail: `local nats-server ${server.running ? `running (pid ${server.pid})` : "stopped"}, ${size(server.dir)} bytes of config and JetStream data` });
  items.push({ kind: "state", name: pluginDir, detail: `${size(pluginDir)} bytes in all` });
  return items;
}

/**
 * `openclaw nats uninstall [--purge]`: turns the plugin off in the config and stops the local server;
 * what the plugin created (streams, consumer, spool, state) is listed, and deleted only with --purge.
 */
export function registerUninstall(nats: CliCommand, cli: NatsCli): void {
  const cmd = nats
    .command("uninstall")
    .description("Turn the plugin off and stop the local server; list what it created (streams, consumer, spool, state), delete that only with --purge")
    .option("--purge", "also delete the streams, the consumer, the spool (unpublished events are lost) and the plugin's state dir")
    .option("--wait-ms <ms>", "with --purge: how long to wait for a running gateway to let go of the spool", "30000")
    .option("--json", "machine-readable output");
  withConnectionFlags(cmd).action(
    cli.action(async (flags: UninstallFlags) => {
      const cfg = cli.pluginConfig();
      const pluginDir = (await cli.stateDirs()).plugin;
      let nc: NatsConnection | undefined;
      let natsNote: string | undefined;
      try {
        nc = await cli.connect(flags, "openclaw-nats-uninstall");
      } catch (err) {
        natsNote = `NATS not reachable (${errorMessage(err)}): its streams are not listed${flags.purge ? " nor deleted" : ""}`;
      }
      try {
        const jsm = nc ? await jetstreamManager(nc, { ...jsDomain(nc), timeout: 5000 }).catch(() => undefined) : undefined;
        const items = [...(jsm ? await natsItems(jsm, cfg) : []), ...(await localItems(pluginDir))];
        const list = items.map((i) => `  ${i.kind.padEnd(8)} ${i.name}  (${i.detail})`);

        // Off first: a running gateway then stops the plugin (hot reload) and lets go of the spool.
        const { path } = await mutateOpenClawConfig((draft) => {
          objectAt(draft, ["plugins", "entries", "nats"]).enabled = false;
        });
        const stopped = await stopLocalServer(localServerPaths(pluginDir));
        const done = [`plugins.entries.nats.enabled = false in ${path}`, ...(stopped.stopped ? [`stopped the local nats-server (pid ${stopped.pid})`] : [])];

        if (!flags.purge) {
          const human = [
            "what the plugin created:",
            ...(list.length ? list : ["  (nothing found)"]),
            ...(natsNote ? [`  ${natsNote}`] : []),
            ...done.map((d) => `✔ ${d}`),
            "kept: everything listed above (nothing is deleted without --purge)",
            "next: openclaw plugins uninstall nats   removes the plugin's code",
            "      to delete the data too: openclaw config set plugins.entries.nats.enabled true && openclaw nats uninstall --purge",
          ].join("\n");
          cli.print(flags, human, { ok: true, purged: false, created: items, done, note: natsNote });
          return;
        }

        const spool = join(pluginDir, "event-spool.sqlite");
        const deadline = Date.now() + Number(flags.waitMs);
        for (;;) {
          try {
            peekSpool(spool);
            break;
          } catch (err) {
            if (Date.now() > deadline) {
              throw new CliError(`a running gateway still holds the spool (${errorMessage(err)}); streams and files were not deleted`, {
                next: "stop the gateway (openclaw gateway stop), then: openclaw config set plugins.entries.nats.enabled true && openclaw nats uninstall --purge",
              });
            }
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        const deleted: string[] = [];
        for (const item of items) {
          if (item.kind === "stream" && jsm) {
            await jsm.streams.delete(item.name);
            deleted.push(`stream ${item.name}`);
          } else if (item.kind === "consumer") deleted.push(`consumer ${item.name} (with its stream)`);
        }
        if (existsSync(pluginDir)) {
          rmSync(pluginDir, { recursive: true, force: true });
          deleted.push(`${pluginDir} (spool, local server data, state)`);
        }
        const human = ["what the plugin created:", ...(list.length ? list : ["  (nothing found)"]), ...(natsNote ? [`  ${natsNote}`] : []), ...done.map((d) => `✔ ${d}`), ...deleted.map((d) => `✔ deleted ${d}`), "next: openclaw plugins uninstall nats   removes the plugin's code"].join("\n");
        cli.print(flags, human, { ok: true, purged: true, created: items, done, deleted, note: natsNote });
      } finally {
        await nc?.close();
      }
    }),
  );
}
