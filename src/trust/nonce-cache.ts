/**
 * (user, nonce) pairs seen within the replay window (§13.7 step 3). A pair is kept for twice the window:
 * a header is accepted while its `ts` is within ±window of now, so nothing older can pass the ts check.
 * Bounded: past `max` entries the oldest go first (Map order is insertion order, i.e. time order).
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly max: number;
  private adds = 0;

  constructor(windowMs: number, max = 100_000) {
    this.ttlMs = 2 * windowMs;
    this.max = max;
  }

  has(user: string, nonce: string, now: number = Date.now()): boolean {
    const until = this.seen.get(`${user}\n${nonce}`);
    return until !== undefined && until > now;
  }

  /** Record a pair; false when it was already there (a replay). */
  add(user: string, nonce: string, now: number = Date.now()): boolean {
    if (this.has(user, nonce, now)) return false;
    this.seen.set(`${user}\n${nonce}`, now + this.ttlMs);
    if (++this.adds % 1024 === 0) this.purge(now);
    while (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value as string);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private purge(now: number): void {
    for (const [key, until] of this.seen) {
      if (until > now) break; // later entries expire later
      this.seen.delete(key);
    }
  }
}
