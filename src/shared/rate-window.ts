/**
 * Rate limits over a sliding window: per key, the times of the last window's events, and how long until
 * one more fits under a limit. The wake side's `urgentTurnsPerMinute` (per agent) is counted here; log
 * floods are limited by rate-limited-log.ts, first-contact sessions by wake/new-sessions.ts (which also
 * dedupes by session key and bounds its memory by its total cap, so it keeps its own admission list).
 */
export class RateWindow {
  private readonly windowMs: number;
  private readonly byKey = new Map<string, number[]>();

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** ms until `key` may have one more event with at most `limit` per window (0: now). Forgets keys with none left. */
  delay(key: string, limit: number, now: number = Date.now()): number {
    const recent = (this.byKey.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length === 0) this.byKey.delete(key);
    else this.byKey.set(key, recent);
    if (recent.length < limit) return 0;
    return recent[recent.length - limit]! + this.windowMs - now;
  }

  /** One event for `key` now. */
  add(key: string, now: number = Date.now()): void {
    const list = this.byKey.get(key) ?? [];
    list.push(now);
    this.byKey.set(key, list);
  }

  /** Keys held (tests: memory stays bounded by the keys with events in the window). */
  get size(): number {
    return this.byKey.size;
  }
}
