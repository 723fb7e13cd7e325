import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionDelivery, DeliveryRefused } from "./session-delivery.ts";
import { NewSessionGate } from "./new-sessions.ts";
import { Waker } from "./waker.ts";
import type { WakeHost } from "./host.ts";
import type { Logger } from "../shared/logger.ts";
import { parseConfig } from "../config/parse.ts";
import { WakeService } from "./service.ts";
import { until } from "../../test/harness/wait.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const tick = () => new Promise((r) => setImmediate(r));

/** Every session exists; turns end at once unless `hold` keeps them running. */
function host(opts: { refuse?: boolean; hold?: Promise<void> } = {}): WakeHost & { started: number } {
  const h = {
    started: 0,
    enqueueInjection: async () => ({ enqueued: true, id: "x" }),
    pendingInjections: () => 0,
    sessionsWithPending: () => [],
    enqueueSystemEvent: () => true,
    startTurn: async () => {
      if (opts.refuse) throw new Error("agent unavailable during gateway restart");
      h.started++;
      return { runId: `r${h.started}` };
    },
    waitTurn: async () => (await opts.hold, "ok"),
  };
  return h;
}

test("Waker forgets a session once its turn ended: 2,000 distinct sender-chosen keys leave nothing behind", async () => {
  const h = host();
  const w = new Waker(() => h, { urgentTurnsPerMinute: 100_000, turnTimeoutMs: 5000 }, log);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => w.wake({ agentId: "main", sessionKey: `agent:main:made-up-${i}` }, "hi")));
  await until(() => w.running === 0, 10_000, "all turns ended");
  assert.equal(h.started, 2000);
  assert.equal(w.tracked, 0, "no state kept for sessions without a running turn");
});

test("Waker.stop ends a start that keeps being refused (no 180 s retry past the stop), and the hand-off's stop calls it", async () => {
  const h = host({ refuse: true });
  const handoff = new SessionDelivery({ urgentTurnsPerMinute: 100, turnTimeoutMs: 5000 }, log);
  handoff.addHost(h);
  const started = handoff.waker.wake({ agentId: "main", sessionKey: "agent:main:main" }, "hi");
  let outcome = "pending";
  started.then(() => (outcome = "resolved"), () => (outcome = "rejected"));
  await until(() => logs.some((l) => l.includes("not started yet")), 5000, "the refusal logged");
  handoff.stop();
  await until(() => outcome !== "pending", 5000, "the refused start ends after stop");
  assert.equal(outcome, "rejected");
  assert.equal(handoff.waker.running, 0);
});

test("WakeService.stop stops the waker; attach again resumes it", async () => {
  const cfg = parseConfig({});
  const svc = new WakeService(cfg, { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined }, log);
  await svc.stop();
  assert.equal(svc.dispatcher.handoff.waker.stopped, true);
});

test("a session's hand-off queue is capped: past wake.maxQueuedPerSession the message is refused with a reason that names the key", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const h = host();
  h.enqueueInjection = async () => (await gate, { enqueued: true, id: "x" });
  const handoff = new SessionDelivery({ urgentTurnsPerMinute: 100, turnTimeoutMs: 5000, maxQueuedPerSession: 5 }, log);
  handoff.addHost(h);
  const t = { agentId: "main", sessionKey: "agent:main:main" };
  const first = handoff.deliver(t, "m0", false); // in flight
  await tick();
  const queued = Array.from({ length: 5 }, (_, i) => handoff.deliver(t, `m${i + 1}`, false));
  await assert.rejects(handoff.deliver(t, "over", false), (err: Error) => err instanceof DeliveryRefused && /wake\.maxQueuedPerSession/.test(err.message) && /5 messages/.test(err.message));
  release();
  await Promise.all([first, ...queued]);
});

test("new sessions per sender and in total are capped per minute; a session admitted in the window is free again", () => {
  const g = new NewSessionGate({ perSender: 3, total: 5 });
  const now = 1_000_000;
  for (let i = 0; i < 3; i++) assert.equal(g.admit("from:a", `agent:main:a${i}`, now), undefined);
  assert.match(g.admit("from:a", "agent:main:a3", now) ?? "", /sender "from:a" opened 3 new sessions in the last minute \(wake\.newSessionsPerSenderPerMinute 3\)/);
  assert.equal(g.admit("from:a", "agent:main:a0", now), undefined, "the same new session again is not another one");
  assert.equal(g.admit("from:b", "agent:main:b0", now), undefined);
  assert.equal(g.admit("from:c", "agent:main:c0", now), undefined);
  assert.match(g.admit("from:d", "agent:main:d0", now) ?? "", /5 new sessions in the last minute \(wake\.newSessionsPerMinute 5\)/);
  assert.equal(g.admit("from:a", "agent:main:a3", now + 60_001), undefined, "a minute later");
  assert.ok(g.size <= 5, `bounded (${g.size})`);
});

test("the gate's memory stays bounded by the total cap whatever the senders", () => {
  const g = new NewSessionGate({ perSender: 2, total: 50 });
  for (let i = 0; i < 100_000; i++) g.admit(`from:s${i}`, `agent:main:k${i}`, 1_000_000 + i);
  assert.ok(g.size <= 100, `bounded (${g.size})`);
});

test("Waker.stop leaves no wait open on a running turn: the wait is given up at once and no further slice is asked of the host", async () => {
  let waits = 0;
  const h = { ...host(), waitTurn: async (_id: string, ms: number) => (waits++, await new Promise((r) => setTimeout(r, ms)), "timeout") };
  const w = new Waker(() => h, { urgentTurnsPerMinute: 100, turnTimeoutMs: 60_000 }, log);
  await w.wake({ agentId: "main", sessionKey: "agent:main:slow" }, "hi");
  await until(() => waits >= 2, 5000, "waited in slices (the host's turn still running)");
  w.stop();
  await until(() => w.running === 0, 500, "the waker let go of the turn right after stop, not after the 60-s turn timeout");
  const asked = waits;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(waits, asked, "no wait slice after the stop");
});
