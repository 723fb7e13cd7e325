import type { JetStreamManager, StreamConfig } from "@nats-io/jetstream";
import type { NatsPluginConfig } from "../config/schema.ts";
import { addReplicated, updateReplication } from "../connection/replication.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { inboxConsumerConfig, inboxStreamConfig, type InboxConsumer } from "./layout.ts";

// Provisioning of the durable inbox: its work-queue stream and one pull consumer per hosted agent.

/**
 * The stream as the config wants it. An existing stream with a different config is used as it is
 * when it cannot be brought to the config, with one log line saying what differs.
 */
export async function ensureInboxStream(jsm: JetStreamManager, cfg: NatsPluginConfig, log: Logger): Promise<string[]> {
  const want = inboxStreamConfig(cfg);
  let c: StreamConfig;
  try {
    c = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (!/stream not found/i.test(errorMessage(err))) throw err;
    const replicas = await addReplicated(jsm, want, log, "nats: durable inbox");
    if (replicas === (want.num_replicas ?? 1)) log.info(`nats: created durable inbox stream ${want.name} on ${want.subjects.join(", ")} (R${replicas})`);
    return want.subjects;
  }
  const fixed: string[] = [];
  if (c.retention !== want.retention) fixed.push(`retention "${c.retention}" (the inbox wants "${want.retention}")`);
  if (c.storage !== want.storage) fixed.push(`storage "${c.storage}" (the inbox wants "${want.storage}")`);
  const sameSubjects = c.subjects.length === want.subjects.length && want.subjects.every((s) => c.subjects.includes(s));
  if (!sameSubjects || c.max_age !== want.max_age || c.duplicate_window !== want.duplicate_window) {
    try {
      c = (await jsm.streams.update(want.name, { ...c, subjects: want.subjects, max_age: want.max_age, duplicate_window: want.duplicate_window })).config;
      log.info(`nats: durable inbox stream ${want.name} updated to the config (subjects ${want.subjects.join(", ")})`);
    } catch (err) {
      fixed.push(`subjects ${c.subjects.join(", ")} / max_age / duplicate_window could not be updated: ${errorMessage(err)}`);
    }
  }
  c = await updateReplication(jsm, c, cfg.inbox, log, "nats: durable inbox");
  if (fixed.length > 0) {
    log.warn(`nats: durable inbox stream ${want.name} exists with a different config: ${fixed.join("; ")}. Using it as it is; to get the configured one, \`nats stream rm ${want.name}\` (its messages are lost) and restart the gateway`);
  }
  return c.subjects;
}

/**
 * A consumer named `<consumerName>` that takes every subject (made by an earlier version, or by hand)
 * would overlap the per-agent consumers, which a work-queue stream refuses. It is removed, with one log
 * line; its unacked messages stay in the stream and go to the new consumers.
 */
export async function retireCatchAll(jsm: JetStreamManager, cfg: NatsPluginConfig, log: Logger, consumers: InboxConsumer[], streamSubjects: string[]): Promise<void> {
  const name = cfg.inbox.consumerName;
  let info;
  try {
    info = await jsm.consumers.info(cfg.inbox.streamName, name);
  } catch {
    return;
  }
  const catchAll = !info.config.filter_subject && !(info.config.filter_subjects?.length);
  const only = consumers.length === 1 && consumers[0]!.name === name ? inboxConsumerConfig(cfg, consumers[0]!, streamSubjects) : undefined;
  const wantsCatchAll = only !== undefined && only.filter_subject === undefined && only.filter_subjects === undefined;
  if (!catchAll || wantsCatchAll) return;
  await jsm.consumers.delete(cfg.inbox.streamName, name);
  log.warn(`nats: durable inbox consumer ${name} took every inbox subject; removed it so each hosted agent gets its own consumer (its ${info.num_pending + info.num_ack_pending} waiting message(s) stay in the stream)`);
}

export async function ensureInboxConsumer(jsm: JetStreamManager, cfg: NatsPluginConfig, log: Logger, c: InboxConsumer, streamSubjects: string[]): Promise<void> {
  const want = inboxConsumerConfig(cfg, c, streamSubjects);
  try {
    await jsm.consumers.add(cfg.inbox.streamName, want);
  } catch (err) {
    // An existing consumer with settings that cannot change (e.g. another ack policy) is used as it is.
    try {
      await jsm.consumers.info(cfg.inbox.streamName, c.name);
    } catch {
      throw err;
    }
    log.warn(`nats: durable inbox consumer ${c.name} exists with a different config (${errorMessage(err)}); using it as it is`);
  }
}
