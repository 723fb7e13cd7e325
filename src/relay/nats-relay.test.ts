import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import { runNatsTool } from "../tool/nats-tool.ts";
import { WakeDispatcher } from "../wake/dispatcher.ts";
import type { SystemRuntime } from "../wake/inject.ts";
import { natsRelayHandler } from "./nats-relay.ts";
import type { AskRequest, AskResult, Caller, NotifyRequest, NotifyResult } from "./relay.ts";

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const system: SystemRuntime = { enqueueSystemEvent: () => true, requestHeartbeat: () => {} };
const enc = (v: object) => new TextEncoder().encode(JSON.stringify(v));

class FakeRelay {
  asks: Array<[Caller, AskRequest]> = [];
  notifies: Array<[Caller, NotifyRequest]> = [];
  askResult: AskResult = { ok: true, from: "b", body: "4", sessionKey: "agent:b:main", runId: "r1" };
  notifyResult: NotifyResult = { ok: true, method: "agent-run", status: "delivered", runId: "r2", sessionKey: "agent:b:main", channel: "testchan", to: "u1" };
  async ask(c: Caller, r: AskRequest): Promise<AskResult> {
    this.asks.push([c, r]);
    return this.askResult;
  }
  async notify(c: Caller, r: NotifyRequest): Promise<NotifyResult> {
    this.notifies.push([c, r]);
    return this.notifyResult;
  }
}

function dispatcher(relay: FakeRelay): WakeDispatcher {
  const d = new WakeDispatcher(parseConfig({}), system, quiet);
  d.relay = natsRelayHandler(relay);
  return d;
}

test("expectReply asks the subject's agent as `from`; the receipt is the answer", async () => {
  const relay = new FakeRelay();
  const out = await dispatcher(relay).dispatch(enc({ from: "a", body: "2+2?", expectReply: true, timeoutMs: 900 }), "agent.b.inbox");
  assert.deepEqual(out, { kind: "handled", receipt: relay.askResult });
  assert.deepEqual(relay.asks, [[{ id: "a", via: "nats" }, { sessionKey: "agent:b:main", message: "2+2?", deliver: undefined, timeoutMs: 900 }]]);
});

test("deliver alone notifies the target session, channel passed on for the override check", async () => {
  const relay = new FakeRelay();
  const out = await dispatcher(relay).dispatch(enc({ from: "cron", body: "hi", deliver: true, sessionKey: "agent:b:testchan:direct:u1", channel: "testchan" }), "agent.b.inbox");
  assert.equal(out.kind, "handled");
  assert.deepEqual(relay.notifies[0]?.[1], { sessionKey: "agent:b:testchan:direct:u1", message: "hi", channel: "testchan", timeoutMs: undefined });
});

test("refusals are dead-lettered; a failed or timed-out turn answers the sender", async () => {
  const relay = new FakeRelay();
  const d = dispatcher(relay);
  for (const kind of ["forbidden", "not-found", "invalid"] as const) {
    relay.notifyResult = { ok: false, kind, error: `no: ${kind}` };
    assert.deepEqual(await d.dispatch(enc({ from: "x", body: "y", deliver: true }), "agent.b.inbox"), { kind: "rejected", reason: `no: ${kind}` });
  }
  relay.askResult = { ok: false, kind: "timeout", error: "b did not answer within 5 ms" };
  assert.deepEqual(await d.dispatch(enc({ from: "x", body: "y", expectReply: true }), "agent.b.inbox"), {
    kind: "handled",
    receipt: { ok: false, error: "b did not answer within 5 ms" },
  });
  assert.equal(d.counts.rejected, 3);
  assert.equal(d.counts.relayed, 1);
});

let server: NatsServer;
let nc: NatsConnection;
before(async () => {
  server = await NatsServer.start({ jetstream: false });
  nc = await connect({ servers: server.url });
});
after(async () => {
  await nc.close();
  await server.stop();
});

test("the nats tool's request to an agent inbox asks for the answer and waits relay.timeoutMs", async () => {
  const cfg = parseConfig({ relay: { timeoutMs: 1500 } });
  const seen: Array<Record<string, unknown>> = [];
  const sub = nc.subscribe("agent.b.inbox", {
    callback: (_e, m) => {
      seen.push(m.json<Record<string, unknown>>());
      m.respond(JSON.stringify({ ok: true, from: "b", body: "4", sessionKey: "agent:b:main", runId: "r1" }));
    },
  });
  const r = await runNatsTool(nc, cfg, "a", { action: "request", to: "b", message: "2+2?" });
  assert.deepEqual(JSON.parse(r.content[0]?.text ?? "{}"), { ok: true, from: "b", body: "4", sessionKey: "agent:b:main", runId: "r1" });
  assert.equal(seen[0]?.expectReply, true);
  assert.equal(seen[0]?.timeoutMs, 1500);
  assert.equal(seen[0]?.from, "a");
  await runNatsTool(nc, cfg, "a", { action: "publish", to: "b", message: "fyi" });
  await nc.flush();
  assert.equal(seen[1]?.expectReply, undefined, "publish does not ask for an answer");
  sub.unsubscribe();
});
