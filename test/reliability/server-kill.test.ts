import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "@nats-io/transport-node";
import { EventStore } from "../../src/events/store.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { eventsConfig, integrityProblems, memoryLogger, readStream, tempDir, testLink } from "./helpers.ts";
import { produce } from "./producer.ts";

const TOTAL = 20_000;

test("kill -9 of nats-server in the middle of 20,000 events, restart after 3 s: exactly 20,000 stored, no duplicates, per-session order intact", async (t) => {
  const server = await NatsServer.start();
  const log = memoryLogger();
  const link = testLink(server.url, log);
  void link.start();
  const store = new EventStore({ config: eventsConfig({ streamName: "rel-server-kill" }), stateDir: tempDir(), link, logger: log, publishTimeoutMs: 2000 });
  let restarted: Promise<void> | undefined;
  try {
    await store.start();
    await link.ready();
    await produce(store, {
      total: TOTAL,
      sessions: 20,
      // ~50k/s offered, faster than the drain: the kill finds a full publish window and a backlog.
      perTick: 1000,
      tickMs: 20,
      onProgress: async (recorded) => {
        if (restarted || recorded < TOTAL / 2) return;
        await server.kill(); // the drain runs behind the producer: a full publish window dies with the server
        const atKill = await store.status();
        t.diagnostic(`kill -9 at ${recorded} recorded: published ${atKill.published}, spool depth ${atKill.spoolDepth}`);
        assert.ok(atKill.published > 0, "some events were already stored");
        assert.ok(atKill.spoolDepth > 0, "some events were not yet acked");
        restarted = new Promise((r) => setTimeout(r, 3000)).then(() => server.restart());
      },
    });
    const atEnd = await store.status();
    t.diagnostic(`all recorded while down: spool depth ${atEnd.spoolDepth}, connected ${atEnd.connected}`);
    assert.equal(atEnd.connected, false, "recording finished inside the outage");
    await restarted;
    assert.equal(await store.flush(60_000), true, "the spool drained after the restart");

    const status = await store.status();
    t.diagnostic(`after: published ${status.published}, duplicates ${status.duplicates}, failures ${status.failures}, disconnects ${status.disconnects}`);
    assert.equal(status.spoolDepth, 0);
    assert.ok(status.disconnects >= 1);
    const nc = await connect({ servers: server.url });
    try {
      const stored = await readStream(nc, "rel-server-kill");
      assert.equal(stored.length, TOTAL);
      assert.deepEqual(integrityProblems(stored), []);
      assert.equal(new Set(stored.map((e) => e.event.payload.n)).size, TOTAL);
    } finally {
      await nc.close();
    }
  } finally {
    await restarted;
    await store.stop();
    await link.stop();
    await server.stop();
  }
});
