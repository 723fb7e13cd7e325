import type { JetStreamManager, Placement, StreamConfig } from "@nats-io/jetstream";
import { errorMessage, type Logger } from "../shared/logger.ts";

// The one home of how the plugin's streams (durable inbox, dead letters, events) are replicated across a
// NATS cluster: what differs from the config, how a stream is created (R1 on a single server rather than
// none) and how an existing one is brought to the configured replicas/placement in place.

/** What the config asks for. `replicas` undefined: create with one, leave an existing stream's count as it is. */
export interface Replication {
  replicas?: number;
  placement?: { cluster?: string; tags?: string[] };
}

/** The stream-config fields for a new stream. */
export function replicationFields(want: Replication): Pick<Partial<StreamConfig>, "num_replicas" | "placement"> {
  const out: Pick<Partial<StreamConfig>, "num_replicas" | "placement"> = { num_replicas: want.replicas ?? 1 };
  const p = placementOf(want);
  if (p) out.placement = p;
  return out;
}

function placementOf(want: Replication): Placement | undefined {
  const p = want.placement;
  if (!p || (p.cluster === undefined && !p.tags?.length)) return undefined;
  return { cluster: p.cluster ?? "", tags: p.tags ?? [] };
}

function samePlacement(a: Placement | undefined, b: Placement): boolean {
  const tags = (x: Placement | undefined) => [...(x?.tags ?? [])].sort().join(",");
  return (a?.cluster ?? "") === b.cluster && tags(a) === tags(b);
}

/** `field old→new` notes and the fields to update, for the replication settings that differ. */
export function replicationDiff(existing: StreamConfig, want: Replication): { notes: string[]; update: Pick<Partial<StreamConfig>, "num_replicas" | "placement"> } {
  const notes: string[] = [];
  const update: Pick<Partial<StreamConfig>, "num_replicas" | "placement"> = {};
  if (want.replicas !== undefined && existing.num_replicas !== want.replicas) {
    update.num_replicas = want.replicas;
    notes.push(`num_replicas ${existing.num_replicas}→${want.replicas}`);
  }
  const p = placementOf(want);
  if (p && !samePlacement(existing.placement, p)) {
    update.placement = p;
    notes.push(`placement ${describePlacement(existing.placement)}→${describePlacement(p)}`);
  }
  return { notes, update };
}

function describePlacement(p: Placement | undefined): string {
  if (!p || (!p.cluster && !p.tags?.length)) return "(any)";
  return [p.cluster && `cluster ${p.cluster}`, p.tags?.length && `tags ${p.tags.join(",")}`].filter(Boolean).join(" ");
}

/** The server refuses replicas because it is not part of a cluster. */
export function isNotClustered(err: unknown): boolean {
  return /non-clustered|not.*clustered|replicas > 1 not supported/i.test(errorMessage(err));
}

/**
 * Creates the stream. A single server cannot hold replicas: it is then created with one copy (one warn
 * line) rather than not at all. Returns the replicas it was created with; throws what the server said otherwise.
 */
export async function addReplicated(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, log: Logger, label: string, detail?: string): Promise<number> {
  const replicas = config.num_replicas ?? 1;
  try {
    await jsm.streams.add(config);
    return replicas;
  } catch (err) {
    if (replicas <= 1 || !isNotClustered(err)) throw err;
    await jsm.streams.add({ ...config, num_replicas: 1 });
    log.warn(`${label}: created stream "${config.name}"${detail ? ` (${detail})` : ""} with R1 instead of R${replicas}: ${errorMessage(err)}`);
    return 1;
  }
}

/**
 * Brings an existing stream to the configured replicas/placement in place (the server adds or drops
 * peers; the messages stay). Refusals (a single server, too few nodes with the tags) are one warn line
 * and the stream is used as it is. Returns the config the stream has afterwards.
 */
export async function updateReplication(jsm: JetStreamManager, existing: StreamConfig, want: Replication, log: Logger, label: string): Promise<StreamConfig> {
  const { notes, update } = replicationDiff(existing, want);
  if (notes.length === 0) return existing;
  try {
    const info = await jsm.streams.update(existing.name, { ...existing, ...update });
    log.info(`${label}: updated stream "${existing.name}" (${notes.join(", ")})`);
    return info.config;
  } catch (err) {
    const why = isNotClustered(err) ? "the server is not clustered" : errorMessage(err);
    log.warn(`${label}: stream "${existing.name}" kept as it is (${notes.join(", ")} refused: ${why})`);
    return existing;
  }
}
