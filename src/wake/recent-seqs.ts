/** Stream sequences already injected, so a true redelivery (ack lost, ack wait expired) is injected once. */
export class RecentSeqs {
  private readonly seqs = new Set<number>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  has(seq: number): boolean {
    return this.seqs.has(seq);
  }
  add(seq: number): void {
    this.seqs.add(seq);
    if (this.seqs.size > this.max) this.seqs.delete(this.seqs.values().next().value as number);
  }
}
