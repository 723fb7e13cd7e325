import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { eventSubject } from "../shared/subjects.ts";
import { buildEnvelope } from "./envelope.ts";
import { collectEvents, eventFilter, readEvents, type ReadEvent } from "./reader.ts";

const STREAM = "reader-test";
const PREFIX = "rd.events";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("reader: filtered, bounded reads from the event stream (real nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let seqAt: (n: number) => number;
  let midTime = 0;
  let endTime = 0;

  async function publish(agent: string, type: string, n: number): Promise<void> {
    const js = jetstream(nc);
    const event = buildEnvelope({ agent, type, session: `agent:${agent}:main`, payload: { n } });
    await js.publish(eventSubject(PREFIX, agent, type), JSON.stringify(event), { msgID: event.id });
  }

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`] });
    // 1..60: a, b and c interleaved; then a pause; 61..90 after midTime.
    for (let i = 0; i < 60; i++) await publish(["a", "b", "c"][i % 3], i % 2 ? "msg.in" : "turn.reply", i);
    await sleep(50);
    midTime = Date.now();
    await sleep(50);
    for (let i = 60; i < 90; i++) await publish(["a", "b", "c"][i % 3], i % 2 ? "msg.in" : "turn.reply", i);
    await nc.publish(`${PREFIX}.a.garbage`, "not json");
    await nc.flush();
    await sleep(50);
    endTime = Date.now();
    seqAt = (n) => n + 1;
  });

  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  const ns = (events: ReadEvent[]): number[] => events.map((e) => Number(e.event?.payload.n));

  it("eventFilter builds the documented subjects", () => {
    assert.equal(eventFilter("p"), "p.>");
    assert.equal(eventFilter("p", "main"), "p.main.>");
    assert.equal(eventFilter("p", "main", "msg.in"), "p.main.msg_in");
    assert.equal(eventFilter("p", undefined, "turn.reply"), "p.*.turn_reply");
  });

  it("one subject, everything: stream order, then it ends by itself", async () => {
    const events = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX, "a", "msg.in")] });
    const expected = Array.from({ length: 90 }, (_, i) => i).filter((i) => i % 3 === 0 && i % 2 === 1);
    assert.deepEqual(ns(events), expected);
    assert.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1].seq));
    assert.equal(events[0].event?.agent, "a");
  });

  it("since seeks on the server; until stops; startSeq resumes", async () => {
    const later = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX, "b")], since: midTime });
    assert.deepEqual(ns(later), Array.from({ length: 30 }, (_, i) => 60 + i).filter((i) => i % 3 === 1));
    const earlier = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX, "b")], until: midTime });
    assert.deepEqual(ns(earlier), Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 === 1));
    const resumed = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX)], startSeq: seqAt(85) });
    assert.deepEqual(resumed.map((e) => e.seq), [86, 87, 88, 89, 90, 91]);
    assert.equal(resumed.at(-1)?.event, undefined, "a message that is not an event is delivered with the problem named");
    assert.match(resumed.at(-1)?.problem ?? "", /invalid JSON/);
    const none = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX)], since: endTime + 60_000 });
    assert.deepEqual(none, []);
  });

  it("several subjects are merged by stream sequence", async () => {
    const events = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX, "a", "msg.in"), eventFilter(PREFIX, "c", "turn.reply")], since: midTime });
    const expected = Array.from({ length: 30 }, (_, i) => 60 + i).filter((i) => (i % 3 === 0 && i % 2 === 1) || (i % 3 === 2 && i % 2 === 0));
    assert.deepEqual(ns(events), expected);
  });

  it("limit stops early and cleans up its consumers", async () => {
    const jsm = await jetstreamManager(nc);
    const events = await collectEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX, "a"), eventFilter(PREFIX, "b")] }, 3);
    assert.equal(events.length, 3);
    assert.equal((await jsm.streams.info(STREAM)).state.consumer_count, 0);
  });

  it("follow delivers what is stored later, until aborted", async () => {
    const ac = new AbortController();
    const got: number[] = [];
    const reading = (async () => {
      for await (const e of readEvents(nc, { stream: STREAM, subjects: [eventFilter(PREFIX, "z", "msg.in"), eventFilter(PREFIX, "y", "msg.in")], since: endTime, follow: true, signal: ac.signal })) {
        got.push(Number(e.event?.payload.n));
        if (got.length === 3) ac.abort();
      }
    })();
    await sleep(300);
    await publish("z", "msg.in", 1000);
    await publish("y", "msg.in", 1001);
    await publish("x", "msg.in", 9999);
    await publish("z", "msg.in", 1002);
    await reading;
    assert.deepEqual(got.sort(), [1000, 1001, 1002]);
  });

  it("a missing stream is an error the caller sees", async () => {
    await assert.rejects(collectEvents(nc, { stream: "no-such-stream", subjects: ["x.>"] }), /stream not found/);
  });
});
