/** A counting semaphore: at most `size` holders; waiters are served in arrival order. */
export class Slots {
  private free: number;
  private readonly waiters: Array<(ok: boolean) => void> = [];
  constructor(size: number) {
    this.free = size;
  }
  /** Resolves true with a slot; with `timeoutMs`, false when none came free in time (then nothing is held). */
  acquire(timeoutMs?: number): Promise<boolean> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (ok: boolean): void => {
        if (timer) clearTimeout(timer);
        resolve(ok);
      };
      this.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
        timer.unref();
      }
    });
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next(true);
    else this.free++;
  }
}
