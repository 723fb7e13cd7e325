import { Worker } from "node:worker_threads";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { ContextRequest, ContextResult, GetRequest, QueryRequest, RankedHit, SearchRequest } from "./queries-core.ts";
import type { MemoryRow } from "./rows.ts";

/** The answer did not come within the caller's bound; the worker may still be busy with it. */
export class QueryTimeoutError extends Error {
  constructor(op: string, ms: number) {
    super(`memory ${op} took longer than ${ms} ms`);
    this.name = "QueryTimeoutError";
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

// The worker file sits next to this one: .ts when the host runs the sources, .js in the built package.
const WORKER_URL = new URL(`./query-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url);

/**
 * Memory reads in a worker thread. SQLite calls are synchronous; in the gateway's thread a slow one
 * would hold up every turn. Here a caller stops waiting after its timeout (the result, if it comes,
 * is dropped), and a crashed worker is replaced on the next request.
 */
export class MemoryQueries {
  private readonly path: string;
  private readonly log: Logger;
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private stopped = false;

  constructor(path: string, log: Logger) {
    this.path = path;
    this.log = log;
  }

  context(req: Omit<ContextRequest, "op">, timeoutMs: number): Promise<ContextResult> {
    return this.request({ op: "context", ...req }, timeoutMs) as Promise<ContextResult>;
  }

  search(req: Omit<SearchRequest, "op">, timeoutMs: number): Promise<RankedHit[]> {
    return this.request({ op: "search", ...req }, timeoutMs) as Promise<RankedHit[]>;
  }

  get(req: Omit<GetRequest, "op">, timeoutMs: number): Promise<MemoryRow | null> {
    return this.request({ op: "get", ...req }, timeoutMs) as Promise<MemoryRow | null>;
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_URL, { workerData: { path: this.path } });
    worker.unref();
    worker.on("message", (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return; // timed out already
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error ?? "memory query failed"));
    });
    worker.on("error", (err) => {
      this.log.warn(`memory: query worker failed: ${errorMessage(err)}; starting a new one on the next query`);
    });
    worker.on("exit", () => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error("memory query worker exited"));
        this.pending.delete(id);
      }
    });
    return worker;
  }

  private request(req: QueryRequest, timeoutMs: number): Promise<unknown> {
    if (this.stopped) return Promise.reject(new Error("memory is stopped"));
    this.worker ??= this.spawn();
    const worker = this.worker;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QueryTimeoutError(req.op, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, request: req });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
