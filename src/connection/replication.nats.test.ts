import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer, startCluster } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import { replicationCheck } from "../cli/doctor/replication-check.ts";
import { ensureStream, streamSpec } from "../events/stream.ts";
import type { Logger } from "../shared/logger.ts";
import { ensureDeadLetterStream } from "../wake/dead-letter.ts";
import { ensureInboxStream } from "../wake/inbox-provision.ts";

// Every stream the plugin keeps (durable inbox, dead letters, events) takes `replicas`/`placement` from the
// config, on a real 3-node cluster and on a single server (which falls back to R1 with one line).

function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not in time${last ? ` (${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function config(url: string, extra: Record<string, unknown>) {
  return parseConfig({ url, inbox: { durable: true }, ...extra });
}

describe("on a 3-node cluster", () => {
  let nodes: NatsServer[];
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  before(async () => {
    nodes = await startCluster(3);
    nc = await connect({ servers: nodes.map((n) => n.url) });
    // A replicated stream can be made once the JetStream meta leader is elected.
    jsm = await until("a JetStream meta leader", async () => {
      const jsm = await jetstreamManager(nc, { timeout: 2000 });
      await jsm.streams.add({ name: "probe", subjects: ["probe.>"], num_replicas: 3 });
      await jsm.streams.delete("probe");
      return jsm;
    });
  });
  after(async () => {
    await nc?.close();
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  it("replicas: 3 creates the inbox, the dead-letter and the event stream R3; events.replicas overrides", async () => {
    const cfg = config(nodes[0].url, { replicas: 3, subjects: ["agent.*.inbox"], events: { streamName: "ev-r3", subjectPrefix: "evr3" }, deadLetterStream: { name: "DLQ_R3" }, deadLetterSubject: "dlq.r3", inbox: { durable: true, streamName: "INBOX_R3" } });
    const log = memoryLog();
    await ensureInboxStream(jsm, cfg, log);
    assert.equal(await ensureDeadLetterStream(nc, cfg, log), true);
    assert.equal((await ensureStream(jsm, streamSpec(cfg.events, "ev-r3", ["evr3"]), log)).outcome, "created");
    for (const name of ["INBOX_R3", "DLQ_R3", "ev-r3"]) assert.equal((await jsm.streams.info(name)).config.num_replicas, 3, name);
    assert.ok(log.lines.every((l) => l.startsWith("info ")), log.lines.join("\n"));

    const own = config(nodes[0].url, { replicas: 3, events: { replicas: 1 } });
    assert.equal(own.events.replicas, 1);
    assert.equal(own.inbox.replicas, 3);
  });

  it("an R1 inbox / dead-letter / event stream is raised to R3 in place, its messages kept", async () => {
    await jsm.streams.add({ name: "INBOX_UP", subjects: ["up.*.inbox"], storage: StorageType.File, retention: RetentionPolicy.Workqueue, max_age: nanos(168 * 3_600_000), duplicate_window: nanos(120_000), num_replicas: 1 });
    await jsm.streams.add({ name: "DLQ_UP", subjects: ["dlq.up"], num_replicas: 1 });
    await jsm.streams.add({ name: "ev-up", subjects: ["evup.>"], storage: StorageType.File, num_replicas: 1 });
    await jetstream(nc).publish("up.a.inbox", "kept");
    const cfg = config(nodes[0].url, { replicas: 3, subjects: ["up.*.inbox"], inbox: { durable: true, streamName: "INBOX_UP" }, deadLetterStream: { name: "DLQ_UP" }, deadLetterSubject: "dlq.up" });
    const log = memoryLog();
    await ensureInboxStream(jsm, cfg, log);
    await ensureDeadLetterStream(nc, cfg, log);
    assert.equal((await ensureStream(jsm, streamSpec(cfg.events, "ev-up", ["evup"]), log)).outcome, "updated");
    for (const name of ["INBOX_UP", "DLQ_UP", "ev-up"]) {
      const info = await until(`${name} R3 with 2 replicas current`, async () => {
        const i = await jsm.streams.info(name);
        return i.config.num_replicas === 3 && (i.cluster?.replicas ?? []).filter((r) => r.current).length === 2 ? i : undefined;
      });
      assert.equal(info.config.num_replicas, 3);
    }
    assert.equal((await jsm.streams.info("INBOX_UP")).state.messages, 1, "the message stayed");
    assert.ok(log.lines.some((l) => /^info nats: durable inbox: updated stream "INBOX_UP" \(num_replicas 1→3\)/.test(l)), log.lines.join("\n"));
    assert.ok(log.lines.some((l) => /^info nats: dead-letter: updated stream "DLQ_UP" \(num_replicas 1→3\)/.test(l)), log.lines.join("\n"));

    // Replicas not configured: an existing stream's count is left as it is (never lowered behind the operator's back).
    const quiet = memoryLog();
    await ensureInboxStream(jsm, config(nodes[0].url, { subjects: ["up.*.inbox"], inbox: { durable: true, streamName: "INBOX_UP" } }), quiet);
    assert.equal((await jsm.streams.info("INBOX_UP")).config.num_replicas, 3);
    assert.deepEqual(quiet.lines, []);
  });

  it("doctor: on the cluster, a plugin stream below R3 is a warning naming it; R3 streams are fine", async () => {
    await jsm.streams.add({ name: "INBOX_LOW", subjects: ["low.*.inbox"], num_replicas: 1 });
    const cfg = config(nodes[0].url, { subjects: ["low.*.inbox"], inbox: { durable: true, streamName: "INBOX_LOW" }, deadLetterStream: { name: "DLQ_R3" }, events: { streamName: "ev-r3", subjectPrefix: "evr3" } });
    const r = await replicationCheck(nc, jsm, cfg);
    assert.equal(r.status, "warn", r.detail);
    assert.match(r.detail, /clustered but INBOX_LOW R1 has fewer than 3 replicas/);
    const good = await replicationCheck(nc, jsm, { ...cfg, inbox: { ...cfg.inbox, streamName: "INBOX_R3" } });
    assert.equal(good.status, "ok", good.detail);
    assert.match(good.detail, /INBOX_R3 R3, DLQ_R3 R3, ev-r3 R3/);
  });

  it("placement passes through: a cluster name that does not exist is refused, the cluster's own is taken", async () => {
    const cfg = config(nodes[0].url, { replicas: 3, placement: { cluster: "test-cluster" }, subjects: ["pl.*.inbox"], inbox: { durable: true, streamName: "INBOX_PL" } });
    await ensureInboxStream(jsm, cfg, memoryLog());
    assert.equal((await jsm.streams.info("INBOX_PL")).config.placement?.cluster, "test-cluster");
    const bad = config(nodes[0].url, { replicas: 3, placement: { cluster: "nowhere" }, subjects: ["pl2.*.inbox"], inbox: { durable: true, streamName: "INBOX_PL2" } });
    await assert.rejects(ensureInboxStream(jsm, bad, memoryLog()), /no suitable peers|insufficient resources|cluster/i);
  });
});

describe("on a single server", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("replicas: 3 falls back to R1 with one log line per stream", async () => {
    const jsm = await jetstreamManager(nc);
    const cfg = config(server.url, { replicas: 3 });
    for (const [name, make] of [
      [cfg.inbox.streamName, (log: Logger) => ensureInboxStream(jsm, cfg, log)],
      [cfg.deadLetterStream.name, (log: Logger) => ensureDeadLetterStream(nc, cfg, log)],
    ] as const) {
      const log = memoryLog();
      await make(log);
      assert.equal((await jsm.streams.info(name)).config.num_replicas, 1);
      assert.equal(log.lines.length, 1, log.lines.join("\n"));
      assert.match(log.lines[0], new RegExp(`^warn nats: .*created stream "${name}".* with R1 instead of R3: .*non-clustered`));
    }
    const doctor = await replicationCheck(nc, jsm, cfg);
    assert.equal(doctor.status, "ok", "a single server is not warned about R1");
    assert.match(doctor.detail, /single server/);
  });
});
