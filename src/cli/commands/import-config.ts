import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import JSON5 from "json5";
import { ConfigError, parseConfig } from "../../config/parse.ts";
import { redactConfig } from "../../connection/redact.ts";
import { errorMessage } from "../../shared/logger.ts";
import { isObject, mutateOpenClawConfig, objectAt } from "../config-write.ts";
import { CliError, type CliCommand, type NatsCli, type OutputFlags } from "../context.ts";
import { mergeUnder, planImport, type Dropped } from "../import/legacy.ts";

interface ImportFlags extends OutputFlags {
  from?: string;
  dryRun?: boolean;
}

const readJson5 = (path: string): unknown => JSON5.parse(readFileSync(path, "utf8"));

/**
 * The active config as authored on disk (`${VAR}` references kept, so secrets held in the
 * environment are not inlined into the new entry).
 */
async function activeSourceConfig(): Promise<Record<string, unknown>> {
  const { readConfigFileSnapshotForWrite } = await import("openclaw/plugin-sdk/config-mutation");
  const { snapshot } = await readConfigFileSnapshotForWrite();
  const authored = isObject(snapshot.parsed) ? snapshot.parsed : snapshot.sourceConfig;
  return isObject(authored) ? authored : {};
}

/**
 * `openclaw nats import-config`: reads the old plugins' entries (and the core event store block),
 * writes the equivalent plugins.entries.nats.config, disables the old entries, and prints what it
 * could not carry over.
 */
export function registerImportConfig(nats: CliCommand, cli: NatsCli): void {
  nats
    .command("import-config")
    .description('Carry settings over from nats-wake, nats-eventstore, openclaw-agent-relay and the core eventStore block')
    .option("--from <file>", "read the old settings from this config file (e.g. the openclaw.json.bak `openclaw doctor --fix` left) instead of the active one")
    .option("--dry-run", "show what would change; write nothing")
    .option("--json", "machine-readable output")
    .action(
      cli.action(async (flags: ImportFlags) => {
        let old: Record<string, unknown>;
        try {
          const parsed = flags.from ? readJson5(flags.from) : await activeSourceConfig();
          old = isObject(parsed) ? parsed : {};
        } catch (err) {
          throw new CliError(`cannot read ${flags.from ?? "the OpenClaw config"}: ${errorMessage(err)}`, { next: "pass --from <file> with a JSON5 OpenClaw config" });
        }
        const plan = planImport(old, { readJson: readJson5, home: process.env.HOME ?? homedir() });
        if (plan.plugins.length === 0 && plan.coreBlocks.length === 0) {
          throw new CliError(`no old settings found in ${flags.from ?? "the active config"} (plugins.entries["nats-wake"], ["nats-eventstore"], ["openclaw-agent-relay"], gateway.eventStore, eventStore)`, {
            next: "if `openclaw doctor --fix` removed gateway.eventStore, import from its backup: openclaw nats import-config --from <config>.bak",
          });
        }
        const existing = cli.rawPluginConfig();
        const { merged, conflicts } = mergeUnder(isObject(existing) ? existing : {}, plan.config);
        try {
          parseConfig(merged);
        } catch (err) {
          if (err instanceof ConfigError) throw new CliError(`the imported settings do not validate (${err.message}); nothing was written`, { next: "fix the old values named here, or set them by hand with openclaw config set" });
          throw err;
        }
        const dropped: Dropped[] = [...plan.dropped, ...conflicts];
        let path = "(dry run)";
        let disabled: string[] = [];
        let removed: string[] = [];
        if (!flags.dryRun) {
          const done = await mutateOpenClawConfig((draft) => {
            const entries = objectAt(draft, ["plugins", "entries"]);
            const entry = objectAt(entries, ["nats"]);
            // Merge again against the file's own entry (the loaded one has ${VAR}s resolved).
            entry.config = mergeUnder(isObject(entry.config) ? entry.config : {}, plan.config).merged;
            entry.enabled = true;
            if (plan.conversationAccess) objectAt(entry, ["hooks"]).allowConversationAccess = true;
            const off: string[] = [];
            for (const id of plan.plugins) {
              if (isObject(entries[id]) && (entries[id] as Record<string, unknown>).enabled !== false) {
                (entries[id] as Record<string, unknown>).enabled = false;
                off.push(id);
              }
            }
            const gone: string[] = [];
            const gw = draft.gateway;
            if (isObject(gw) && "eventStore" in gw) (delete gw.eventStore, gone.push("gateway.eventStore"));
            if ("eventStore" in draft) (delete draft.eventStore, gone.push("eventStore"));
            return { off, gone };
          });
          path = done.path;
          disabled = done.result.off;
          removed = done.result.gone;
        }
        const entry = redactConfig({ enabled: true, ...(plan.conversationAccess ? { hooks: { allowConversationAccess: true } } : {}), config: merged });
        const human = [
          `read: ${[...plan.plugins.map((p) => `plugins.entries["${p}"]`), ...plan.coreBlocks].join(", ")}${flags.from ? ` from ${flags.from}` : ""}`,
          "carried over:",
          ...plan.carried.map((c) => `  ${c.from} → ${c.to}`),
          ...(plan.conversationAccess ? ["  (event store on) → plugins.entries.nats.hooks.allowConversationAccess: true, so run/LLM events are recorded as before"] : []),
          dropped.length > 0 ? "not carried over:" : "not carried over: nothing",
          ...dropped.map((d) => `  ${d.from}: ${d.why}`),
          `${flags.dryRun ? "would write" : `wrote to ${path}`}: plugins.entries.nats = ${JSON.stringify(entry)}`,
          ...(flags.dryRun ? [] : [`disabled: ${disabled.length ? disabled.map((d) => `plugins.entries["${d}"]`).join(", ") : "(none left enabled in this config)"}${removed.length ? `; removed: ${removed.join(", ")}` : ""}`]),
          "next: openclaw nats doctor   (then `openclaw plugins uninstall <old id>` once you are happy)",
        ].join("\n");
        cli.print(flags, human, { ok: true, dryRun: Boolean(flags.dryRun), configPath: path, read: { plugins: plan.plugins, coreBlocks: plan.coreBlocks }, carried: plan.carried, notCarried: dropped, entry, disabled, removed });
      }),
    );
}
