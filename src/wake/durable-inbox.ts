import { jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { WakeDispatcher } from "./dispatcher.ts";
import { Hosting } from "./hosting.ts";
import { inboxConsumers, isBroadcastSubject, wakeLayout } from "./layout.ts";
import { Slots } from "./slots.ts";
import { RecentSeqs } from "./recent-seqs.ts";
import { HandedOffJournal } from "./handed-off.ts";
import { ensureInboxConsumer, ensureInboxStream, retireCatchAll } from "./inbox-provision.ts";
import { DeadLetterStore } from "./dead-letter-store.ts";
import { ExhaustedWatch } from "./inbox-exhausted.ts";
import { HeldMessages, settle } from "./inbox-messages.ts";
import { jsDomain } from "../connection/domain.ts";

/**
 * How long each pull request lives. A pull waits on the consumer's leader; when that node dies the client
 * learns it only from two missed heartbeats (half the expiry each) and then pulls again. nats.js's default
 * of 30 s left wakes accepted by the new leader waiting ~44 s to be delivered (measured on a 3-node
 * cluster, consumer leader SIGKILLed); 5 s brought that to ~16–18 s (most of it the elections), for one
 * pull request every 5 s per consumer while idle.
 */
const PULL_EXPIRES_MS = 5000;

/** A stop's nak delay (see stop()): long enough for the server to drop our closed pulls, short against any restart. */
const HAND_BACK_DELAY_MS = 2000;

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
 * Held messages and their keep-alives: inbox-messages.ts; the exhausted-delivery advisory: inbox-exhausted.ts;
 * provisioning: inbox-provision.ts. This class consumes, dedupes, dispatches and answers the server.
 */
export class DurableInbox {
  private readonly cfg: NatsPluginConfig;
  private readonly dispatcher: WakeDispatcher;
  private readonly log: Logger;
  private readonly hosting: Hosting;
  private readonly done = new RecentSeqs(10_000);
  private readonly inFlight = new Set<number>();
  /** Publisher message ids (Nats-Msg-Id) injected or being handled: see handle(). */
  private readonly doneIds = new RecentSeqs<string>(10_000);
  private readonly inFlightIds = new Set<string>();
  /** Committed messages, on disk: a redelivery after a crash is acked, not handed again. */
  private readonly handedOff: HandedOffJournal;
  /** Every message this gateway holds (pulled, not yet acked/nak'ed): kept alive, handed back on stop. */
  private readonly held: HeldMessages;
  private readonly deadLetters: DeadLetterStore;
  private readonly exhausted: ExhaustedWatch;
  /** Consuming, by consumer name: a retried start (after a partial failure) starts only what is missing. */
  private consumers = new Map<string, ConsumerMessages>();
  private running = false;
  private stopped = false;
  readonly counts: InboxCounts = { redeliveriesSkipped: 0, deadLettered: 0, inFlight: 0 };

  /** `journalPath`: where committed messages are remembered across restarts (the plugin's state dir); none: memory only. */
  constructor(cfg: NatsPluginConfig, dispatcher: WakeDispatcher, log: Logger, hosting: Hosting, journalPath?: string) {
    this.cfg = cfg;
    this.handedOff = new HandedOffJournal(journalPath, log);
    this.dispatcher = dispatcher;
    this.log = log;
    this.hosting = hosting;
    this.deadLetters = new DeadLetterStore(cfg, log);
    this.held = new HeldMessages(cfg.inbox.ackWaitMs, log);
    this.exhausted = new ExhaustedWatch(cfg, log, this.deadLetters, () => this.counts.deadLettered++);
  }

  /** Consumers being consumed now (one loop each), and whether the exhausted-message advisory is watched. */
  get consuming(): { consumers: number; advisory: boolean } {
    return { consumers: this.consumers.size, advisory: this.exhausted.watching };
  }

  /** Provision stream + consumers (idempotent) and start consuming. Called on every (re)connect. */
  async start(nc: NatsConnection): Promise<void> {
    if (this.running || this.stopped) return; // consume() survives reconnects by itself
    this.running = true;
    try {
      const jsm = await jetstreamManager(nc, jsDomain(nc));
      const streamSubjects = await ensureInboxStream(jsm, this.cfg, this.log);
      const consumers = inboxConsumers(this.cfg, wakeLayout(this.cfg, this.hosting.agents));
      await retireCatchAll(jsm, this.cfg, this.log, consumers, streamSubjects);
      this.exhausted.start(nc, jsm);
      for (const c of consumers) {
        if (this.consumers.has(c.name)) continue; // consuming since an earlier, partly failed start
        await ensureInboxConsumer(jsm, this.cfg, this.log, c, streamSubjects);
        const messages = await jetstream(nc, jsDomain(nc)).consumers.get(this.cfg.inbox.streamName, c.name).then((k) => k.consume({ max_messages: this.cfg.inbox.maxConcurrent, expires: PULL_EXPIRES_MS }));
        if (this.stopped) {
          await messages.close().catch(() => undefined);
          return;
        }
        this.consumers.set(c.name, messages);
        this.log.info(`nats: durable inbox ${this.cfg.inbox.streamName}/${c.name} consuming ${c.filters.join(", ")}`);
        // One agent's slots: a busy agent does not hold another agent's messages (head-of-line).
        void this.loop(nc, messages, new Slots(this.cfg.inbox.maxConcurrent));
      }
      if (consumers.length === 0) this.log.warn(`nats: durable inbox: no subject to consume (subjects ${this.cfg.subjects.join(", ")}; hosted agents ${this.hosting.describe()})`);
    } catch (err) {
      this.running = false;
      throw err;
    }
  }

  private async loop(nc: NatsConnection, messages: ConsumerMessages, slots: Slots): Promise<void> {
    const capacityWaitMs = this.cfg.inbox.ackWaitMs * 2;
    try {
      for await (const m of messages) {
        if (this.stopped) {
          settle(m, "nak", this.log);
          break;
        }
        // Kept alive from the moment it is pulled, also while it waits for a free slot.
        this.held.hold(m);
        // A wait with a deadline: past it the message goes back to the stream (redelivered later) instead of
        // being held while the slots stay busy.
        if (!(await slots.acquire(capacityWaitMs))) {
          this.log.warn(`nats: durable inbox: no free slot for ${m.subject} within ${capacityWaitMs} ms (inbox.maxConcurrent ${this.cfg.inbox.maxConcurrent} busy); handed back for a later delivery`);
          this.held.release(m, "nak");
          continue;
        }
        // Started in arrival order: the synchronous part of dispatch (parse, inject) keeps that order.
        void this.handle(nc, m).finally(() => {
          this.held.release(m);
          slots.release();
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
      settle(m, "ack", this.log);
      return;
    }
    const stored = HandedOffJournal.key(m.info.stream, seq, m.info.timestampNanos);
    if (this.handedOff.has(stored)) {
      // Committed before a crash whose ack never reached the server: the agent has it already.
      this.counts.redeliveriesSkipped++;
      this.log.info(`nats: durable inbox message ${m.info.stream}#${seq} was handed to the agent before a restart; acked, not handed again`);
      settle(m, "ack", this.log);
      return;
    }
    // The same publisher message (same Nats-Msg-Id) under another sequence: a retry the stream stored twice,
    // e.g. when its leader died between storing the first copy and acking it (the dedupe window is the
    // leader's). Injected once; the copy is acked away.
    const msgId = m.headers?.get("Nats-Msg-Id") || undefined;
    if (msgId !== undefined && (this.doneIds.has(msgId) || this.inFlightIds.has(msgId))) {
      this.counts.redeliveriesSkipped++;
      settle(m, "ack", this.log);
      return;
    }
    this.inFlight.add(seq);
    if (msgId !== undefined) this.inFlightIds.add(msgId);
    this.counts.inFlight = this.inFlight.size;
    try {
      // Broadcasts reach every gateway through the core broadcast subscription, not through the work queue.
      if (isBroadcastSubject(this.cfg, m.subject)) {
        settle(m, "ack", this.log);
        return;
      }
      const { away, parsed } = this.hosting.check(this.dispatcher, m.data, m.subject);
      if (away) {
        // Another gateway of the consumer may host it: give it back, dead-letter on the last delivery.
        if (this.lastDelivery(m)) return await this.giveUp(nc, m, `agent "${away}" is not hosted by any gateway that took this message`);
        settle(m, "nak", this.log, 1000);
        return;
      }
      const outcome = await this.dispatcher.dispatch(m.data, m.subject, performance.now(), { headers: m.headers, stored: true, ...(parsed ? { parsed } : {}) });
      if (outcome.kind === "rejected") return await this.giveUp(nc, m, outcome.reason);
      this.done.add(seq);
      if (msgId !== undefined) this.doneIds.add(msgId);
      if (outcome.durable) this.handedOff.add(stored);
      await m.ackAck().catch(() => settle(m, "ack", this.log));
    } catch (err) {
      if (this.lastDelivery(m)) return await this.giveUp(nc, m, `failed on delivery ${m.info.deliveryCount} of ${this.cfg.inbox.maxDeliver}: ${errorMessage(err)}`);
      this.log.warn(`nats: durable inbox message ${this.cfg.inbox.streamName}#${seq} failed (delivery ${m.info.deliveryCount}), will be redelivered: ${errorMessage(err)}`);
      settle(m, "nak", this.log, 1000);
    } finally {
      this.inFlight.delete(seq);
      if (msgId !== undefined) this.inFlightIds.delete(msgId);
      this.counts.inFlight = this.inFlight.size;
    }
  }

  private lastDelivery(m: JsMsg): boolean {
    return this.cfg.inbox.maxDeliver > 0 && m.info.deliveryCount >= this.cfg.inbox.maxDeliver;
  }

  /**
   * Dead-letter copy with the reason, then remove it: the server delivers it no more. Removed only once a
   * dead-letter stream acked the copy; else nak'ed with a backoff (it stays in the inbox, never in neither).
   */
  private async giveUp(nc: NatsConnection, m: JsMsg, reason: string): Promise<void> {
    const stored = await this.deadLetters.store(nc, { subject: m.subject, data: m.data, headers: m.headers, reason }, { streamSeq: m.seq, deliveries: m.info.deliveryCount });
    if (!stored) {
      settle(m, "nak", this.log, Math.min(30_000, 1000 * 2 ** Math.min(m.info.deliveryCount, 5)));
      return;
    }
    this.counts.deadLettered++;
    // Acked, not term()ed: its copy is in the DLQ, so it is handled; and a work-queue stream removes a message
    // on ack only (nats-server 2.9 keeps a terminated one in the stream until maxAgeHours, seen in the test).
    await m.ackAck().catch(() => settle(m, "term", this.log, reason.slice(0, 200)));
  }

  /** Stop pulling and hand back (nak) every message not yet handled, so JetStream redelivers it after restart. Every step runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    try {
      this.exhausted.stop();
    } catch (err) {
      this.log.warn(`nats: durable inbox: advisory unsubscribe failed: ${errorMessage(err)}`);
    } finally {
      const consumers = [...this.consumers.values()];
      this.consumers.clear();
      // Pulling stops first: a nak while a pull request is still open hands the message straight back to us.
      await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
      // With a short delay: the server still holds our last pull requests for a moment after close() (seen: 2
      // waiting), and a message nak'ed without delay was redelivered straight into one of them — to a
      // subscription already gone, so it came back only after the full ack wait. Delayed, it waits out
      // the stale pulls and is redelivered to whoever pulls next.
      this.held.handBackAll(HAND_BACK_DELAY_MS);
    }
  }
}
