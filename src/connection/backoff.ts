/** Exponential reconnect backoff: delayMs, doubling up to maxDelayMs, plus up to 20 % jitter. */
export function createBackoff(delayMs: number, maxDelayMs: number, random: () => number = Math.random) {
  let attempt = 0;
  return {
    next(): number {
      const base = Math.min(maxDelayMs, delayMs * 2 ** Math.min(attempt, 30));
      attempt++;
      return Math.round(base + base * 0.2 * random());
    },
    reset(): void {
      attempt = 0;
    },
    get attempt(): number {
      return attempt;
    },
  };
}
