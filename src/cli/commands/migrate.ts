import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { isStreamNotFound } from "../../events/stream.ts";
import { errorMessage } from "../../shared/logger.ts";
import { isAgentId } from "../../shared/session-key.ts";
import { importFiles, readNotes, type ImportSummary, type NotesLocation } from "../../migrate/stream.ts";
import { NOTE_TYPE_LIST, restoreFiles, scanWorkspace, workspacePath } from "../../migrate/workspace.ts";
import { CliError, withConnectionFlags, type CliCommand, type ConnectionFlags, type NatsCli, type OutputFlags } from "../context.ts";

interface MigrateFlags extends ConnectionFlags, OutputFlags {
  workspace: string;
  agent?: string;
  dryRun?: boolean;
}
interface ExportFlags extends MigrateFlags {
  force?: boolean;
}

/** The agent, its stream and prefix (`events.agents.<id>` when set) and the connection settings to use. */
function locate(cli: NatsCli, flags: MigrateFlags): { at: NotesLocation; connCfg: NatsPluginConfig } {
  const cfg = cli.pluginConfig();
  const agent = flags.agent ?? cfg.defaultAgent;
  if (!isAgentId(agent)) throw new CliError(`--agent "${agent}" is not an agent id (lowercase letters, digits, _ or -)`);
  const own = cfg.events.agents[agent];
  const at = { agent, stream: own?.streamName ?? cfg.events.streamName, prefix: own?.subjectPrefix ?? cfg.events.subjectPrefix };
  const connCfg = own && (own.url || own.credentials) ? { ...cfg, url: own.url ?? cfg.url, credentials: own.credentials ?? cfg.credentials } : cfg;
  return { at, connCfg };
}

async function open(cli: NatsCli, flags: ConnectionFlags, connCfg: NatsPluginConfig): Promise<NatsConnection> {
  const target = cli.connectionTarget(flags, "openclaw-nats-cli:migrate", connCfg);
  try {
    return await cli.openNats(target);
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${target.safeUrl}: ${errorMessage(err)}`, { next: "is nats-server running? check url and credentials, or pass --url/--creds; openclaw nats doctor tells which" });
  }
}

function streamError(err: unknown, at: NotesLocation): CliError {
  if (err instanceof CliError) return err;
  if (isStreamNotFound(err)) return new CliError(`stream "${at.stream}" does not exist`, { next: "openclaw nats setup creates it (or start the gateway with events.enabled)" });
  return new CliError(`stream "${at.stream}": ${errorMessage(err)}`);
}

function workspaceDir(flag: string): string {
  const dir = resolve(flag);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`--workspace ${flag} is not a directory`);
  return dir;
}

function summaryText(s: ImportSummary): string {
  const rows = NOTE_TYPE_LIST.map((t) => `  ${t.padEnd(16)} ${String(s.added[t].files).padStart(5)} file(s) ${String(s.added[t].events).padStart(6)} event(s) ${s.dryRun ? "to add" : "added"}, ${String(s.present[t].files).padStart(5)} file(s) already there`);
  const total = NOTE_TYPE_LIST.reduce((n, t) => n + s.added[t].events, 0);
  return [`${s.dryRun ? "dry run: " : ""}${total} event(s) ${s.dryRun ? "would be added" : "added"} to ${s.stream} for agent ${s.agent}`, ...rows].join("\n");
}

/** `openclaw nats migrate` and `openclaw nats export`: a workspace's memory files ↔ the agent's event stream. */
export function registerMigrate(nats: CliCommand, cli: NatsCli): void {
  withConnectionFlags(
    nats
      .command("migrate")
      .description("Import a workspace's MEMORY.md, memory/*.md and life/areas/** into the agent's event stream (idempotent)")
      .requiredOption("--workspace <dir>", "the agent workspace")
      .option("--agent <id>", "the agent whose stream receives them (default: defaultAgent)")
      .option("--dry-run", "show what would be added, publish nothing")
      .option("--json", "the summary as JSON"),
  ).action(
    cli.action(async (flags: MigrateFlags) => {
      const dir = workspaceDir(flags.workspace);
      const { at, connCfg } = locate(cli, flags);
      const scan = scanWorkspace(dir);
      for (const s of scan.skipped) cli.err(`skipped ${s.path}: ${s.reason}`);
      if (scan.files.length === 0) throw new CliError(`no memory files in ${dir} (looked for MEMORY.md, memory/*.md, life/areas/**)`);
      const nc = await open(cli, flags, connCfg);
      let summary: ImportSummary;
      try {
        let n = 0;
        summary = await importFiles(nc, at, scan.files, {
          dryRun: flags.dryRun === true,
          onFile: (file, added, present) => {
            n++;
            if (!flags.json) cli.err(`[${n}/${scan.files.length}] ${file.path} → ${file.type}: ${added > 0 ? `${added} event(s) ${flags.dryRun ? "to add" : "added"}` : `already there (${present})`}`);
          },
        });
      } catch (err) {
        throw streamError(err, at);
      } finally {
        await nc.close();
      }
      cli.print(flags, summaryText(summary), { ok: true, ...summary, skipped: scan.skipped });
    }),
  );

  withConnectionFlags(
    nats
      .command("export")
      .description("Write the agent's imported memory files back into a workspace, byte for byte (newest version of each)")
      .requiredOption("--workspace <dir>", "where to write (created if missing)")
      .option("--agent <id>", "whose notes (default: defaultAgent)")
      .option("--force", "overwrite files that exist with other content")
      .option("--dry-run", "show what would be written")
      .option("--json", "the summary as JSON"),
  ).action(
    cli.action(async (flags: ExportFlags) => {
      const dir = resolve(flags.workspace);
      const { at, connCfg } = locate(cli, flags);
      const nc = await open(cli, flags, connCfg);
      let restored;
      try {
        restored = restoreFiles(await readNotes(nc, at));
      } catch (err) {
        throw streamError(err, at);
      } finally {
        await nc.close();
      }
      for (const p of restored.problems) cli.err(`not written: ${p}`);
      const conflicts = restored.files.filter((f) => {
        const path = workspacePath(dir, f.path);
        return existsSync(path) && !readFileSync(path).equals(f.bytes);
      });
      if (conflicts.length > 0 && !flags.force) {
        throw new CliError(`${conflicts.length} file(s) in ${dir} differ from the stream: ${conflicts.slice(0, 5).map((f) => f.path).join(", ")}${conflicts.length > 5 ? ", …" : ""}`, { next: "export into an empty directory, or pass --force to overwrite them" });
      }
      let written = 0;
      let unchanged = 0;
      for (const f of restored.files) {
        const path = workspacePath(dir, f.path);
        if (existsSync(path) && readFileSync(path).equals(f.bytes)) {
          unchanged++;
          continue;
        }
        written++;
        if (flags.dryRun) continue;
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, f.bytes);
        // The file's modification time as it was imported.
        utimesSync(path, new Date(), new Date(f.mtimeMs));
        if (!flags.json) cli.err(`wrote ${f.path} (${f.bytes.length} bytes)`);
      }
      const human = `${flags.dryRun ? "dry run: " : ""}${written} file(s) ${flags.dryRun ? "would be written" : "written"}, ${unchanged} unchanged, ${restored.problems.length} not written, into ${dir} from ${at.stream} (agent ${at.agent})`;
      cli.print(flags, human, { ok: restored.problems.length === 0, written, unchanged, problems: restored.problems, agent: at.agent, stream: at.stream, dryRun: flags.dryRun === true });
      if (restored.problems.length > 0) cli.fail(1);
    }),
  );
}
