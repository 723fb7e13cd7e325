import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { deadLetter } from "../wake/dead-letter.ts";
import { consumerFacts, dlqFromStream, streamFacts } from "./jetstream.ts";

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
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

test("dead letters: none from a stream until one captures the subject; then the newest first, with reasons", async () => {
  assert.equal(await dlqFromStream(nc, "openclaw.nats.dlq", 10), undefined);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "DLQ", subjects: ["openclaw.nats.dlq", "other.>"] });
  for (let i = 1; i <= 3; i++) {
    deadLetter(nc, "openclaw.nats.dlq", { subject: "agent.main.inbox", data: new TextEncoder().encode(`{"n":${i}}`), reason: `reason ${i}` }, quiet);
    nc.publish("other.noise", "x");
  }
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  const got = await dlqFromStream(nc, "openclaw.nats.dlq", 2);
  assert.equal(got?.stream, "DLQ");
  assert.deepEqual(got?.entries.map((e) => [e.reason, e.subject, e.data]), [
    ["reason 3", "agent.main.inbox", '{"n":3}'],
    ["reason 2", "agent.main.inbox", '{"n":2}'],
  ]);
});

test("stream and consumer facts as a running server reports them; a missing stream is an error, not a throw", async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "EV", subjects: ["ev.>"] });
  await jsm.consumers.add("EV", { durable_name: "c", ack_policy: AckPolicy.Explicit });
  for (let i = 0; i < 5; i++) nc.publish("ev.x", "y");
  await nc.flush();
  await new Promise((r) => setTimeout(r, 200));
  const s = await streamFacts(nc, "EV");
  assert.ok(!("error" in s));
  assert.equal(s.messages, 5);
  assert.equal(s.firstSeq, 1);
  assert.equal(s.lastSeq, 5);
  assert.ok(s.firstTs && s.lastTs && Date.parse(s.lastTs) >= Date.parse(s.firstTs));
  const c = await consumerFacts(nc, "EV", "c");
  assert.deepEqual(c, { pending: 5, ackPending: 0, redelivered: 0, waiting: 0, delivered: 0 });
  const missing = await streamFacts(nc, "NOPE");
  assert.ok("error" in missing && /stream not found/i.test(missing.error));
});
