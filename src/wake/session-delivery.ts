import { randomUUID } from "node:crypto";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { WakeHost } from "./host.ts";
import type { Priority } from "./message.ts";
import { formatWakeText, type WakeTarget } from "./route.ts";
import { MAX_ENTRIES, packEntries, takeBatch, type Packable } from "./packing.ts";
import { Waker, type WakerSettings } from "./waker.ts";

/** Keep a few entries free for other writers of ours (a restart's recovery, a concurrent batch). */
const ENTRY_BUDGET = MAX_ENTRIES - 2;
const CAP_POLL_MS = 200;
const SESSION_POLL_MS = 50;

export interface DeliveryResult {
  /** "injection": committed to the session store (survives a crash); "turn": a new session's first turn carries it; "system-event": memory only. */
  via: "injection" | "turn" | "system-event";
}

const DEFAULT_MAX_QUEUED = 1000;

/** A hand-off the plugin refuses (a cap); the message is dead-lettered with this reason, not retried. */
export class DeliveryRefused extends Error {
  override readonly name = "DeliveryRefused";
}

/** A commit's result, and for a new session's first turn what the session's next batch must wait for. */
interface Committed {
  result: DeliveryResult;
  settle?: Promise<void>;
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

  constructor(settings: WakerSettings, log: Logger) {
    this.log = log;
    this.settings = settings;
    this.waker = new Waker(() => this.hosts[0], settings, log);
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
          const { result, settle } = await this.commit(box.target, batch.map((w) => w.text), urgent, batch[0]!.key);
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

  private async commit(target: WakeTarget, texts: string[], urgent: boolean, key: string | undefined): Promise<Committed> {
    const entries = packEntries(texts);
    for (let i = 0; i < entries.length; i++) {
      const done = await this.commitEntry(target, entries[i]!, key && entries.length > 1 ? `${key}:${i}` : key);
      if (done === "no-session") {
        // Nothing of this batch is committed yet only when it is the first entry; later entries follow the same way.
        return this.noSession(target, entries.slice(i).join("\n"), urgent);
      }
    }
    return { result: { via: "injection" } };
  }

  /** One entry into the store: retried on a stale registration, waits while the session is full. */
  private async commitEntry(target: WakeTarget, text: string, key: string | undefined): Promise<"committed" | "no-session"> {
    const idempotencyKey = key ?? `nats:${randomUUID()}`;
    let waitedForCap = false;
    // A full session waits for its turn to drain it, but not forever: past the deadline the hand-off fails
    // (the durable inbox naks it for a later delivery; a core message is dead-lettered with the reason).
    const deadline = Date.now() + this.settings.turnTimeoutMs;
    for (;;) {
      if (this.hosts.length === 0) throw new Error("the host runtime is not available yet");
      if (this.waker.stopped) throw new Error("the wake service is stopping; not handed off");
      if (waitedForCap && Date.now() > deadline) {
        throw new Error(`${target.sessionKey} still holds ${ENTRY_BUDGET}+ undelivered entries after ${this.settings.turnTimeoutMs} ms (wake.turnTimeoutMs); not handed off`);
      }
      let sessionExists = false;
      for (const host of [...this.hosts]) {
        const pending = host.pendingInjections(target.sessionKey, target.agentId);
        if (pending === undefined) return "no-session";
        sessionExists = true;
        if (pending >= ENTRY_BUDGET) break; // full: wait below
        const r = await host.enqueueInjection({ sessionKey: target.sessionKey, agentId: target.agentId, text, idempotencyKey });
        if (r.enqueued) {
          this.counts.entries++;
          return "committed";
        }
        if (r.id !== "") {
          // The key is ours and fresh, so not a duplicate: the session is at the host's cap.
          if (host.pendingInjections(target.sessionKey, target.agentId)! < MAX_ENTRIES) return "committed"; // an earlier try of this key landed
          break;
        }
        // id "": this registration is stale (its registry was replaced); try an older/newer one.
      }
      if (!sessionExists) return "no-session";
      if (!waitedForCap) {
        this.counts.capWaits++;
        this.log.info(`nats: ${target.sessionKey} holds ${ENTRY_BUDGET}+ undelivered entries; waking it and waiting for its turn to take them`);
        waitedForCap = true;
      }
      void this.waker.wake(target).catch(() => undefined);
      await sleep(CAP_POLL_MS);
      if (this.hosts.every((h) => h.pendingInjections(target.sessionKey, target.agentId) === undefined)) return "no-session";
    }
  }

  /**
   * The session has no row in the store yet (it never had a turn), and the host only injects into existing
   * rows. Urgent: start its first turn with the text as the message (subagent.run creates the session); the
   * hand-off does not wait for the host to accept that turn, so it holds only in memory until then.
   * Normal/low must not start a turn: they go in as a memory-only system event, read by the session's first
   * turn — said once in the log, since a crash before that turn loses them.
   */
  private async noSession(target: WakeTarget, text: string, urgent: boolean): Promise<Committed> {
    const host = this.hosts[0];
    if (!host) throw new Error("the host runtime is not available yet");
    if (urgent) {
      // Not awaited here: the host can take tens of seconds to accept a new session's first turn (session
      // creation, startup), and this message's receipt should not wait for that. A failure is logged by the waker.
      const accepted = this.waker.wake(target, text);
      accepted.catch(() => undefined);
      this.counts.firstTurns++;
      return { result: { via: "turn" }, settle: this.sessionCreated(target, accepted) };
    }
    host.enqueueSystemEvent(text, target);
    this.counts.systemEvents++;
    this.log.info(`nats: ${target.sessionKey} has no session yet; its message waits in memory for the session's first turn`);
    return { result: { via: "system-event" } };
  }

  /**
   * Resolves once the first turn created the session's row (later messages can then be injected after its
   * text), or that turn ended or failed without one (the next message starts a first turn of its own), or
   * after turnTimeoutMs. Never rejects.
   */
  private async sessionCreated(target: WakeTarget, accepted: Promise<void>): Promise<void> {
    const failed = await accepted.then(
      () => false,
      () => true,
    );
    if (failed) return;
    const end = Date.now() + this.waker.turnTimeoutMs;
    while (Date.now() < end && this.waker.isRunning(target.sessionKey)) {
      const host = this.hosts[0];
      if (!host || host.pendingInjections(target.sessionKey, target.agentId) !== undefined) return;
      await sleep(SESSION_POLL_MS);
    }
  }
}

/** Unref: a wait must not keep a stopping process alive. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
