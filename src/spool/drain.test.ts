import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import type { NatsLink } from "../connection/link.ts";
import { buildEnvelope, newEventId } from "../events/envelope.ts";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { integrityProblems, memoryLogger, readStream, tempDir, testLink, waitFor } from "../../test/reliability/helpers.ts";
import { LaneDrainer } from "./drain.ts";
import { Spool } from "./spool.ts";

describe("LaneDrainer against a real nats-server", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let link: NatsLink;
  const log = memoryLogger();

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
    link = testLink(server.url, log);
    void link.start();
    await link.ready();
  });

  after(async () => {
    await link.stop();
    await nc.close();
    await server.stop();
  });

  function setup(prefix: string, publishTimeoutMs = 2000): { spool: Spool; drainer: LaneDrainer; append: (n: number, from?: number, pad?: number) => string[] } {
    const spool = Spool.open({ path: join(tempDir(), "spool.sqlite"), maxBytes: 1 << 30 });
    const drainer = new LaneDrainer(spool, "default", link, log, { inFlight: 64, publishTimeoutMs, maxBackoffMs: 200, ready: () => true });
    const append = (n: number, from = 0, pad = 0): string[] => {
      const ids: string[] = [];
      for (let i = from; i < from + n; i++) {
        const id = newEventId();
        const payload = pad > 0 ? { i, pad: "x".repeat(pad) } : { i };
        const data = JSON.stringify(buildEnvelope({ agent: "main", session: "s", type: "msg.in", payload, meta: { seq: i } }, id));
        const subject = `${prefix}.main.msg_in`;
        const seq = spool.append("default", id, subject, data, data.length);
        drainer.offer({ seq, id, subject, data, size: data.length });
        ids.push(id);
      }
      return ids;
    };
    return { spool, drainer, append };
  }

  it("publishes with Nats-Msg-Id = event id; a re-send of the same rows is absorbed as duplicates", async () => {
    await jsm.streams.add({ name: "dr-dedup", subjects: ["dedup.>"], duplicate_window: nanos(120_000) });
    const { spool, drainer, append } = setup("dedup");
    const ids = append(300);
    await waitFor("drain", () => spool.depth() === 0);
    assert.equal(drainer.stats.published, 300);

    // As after a crash between the JetStream ack and the spool delete: the same events again
    // (appended without offer(), as a restarted process finds them in the file).
    for (const row of await readStream(nc, "dr-dedup")) {
      spool.append("default", row.event.id, row.subject, JSON.stringify(row.event), 10);
    }
    drainer.notify();
    await waitFor("re-drain", () => spool.depth() === 0);
    assert.equal(drainer.stats.duplicates, 300);
    assert.equal(drainer.stats.published, 300);
    const stored = await readStream(nc, "dr-dedup");
    assert.equal(stored.length, 300);
    assert.deepEqual(stored.map((e) => e.msgId), ids);
    assert.deepEqual(integrityProblems(stored), []);
    await drainer.stop();
    spool.close();
  });

  it("keeps failed rows, retries from the oldest, and stores them in order once the stream exists", async () => {
    const { spool, drainer, append } = setup("late");
    append(200);
    await waitFor("failures", () => drainer.stats.failures >= 2);
    assert.equal(spool.depth(), 200, "nothing is deleted without an ack");
    await jsm.streams.add({ name: "dr-late", subjects: ["late.>"] });
    append(100, 200);
    await waitFor("drain", () => spool.depth() === 0, 15_000);
    const stored = await readStream(nc, "dr-late");
    assert.equal(stored.length, 300);
    assert.deepEqual(stored.map((e) => e.event.payload.i), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(integrityProblems(stored), []);
    assert.ok(log.lines.some((l) => /resumed after \d+ failed attempt/.test(l)));
    await drainer.stop();
    spool.close();
  });

  it("an event the stream can never take (over max_msg_size) is dropped and counted; the rest flows on", async () => {
    await jsm.streams.add({ name: "dr-big", subjects: ["big.>"], max_msg_size: 2048 });
    const { spool, drainer, append } = setup("big");
    append(5);
    append(1, 5, 4096);
    append(5, 6);
    await waitFor("drain", () => spool.depth() === 0);
    assert.equal(drainer.stats.rejected, 1);
    assert.match(drainer.stats.lastError ?? "", /rejected by the server: .*10054/);
    const stored = await readStream(nc, "dr-big");
    assert.deepEqual(stored.map((e) => e.event.payload.i), [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]);
    await drainer.stop();
    spool.close();
  });

  it("a server that stops answering (SIGSTOP): publishes time out and are re-sent; nothing lost or stored twice", async () => {
    await jsm.streams.add({ name: "dr-stall", subjects: ["stall.>"] });
    const { spool, drainer, append } = setup("stall", 500);
    append(100);
    await waitFor("first events", () => spool.depth() === 0);
    process.kill(server.pid!, "SIGSTOP");
    try {
      append(200, 100);
      await waitFor("timeouts", () => drainer.stats.failures > 0, 5000);
    } finally {
      process.kill(server.pid!, "SIGCONT");
    }
    await waitFor("drain", () => spool.depth() === 0, 15_000);
    const stored = await readStream(nc, "dr-stall");
    assert.deepEqual(stored.map((e) => e.event.payload.i), Array.from({ length: 300 }, (_, i) => i));
    assert.deepEqual(integrityProblems(stored), []);
    assert.equal(drainer.stats.published, 300);
    assert.ok(drainer.stats.duplicates > 0, "the late first sends were stored; the re-sends came back duplicate");
    await drainer.stop();
    spool.close();
  });
});
