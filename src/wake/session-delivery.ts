import { errorMessage, type Logger } from "../shared/logger.ts";
import type { WakeHost } from "./host.ts";
import type { Priority } from "./message.ts";
import { formatWakeText, type WakeTarget } from "./route.ts";
import { takeBatch, type Packable } from "./packing.ts";
import { StoreCommit, type DeliveryResult } from "./store-commit.ts";
import { Waker, type WakerSettings } from "./waker.ts";

const DEFAULT_MAX_QUEUED = 1000;

/** A hand-off the plugin refuses (a cap); the message is dead-lettered with this reason, not retried. */
export class DeliveryRefused extends Error {
  override readonly name = "DeliveryRefused";
}

/** What alertmanager and other producers hand over: one framed message for one session. */
export interface WakeItem {
  target: WakeTarget;
  priority: Priority;
  from: string;
  body: string;
  /** Stable across retries of the same hand-off: committed as its own entry with this idempotency key, so a retry is not a second copy. */
  id?: string;
}

interface Waiting extends Packable {
  urgent: boolean;
  resolve: (r: DeliveryResult) => void;
  reject: (err: Error) => void;
}

interface Outbox {
  target: WakeTarget;
  items: Waiting[];
  pumping: boolean;
}

/**
 * Delivers wake messages into the host's session store: the durable hand-off. Each message becomes text in a next-turn injection
 * (api.session.workflow.enqueueNextTurnInjection, committed to the SQLite session store before the promise
 * resolves), so a message the plugin acks after `deliver` resolves survives a gateway crash. Messages for one
 * session that wait while a commit is in flight are packed into one entry (up to 32,768 chars), in order,
 * so a backlog fills few entries; when the session already holds its 32 entries, the hand-off wakes the
 * session and waits for the turn to drain them (backpressure) rather than lose or cut anything.
 */
export class SessionDelivery {
  readonly waker: Waker;
  readonly counts = { messages: 0, entries: 0, systemEvents: 0, firstTurns: 0, capWaits: 0, failed: 0, refused: 0 };
  private readonly hosts: WakeHost[] = [];
  private readonly outboxes = new Map<string, Outbox>();
  private readonly log: Logger;
  private readonly settings: WakerSettings;
  private readonly store: StoreCommit;

  constructor(settings: WakerSettings, log: Logger) {
    this.log = log;
    this.settings = settings;
    this.waker = new Waker(() => this.hosts[0], settings, log);
    this.store = new StoreCommit(this.hosts, this.waker, settings, log, this.counts);
  }

  /** The service stops: no new turns, retries end; queued hand-offs fail (the durable inbox naks them, so they come back after restart). */
  stop(): void {
    this.waker.stop();
  }

  /** The service starts again after a stop. */
  resume(): void {
    this.waker.resume();
  }

  /** Whether the host has a row for the session (false without a host: nothing to ask). */
  hasSession(target: WakeTarget): boolean {
    const host = this.hosts[0];
    if (!host) return false;
    try {
      return host.pendingInjections(target.sessionKey, target.agentId) !== undefined;
    } catch {
      return false;
    }
  }

  /** The newest registration's host comes first; an older one is tried when the newest refuses (stale registry). */
  addHost(host: WakeHost): void {
    this.hosts.unshift(host);
    if (this.hosts.length > 4) this.hosts.pop();
  }

  get available(): boolean {
    return this.hosts.length > 0;
  }

  /** Hand one framed message to the session; resolves once the host holds it (see DeliveryResult). Urgent also wakes the session. */
  deliver(target: WakeTarget, text: string, urgent: boolean, id?: string): Promise<DeliveryResult> {
    this.counts.messages++;
    if (this.waker.stopped) return Promise.reject(new Error("the wake service is stopping; not handed off"));
    let box = this.outboxes.get(target.sessionKey);
    const cap = this.settings.maxQueuedPerSession ?? DEFAULT_MAX_QUEUED;
    if (box && box.items.length >= cap) {
      this.counts.refused++;
      return Promise.reject(new DeliveryRefused(`${target.sessionKey.slice(0, 120)} already has ${box.items.length} messages waiting for their hand-off (wake.maxQueuedPerSession ${cap}); refused`));
    }
    if (!box) {
      box = { target, items: [], pumping: false };
      this.outboxes.set(target.sessionKey, box);
    }
    const out = new Promise<DeliveryResult>((resolve, reject) => box.items.push({ text, urgent, resolve, reject, ...(id ? { key: `nats:${id.slice(0, 400)}` } : {}) }));
    if (!box.pumping) void this.pump(box);
    return out;
  }

  /** The alertmanager-shaped hand-off: `[PRIORITY from x] body` into the session, urgent wakes it. */
  deliverWake = async (w: WakeItem): Promise<void> => {
    await this.deliver(w.target, formatWakeText(w.priority, w.from, w.body), w.priority === "urgent", w.id);
  };

  /** On service start: sessions still holding our injections (a crash before their turn) get a turn now. */
  recoverPending(): number {
    const host = this.hosts[0];
    if (!host) return 0;
    let sessions: Array<{ sessionKey: string; agentId: string }>;
    try {
      sessions = host.sessionsWithPending();
    } catch (err) {
      this.log.warn(`nats: could not list sessions holding undelivered messages: ${errorMessage(err)}`);
      return 0;
    }
    for (const target of sessions) {
      this.log.info(`nats: ${target.sessionKey} still holds messages from before the restart; waking it`);
      void this.waker.wake(target).catch(() => undefined);
    }
    return sessions.length;
  }

  private async pump(box: Outbox): Promise<void> {
    box.pumping = true;
    try {
      while (box.items.length > 0) {
        const batch = takeBatch(box.items);
        const urgent = batch.some((w) => w.urgent);
        try {
          const { result, settle } = await this.store.commit(box.target, batch.map((w) => w.text), urgent, batch[0]!.key);
          for (const w of batch) w.resolve(result);
          if (urgent && result.via === "injection") void this.waker.wake(box.target).catch(() => undefined);
          // The first turn is creating the session: the next batch waits for its row, so it becomes an
          // injection behind this text instead of a second first turn that could run after later messages.
          if (settle) await settle;
        } catch (err) {
          this.counts.failed++;
          const e = err instanceof Error ? err : new Error(String(err));
          for (const w of batch) w.reject(e);
        }
      }
    } finally {
      box.pumping = false;
      if (box.items.length === 0) this.outboxes.delete(box.target.sessionKey);
      else void this.pump(box);
    }
  }
}
