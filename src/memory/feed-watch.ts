import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { jsDomain } from "../connection/domain.ts";

/** How often the feed looks for a source that stopped delivering, and how long without an event counts as stopped. */
export interface StallWatch {
  everyMs: number;
  stallMs: number;
}

export const STALL_WATCH: StallWatch = { everyMs: 15_000, stallMs: 30_000 };

/**
 * The newest stream sequence on a source's subject when it is past `cursor`, else undefined: one
 * last-by-subject get (nats-server 2.9 takes the source's wildcard subject here).
 */
export async function newerOnSubject(nc: NatsConnection, source: { stream: string; subject: string }, cursor: number): Promise<number | undefined> {
  const jsm = await jetstreamManager(nc, { ...jsDomain(nc), timeout: 5000, checkAPI: false });
  const last = await jsm.streams.getMessage(source.stream, { last_by_subj: source.subject });
  return last && last.seq > cursor ? last.seq : undefined;
}
