import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { buildQuery, formatEvent, jsonEvent, matches, queryTarget, traceTargets, replayTargetProblem, type EventQuery, type QueryTarget } from "../../events/query.ts";
import { readEvents, type ReadEvent } from "../../events/reader.ts";
import { isStreamNotFound } from "../../events/stream.ts";
import { errorMessage } from "../../shared/logger.ts";
import { CliError, gatewayRpcOpts, withConnectionFlags, withGatewayFlags, type CliCommand, type ConnectionFlags, type GatewayFlags, type NatsCli, type OutputFlags } from "../context.ts";

interface FilterFlags extends ConnectionFlags, OutputFlags {
  agent?: string;
  type?: string;
  session?: string;
  text?: string;
  since?: string;
  until?: string;
  trace?: string;
  stream?: string;
  prefix?: string;
}

interface QueryFlags extends FilterFlags {
  limit: string;
}
interface TailFlags extends FilterFlags {
  count?: string;
}
interface ReplayFlags extends FilterFlags {
  fromSeq?: string;
  toSeq?: string;
  to?: string;
}
interface RecordFlags extends GatewayFlags, OutputFlags {
  agent: string;
  session?: string;
  payload?: string;
  visibility?: string;
}

const QUERY_DEFAULT_SINCE = "24h";

function withFilters(cmd: CliCommand): CliCommand {
  return withConnectionFlags(
    cmd
      .option("--agent <id>", "only this agent's events (read from its own stream when events.agents.<id> sets one)")
      .option("--type <types>", "only these event types, comma-separated (msg.in,turn.reply,custom.deploy)")
      .option("--session <key>", "only this session (agent:<id>:<rest>; implies its agent)")
      .option("--text <words>", "only events whose payload contains this text (case-insensitive)")
      .option("--since <time>", "from this time: ISO date/time, epoch ms, or back from now (30s, 15m, 2h, 7d)")
      .option("--until <time>", "up to this time (same forms)")
      .option("--trace <id>", "only events of this W3C trace (trace id or traceparent); query reads every agent's stream")
      .option("--stream <name>", "read this stream instead of the configured one")
      .option("--prefix <prefix>", "event subject prefix instead of the configured one")
      .option("--json", "one JSON object per event and line: {seq, subject, storedAt, event}"),
  );
}

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`${flag} must be a positive whole number (got ${value})`);
  return n;
}

/** The query, the stream and subjects to read, and the connection (the agent's own when it has one). */
function prepare(cli: NatsCli, flags: FilterFlags, defaults: { since?: string } = {}): { cfg: NatsPluginConfig; q: EventQuery; target: QueryTarget; connCfg: NatsPluginConfig } {
  const cfg = cli.pluginConfig();
  let q: EventQuery;
  try {
    q = buildQuery({ ...flags, since: flags.since ?? defaults.since }, Date.now());
  } catch (err) {
    throw new CliError(errorMessage(err));
  }
  const target = queryTarget(cfg.events, q, { stream: flags.stream, prefix: flags.prefix });
  const own = q.agent ? cfg.events.agents[q.agent] : undefined;
  // An agent with its own url/credentials is read with them: the plugin's user may not be allowed to.
  const connCfg = own && (own.url || own.credentials) ? { ...cfg, url: own.url ?? cfg.url, credentials: own.credentials ?? cfg.credentials } : cfg;
  return { cfg, q, target, connCfg };
}

async function open(cli: NatsCli, flags: FilterFlags, connCfg: NatsPluginConfig, name: string): Promise<NatsConnection> {
  const target = cli.connectionTarget(flags, name, connCfg);
  try {
    return await cli.openNats(target);
  } catch (err) {
    throw new CliError(`cannot connect to NATS at ${target.safeUrl}: ${errorMessage(err)}`, { next: "is nats-server running? check url and credentials in plugins.entries.nats.config, or pass --url/--creds; openclaw nats doctor tells which" });
  }
}

