import { readFileSync, readdirSync } from "node:fs";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { TestGateway } from "../../test/harness/gateway.ts";
import { readStream as readChunks, streamV3 } from "../../test/harness/agent-protocol-clients.ts";

/** The soak's mixed load: each kind is its own loop with its own pace; all stop at `until()`. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Tally {
  sent: number;
  ok: number;
  failed: number;
  lastError?: string;
}

const tally = (): Tally => ({ sent: 0, ok: 0, failed: 0 });

function fail(t: Tally, err: unknown): void {
  t.failed++;
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : ""; // fetch failed → why
  t.lastError = err instanceof Error ? `${err.message.split("\n")[0]}${cause}`.slice(0, 200) : String(err);
}

export interface LoadState {
  /** Durable wakes JetStream acked (their markers; each must reach the model exactly once). */
  wakeMarkers: string[];
  wakes: Tally;
  /** Ids of custom events the gateway said it recorded (each must be in the stream exactly once). */
  eventIds: string[];
  events: Tally;
  prompts: Tally;
  relay: Tally;
  relayMarkers: string[];
}

export function newLoadState(): LoadState {
  return { wakeMarkers: [], wakes: tally(), eventIds: [], events: tally(), prompts: tally(), relay: tally(), relayMarkers: [] };
}

export interface LoadTargets {
  nc: NatsConnection;
  gw: TestGateway;
  relayToken: string;
  /** The agent-protocol prompt subject of the prompted agent. */
  promptSubject: string;
  /** Load runs while this is true. */
  running: () => boolean;
}

/**
 * A durable wake every `everyMs`: one in three urgent (a turn now), the rest normal (carried by the next
 * turn). Published with JetStream acks and the marker as Nats-Msg-Id, retried like a careful publisher
 * while the server restarts (a retry of a stored message is a duplicate the stream drops).
 */
export async function wakeLoop(t: LoadTargets, s: LoadState, everyMs: number): Promise<void> {
  const js = jetstream(t.nc, { timeout: 3000 });
  for (let i = 0; t.running(); i++) {
    const marker = `sk-w-${String(i).padStart(4, "0")}`;
    const priority = i % 3 === 0 ? "urgent" : "normal";
    s.wakes.sent++;
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await js.publish("agent.main.inbox", JSON.stringify({ from: "soak", body: `soak wake ${marker}`, priority }), { msgID: marker });
        s.wakes.ok++;
        s.wakeMarkers.push(marker);
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          fail(s.wakes, err);
          break;
        }
        await sleep(250);
      }
    }
    await sleep(everyMs);
  }
}

/** Custom events through the gateway method (the same spool as the gateway's own events), `perTick` every `everyMs`. */
export async function eventLoop(t: LoadTargets, s: LoadState, everyMs: number, perTick: number): Promise<void> {
  for (let n = 0; t.running(); ) {
    await Promise.all(
      Array.from({ length: perTick }, async () => {
        const k = n++;
        s.events.sent++;
        try {
          const r = (await t.gw.call("nats.events.record", { agent: "main", name: "soak", payload: { n: k } }, 5000)) as { ok: boolean; id?: string; error?: string };
          if (!r.ok || !r.id) throw new Error(r.error ?? "no id");
          s.events.ok++;
          s.eventIds.push(r.id);
        } catch (err) {
          fail(s.events, err); // gateway down or restarting: not recorded, so not counted as lost
        }
      }),
    );
    await sleep(everyMs);
  }
}

/** Agent-protocol prompts, one at a time: a prompt answered is one whose stream ended with the terminator and had text. */
export async function promptLoop(t: LoadTargets, s: LoadState, everyMs: number): Promise<void> {
  for (let i = 0; t.running(); i++) {
    s.prompts.sent++;
    try {
      const r = await streamV3(t.nc, t.promptSubject, `soak prompt sk-p-${i}`, { inactivityMs: 20_000 });
      const read = readChunks(r);
      if (r.terminated && read.errors.length === 0 && read.text.length > 0) s.prompts.ok++;
      else fail(s.prompts, new Error(r.terminated ? `errors ${JSON.stringify(read.errors).slice(0, 120)}` : "no terminator within 20 s of quiet"));
    } catch (err) {
      fail(s.prompts, err);
    }
    await sleep(everyMs);
  }
}

/** Relay turns over POST /notify, one at a time (the caller waits for the turn). */
export async function relayLoop(t: LoadTargets, s: LoadState, everyMs: number): Promise<void> {
  for (let i = 0; t.running(); i++) {
    const marker = `sk-r-${String(i).padStart(4, "0")}`;
    s.relay.sent++;
    try {
      const res = await fetch(`${t.gw.httpUrl}/notify`, {
        method: "POST",
        headers: { authorization: `Bearer ${t.relayToken}`, "content-type": "application/json" },
        body: JSON.stringify({ sessionKey: "agent:relay:main", message: `soak relay ${marker}` }),
        signal: AbortSignal.timeout(60_000),
      });
      const body = (await res.json()) as { ok?: boolean; error?: string };
      s.relayMarkers.push(marker);
      if (res.ok && body.ok !== false) s.relay.ok++;
      else fail(s.relay, new Error(`${res.status} ${body.error ?? ""}`));
    } catch (err) {
      fail(s.relay, err);
    }
    await sleep(everyMs);
  }
}

export interface ProcSample {
  boot: number;
  /** Seconds since this incarnation was ready. */
  upS: number;
  rssMiB: number;
  fds: number;
}

/** RSS and open file descriptors of a process, from /proc (Linux); undefined when it is gone. */
export function sampleProc(pid: number | undefined): { rssMiB: number; fds: number } | undefined {
  if (!pid) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return { rssMiB: Math.round(kb / 102.4) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}
