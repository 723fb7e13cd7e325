/**
 * Stream sequences (or publisher message ids) already injected, so a true redelivery (ack lost, ack wait
 * expired) or a publisher's retry stored twice across a leader change is injected once. Bounded: oldest first out.
 */
export class RecentSeqs<K extends number | string = number> {
  private readonly seqs = new Set<K>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  has(seq: K): boolean {
    return this.seqs.has(seq);
  }
  /** Oldest first. */
  values(): K[] {
    return [...this.seqs];
  }
  add(seq: K): void {
    this.seqs.add(seq);
    if (this.seqs.size > this.max) this.seqs.delete(this.seqs.values().next().value as K);
  }
}
