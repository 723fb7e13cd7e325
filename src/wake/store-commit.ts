import { randomUUID } from "node:crypto";
import type { Logger } from "../shared/logger.ts";
import type { WakeHost } from "./host.ts";
import { MAX_ENTRIES, packEntries } from "./packing.ts";
import type { WakeTarget } from "./route.ts";
import type { Waker, WakerSettings } from "./waker.ts";

/** Keep a few entries free for other writers of ours (a restart's recovery, a concurrent batch). */
const ENTRY_BUDGET = MAX_ENTRIES - 2;
const CAP_POLL_MS = 200;
const SESSION_POLL_MS = 50;

export interface DeliveryResult {
  /** "injection": committed to the session store (survives a crash); "turn": a new session's first turn carries it; "system-event": memory only. */
  via: "injection" | "turn" | "system-event";
}

/** A commit's result, and for a new session's first turn what the session's next batch must wait for. */
export interface Committed {
  result: DeliveryResult;
  settle?: Promise<void>;
}

/** What a commit counts (SessionDelivery's counters, shared). */
export interface CommitCounts {
  entries: number;
  systemEvents: number;
  firstTurns: number;
  capWaits: number;
}

/**
 * Writes one session's batch into the host's session store (SessionDelivery decides what goes in a batch
 * and in what order): next-turn injections into an existing row, retried on a stale registration, waiting
 * while the session is full; a session without a row gets its first turn (urgent) or a system event.
 * `hosts` is SessionDelivery's own list, newest registration first.
 */
export class StoreCommit {
  private readonly hosts: readonly WakeHost[];
  private readonly waker: Waker;
  private readonly settings: WakerSettings;
  private readonly log: Logger;
  private readonly counts: CommitCounts;

  constructor(hosts: readonly WakeHost[], waker: Waker, settings: WakerSettings, log: Logger, counts: CommitCounts) {
    this.hosts = hosts;
    this.waker = waker;
    this.settings = settings;
    this.log = log;
    this.counts = counts;
  }

  async commit(target: WakeTarget, texts: string[], urgent: boolean, key: string | undefined): Promise<Committed> {
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
   * rows. Urgent: start its first turn carrying the text (subagent.run creates the session); the
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
   * Resolves once the first turn created the session's row and its prompt took the text (later messages
   * can then be injected after it: they go to the next turn — injected before that, the host would put them
   * ahead of the hook's text), or that turn ended or failed without one (the next message starts a first
   * turn of its own), or after turnTimeoutMs. Never rejects.
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
      if (!host) return;
      if (host.pendingInjections(target.sessionKey, target.agentId) !== undefined && !this.waker.firstTurns.waiting(target.sessionKey)) return;
      await sleep(SESSION_POLL_MS);
    }
  }
}

/** Unref: a wait must not keep a stopping process alive. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
