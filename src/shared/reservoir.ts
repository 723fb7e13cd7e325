/** The last `size` samples of a measurement, for p50/p99 in status output. */
export class Reservoir {
  private readonly samples: number[] = [];
  private next = 0;
  private total = 0;
  private readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  add(value: number): void {
    this.total++;
    if (this.samples.length < this.size) this.samples.push(value);
    else this.samples[this.next] = value;
    this.next = (this.next + 1) % this.size;
  }

  summary(): { count: number; p50: number | undefined; p99: number | undefined; max: number | undefined } {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number): number | undefined => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : undefined);
    return { count: this.total, p50: at(0.5), p99: at(0.99), max: sorted.length ? Math.round(sorted[sorted.length - 1]!) : undefined };
  }
}
