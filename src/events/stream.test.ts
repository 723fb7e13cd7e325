import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { eventsConfig, memoryLogger } from "../../test/reliability/helpers.ts";
import { ensureStream, streamSpec } from "./stream.ts";

describe("events stream provisioning (real nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });

  after(async () => {
    await nc.close();
    await server.stop();
  });

  it("creates the stream with the configured settings", async () => {
    const log = memoryLogger();
    const spec = streamSpec(eventsConfig({ streamName: "ev-create" }), "ev-create", ["openclaw.events"]);
    assert.deepEqual(await ensureStream(jsm, spec, log), { outcome: "created" });
    const cfg = (await jsm.streams.info("ev-create")).config;
    assert.deepEqual(cfg.subjects, ["openclaw.events.>"]);
    assert.equal(cfg.storage, StorageType.File);
    assert.equal(cfg.duplicate_window, nanos(120_000));
    assert.equal(cfg.max_msgs, -1);
    assert.equal(cfg.max_bytes, -1);
    assert.equal(cfg.max_age, 0);
    assert.equal(cfg.num_replicas, 1);
    assert.match(log.lines.join("\n"), /created stream "ev-create"/);

    const again = memoryLogger();
    assert.deepEqual(await ensureStream(jsm, spec, again), { outcome: "unchanged" });
    assert.deepEqual(again.lines, []);
  });

  it("updates an existing stream to the configured settings and keeps subjects it already had", async () => {
    await jsm.streams.add({ name: "ev-update", subjects: ["other.>", "ev2.>"], duplicate_window: nanos(60_000) });
    const config = eventsConfig({ duplicateWindowMs: 300_000, retention: { maxMessages: 1000, maxBytes: 1 << 20, maxAgeHours: 24 } });
    const log = memoryLogger();
    const result = await ensureStream(jsm, streamSpec(config, "ev-update", ["ev2", "ev3"]), log);
    assert.equal(result.outcome, "updated");
    const cfg = (await jsm.streams.info("ev-update")).config;
    assert.deepEqual(cfg.subjects, ["other.>", "ev2.>", "ev3.>"]);
    assert.equal(cfg.duplicate_window, nanos(300_000));
    assert.equal(cfg.max_msgs, 1000);
    assert.equal(cfg.max_bytes, 1 << 20);
    assert.equal(cfg.max_age, nanos(24 * 3_600_000));
    assert.match(log.lines.join("\n"), /updated stream "ev-update" \(subjects \+ev3\.>, duplicate_window/);
  });

  it("clamps the duplicate window to max age, which the server requires", () => {
    const spec = streamSpec(eventsConfig({ duplicateWindowMs: 7_200_000, retention: { maxAgeHours: 0.5 } }), "x", ["p"]);
    assert.equal(spec.duplicateWindowMs, 1_800_000);
  });

  it("an impossible change (storage type) is one clear log line; the existing stream is kept and used", async () => {
    await jsm.streams.add({ name: "ev-memory", subjects: ["evm.>"], storage: StorageType.Memory });
    const log = memoryLogger();
    const config = eventsConfig({ retention: { maxMessages: 500 } });
    const result = await ensureStream(jsm, streamSpec(config, "ev-memory", ["evm"]), log);
    assert.equal(result.outcome, "kept");
    const warnings = log.lines.filter((l) => l.startsWith("warn"));
    assert.equal(warnings.length, 1, log.lines.join("\n"));
    assert.match(warnings[0], /stream "ev-memory": storage stays "memory" \(the storage type of an existing stream cannot be changed.*publishing to the existing stream/);
    const cfg = (await jsm.streams.info("ev-memory")).config;
    assert.equal(cfg.storage, StorageType.Memory);
    assert.equal(cfg.max_msgs, 500, "the changes that are possible were still made");
  });

  it("a change the server refuses (subjects owned by another stream) is one log line with the server's reason", async () => {
    await jsm.streams.add({ name: "ev-owner", subjects: ["taken.>"] });
    await jsm.streams.add({ name: "ev-refused", subjects: ["evr.>"] });
    const log = memoryLogger();
    const result = await ensureStream(jsm, streamSpec(eventsConfig(), "ev-refused", ["evr", "taken"]), log);
    assert.equal(result.outcome, "kept");
    assert.equal(log.lines.length, 1, log.lines.join("\n"));
    assert.match(log.lines[0], /^warn events: cannot update stream "ev-refused" \(subjects \+taken\.>\): .*overlap.*; publishing to the existing stream as it is$/);
    assert.deepEqual((await jsm.streams.info("ev-refused")).config.subjects, ["evr.>"]);
  });

  it("R3 asked of a single server: the stream is created with R1 and that is said in one line", async () => {
    const log = memoryLogger();
    const result = await ensureStream(jsm, streamSpec(eventsConfig({ replicas: 3 }), "ev-r3", ["evr3"]), log);
    assert.equal(result.outcome, "kept");
    assert.equal(log.lines.length, 1, log.lines.join("\n"));
    assert.match(log.lines[0], /^warn events: created stream "ev-r3" \(evr3\.>, file\) with R1 instead of R3: .*non-clustered/);
    assert.equal((await jsm.streams.info("ev-r3")).config.num_replicas, 1);
  });

  it("reports a stream it cannot create without throwing", async () => {
    const log = memoryLogger();
    const result = await ensureStream(jsm, streamSpec(eventsConfig(), "ev-overlap", ["other"]), log);
    assert.equal(result.outcome, "failed");
    assert.match(log.lines[0], /cannot create stream "ev-overlap" \(other\.>, file\): .*overlap/i);
  });
});
