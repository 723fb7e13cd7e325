import { test } from "node:test";
import assert from "node:assert/strict";
import { jetstream } from "@nats-io/jetstream";
import { markerTurns } from "../../harness/turns.ts";
import { integrityProblems, readStream, retry, waitFor } from "../helpers.ts";
import { caughtUp, connection, EVERY_MS, jsmNow, leaderOf, markers as markerList, nodeOf, pause, publishAccepted, type Shared } from "./context.ts";

// Node losses under gateway A alone: the node leading the inbox, then the node A is connected to.

const WAKES = 16;

export function nodeLossTests(shared: Shared): void {
  test("SIGKILL of the inbox leader mid-run: every wake accepted, each reaches the model once, events once, $SRV.PING answers; the node's return duplicates nothing", async (t) => {
    const { nodes, nc, a } = shared();
    const jsm = await jsmNow(nc);
    for (const s of ["OPENCLAW_INBOX", "OPENCLAW_DLQ", "openclaw-events"]) {
      const info = await retry(`stream ${s}`, () => jsm.streams.info(s));
      assert.equal(info.config.num_replicas, 3, `${s} is R3`);
    }
    const info = await jsm.streams.info("OPENCLAW_INBOX");
    const leader = leaderOf(info, nodes);
    assert.ok(leader, `inbox leader ${info.cluster?.leader}`);

    const js = jetstream(nc, { timeout: 2000 });
    const markers = markerList("clw", WAKES);
    const acceptMs: number[] = [];
    for (const [i, m] of markers.entries()) {
      if (i === WAKES / 2) await leader.kill();
      // A publisher that retries on the surviving nodes, the same msgID each time (stored once).
      acceptMs.push(await publishAccepted(js, "agent.main.inbox", m));
      await pause(EVERY_MS);
    }
    t.diagnostic(`killed ${info.cluster?.leader} before wake ${WAKES / 2}; accept times (ms): ${acceptMs.join(" ")}`);

    await waitFor("every wake reaches the model", () => markerTurns(a.model.requests, markers).firstTurn.size === WAKES, 120_000);
    // Let redeliveries (ack wait 30 s is the default; any lost ack shows within a few turns) have their chance.
    await waitFor("inbox drained", async () => (await (await jsmNow(nc)).streams.info("OPENCLAW_INBOX")).state.messages === 0, 60_000);
    const seen = markerTurns(a.model.requests, markers);
    for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} handed to the agent once`);

    // $SRV.PING of the agent protocol answers again (the plugin reconnected to a surviving node).
    await retry("$SRV.PING.agents answers", async () => {
      const r = await nc.request("$SRV.PING.agents", "", { timeout: 1000 });
      assert.ok(r.data.length > 0);
    });

    await leader.restart();
    await waitFor("the node catches up", () => caughtUp(nc, "OPENCLAW_INBOX", nodes.length), 60_000);
    const before = a.model.requests.length;
    // One more urgent wake: a turn that would carry anything the returned node handed out again.
    await publishAccepted(js, "agent.main.inbox", "clw-after");
    await waitFor("the last wake reaches the model", () => markerTurns(a.model.requests.slice(before), ["clw-after"]).firstTurn.size === 1, 60_000);
    const again = markerTurns(a.model.requests, markers);
    for (const m of markers) assert.equal(again.timesSeen.get(m), 1, `${m} still once after the node returned`);

    // The R3 event stream holds every turn's events once (no duplicate id, ids = Nats-Msg-Id) and each wake's turn is in it.
    // (The per-session meta.seq order check is the reliability producer's; gateway events carry no meta.seq.)
    const stored = await retry("reading the event stream", () => readStream(nc, "openclaw-events"));
    assert.deepEqual(integrityProblems(stored).filter((p) => !p.includes("meta.seq")), []);
    const text = stored.map((e) => JSON.stringify(e.event)).join("\n");
    for (const m of markers) assert.ok(text.includes(m), `${m}'s turn is in the event stream`);
    t.diagnostic(`events stored: ${stored.length}; model requests: ${a.model.requests.length}`);
  });

  test("SIGKILL of the node the gateway is connected to: the plugin reconnects to a survivor, every wake accepted and handed over once", async (t) => {
    const { nodes, nc, a } = shared();
    const first = await connection(a.gw);
    const victim = await nodeOf(a.gw, nodes);
    assert.ok(victim, `the gateway is connected to ${first.server}`);

    const js = jetstream(nc, { timeout: 2000 });
    const markers = markerList("cln", 8);
    const acceptMs: number[] = [];
    for (const [i, m] of markers.entries()) {
      if (i === 3) await victim.kill();
      acceptMs.push(await publishAccepted(js, "agent.main.inbox", m));
      await pause(EVERY_MS);
    }
    await waitFor("every wake reaches the model", () => markerTurns(a.model.requests, markers).firstTurn.size === markers.length, 120_000);
    const after = await connection(a.gw);
    t.diagnostic(`gateway was on ${first.server}, now ${after.server} (reconnects ${after.reconnects}); accept times (ms): ${acceptMs.join(" ")}`);
    assert.equal(after.connected, true);
    assert.notEqual(after.server, first.server, "reconnected to a surviving node");
    await retry("$SRV.PING.agents answers", async () => {
      assert.ok((await nc.request("$SRV.PING.agents", "", { timeout: 1000 })).data.length > 0);
    });
    await victim.restart();
    await waitFor("inbox drained", async () => (await (await jsmNow(nc)).streams.info("OPENCLAW_INBOX")).state.messages === 0, 60_000);
    await waitFor("the node catches up", () => caughtUp(nc, "OPENCLAW_INBOX", nodes.length), 60_000);
    const seen = markerTurns(a.model.requests, markers);
    for (const m of markers) assert.equal(seen.timesSeen.get(m), 1, `${m} handed to the agent once`);
  });
}
