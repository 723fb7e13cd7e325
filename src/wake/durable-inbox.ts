import { jetstream, jetstreamManager, type ConsumerMessages, type JetStreamManager, type JsMsg, type StreamConfig } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { deadLetter } from "./dead-letter.ts";
import type { WakeDispatcher } from "./dispatcher.ts";
import { Hosting } from "./hosting.ts";
import { inboxConsumerConfig, inboxConsumers, inboxStreamConfig, isBroadcastSubject, wakeLayout, type InboxConsumer } from "./layout.ts";
import { Slots } from "./slots.ts";

/** Stream sequences already injected, so a true redelivery (ack lost, ack wait expired) is injected once. */
class RecentSeqs {
  private readonly seqs = new Set<number>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  has(seq: number): boolean {
    return this.seqs.has(seq);
  }
  add(seq: number): void {
    this.seqs.add(seq);
    if (this.seqs.size > this.max) this.seqs.delete(this.seqs.values().next().value as number);
  }
}

export interface InboxCounts {
  /** Redeliveries of a message this gateway had already injected: acked, not injected again. */
  redeliveriesSkipped: number;
  /** Messages copied to the dead-letter subject (invalid, or out of deliveries). */
  deadLettered: number;
  /** Messages being handled now. */
  inFlight: number;
}

/**
 * A JetStream work-queue stream over the inbox subjects and one durable pull consumer per hosted agent
 * (plus one for subjects that name no agent): messages sent while the gateway is down wait in the
 * stream; gateways hosting the same agent share its consumer; each message is acked after it was handled.
 *
 * Up to `inbox.maxConcurrent` messages are handled at once and each is kept alive with `working()`
 * while it is handled, so a long relay turn neither blocks the rest nor gets redelivered.
 */
export class DurableInbox {
  private readonly cfg: NatsPluginConfig;
  private readonly dispatcher: WakeDispatcher;
  private readonly log: Logger;
  private readonly hosting: Hosting;
  private readonly done = new RecentSeqs(10_000);
  private readonly inFlight = new Set<number>();
  private readonly slots: Slots;
  private consumers: ConsumerMessages[] = [];
  private advisory: Subscription | undefined;
  private running = false;
  private stopped = false;
  readonly counts: InboxCounts = { redeliveriesSkipped: 0, deadLettered: 0, inFlight: 0 };

  constructor(cfg: NatsPluginConfig, dispatcher: WakeDispatcher, log: Logger, hosting: Hosting) {
    this.cfg = cfg;
    this.dispatcher = dispatcher;
    this.log = log;
    this.hosting = hosting;
    this.slots = new Slots(cfg.inbox.maxConcurrent);
  }

  /** Provision stream + consumers (idempotent) and start consuming. Called on every (re)connect. */
  async start(nc: NatsConnection): Promise<void> {
    if (this.running || this.stopped) return; // consume() survives reconnects by itself
    this.running = true;
    try {
      const jsm = await jetstreamManager(nc);
      const streamSubjects = await this.ensureStream(jsm);
      const consumers = inboxConsumers(this.cfg, wakeLayout(this.cfg, this.hosting.agents));
      await this.retireCatchAll(jsm, consumers, streamSubjects);
      this.watchExhausted(nc, jsm);
      for (const c of consumers) {
        await this.ensureConsumer(jsm, c, streamSubjects);
        const messages = await jetstream(nc).consumers.get(this.cfg.inbox.streamName, c.name).then((k) => k.consume({ max_messages: this.cfg.inbox.maxConcurrent }));
        if (this.stopped) {
          await messages.close().catch(() => undefined);
          return;
        }
        this.consumers.push(messages);
        this.log.info(`nats: durable inbox ${this.cfg.inbox.streamName}/${c.name} consuming ${c.filters.join(", ")}`);
        void this.loop(nc, messages);
      }
      if (consumers.length === 0) this.log.warn(`nats: durable inbox: no subject to consume (subjects ${this.cfg.subjects.join(", ")}; hosted agents ${this.hosting.describe()})`);
    } catch (err) {
      this.running = false;
      throw err;
    }
  }

