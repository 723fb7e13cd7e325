/**
 * Upper bounds (seconds) of the cumulative buckets every Reservoir keeps, for Prometheus histograms:
 * 100 µs to 60 s, roughly ×2.5 per step (wake hand-offs take a few ms; agent turns and searches longer).
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every sample ever added, as cumulative bucket counts (`le` in seconds) and their sum: a Prometheus histogram. */
export interface BucketCounts {
  le: readonly number[];
  /** cumulative: counts[i] = samples ≤ le[i] */
  counts: number[];
  count: number;
  sumSeconds: number;
}

/**
 * The last `size` samples of a measurement, for p50/p99 in status output; and, since the gateway
 * started, every sample in fixed buckets (metrics). Samples are microseconds.
 */
export class Reservoir {
  private readonly samples: number[] = [];
  private next = 0;
  private total = 0;
  private readonly size: number;
  private readonly bucketHits: number[] = LATENCY_BUCKETS_SECONDS.map(() => 0);
  private sumMicros = 0;

  constructor(size: number) {
    this.size = size;
  }

  add(value: number): void {
    this.total++;
    if (this.samples.length < this.size) this.samples.push(value);
    else this.samples[this.next] = value;
    this.next = (this.next + 1) % this.size;
    this.sumMicros += value;
    const i = LATENCY_BUCKETS_SECONDS.findIndex((le) => value <= le * 1e6);
    if (i >= 0) this.bucketHits[i]!++;
  }

  summary(): { count: number; p50: number | undefined; p99: number | undefined; max: number | undefined } {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number): number | undefined => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : undefined);
    return { count: this.total, p50: at(0.5), p99: at(0.99), max: sorted.length ? Math.round(sorted[sorted.length - 1]!) : undefined };
  }

  buckets(): BucketCounts {
    let running = 0;
    const counts = this.bucketHits.map((n) => (running += n));
    return { le: LATENCY_BUCKETS_SECONDS, counts, count: this.total, sumSeconds: this.sumMicros / 1e6 };
  }
}

/** Several histograms with the standard buckets as one (e.g. one per event lane). */
export function mergeBuckets(list: readonly BucketCounts[]): BucketCounts {
  const counts = LATENCY_BUCKETS_SECONDS.map((_, i) => list.reduce((n, b) => n + (b.counts[i] ?? 0), 0));
  return { le: LATENCY_BUCKETS_SECONDS, counts, count: list.reduce((n, b) => n + b.count, 0), sumSeconds: list.reduce((n, b) => n + b.sumSeconds, 0) };
}
