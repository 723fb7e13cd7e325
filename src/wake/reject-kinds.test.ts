import { test } from "node:test";
import assert from "node:assert/strict";
import { headers } from "@nats-io/transport-node";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import { REJECT_KINDS, WakeDispatcher } from "./dispatcher.ts";
import { HOPS_HEADER } from "./hops.ts";

const log: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const system = { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined };
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const hops = (n: string) => {
  const h = headers();
  h.set(HOPS_HEADER, n);
  return h;
};

test("metrics: each refusal is counted under its fixed kind; handed wakes and their hand-off latency are counted too", async () => {
  const d = new WakeDispatcher(parseConfig({}), system, log);
  assert.deepEqual(Object.keys(d.rejectedBy), [...REJECT_KINDS]);
  await d.dispatch(new TextEncoder().encode("not json"), "agent.main.inbox");
  await d.dispatch(enc({ from: "a", body: "b", priority: "whenever" }), "agent.main.inbox");
  await d.dispatch(enc({ from: "a", body: "b" }), "agent.main.inbox", performance.now(), { headers: hops("x") });
  await d.dispatch(enc({ from: "a", body: "b" }), "agent.main.inbox", performance.now(), { headers: hops("99") });
  await d.dispatch(enc({ from: "a", body: "b", expectReply: true }), "agent.main.inbox");
  await d.dispatch(enc({ from: "a", body: "handed" }), "agent.main.inbox");
  assert.deepEqual(d.rejectedBy, { invalid: 2, signature: 0, hops_header: 1, hop_limit: 1, relay_unavailable: 1, relay_refused: 0, new_session_limit: 0, handoff_refused: 0 });
  assert.equal(d.counts.rejected, 5);
  assert.equal(d.counts.injected, 1);
  const b = d.injectMicros.buckets();
  assert.equal(b.count, 1);
  assert.equal(b.counts.at(-1), 1, "the one hand-off is under the last bucket (60 s)");
  assert.ok(b.sumSeconds > 0);
});
