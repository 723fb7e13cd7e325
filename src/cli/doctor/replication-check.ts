import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../../config/schema.ts";
import { isStreamNotFound } from "../../events/stream.ts";
import { errorMessage } from "../../shared/logger.ts";
import { CliError } from "../context.ts";
import { ok, skip, warn, type CheckResult } from "./check.ts";
import { eventSpecs } from "./nats-checks.ts";

// On a NATS cluster every stream the plugin keeps should survive a node loss: R3 (or R5). A stream with
// fewer copies is unreachable while the node holding it is down (the issue measured 20 of 30 durable wakes
// refused after killing the inbox's node). Single servers hold one copy by nature: nothing to warn about.

/** Below this, a clustered stream does not survive one node loss with a quorum left. */
export const CLUSTER_MIN_REPLICAS = 3;

export interface StreamReplicas {
  name: string;
  /** Which config section sets it (the fix names the key). */
  key: string;
  replicas: number;
}

/** The decision: clustered and a plugin stream below R3 → one warning naming every such stream. */
export function replicationVerdict(clustered: boolean, streams: readonly StreamReplicas[]): CheckResult {
  const title = "replicas";
  if (streams.length === 0) return skip("replicas", title, "no plugin stream exists yet");
  const list = (s: readonly StreamReplicas[]) => s.map((x) => `${x.name} R${x.replicas}`).join(", ");
  if (!clustered) return ok("replicas", title, `single server: ${list(streams)} (replicas need a cluster)`);
  const low = streams.filter((s) => s.replicas < CLUSTER_MIN_REPLICAS);
  if (low.length === 0) return ok("replicas", title, `clustered: ${list(streams)}`);
  const keys = [...new Set(low.map((s) => s.key))].join(", ");
  return warn(
    "replicas",
    title,
    `the server is clustered but ${list(low)} ${low.length === 1 ? "has" : "have"} fewer than ${CLUSTER_MIN_REPLICAS} replicas: a node loss makes ${low.length === 1 ? "it" : "them"} unreachable until the node returns`,
    `set "replicas": 3 in plugins.entries.nats.config (or ${keys}) and restart the gateway or run \`openclaw nats setup\`: the streams are raised in place`,
  );
}

/** `setup`'s offer: on a clustered server with no `replicas` chosen, say how to get streams that survive a node loss. */
export function replicasAdvice(cluster: string | undefined, replicas: number | undefined): string | undefined {
  if (!cluster || replicas !== undefined) return undefined;
  return `the server is part of cluster "${cluster}": run setup again with --replicas 3 (or 5) so every plugin stream survives a node loss; without it they are created R1`;
}

/** `--replicas <n>`: an integer 1–5; anything else is a CliError naming the value. */
export function parseReplicasFlag(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new CliError(`--replicas must be an integer from 1 to 5 (got ${JSON.stringify(value.slice(0, 20))})`);
  return n;
}

/** The plugin's streams that exist on this server, with their replica counts, and whether it is clustered. */
export async function replicationCheck(nc: NatsConnection, jsm: JetStreamManager, cfg: NatsPluginConfig): Promise<CheckResult> {
  const wanted: Array<{ name: string; key: string }> = [];
  if (cfg.inbox.durable) wanted.push({ name: cfg.inbox.streamName, key: "inbox.replicas" });
  if (cfg.deadLetterStream.enabled) wanted.push({ name: cfg.deadLetterStream.name, key: "deadLetterStream.replicas" });
  if (cfg.events.enabled) for (const spec of eventSpecs(cfg)) wanted.push({ name: spec.name, key: "events.replicas" });
  const found: StreamReplicas[] = [];
  // The INFO of a clustered server names its cluster; a stream's info carries its peers there too.
  let clustered = Boolean(nc.info?.cluster);
  for (const w of wanted) {
    try {
      const info = await jsm.streams.info(w.name);
      found.push({ ...w, replicas: info.config.num_replicas });
      if ((info.cluster?.replicas?.length ?? 0) > 0 || info.cluster?.name) clustered = true;
    } catch (err) {
      if (isStreamNotFound(err)) continue;
      return warn("replicas", "replicas", `cannot look up stream ${w.name}: ${errorMessage(err)}`, "allow publish to $JS.API.> for this user");
    }
  }
  return replicationVerdict(clustered, found);
}
