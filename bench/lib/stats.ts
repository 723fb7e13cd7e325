/** Small measuring helpers for the benchmarks: wall time, rates, latency percentiles. */

export function nowMs(): number {
  return performance.now();
}

export function perSecond(count: number, ms: number): number {
  return ms > 0 ? Math.round((count * 1000) / ms) : 0;
}

/** Collects durations (µs) and answers percentiles. */
export class Latencies {
  private values: Float64Array;
  private n = 0;

  constructor(capacity = 1 << 16) {
    this.values = new Float64Array(capacity);
  }

  add(us: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = us;
  }

  /** All values of several collections in one (percentiles over the lot). */
  static merge(all: readonly Latencies[]): Latencies {
    const out = new Latencies(Math.max(1, all.reduce((n, l) => n + l.n, 0)));
    for (const l of all) for (let i = 0; i < l.n; i++) out.add(l.values[i]);
    return out;
  }

  get count(): number {
    return this.n;
  }

  summary(): { count: number; p50: number; p99: number; p999: number; max: number; mean: number } {
    const sorted = this.values.slice(0, this.n).sort();
    const at = (q: number): number => (this.n === 0 ? 0 : sorted[Math.min(this.n - 1, Math.floor(q * this.n))]);
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += sorted[i];
    const round = (x: number): number => Math.round(x * 100) / 100;
    return { count: this.n, p50: round(at(0.5)), p99: round(at(0.99)), p999: round(at(0.999)), max: round(at(1)), mean: round(this.n ? sum / this.n : 0) };
  }
}

/** Runs `fn` and returns its duration in µs (high-resolution clock). */
export function timeUs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1000;
}

export function yieldToLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
