import type { Logger } from "./logger.ts";

/**
 * Registration info lines ("relay HTTP endpoint off", "dashboard at …"): the host registers the plugin in
 * every CLI run and several times per gateway process, so saying them at registration repeated them on
 * every `openclaw nats …` and every registry generation. A notice is logged at debug when it is made and
 * at info once per process, when the gateway's service starts (a CLI run never starts it).
 */
export class RegistrationNotices {
  private readonly pending = new Map<string, Logger>();
  private readonly shown = new Set<string>();
  private live = false;

  /** The notice function for one registration, logging through that registration's logger. */
  for(log: Logger): (message: string) => void {
    return (message) => {
      log.debug?.(message);
      if (this.shown.has(message)) return;
      if (this.live) this.show(message, log);
      else this.pending.set(message, log);
    };
  }

  /** The gateway's service started: every notice not yet shown goes out at info, once. */
  flush(): void {
    this.live = true;
    for (const [message, log] of this.pending) this.show(message, log);
    this.pending.clear();
  }

  private show(message: string, log: Logger): void {
    this.shown.add(message);
    log.info(message);
  }
}
