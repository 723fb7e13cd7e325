// A gateway's combined stdout/stderr, kept across restarts, with waiters for a log line.
import { ANSI } from "./openclaw-entry.ts";

type LogWaiter = { re: RegExp; from: number; resolve: (match: string) => void };

export class LogBuffer {
  private buffer = "";
  private waiters: LogWaiter[] = [];

  text(): string {
    return this.buffer;
  }

  get length(): number {
    return this.buffer.length;
  }

  append(chunk: string): void {
    this.buffer += chunk.replace(ANSI, "");
    for (const w of [...this.waiters]) {
      const hit = matchFrom(this.buffer, w.re, w.from);
      if (hit !== undefined) w.resolve(hit);
    }
  }

  tail(lines = 60): string {
    return this.buffer.split("\n").slice(-lines).join("\n");
  }

  /**
   * Resolves with the first matching line at or after `fromOffset` (a `length` taken earlier);
   * rejects with the log tail on timeout or when `signal` aborts.
   */
  waitFor(re: RegExp, timeoutMs: number, fromOffset = 0, signal?: AbortSignal, what = "gateway log"): Promise<string> {
    const plain = new RegExp(re.source, re.flags.replace("g", ""));
    const hit = matchFrom(this.buffer, plain, fromOffset);
    if (hit !== undefined) return Promise.resolve(hit);
    return new Promise((resolvePromise, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.waiters = this.waiters.filter((w) => w !== waiter);
      };
      const fail = (why: string): void => {
        done();
        reject(new Error(`${what} did not match ${re}: ${why}\n${this.tail()}`));
      };
      const onAbort = (): void => fail("aborted");
      const waiter: LogWaiter = {
        re: plain,
        from: fromOffset,
        resolve: (line) => {
          done();
          resolvePromise(line);
        },
      };
      const timer = setTimeout(() => fail(`not within ${timeoutMs} ms`), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}

/** The whole line holding the first match of `re` at or after `from`. */
function matchFrom(buffer: string, re: RegExp, from: number): string | undefined {
  const m = re.exec(buffer.slice(from));
  if (!m) return undefined;
  const start = from + m.index;
  const lineStart = buffer.lastIndexOf("\n", start) + 1;
  const lineEnd = buffer.indexOf("\n", start);
  return buffer.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
}
