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

  function setup(prefix: string): { spool: Spool; drainer: LaneDrainer; append: (n: number, from?: number) => string[] } {
    const spool = Spool.open({ path: join(tempDir(), "spool.sqlite"), maxBytes: 1 << 30 });
    const drainer = new LaneDrainer(spool, "default", link, log, { inFlight: 64, publishTimeoutMs: 2000, maxBackoffMs: 200, ready: () => true });
    const append = (n: number, from = 0): string[] => {
      const ids: string[] = [];
      for (let i = from; i < from + n; i++) {
        const id = newEventId();
        const data = JSON.stringify(buildEnvelope({ agent: "main", session: "s", type: "msg.in", payload: { i }, meta: { seq: i } }, id));
        spool.append("default", id, `${prefix}.main.msg_in`, data, data.length);
        ids.push(id);
      }
      drainer.notify();
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

    // As after a crash between the JetStream ack and the spool delete: the same events again.
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
});
