import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamUpdateConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { EventsConfig } from "../config/schema.ts";
import { addReplicated, replicationDiff, replicationFields, type Replication } from "../connection/replication.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { eventFilter } from "../shared/subjects.ts";

/** What the plugin wants the events stream to look like. */
export interface StreamSpec extends Replication {
  name: string;
  /** `{prefix}.>` for every subject prefix written into this stream. */
  subjects: string[];
  duplicateWindowMs: number;
  maxMessages: number;
  maxBytes: number;
  /** 0 = keep forever. */
  maxAgeMs: number;
}

export type EnsureOutcome = "created" | "updated" | "unchanged" | "kept" | "failed";

export interface EnsureResult {
  outcome: EnsureOutcome;
  /** The one log line written for "kept" / "failed" (and the reason a field was left alone). */
  message?: string;
}

export function streamSpec(config: EventsConfig, name: string, prefixes: readonly string[]): StreamSpec {
  const maxAgeMs = Math.round(config.retention.maxAgeHours * 3_600_000);
  // The server refuses a duplicate window longer than max_age.
  const duplicateWindowMs = maxAgeMs > 0 ? Math.min(config.duplicateWindowMs, maxAgeMs) : config.duplicateWindowMs;
  return {
    name,
    subjects: [...new Set(prefixes.map((p) => eventFilter(p)))],
    duplicateWindowMs,
    replicas: config.replicas,
    placement: config.placement,
    maxMessages: config.retention.maxMessages,
    maxBytes: config.retention.maxBytes,
    maxAgeMs,
  };
}

function createConfig(spec: StreamSpec): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: spec.subjects,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_msgs: spec.maxMessages,
    max_bytes: spec.maxBytes,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    ...replicationFields(spec),
    allow_direct: true,
  };
}

/** The updatable fields that differ, as `field old→new` notes plus the update to send. */
function diff(existing: StreamConfig, spec: StreamSpec): { notes: string[]; update: Partial<StreamUpdateConfig> } {
  const notes: string[] = [];
  const update: Partial<StreamUpdateConfig> = {};
  const missing = spec.subjects.filter((s) => !(existing.subjects ?? []).includes(s));
  if (missing.length > 0) {
    update.subjects = [...(existing.subjects ?? []), ...missing];
    notes.push(`subjects +${missing.join(",")}`);
  }
  const want = {
    duplicate_window: nanos(spec.duplicateWindowMs),
    max_msgs: spec.maxMessages,
    max_bytes: spec.maxBytes,
    max_age: nanos(spec.maxAgeMs),
  } as const;
  for (const key of Object.keys(want) as Array<keyof typeof want>) {
    if (existing[key] !== want[key]) {
      update[key] = want[key];
      notes.push(`${key} ${existing[key]}→${want[key]}`);
    }
  }
  const replication = replicationDiff(existing, spec);
  return { notes: [...notes, ...replication.notes], update: { ...update, ...replication.update } };
}

/**
 * How an existing stream differs from the spec: `updatable` notes the gateway applies when it
 * starts, `fixed` ones it cannot change (the stream has to be recreated). Used by `openclaw nats doctor`.
 */
export function compareStream(existing: StreamConfig, spec: StreamSpec): { updatable: string[]; fixed: string[] } {
  const fixed = existing.storage !== StorageType.File ? [`storage is "${existing.storage}", the plugin needs "file"`] : [];
  return { updatable: diff(existing, spec).notes, fixed };
}

export function isStreamNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

/**
 * Creates the events stream, or brings an existing one to the configured settings. A change the
 * server cannot make (storage type, replicas on a single server, …) is reported in one log line and
 * the existing stream is kept and published to. Never throws.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, log: Logger): Promise<EnsureResult> {
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(spec.name)).config;
  } catch (err) {
    if (!isStreamNotFound(err)) return failed(log, `events: cannot look up stream "${spec.name}": ${errorMessage(err)}`);
    return create(jsm, spec, log);
  }

  const { notes, update } = diff(existing, spec);
  const kept: string[] = [];
  if (existing.storage !== StorageType.File) {
    kept.push(`storage stays "${existing.storage}" (the storage type of an existing stream cannot be changed; recreate the stream for "file")`);
  }
  if (notes.length === 0) {
    if (kept.length === 0) return { outcome: "unchanged" };
    const message = `events: stream "${spec.name}": ${kept.join("; ")}; publishing to the existing stream`;
    log.warn(message);
    return { outcome: "kept", message };
  }
  try {
    await jsm.streams.update(spec.name, update);
  } catch (err) {
    const message = `events: cannot update stream "${spec.name}" (${notes.join(", ")}): ${errorMessage(err)}${kept.length ? `; ${kept.join("; ")}` : ""}; publishing to the existing stream as it is`;
    log.warn(message);
    return { outcome: "kept", message };
  }
  log.info(`events: updated stream "${spec.name}" (${notes.join(", ")})`);
  if (kept.length > 0) {
    const message = `events: stream "${spec.name}": ${kept.join("; ")}; publishing to the existing stream`;
    log.warn(message);
    return { outcome: "kept", message };
  }
  return { outcome: "updated" };
}

async function create(jsm: JetStreamManager, spec: StreamSpec, log: Logger): Promise<EnsureResult> {
  const where = `${spec.subjects.join(", ")}, file`;
  const want = spec.replicas ?? 1;
  try {
    // On a single server an R>1 stream is created R1 (one warn line): events keep flowing with one copy rather than none.
    const got = await addReplicated(jsm, createConfig(spec), log, "events", where);
    if (got !== want) return { outcome: "kept", message: `events: created stream "${spec.name}" (${where}) with R${got} instead of R${want}` };
    log.info(`events: created stream "${spec.name}" (${where}, R${got})`);
    return { outcome: "created" };
  } catch (err) {
    return failed(log, `events: cannot create stream "${spec.name}" (${where}): ${errorMessage(err)}`);
  }
}

function failed(log: Logger, message: string): EnsureResult {
  log.warn(message);
  return { outcome: "failed", message };
}
