import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { eventsConfig, integrityProblems, memoryLogger, readStream, tempDir, testLink, waitFor } from "../../test/reliability/helpers.ts";
import { join } from "node:path";
import { Spool } from "../spool/spool.ts";
import { EventStore } from "./store.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("EventStore against a real nats-server", () => {
  let server: NatsServer;
  let nc: NatsConnection;

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await nc.close();
    await server.stop();
  });

  async function withStore(
    events: Record<string, unknown>,
    run: (store: EventStore, log: ReturnType<typeof memoryLogger>) => Promise<void>,
    url = server.url,
  ): Promise<void> {
    const log = memoryLogger();
    const link = testLink(url, log);
    void link.start();
    const store = new EventStore({ config: eventsConfig(events), stateDir: tempDir(), link, logger: log, publishTimeoutMs: 2000 });
    try {
      await store.start();
      await run(store, log);
    } finally {
      await store.stop();
      await link.stop();
    }
  }

  it("records events into the stream: subject, envelope, Nats-Msg-Id, order, status", async () => {
    await withStore({ streamName: "st-basic", subjectPrefix: "basic.events" }, async (store) => {
      store.record({ agent: "main", session: "s1", type: "msg.in", visibility: "public", payload: { text: "hello" }, meta: { runId: "r1", seq: 0, channel: "cli" } });
      store.record({ agent: "main", session: "s1", type: "msg.out", payload: { text: "hi" }, meta: { seq: 1, model: "m1" } });
      store.record({ agent: "", type: "gateway.start", payload: {} });
      assert.equal(await store.flush(10_000), true);

      const stored = await readStream(nc, "st-basic");
      assert.deepEqual(stored.map((e) => e.subject), ["basic.events.main.msg_in", "basic.events.main.msg_out", "basic.events.system.gateway_start"]);
      assert.deepEqual(integrityProblems(stored), []);
      const first = stored[0].event;
      assert.match(first.id, UUID_V7);
      assert.equal(stored[0].msgId, first.id);
      assert.deepEqual({ ...first, id: "", ts: 0 }, {
        id: "",
        ts: 0,
        agent: "main",
        session: "s1",
        type: "msg.in",
        visibility: "public",
        payload: { text: "hello" },
        meta: { runId: "r1", seq: 0, channel: "cli" },
      });
      assert.ok(stored[0].event.id < stored[1].event.id && stored[1].event.id < stored[2].event.id, "ids are time-ordered");
      assert.equal(stored[2].event.agent, "system");

      const status = await store.status();
      assert.equal(status.connected, true);
      assert.equal(status.stream, "st-basic");
      assert.equal(status.streamMessages, 3);
      assert.ok((status.streamBytes ?? 0) > 0);
      assert.equal(status.spoolDepth, 0);
      assert.equal(status.published, 3);
      assert.equal(status.duplicates, 0);
      assert.equal(status.failures, 0);
      assert.equal(status.dropped, 0);
      assert.equal(status.streams[0].provisioned, "created");
    });
  });

  it("applies the allow / block subject lists", async () => {
    const events = { streamName: "st-filter", subjectPrefix: "filter.events", allow: ["filter.events.main.>", "filter.events.*.tool_call"], block: ["filter.events.*.llm_output"] };
    await withStore(events, async (store) => {
      for (const [agent, type] of [["main", "msg.in"], ["main", "llm.output"], ["other", "msg.in"], ["other", "tool.call"]]) {
        store.record({ agent, type, payload: {} });
      }
      assert.equal(await store.flush(10_000), true);
      const stored = await readStream(nc, "st-filter");
      assert.deepEqual(stored.map((e) => e.subject), ["filter.events.main.msg_in", "filter.events.other.tool_call"]);
      assert.equal((await store.status()).filtered, 2);
    });
  });

  it("record() never throws: an unserialisable payload is counted as dropped", async () => {
    await withStore({ streamName: "st-bad", subjectPrefix: "bad.events" }, async (store) => {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      assert.doesNotThrow(() => store.record({ agent: "main", type: "msg.in", payload: circular }));
      assert.doesNotThrow(() => store.record({ agent: "main", type: "msg.in", payload: { big: 1n } }));
      store.record({ agent: "main", type: "msg.in", payload: { ok: true } });
      assert.equal(await store.flush(10_000), true);
      const status = await store.status();
      assert.equal(status.dropped, 2);
      assert.match(status.lastError ?? "", /cannot record event msg\.in/);
      assert.equal((await readStream(nc, "st-bad")).length, 1);
    });
  });

  it("a spool held by another process is one error line; start() and record() still do not throw", async () => {
    const stateDir = tempDir();
    const log = memoryLogger();
    const link = testLink(server.url, log);
    const config = eventsConfig({ streamName: "st-locked", subjectPrefix: "locked.events" });
    // Another process's lock: opened outside this process's shared spools (stores of one process share the file).
    const first = Spool.open({ path: join(stateDir, "event-spool.sqlite"), maxBytes: 1 << 20 });
    const second = new EventStore({ config, stateDir, link, logger: log });
    try {
      await second.start();
      second.record({ agent: "main", type: "msg.in", payload: {} });
      const status = await second.status();
      assert.equal(status.dropped, 1);
      assert.match(status.lastError ?? "", /cannot open the event spool: .*in use by another process/);
      assert.equal(log.lines.filter((l) => l.startsWith("error")).length, 1, log.lines.join("\n"));
    } finally {
      await second.stop();
      first.close();
      await link.stop();
    }
  });

  it("keeps publishing to an existing stream it cannot convert (memory storage), after one log line", async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "st-mem", subjects: ["mem.events.>"], storage: StorageType.Memory });
    await withStore({ streamName: "st-mem", subjectPrefix: "mem.events" }, async (store, log) => {
      for (let i = 0; i < 10; i++) store.record({ agent: "main", session: "s", type: "msg.in", payload: { i }, meta: { seq: i } });
      assert.equal(await store.flush(10_000), true);
      assert.equal(log.lines.filter((l) => /storage stays "memory"/.test(l)).length, 1);
      const stored = await readStream(nc, "st-mem");
      assert.equal(stored.length, 10);
      assert.deepEqual(integrityProblems(stored), []);
    });
  });

  it("sends an agent with its own url / stream to its own connection and stream", async () => {
    const second = await NatsServer.start();
    try {
      const events = {
        streamName: "st-multi",
        subjectPrefix: "multi.events",
        agents: {
          ops: { url: second.url, streamName: "ops-events", subjectPrefix: "ops.events" },
          audit: { streamName: "audit-events", subjectPrefix: "audit.events" },
        },
      };
      await withStore(events, async (store) => {
        for (const agent of ["main", "ops", "audit", "main"]) store.record({ agent, session: "s", type: "msg.in", payload: { agent } });
        assert.equal(await store.flush(10_000), true);
        assert.deepEqual((await readStream(nc, "st-multi")).map((e) => e.subject), ["multi.events.main.msg_in", "multi.events.main.msg_in"]);
        assert.deepEqual((await readStream(nc, "audit-events")).map((e) => e.subject), ["audit.events.audit.msg_in"]);
        const nc2 = await connect({ servers: second.url });
        try {
          assert.deepEqual((await readStream(nc2, "ops-events")).map((e) => e.subject), ["ops.events.ops.msg_in"]);
        } finally {
          await nc2.close();
        }
        const status = await store.status();
        assert.deepEqual(status.lanes.map((l) => [l.name, l.published]).sort(), [["agent:ops", 1], ["default", 3]]);
        assert.deepEqual(status.streams.map((s) => `${s.connection}/${s.name}:${s.messages}`).sort(), ["default/audit-events:1", "default/st-multi:2", "ops/ops-events:1"]);
      });
    } finally {
      await second.stop();
    }
  });

  it("spools while NATS is down and drains in order once it is up", async () => {
    const late = await NatsServer.start();
    await late.stop();
    await withStore(
      { streamName: "st-late", subjectPrefix: "late.events" },
      async (store) => {
        for (let i = 0; i < 500; i++) store.record({ agent: "main", session: `s${i % 3}`, type: "msg.in", payload: { i }, meta: { seq: i } });
        let status = await store.status();
        assert.equal(status.connected, false);
        assert.equal(status.spoolDepth, 500);
        assert.equal(status.published, 0);
        await late.restart();
        assert.equal(await store.flush(20_000), true);
        const lateNc = await connect({ servers: late.url });
        try {
          const stored = await readStream(lateNc, "st-late");
          assert.equal(stored.length, 500);
          assert.deepEqual(integrityProblems(stored), []);
          assert.deepEqual(stored.map((e) => e.event.payload.i), Array.from({ length: 500 }, (_, i) => i));
        } finally {
          await lateNc.close();
        }
        status = await store.status();
        assert.equal(status.spoolDepth, 0);
        assert.equal(status.published, 500);
      },
      late.url,
    );
    await late.stop();
  });

  it("a full spool drops the oldest events, counts them, and never blocks record()", async () => {
    const down = await NatsServer.start();
    await down.stop();
    await withStore(
      { streamName: "st-full", subjectPrefix: "full.events", spool: { maxBytes: 64 * 1024 } },
      async (store) => {
        for (let i = 0; i < 2000; i++) store.record({ agent: "main", session: "s", type: "msg.in", payload: { i, pad: "x".repeat(100) }, meta: { seq: i } });
        await waitFor("trim", async () => (await store.status()).spoolBytes <= 64 * 1024);
        const status = await store.status();
        assert.ok(status.dropped > 0);
        assert.equal(status.dropped + status.spoolDepth, 2000);
        assert.match(status.lastError ?? "", /spool full/);
        await down.restart();
        assert.equal(await store.flush(20_000), true);
        const downNc = await connect({ servers: down.url });
        try {
          const stored = await readStream(downNc, "st-full");
          assert.equal(stored.length, status.spoolDepth);
          assert.equal(stored.at(-1)?.event.payload.i, 1999, "the newest events are the ones kept");
          assert.equal(stored[0].event.payload.i, status.dropped);
        } finally {
          await downNc.close();
        }
      },
      down.url,
    );
    await down.stop();
  });
});
