import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { AlertReceiver, type Handoff } from "./receiver.ts";
import { AlertStore } from "./state.ts";

const DRAIN_EVERY_MS = 15_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * The Alertmanager receiver's process-wide part: its state file, the receiver, and a timer that hands
 * over accepted wakes left in the outbox and forgets old groups. Built only when alertmanager.authToken is set.
 */
export class AlertService {
  readonly receiver: AlertReceiver;
  private opened: AlertStore | undefined;
  private readonly path: string;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private readonly log: Logger;
  private readonly retentionMs: number;

  /**
   * `handoff` is the wake path's durable hand-off (src/wake/session-delivery.ts, `deliverWake`): the wake is a
   * next-turn injection committed to the host's session store before the outbox row is cleared, so an
   * accepted alert survives a gateway crash on both sides of the hand-off.
   */
  constructor(cfg: NatsPluginConfig, deps: { stateDir: string; logger: Logger; handoff: Handoff }) {
    this.log = deps.logger;
    this.retentionMs = cfg.alertmanager.stateRetentionHours * 3_600_000;
    this.path = join(deps.stateDir, "alertmanager.sqlite");
    // Host calls act as the plugin, not as whichever HTTP request triggered them (see relay/register.ts).
    const detached = AsyncLocalStorage.snapshot();
    const handoff = deps.handoff;
    this.receiver = new AlertReceiver({
      cfg: cfg.alertmanager,
      defaultAgent: cfg.defaultAgent,
      maxWakeBytes: cfg.maxBodyBytes,
      store: () => this.store,
      handoff: (w) => detached(() => handoff(w)),
      log: deps.logger,
    });
  }

  /** The state file, opened on first use (and again after stop). */
  get store(): AlertStore {
    this.opened ??= AlertStore.open(this.path);
    return this.opened;
  }

  async start(): Promise<void> {
    const left = this.store.stats().pendingWakes;
    if (left > 0) this.log.info(`nats: alertmanager: handing over ${left} accepted wake(s) from an earlier run`);
    await this.tick();
    this.timer = setInterval(() => void this.tick(), DRAIN_EVERY_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await this.receiver.drain();
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        const forgotten = this.store.forget(this.retentionMs);
        if (forgotten > 0) this.log.info(`nats: alertmanager: forgot ${forgotten} group(s) quiet for over ${this.retentionMs / 3_600_000} h`);
      }
    } catch (err) {
      this.log.warn(`nats: alertmanager outbox: ${errorMessage(err)}`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.opened?.close();
    this.opened = undefined;
  }
}
