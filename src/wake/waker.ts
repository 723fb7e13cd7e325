import { randomUUID } from "node:crypto";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { RateWindow } from "../shared/rate-window.ts";
import { FirstTurnTexts } from "./first-turns.ts";
import type { WakeHost } from "./host.ts";
import type { WakeTarget } from "./route.ts";

/**
 * The message of a wake turn. The NATS messages themselves reach the model appended after it: as the
 * turn's next-turn injections, drained by the host when the turn's prompt is built, or — a new session's
 * first turn, whose row did not exist to inject into — as the text the agent_turn_prepare hook appends.
 */
export const WAKE_TURN_MESSAGE = "[nats] New messages for you follow. Act on them.";

const WINDOW_MS = 60_000;
const START_RETRY_MS = 180_000;
const START_RETRY_EVERY_MS = 1000;
/** A turn is waited for in slices this long, so a stop never leaves a wait open on the host. */
const WAIT_SLICE_MS = 1000;

export interface WakerSettings {
  /** Wake turns one agent may start per minute; past it, wakes wait for the window and are counted. */
  urgentTurnsPerMinute: number;
  /** How long to wait for one wake turn before the next may start. */
  turnTimeoutMs: number;
  /** Messages that may wait for their hand-off to one session (wake.maxQueuedPerSession); past it they are refused. */
  maxQueuedPerSession?: number;
}

interface SessionState {
  running: boolean;
  /** An urgent wake arrived while a turn ran: one more turn after it. */
  pending: boolean;
}

/**
 * Starts agent turns for urgent messages through subagent.run, which the host's heartbeat flood guard
 * (5 heartbeat runs a minute per agent, then deferred by up to ~45 s) never sees. One turn per session
 * at a time: wakes that arrive while it runs are coalesced into one follow-up turn, which drains every
 * message committed meanwhile (each seen once, in order). Above `urgentTurnsPerMinute` per agent the
 * follow-up waits for the window (still one turn for all of them) and the wait is counted.
 */
export class Waker {
  readonly counts = { wakes: 0, turns: 0, coalesced: 0, rateLimited: 0, failed: 0 };
  /** A new session's first text, handed to its first turn by the agent_turn_prepare hook (see FirstTurnTexts). */
  readonly firstTurns = new FirstTurnTexts();
  private readonly sessions = new Map<string, SessionState>();
  /** Wake-turn starts per agent in the last minute (urgentTurnsPerMinute). */
  private readonly starts = new RateWindow(WINDOW_MS);
  private readonly host: () => WakeHost | undefined;
  private readonly settings: WakerSettings;
  private readonly log: Logger;
  private halted = false;
  /** Resolved by stop(): a wait for a turn's end gives up then (the host owns the turn; nothing of ours waits on it). */
  private halt = haltLatch();

  constructor(host: () => WakeHost | undefined, settings: WakerSettings, log: Logger) {
    this.host = host;
    this.settings = settings;
    this.log = log;
  }

  /**
   * Wake the session now, or coalesce into the turn already running. With `message`, the first turn
   * carries that text (a session with no row yet: the turn creates it) — through the agent_turn_prepare
   * hook when it is in place (FirstTurnTexts), else as the turn's message; the promise
   * then resolves once that turn was accepted, and rejects when it could not start.
   */
  wake(target: WakeTarget, message?: string): Promise<void> {
    this.counts.wakes++;
    const state = this.sessions.get(target.sessionKey);
    if (state?.running && message === undefined) {
      state.pending = true;
      this.counts.coalesced++;
      return Promise.resolve();
    }
    const s: SessionState = state ?? { running: false, pending: false };
    this.sessions.set(target.sessionKey, s);
    if (s.running) {
      // A turn runs and this text has no durable home: it needs its own turn, after the current one.
      return this.afterCurrent(target, s, message);
    }
    return this.run(target, s, message);
  }

  /** The session has a wake turn starting or running. */
  isRunning(sessionKey: string): boolean {
    return this.sessions.get(sessionKey)?.running === true;
  }

  get turnTimeoutMs(): number {
    return this.settings.turnTimeoutMs;
  }

