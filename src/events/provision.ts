import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { ensureStream, type StreamSpec } from "./stream.ts";
import { DEFAULT_MAX_PAYLOAD, PROVISION_RETRY_MS, type LinkEntry } from "./topology.ts";
import { jsDomain } from "../connection/domain.ts";

// Streams are created (or checked) on every (re)connect of a connection events use, and a stream that
// could not be created then is tried again with a growing pause: events wait in the spool meanwhile.

const PROVISION_RETRY_MAX_MS = 300_000;

export interface ProvisionContext {
  timeoutMs: number;
  log: Logger;
  onError: (message: string) => void;
}

/** After a (re)connect: the server's max_payload, then the connection's streams; the link is ready for its lanes after. */
export async function prepareLink(entry: LinkEntry, nc: NatsConnection, ctx: ProvisionContext): Promise<void> {
  entry.ready = false;
  const serverMax = nc.info?.max_payload;
  entry.maxPayload = serverMax && serverMax > 0 ? serverMax : DEFAULT_MAX_PAYLOAD;
  entry.retryMs = PROVISION_RETRY_MS;
  await provision(entry, nc, [...entry.specs.values()], ctx);
  entry.ready = true;
}

async function provision(entry: LinkEntry, nc: NatsConnection, specs: StreamSpec[], ctx: ProvisionContext): Promise<void> {
  entry.provisioning = true;
  entry.provisionedAt = Date.now();
  try {
    const jsm = await jetstreamManager(nc, { ...jsDomain(nc), timeout: ctx.timeoutMs });
    for (const spec of specs) entry.outcomes.set(spec.name, (await ensureStream(jsm, spec, ctx.log)).outcome);
  } catch (err) {
    for (const spec of specs) entry.outcomes.set(spec.name, "failed");
    ctx.onError(`JetStream unavailable on the ${entry.label} connection: ${errorMessage(err)}`);
  } finally {
    entry.provisioning = false;
  }
}

/** A stream that could not be created (JetStream not ready yet, cluster without a leader, …) is tried again. */
export function retryFailedStreams(links: Iterable<LinkEntry>, ctx: ProvisionContext): void {
  for (const entry of links) {
    const nc = entry.link.current;
    if (!nc || !entry.link.isConnected || entry.provisioning || Date.now() - entry.provisionedAt < entry.retryMs) continue;
    const failed = [...entry.specs.values()].filter((spec) => entry.outcomes.get(spec.name) === "failed");
    if (failed.length === 0) continue;
    entry.retryMs = Math.min(entry.retryMs * 2, PROVISION_RETRY_MAX_MS);
    void provision(entry, nc, failed, ctx);
  }
}