/** Reader failures as CLI errors that name the stream (missing stream, permissions). */
async function* read(nc: NatsConnection, target: QueryTarget, range: Parameters<typeof readEvents>[1]): AsyncGenerator<ReadEvent> {
  try {
    yield* readEvents(nc, range);
  } catch (err) {
    if (isStreamNotFound(err)) throw new CliError(`stream "${target.stream}" does not exist on this server`, { next: "openclaw nats setup creates it, or the gateway does when it starts with events.enabled" });
    throw new CliError(`cannot read ${target.subjects.join(", ")} from stream "${target.stream}": ${errorMessage(err)}`, { next: "check the credentials' permissions (openclaw nats permissions prints what a reader needs)" });
  }
}

const byStoredAt = (a: ReadEvent, b: ReadEvent): number => a.storedAt - b.storedAt || (a.event?.ts ?? 0) - (b.event?.ts ?? 0);

function emit(cli: NatsCli, flags: OutputFlags, e: ReadEvent): void {
  cli.out(flags.json ? jsonEvent(e) : formatEvent(e));
}

/** `openclaw nats events query|tail|replay|record`. */
export function registerEvents(nats: CliCommand, cli: NatsCli): void {
  const events = nats.command("events").description("Read the event store back (query, tail, replay) and record custom events");

  withFilters(events.command("query").description(`Print the newest events that match (default --since ${QUERY_DEFAULT_SINCE}), oldest first`))
    .option("--limit <n>", "at most this many (the newest)", "100")
    .action(
      cli.action(async (flags: QueryFlags) => {
        const limit = positiveInt(flags.limit, "--limit") ?? 100;
        const { cfg, q, target, connCfg } = prepare(cli, flags, { since: QUERY_DEFAULT_SINCE });
        // A trace crosses agents: without --agent/--stream, --trace reads every agent stream of this connection.
        const across = q.trace && !q.agent && !flags.stream && !flags.prefix ? traceTargets(cfg.events, q) : { targets: [target], skipped: [] };
        if (across.skipped.length > 0) cli.err(`not read (own url/credentials; use --agent): ${across.skipped.join(", ")}`);
        const nc = await open(cli, flags, connCfg, "openclaw-nats-cli:events");
        try {
          // The newest `limit` matches of the range: a ring of the last ones read.
          const ring: ReadEvent[] = [];
          let seen = 0;
          for (const t of across.targets) {
            for await (const e of read(nc, t, { stream: t.stream, subjects: t.subjects, since: q.since, until: q.until })) {
              seen++;
              if (!matches(q, e)) continue;
              ring.push(e);
              // Trimmed in batches: shift() per event would make a large --limit quadratic.
              if (ring.length >= 2 * limit) {
                if (across.targets.length > 1) ring.sort(byStoredAt); // streams interleave in time
                ring.splice(0, ring.length - limit);
              }
            }
          }
          if (across.targets.length > 1) ring.sort(byStoredAt);
          if (ring.length > limit) ring.splice(0, ring.length - limit);
          for (const e of ring) emit(cli, flags, e);
          const from = across.targets.map((t) => `${t.stream} (${t.subjects.join(", ")})`).join(", ");
          if (!flags.json) cli.err(`${ring.length} event(s) shown; ${seen} read from ${from}`);
        } finally {
          await nc.close();
        }
      }),
    );

  withFilters(events.command("tail").description("Follow new events as they are stored (Ctrl-C ends; --since shows earlier ones first)"))
    .option("--count <n>", "exit after this many events")
    .action(
      cli.action(async (flags: TailFlags) => {
        const count = positiveInt(flags.count, "--count");
        const { q, target, connCfg } = prepare(cli, flags);
        const nc = await open(cli, flags, connCfg, "openclaw-nats-cli:events-tail");
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        try {
          if (!flags.json) cli.err(`following ${target.subjects.join(", ")} in ${target.stream} (Ctrl-C ends)`);
          let shown = 0;
          for await (const e of read(nc, target, { stream: target.stream, subjects: target.subjects, since: q.since ?? Date.now(), until: q.until, follow: q.until === undefined, signal: stop.signal })) {
            if (!matches(q, e)) continue;
            emit(cli, flags, e);
            if (count !== undefined && ++shown >= count) break;
          }
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          await nc.close();
        }
      }),
    );

  withFilters(events.command("replay").description("Print a range of events in stream order, or re-publish it to a subject (--to)"))
    .option("--from-seq <n>", "start at this stream sequence (instead of --since)")
    .option("--to-seq <n>", "stop after this stream sequence")
    .option("--to <subject>", "re-publish each event's stored message here (headers say where it came from)")
    .action(
      cli.action(async (flags: ReplayFlags) => {
        const fromSeq = positiveInt(flags.fromSeq, "--from-seq");
        const toSeq = positiveInt(flags.toSeq, "--to-seq");
        if (fromSeq === undefined && flags.since === undefined) throw new CliError("replay needs where to start: --since <time> or --from-seq <n>");
        if (fromSeq !== undefined && toSeq !== undefined && toSeq < fromSeq) throw new CliError("--to-seq is before --from-seq");
        const { cfg, q, target, connCfg } = prepare(cli, flags);
        if (flags.to !== undefined) {
          const prefixes = [cfg.events.subjectPrefix, target.prefix, ...Object.values(cfg.events.agents).map((a) => a.subjectPrefix).filter((p): p is string => !!p)];
          const problem = replayTargetProblem(flags.to, prefixes);
          if (problem) throw new CliError(problem);
        }
        const nc = await open(cli, flags, connCfg, "openclaw-nats-cli:events-replay");
        try {
          let n = 0;
          for await (const e of read(nc, target, { stream: target.stream, subjects: target.subjects, since: q.since, startSeq: fromSeq, until: q.until })) {
            if (toSeq !== undefined && e.seq > toSeq) break;
            if (!matches(q, e)) continue;
            n++;
            if (flags.to === undefined) {
              emit(cli, flags, e);
              continue;
            }
            const h = natsHeaders();
            h.set("Openclaw-Replay-Stream", target.stream);
            h.set("Openclaw-Replay-Seq", String(e.seq));
            h.set("Openclaw-Replay-Subject", e.subject);
            nc.publish(flags.to, e.data, { headers: h });
          }
          if (flags.to !== undefined) {
            await nc.flush();
            cli.print(flags, `re-published ${n} event(s) from ${target.stream} to ${flags.to}`, { ok: true, published: n, to: flags.to, stream: target.stream });
          } else if (!flags.json) cli.err(`${n} event(s) from ${target.stream}`);
        } finally {
          await nc.close();
        }
      }),
    );

  withGatewayFlags(
    events
      .command("record")
      .description("Record a custom.<name> event through the running gateway's spool (nats.events.record)")
      .argument("<name>", "event name: the type becomes custom.<name> (letters, digits, _ or -, dot-separated)")
      .requiredOption("--agent <id>", "the agent the event belongs to")
      .option("--session <key>", "the session it belongs to (agent:<id>:<rest>)")
      .option("--payload <json>", "a JSON object (at most 64 KiB)")
      .option("--visibility <v>", "public | internal | private")
      .option("--json", "machine-readable output"),
  ).action(
    cli.action(async (name: string, flags: RecordFlags) => {
      let payload: unknown;
      if (flags.payload !== undefined) {
        try {
          payload = JSON.parse(flags.payload);
        } catch (err) {
          throw new CliError(`--payload is not JSON: ${errorMessage(err)}`);
        }
      }
      const params = { agent: flags.agent, name, ...(payload !== undefined ? { payload } : {}), ...(flags.session ? { session: flags.session } : {}), ...(flags.visibility ? { visibility: flags.visibility } : {}) };
      const res = await cli.callGateway("nats.events.record", gatewayRpcOpts(flags), params, ["operator.write"]);
      cli.print(flags, `recorded ${String(res.type)} ${String(res.id)}`, res);
    }),
  );
}