  /**
   * The stream as the config wants it. An existing stream with a different config is used as it is
   * when it cannot be brought to the config, with one log line saying what differs.
   */
  private async ensureStream(jsm: JetStreamManager): Promise<string[]> {
    const want = inboxStreamConfig(this.cfg);
    let c: StreamConfig;
    try {
      c = (await jsm.streams.info(want.name)).config;
    } catch (err) {
      if (!/stream not found/i.test(errorMessage(err))) throw err;
      await jsm.streams.add(want);
      this.log.info(`nats: created durable inbox stream ${want.name} on ${want.subjects.join(", ")}`);
      return want.subjects;
    }
    const fixed: string[] = [];
    if (c.retention !== want.retention) fixed.push(`retention "${c.retention}" (the inbox wants "${want.retention}")`);
    if (c.storage !== want.storage) fixed.push(`storage "${c.storage}" (the inbox wants "${want.storage}")`);
    const sameSubjects = c.subjects.length === want.subjects.length && want.subjects.every((s) => c.subjects.includes(s));
    if (!sameSubjects || c.max_age !== want.max_age || c.duplicate_window !== want.duplicate_window) {
      try {
        c = (await jsm.streams.update(want.name, { ...c, subjects: want.subjects, max_age: want.max_age, duplicate_window: want.duplicate_window })).config;
        this.log.info(`nats: durable inbox stream ${want.name} updated to the config (subjects ${want.subjects.join(", ")})`);
      } catch (err) {
        fixed.push(`subjects ${c.subjects.join(", ")} / max_age / duplicate_window could not be updated: ${errorMessage(err)}`);
      }
    }
    if (fixed.length > 0) {
      this.log.warn(`nats: durable inbox stream ${want.name} exists with a different config: ${fixed.join("; ")}. Using it as it is; to get the configured one, \`nats stream rm ${want.name}\` (its messages are lost) and restart the gateway`);
    }
    return c.subjects;
  }

  /**
   * A consumer named `<consumerName>` that takes every subject (made by an earlier version, or by hand)
   * would overlap the per-agent consumers, which a work-queue stream refuses. It is removed, with one log
   * line; its unacked messages stay in the stream and go to the new consumers.
   */
  private async retireCatchAll(jsm: JetStreamManager, consumers: InboxConsumer[], streamSubjects: string[]): Promise<void> {
    const name = this.cfg.inbox.consumerName;
    let info;
    try {
      info = await jsm.consumers.info(this.cfg.inbox.streamName, name);
    } catch {
      return;
    }
    const catchAll = !info.config.filter_subject && !(info.config.filter_subjects?.length);
    const only = consumers.length === 1 && consumers[0]!.name === name ? inboxConsumerConfig(this.cfg, consumers[0]!, streamSubjects) : undefined;
    const wantsCatchAll = only !== undefined && only.filter_subject === undefined && only.filter_subjects === undefined;
    if (!catchAll || wantsCatchAll) return;
    await jsm.consumers.delete(this.cfg.inbox.streamName, name);
    this.log.warn(`nats: durable inbox consumer ${name} took every inbox subject; removed it so each hosted agent gets its own consumer (its ${info.num_pending + info.num_ack_pending} waiting message(s) stay in the stream)`);
  }

  private async ensureConsumer(jsm: JetStreamManager, c: InboxConsumer, streamSubjects: string[]): Promise<void> {
    const want = inboxConsumerConfig(this.cfg, c, streamSubjects);
    try {
      await jsm.consumers.add(this.cfg.inbox.streamName, want);
    } catch (err) {
      // An existing consumer with settings that cannot change (e.g. another ack policy) is used as it is.
      try {
        await jsm.consumers.info(this.cfg.inbox.streamName, c.name);
      } catch {
        throw err;
      }
      this.log.warn(`nats: durable inbox consumer ${c.name} exists with a different config (${errorMessage(err)}); using it as it is`);
    }
  }

