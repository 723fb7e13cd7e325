import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { promptText } from "../harness/model-server.ts";
import { wakeFigures } from "../harness/wait.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { inOrder, markerTurns, turnText } from "../harness/turns.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
}

// Durable inbox + durable hand-off through a real gateway: a message acked by the plugin is in the
// host's session store, so a SIGKILL before the agent's turn loses nothing; a 100-message backlog for
// one session reaches the model in full, in order, in few turns.
describe("durable hand-off through a real gateway", () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack({
      jetstream: true,
      gateway: (url) => ({
        plugins: [natsPlugin({ url, inbox: { durable: true }, events: { enabled: false } })],
        readyLog: /durable inbox OPENCLAW_INBOX\/openclaw-gateway-main consuming/,
        timeoutMs: 300_000,
      }),
    });
  });
  after(() => stack?.stop());

  const inboxEmpty = async (): Promise<boolean> => {
    const jsm = await jetstreamManager(stack.nc);
    return (await jsm.streams.info("OPENCLAW_INBOX")).state.messages === 0;
  };

  test("an urgent message for a session that has no row yet starts its first turn with the text", async () => {
    const js = jetstream(stack.nc);
    await js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body: "first contact (dur-first)", priority: "urgent" }));
    const req = await stack.model.waitFor((r) => turnText(r).includes("[URGENT from ci] first contact (dur-first)"), 120_000);
    assert.ok(req);
  });

  test("once the session exists, an urgent message is a next-turn injection and the wake turn's prompt carries it", async () => {
    await until(() => stack.gw.logs().includes("dur-first") || stack.model.requests.length > 0, 60_000, "first turn");
    await sleep(3000); // let the first turn end
    const js = jetstream(stack.nc);
    await js.publish("agent.main.inbox", JSON.stringify({ from: "pager", body: "disk full (dur-inject)", priority: "urgent" }));
    const req = await stack.model.waitFor((r) => turnText(r).includes("[URGENT from pager] disk full (dur-inject)"), 120_000);
    assert.match(turnText(req), /\[nats\] New messages for you/);
    const status = (await stack.gw.call("nats.status")) as { wake: { handoff: { entries: number } } };
    assert.ok(status.wake.handoff.entries >= 1, "committed as a next-turn injection");
  });

  test("SIGKILL right after the ack and before the turn: after restart the model receives the text", async () => {
    await sleep(3000);
    const js = jetstream(stack.nc);
    const body = "acked then crashed (dur-crash)";
    // normal priority: no turn starts, so the kill lands between the ack and the agent's next turn
    await js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body, priority: "normal" }));
    await until(inboxEmpty, 60_000, "the plugin acked the message");
    await stack.gw.kill();
    assert.equal(
      stack.model.requests.some((r) => turnText(r).includes(body)),
      false,
      "the model had not seen it before the crash",
    );
    await stack.gw.restart();
    await stack.gw.waitForLog(/still holds messages from before the restart; waking it/, 60_000);
    const req = await stack.model.waitFor((r) => turnText(r).includes(`[NORMAL from ci] ${body}`), 120_000);
    assert.ok(req);
  });

  // Also the single-message case (formerly its own gateway in wake.e2e): one sent twice with the same
  // msgID while the gateway is down is stored once, reaches the model once and is acked.
  test("a 100-message backlog for one session reaches the model in full, in order, in few turns; a message published twice with one msgID arrives once", async () => {
    await sleep(3000);
    await stack.gw.stop();
    const js = jetstream(stack.nc);
    const single = "deploy finished while you were away (durable-1)";
    const first = await js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body: single, priority: "normal" }), { msgID: "durable-1" });
    const second = await js.publish("agent.main.inbox", JSON.stringify({ from: "ci", body: single, priority: "normal" }), { msgID: "durable-1" });
    assert.deepEqual([first.duplicate, second.duplicate], [false, true], "JetStream stores the msgID once");
    const markers = Array.from({ length: 100 }, (_, i) => `backlog-${String(i).padStart(3, "0")}`);
    for (const [i, m] of markers.entries()) {
      const priority = i === markers.length - 1 ? "urgent" : "normal";
      await js.publish("agent.main.inbox", JSON.stringify({ from: "batch", body: `item ${m}`, priority }));
    }
    const before = stack.model.requests.length;
    await stack.gw.restart();
    await until(() => markerTurns(stack.model.requests.slice(before), markers).firstTurn.size === markers.length, 300_000, "all 100 reach the model");
    const seen = markerTurns(stack.model.requests.slice(before), markers);
    const turns = seen.turns.size;
    process.stderr.write(`  backlog of 100 reached the model in ${turns} turn(s)\n`);
    for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} seen once`);
    assert.ok(inOrder(stack.model.requests.slice(before), markers), "in order");
    assert.ok(turns <= 10, `few turns (${turns})`);
    assert.ok(promptText(stack.model.requests.at(-1)!).includes("[URGENT from batch] item backlog-099"));
    assert.equal(stack.model.requests.slice(before).filter((r) => promptText(r).includes(single)).length, 1, "the msgID'd message reaches the model in one request");
    // Acked (the work-queue stream is empty), so nothing can be redelivered and injected again.
    await until(inboxEmpty, 60_000, "every inbox message acked");
    assert.equal((await wakeFigures(stack.gw)).injected, markers.length + 1, "each stored message injected once after the restart");
  });

  // Measured before the fix: 316 s from SIGTERM to exit, a wake turn retrying "not started yet (agent unavailable
  // during gateway restart)" through the host's whole drain budget (5 min). 60 s is far below that budget and far
  // above a working stop: it checks that the stop does not wait for the budget, not how fast it is.
  // Runs after the tests above (the session exists): measured 5.1 s from SIGTERM to exit, all 40 once after restart.
  // Not covered, still open (host side): run alone on a fresh gateway, the first message's first-turn subagent run,
  // accepted just before the SIGTERM, keeps the host draining on `activeTasks=1` for its whole budget — the host
  // defers that run's completion ("subagent completion deferred during gateway restart source=subagent-wait",
  // GatewayDrainingError from a detached admission, every second); no plugin-side way to end it found yet.
  // What the SIGTERM case measured, for the todo test after it.
  let sigterm: { ms: number; exitedBySelf: boolean } | undefined;
  test("SIGTERM 300 ms after 40 durable messages: no uncaught error, and after restart each message reaches the model exactly once", async (t) => {
    await until(inboxEmpty, 60_000, "earlier messages acked");
    const js = jetstream(stack.nc);
    const markers = Array.from({ length: 40 }, (_, i) => `term-${String(i).padStart(2, "0")}`);
    const before = stack.model.requests.length;
    const logFrom = stack.gw.logs().length;
    // Every 4th is urgent: those start wake turns, whose follow-ups the host refuses once it drains.
    for (const [i, m] of markers.entries()) await js.publish("agent.main.inbox", JSON.stringify({ from: "term", body: `item ${m}`, priority: i % 4 === 3 ? "urgent" : "normal" }));
    await sleep(300); // the measured case: SIGTERM 300 ms after the last publish, messages still in flight
    // 30 s: Kubernetes' default grace period; a gateway still draining then is SIGKILLed, as it would be there.
    const stopped = await stack.gw.stop(30_000);
    sigterm = stopped;
    const stopLog = stack.gw.logs().slice(logFrom);
    t.diagnostic(`SIGTERM to exit: ${stopped.ms} ms (exited by itself: ${stopped.exitedBySelf}); ${markerTurns(stack.model.requests.slice(before), markers).firstTurn.size}/40 had reached the model`);
    for (const line of stopLog.split("\n").filter((l) => /draining active work|still draining|drain timeout|handing back|nats: .*(wake turn|not handed|failed)/i.test(l)).slice(0, 12)) t.diagnostic(line.slice(0, 400));
    assert.doesNotMatch(stopLog, /uncaught exception|unhandled (promise )?rejection/i);
    await stack.gw.restart();
    await until(() => markerTurns(stack.model.requests.slice(before), markers).firstTurn.size === markers.length, 300_000, "all 40 reach the model after restart");
    await until(inboxEmpty, 60_000, "all acked");
    const seen = markerTurns(stack.model.requests.slice(before), markers);
    for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} seen once`);
    assert.doesNotMatch(stack.gw.logs().slice(logFrom), /uncaught exception|unhandled (promise )?rejection/i);
  });

  // Known open (issue #18): it passes when no subagent run was accepted before the SIGTERM, and fails
  // when one was — the host then defers that run's completion through its whole drain budget, and the
  // plugin has no API to end or hand back an accepted run. Kept as a todo so the run shows which it was.
  // Tried (2026-12-08): subagent.run's `assertCurrent` throwing once the wake service stopped. Under load
  // the gateway then exited 1.9 s after SIGTERM, but the host had already drained the session's next-turn
  // injections into the refused run, so after the restart not all 40 reached the model: not kept.
  test("…and the gateway exits by itself within 30 s of that SIGTERM (not SIGKILLed)", { todo: "the host keeps an accepted subagent run through its drain; no plugin API hands it back" }, () => {
    assert.ok(sigterm, "the SIGTERM case ran");
    assert.ok(sigterm.exitedBySelf, `exited by itself: ${sigterm.exitedBySelf} after ${sigterm.ms} ms`);
  });
});
