import type { NatsConnection } from "@nats-io/transport-node";
import { processEntry, processState } from "../shared/process-state.ts";

// The JetStream domain a connection's JetStream API calls go to (`jetstreamDomain`). Kept beside the
// connection object rather than threaded through every caller: the inbox, the dead-letter stream, the
// event store, memory, the dashboard and the CLI each build their own jetstream()/jetstreamManager()
// from a connection, and all of them must address the same domain. A process entry, not a module
// variable: a connection opened by one registration's module copy is used by another copy's status and
// dashboard code, which must see the same domain (docs/architecture.md, runtime model).

const DOMAINS = processEntry("connection", "jetstream-domains", () => new WeakMap<NatsConnection, string>());

/** Remember the domain of `nc` (set by whoever opened it, before anyone uses it). */
export function setJetStreamDomain(nc: NatsConnection, domain: string | undefined): void {
  if (domain) processState(DOMAINS).set(nc, domain);
  else processState(DOMAINS).delete(nc);
}

/**
 * The `domain` option of nats.js's jetstream()/jetstreamManager() for `nc`: `{ domain }` when the
 * plugin's streams live in a JetStream domain (`$JS.<domain>.API`), else nothing (`$JS.API`, the
 * JetStream of the server connected to).
 */
export function jsDomain(nc: NatsConnection): { domain?: string } {
  const d = processState(DOMAINS).get(nc);
  return d ? { domain: d } : {};
}