  /**
   * A message whose last delivery was never acked (the gateway died while holding it, every time) is
   * reported by the server's MAX_DELIVERIES advisory: copy it to the dead-letter subject and remove it
   * from the stream. One gateway of the queue group handles each advisory.
   */
  private watchExhausted(nc: NatsConnection, jsm: JetStreamManager): void {
    const stream = this.cfg.inbox.streamName;
    const prefix = this.cfg.inbox.consumerName;
    try {
      this.advisory = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`, {
        queue: this.cfg.queueGroup,
        callback: (err, msg) => {
          if (err) return;
          let adv: { consumer?: unknown; stream_seq?: unknown; deliveries?: unknown };
          try {
            adv = msg.json();
          } catch {
            return;
          }
          const consumer = typeof adv.consumer === "string" ? adv.consumer : "";
          if (typeof adv.stream_seq !== "number" || !(consumer === prefix || consumer.startsWith(`${prefix}-`))) return;
          void this.exhausted(nc, jsm, adv.stream_seq, Number(adv.deliveries) || this.cfg.inbox.maxDeliver);
        },
      });
    } catch (err) {
      this.log.warn(`nats: durable inbox: cannot watch for exhausted messages (${errorMessage(err)}); a message whose every delivery times out stays in the stream until maxAgeHours`);
    }
  }

  private async exhausted(nc: NatsConnection, jsm: JetStreamManager, seq: number, deliveries: number): Promise<void> {
    const stream = this.cfg.inbox.streamName;
    try {
      const sm = await jsm.streams.getMessage(stream, { seq });
      if (!sm) return;
      this.counts.deadLettered++;
      deadLetter(nc, this.cfg.deadLetterSubject, { subject: sm.subject, data: sm.data, reason: `not acknowledged after ${deliveries} deliveries (inbox.maxDeliver)` }, this.log, { streamSeq: seq });
      await jsm.streams.deleteMessage(stream, seq, false);
    } catch (err) {
      if (!/no message found/i.test(errorMessage(err))) this.log.warn(`nats: durable inbox: dead-lettering exhausted message ${seq} failed: ${errorMessage(err)}`);
    }
  }

  private async loop(nc: NatsConnection, messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.stopped) break;
        // Kept alive from the moment it is pulled, also while it waits for a free slot.
        const keepAlive = setInterval(() => m.working(), Math.max(500, Math.floor(this.cfg.inbox.ackWaitMs / 3)));
        await this.slots.acquire();
        // Started in arrival order: the synchronous part of dispatch (parse, inject) keeps that order.
        void this.handle(nc, m).finally(() => {
          clearInterval(keepAlive);
          this.slots.release();
        });
      }
    } catch (err) {
      this.log.warn(`nats: durable inbox stopped: ${errorMessage(err)}`);
    }
  }

  /** One pulled message: dedup, route, dispatch, ack / nak / dead-letter. Public for the unit test of redelivery. */
  async handle(nc: NatsConnection, m: JsMsg): Promise<void> {
    const seq = m.seq;
    if (this.inFlight.has(seq)) return; // an earlier delivery is still being handled (and kept alive); it acks
    if (this.done.has(seq)) {
      // A true redelivery of a message this gateway already injected (its ack was lost).
      this.counts.redeliveriesSkipped++;
      m.ack();
      return;
    }
    this.inFlight.add(seq);
    this.counts.inFlight = this.inFlight.size;
    try {
      // Broadcasts reach every gateway through the core broadcast subscription, not through the work queue.
      if (isBroadcastSubject(this.cfg, m.subject)) {
        m.ack();
        return;
      }
      const { away, parsed } = this.hosting.check(this.dispatcher, m.data, m.subject);
      if (away) {
        // Another gateway of the consumer may host it: give it back, dead-letter on the last delivery.
        if (this.lastDelivery(m)) return this.giveUp(nc, m, `agent "${away}" is not hosted by any gateway that took this message`);
        m.nak(1000);
        return;
      }
      const outcome = await this.dispatcher.dispatch(m.data, m.subject, performance.now(), { headers: m.headers, stored: true, ...(parsed ? { parsed } : {}) });
      if (outcome.kind === "rejected") return this.giveUp(nc, m, outcome.reason);
      this.done.add(seq);
      await m.ackAck().catch(() => m.ack());
    } catch (err) {
      if (this.lastDelivery(m)) return this.giveUp(nc, m, `failed on delivery ${m.info.deliveryCount} of ${this.cfg.inbox.maxDeliver}: ${errorMessage(err)}`);
      this.log.warn(`nats: durable inbox message ${this.cfg.inbox.streamName}#${seq} failed (delivery ${m.info.deliveryCount}), will be redelivered: ${errorMessage(err)}`);
      m.nak(1000);
    } finally {
      this.inFlight.delete(seq);
      this.counts.inFlight = this.inFlight.size;
    }
  }

  private lastDelivery(m: JsMsg): boolean {
    return this.cfg.inbox.maxDeliver > 0 && m.info.deliveryCount >= this.cfg.inbox.maxDeliver;
  }

  /** Dead-letter copy with the reason, then terminate: the server delivers it no more. */
  private giveUp(nc: NatsConnection, m: JsMsg, reason: string): void {
    this.counts.deadLettered++;
    deadLetter(nc, this.cfg.deadLetterSubject, { subject: m.subject, data: m.data, reason }, this.log, { streamSeq: m.seq, deliveries: m.info.deliveryCount });
    m.term(reason.slice(0, 200));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.advisory?.unsubscribe();
    this.advisory = undefined;
    const consumers = this.consumers;
    this.consumers = [];
    await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
  }
}