  /** Sessions with a wake turn running now. */
  get running(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.running) n++;
    return n;
  }

  /** Sessions the waker holds state for: only those with a turn starting or running (bounded by them). */
  get tracked(): number {
    return this.sessions.size;
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** No new turns; a start being retried gives up at its next try, a follow-up is not started, a turn is no longer waited for. */
  stop(): void {
    this.halted = true;
    this.halt.resolve();
  }

  /** After stop: the service started again (attach after stop). */
  resume(): void {
    if (!this.halted) return;
    this.halted = false;
    this.halt = haltLatch();
  }

  private async afterCurrent(target: WakeTarget, s: SessionState, message: string | undefined): Promise<void> {
    while (s.running && !this.halted) await sleep(100);
    if (this.halted) throw new Error("the wake service is stopping");
    return this.wake(target, message);
  }

  private run(target: WakeTarget, s: SessionState, firstMessage: string | undefined): Promise<void> {
    s.running = true;
    let started!: () => void;
    let failed!: (err: Error) => void;
    const accepted = new Promise<void>((res, rej) => {
      started = res;
      failed = rej;
    });
    void (async () => {
      let message = firstMessage;
      let viaHook = true;
      let first = true;
      try {
        do {
          s.pending = false;
          const host = this.host();
          if (!host || this.halted) throw new Error("the host runtime is not available");
          const wait = this.rateDelay(target.agentId);
          if (wait > 0) {
            this.counts.rateLimited++;
            if (first) started();
            await sleep(wait);
            if (this.halted) throw new Error("the wake service is stopping");
          }
          // A coalesced follow-up is needed only when something is still waiting (another turn may have drained it).
          if (message === undefined && !first && (host.pendingInjections(target.sessionKey, target.agentId) ?? 0) === 0) break;
          const { runId } = await this.start(target, message, viaHook);
          this.recordStart(target.agentId);
          this.counts.turns++;
          if (first) started();
          first = false;
          message = undefined;
          const status = await this.waitTurn(host, runId);
          // Stopping, or the host still has not run the turn: its prompt may yet take the text, so it stays held.
          const carried = this.halted || status === "timeout" ? undefined : this.firstTurns.release(runId);
          if (this.halted) break;
          if (status !== "ok") this.log.warn(`nats: wake turn ${runId} in ${target.sessionKey} ended with ${status}`);
          if (carried && !carried.taken) {
            // The turn ended without its prompt taking the text (a runner without agent_turn_prepare, or a
            // failure before the prompt): the text starts a turn of its own, as that turn's message.
            this.log.warn(`nats: wake turn ${runId} in ${target.sessionKey} ended before it took its message; starting one that carries it`);
            message = carried.text;
            viaHook = false;
            s.pending = true;
          }
        } while (s.pending && !this.halted);
      } catch (err) {
        this.counts.failed++;
        this.log.error(`nats: could not start a wake turn in ${target.sessionKey}: ${errorMessage(err)}`);
        if (first) failed(err instanceof Error ? err : new Error(String(err)));
      } finally {
        s.running = false;
        // Keyed by sender-chosen session keys: a session without a running turn is forgotten (its next wake starts afresh).
        if (this.sessions.get(target.sessionKey) === s) this.sessions.delete(target.sessionKey);
        if (first) started();
      }
    })();
    return accepted;
  }

  /**
   * Start one turn. The host refuses turns while the gateway is still starting ("agent unavailable during
   * gateway startup") — exactly when a restart's recovery and a durable-inbox backlog arrive — so a refusal
   * is retried for a while before it counts as a failure.
   */
  private async start(target: WakeTarget, text: string | undefined, viaHook: boolean): Promise<{ runId: string }> {
    const deadline = Date.now() + START_RETRY_MS;
    let logged = false;
    for (;;) {
      const key = `nats-wake:${randomUUID()}`;
      // A first turn's text: through the hook when it is in place (the message stays the fixed line).
      const hooked = text !== undefined && viaHook && this.firstTurns.enabled;
      if (hooked) this.firstTurns.hold(key, target.sessionKey, text);
      try {
        // The newest registration each try: a registry swap during startup makes an older one refuse.
        const host = this.host();
        if (!host) throw new Error("the host runtime is not available");
        const r = await host.startTurn({ sessionKey: target.sessionKey, message: hooked ? WAKE_TURN_MESSAGE : (text ?? WAKE_TURN_MESSAGE), idempotencyKey: key });
        if (hooked) this.firstTurns.rekey(key, r.runId);
        return r;
      } catch (err) {
        if (hooked) this.firstTurns.release(key);
        if (Date.now() > deadline || this.halted) throw err;
        if (!logged) this.log.info(`nats: wake turn in ${target.sessionKey} not started yet (${errorMessage(err)}); retrying`);
        logged = true;
        await sleep(START_RETRY_EVERY_MS);
      }
    }
  }

  /**
   * Wait for the turn in short slices, and not at all once stopped. Measured through a gateway: a wait
   * still open when SIGTERM came saw the run end during the host's drain and tried to finish the run's
   * bookkeeping from our (detached) context, which the draining host refuses and retries every second:
   * the run's task stayed active and held the drain for its whole budget (5 min).
   */
  private async waitTurn(host: WakeHost, runId: string): Promise<string> {
    const end = Date.now() + this.settings.turnTimeoutMs;
    for (;;) {
      if (this.halted) return "stopped";
      const left = end - Date.now();
      if (left <= 0) return "timeout";
      const status = await Promise.race([host.waitTurn(runId, Math.min(WAIT_SLICE_MS, left)), this.halt.promise.then(() => "stopped")]);
      if (status !== "timeout" && status !== "pending") return status;
    }
  }

  /** ms until this agent may start another wake turn (0: now). */
  private rateDelay(agentId: string): number {
    return this.starts.delay(agentId, this.settings.urgentTurnsPerMinute);
  }

  private recordStart(agentId: string): void {
    this.starts.add(agentId);
  }
}

/** A promise and the function that resolves it (Promise.withResolvers is past this build's lib target). */
function haltLatch(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Unref: a wake waiting for its rate window must not keep a stopping process alive. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
