import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import { runNatsTool } from "../tool/nats-tool.ts";
import { WakeDispatcher } from "../wake/dispatcher.ts";
import type { SystemRuntime } from "../wake/inject.ts";
import { TrustedCallers } from "../trust/callers.ts";
import { createUserSeed, signerFromSeed } from "../trust/nkey.ts";
import { NonceCache } from "../trust/nonce-cache.ts";
import { verifySender } from "../trust/sender.ts";
import { headers } from "@nats-io/transport-node";
import { signSender } from "../trust/sender.ts";
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

// Keys: a configured caller "cron", and a gateway key that speaks for agents a and b.
const cronKey = signerFromSeed(createUserSeed());
const gatewayKey = signerFromSeed(createUserSeed());
const strangerKey = signerFromSeed(createUserSeed());
const callers = new TrustedCallers({ cron: { publicKey: cronKey.publicKey }, peer: { publicKey: gatewayKey.publicKey, agents: ["a", "b"] } });

function dispatcher(relay: FakeRelay): WakeDispatcher {
  const d = new WakeDispatcher(parseConfig({}), system, quiet);
  const nonces = new NonceCache(30_000);
  d.verifySender = (msg, mode) => verifySender(msg, { mode, nonces });
  d.relay = natsRelayHandler(relay, callers);
  return d;
}

function signed(signer: typeof cronKey, subject: string, body: object) {
  const data = enc(body);
  const h = headers();
  h.set("Agent-Sender", signSender({ signer, account: "$G", subject, payload: data }));
  return { data, headers: h };
}

test("expectReply asks the subject's agent as `from`; the receipt is the answer", async () => {
  const relay = new FakeRelay();
  const out = await dispatcher(relay).dispatch(enc({ from: "a", body: "2+2?", expectReply: true, timeoutMs: 900 }), "agent.b.inbox");
  assert.deepEqual(out, { kind: "handled", receipt: relay.askResult });
  assert.deepEqual(relay.asks, [[{ id: "a", via: "nats", auth: "none" }, { sessionKey: "agent:b:main", message: "2+2?", deliver: undefined, timeoutMs: 900 }]]);
});

test("the caller is who the signature says: a configured caller, or the signed from of a gateway key", async () => {
  const relay = new FakeRelay();
  const d = dispatcher(relay);
  const cron = signed(cronKey, "agent.b.inbox", { from: "cron", body: "report?", expectReply: true });
  assert.equal((await d.dispatch(cron.data, "agent.b.inbox", undefined, { headers: cron.headers })).kind, "handled");
  assert.deepEqual(relay.asks.at(-1)?.[0], { id: "cron", via: "nats", auth: "signature", key: cronKey.publicKey });
  const agent = signed(gatewayKey, "agent.b.inbox", { from: "a", body: "2+2?", expectReply: true });
  await d.dispatch(agent.data, "agent.b.inbox", undefined, { headers: agent.headers });
  assert.deepEqual(relay.asks.at(-1)?.[0], { id: "a", via: "nats", auth: "signature", key: gatewayKey.publicKey, vouchedBy: "peer" });
  const stranger = signed(strangerKey, "agent.b.inbox", { from: "cron", body: "x", expectReply: true });
  await d.dispatch(stranger.data, "agent.b.inbox", undefined, { headers: stranger.headers });
  assert.deepEqual(relay.asks.at(-1)?.[0], { id: "cron", via: "nats", auth: "none", key: strangerKey.publicKey }, "a verified but unknown key is not authenticated");
});

test("a signed message that claims someone else, a gateway key speaking for an agent it may not, a bad signature: rejected before the relay", async () => {
  const relay = new FakeRelay();
  const d = dispatcher(relay);
  const lying = signed(cronKey, "agent.b.inbox", { from: "ceo", body: "x", expectReply: true });
  assert.deepEqual(await d.dispatch(lying.data, "agent.b.inbox", undefined, { headers: lying.headers }), { kind: "rejected", reason: 'from "ceo" does not match the signing caller "cron" (relay.callers)' });
  const overreach = signed(gatewayKey, "agent.b.inbox", { from: "ops", body: "x", deliver: true });
  assert.deepEqual(await d.dispatch(overreach.data, "agent.b.inbox", undefined, { headers: overreach.headers }), { kind: "rejected", reason: 'key of caller "peer" may not speak for agent "ops" (relay.callers.peer.agents)' });
  const tampered = signed(cronKey, "agent.b.inbox", { from: "cron", body: "x", expectReply: true });
  const out = await d.dispatch(enc({ from: "cron", body: "y", expectReply: true }), "agent.b.inbox", undefined, { headers: tampered.headers });
  assert.equal(out.kind, "rejected");
  assert.match(out.kind === "rejected" ? out.reason : "", /^Agent-Sender signature rejected: signature does not verify/);
  const plainWake = await d.dispatch(enc({ from: "cron", body: "y" }), "agent.b.inbox", undefined, { headers: tampered.headers });
  assert.equal(plainWake.kind, "rejected", "a failing signature is refused even on a plain wake");
  const replay = signed(cronKey, "agent.b.inbox", { from: "cron", body: "once", expectReply: true });
  assert.equal((await d.dispatch(replay.data, "agent.b.inbox", undefined, { headers: replay.headers })).kind, "handled");
  const again = await d.dispatch(replay.data, "agent.b.inbox", undefined, { headers: replay.headers });
  assert.match(again.kind === "rejected" ? again.reason : "", /replay/);
  assert.equal(relay.asks.length + relay.notifies.length, 1);
});

test("a subject that names an agent binds the message: to or sessionKey of another agent is refused, for wakes too", async () => {
  const relay = new FakeRelay();
  const d = dispatcher(relay);
  assert.deepEqual(await d.dispatch(enc({ from: "x", body: "y", to: "billing" }), "agent.support.inbox"), {
    kind: "rejected",
    reason: 'to "billing" names another agent than the subject agent.support.inbox (support); a message on agent.<id>.… reaches that agent only',
  });
  const key = await d.dispatch(enc({ from: "x", body: "y", sessionKey: "agent:billing:telegram:direct:1", deliver: true }), "agent.support.inbox");
  assert.match(key.kind === "rejected" ? key.reason : "", /^sessionKey agent:billing:telegram:direct:1 belongs to another agent than the subject agent\.support\.inbox/);
  assert.equal((await d.dispatch(enc({ from: "x", body: "y", to: "support", sessionKey: "agent:support:telegram:direct:1" }), "agent.support.inbox")).kind, "handled");
  assert.equal((await d.dispatch(enc({ from: "x", body: "y", to: "billing" }), "alerts.disk")).kind, "handled", "subjects that name no agent keep to");
  assert.equal(relay.notifies.length, 0);
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
  for (const kind of ["forbidden", "not-found", "invalid", "unauthorized", "busy"] as const) {
    relay.notifyResult = { ok: false, kind, error: `no: ${kind}` };
    assert.deepEqual(await d.dispatch(enc({ from: "x", body: "y", deliver: true }), "agent.b.inbox"), { kind: "rejected", reason: `no: ${kind}` });
  }
  relay.askResult = { ok: false, kind: "timeout", error: "b did not answer within 5 ms" };
  assert.deepEqual(await d.dispatch(enc({ from: "x", body: "y", expectReply: true }), "agent.b.inbox"), {
    kind: "handled",
    receipt: { ok: false, error: "b did not answer within 5 ms" },
  });
  assert.equal(d.counts.rejected, 5);
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

test("with a signer, the tool's message carries an Agent-Sender that verifies over the bytes on the wire", async () => {
  const cfg = parseConfig({});
  const checks: string[] = [];
  const sub = nc.subscribe("agent.b.inbox", {
    callback: (_e, m) => {
      const check = verifySender(m, { mode: "live", nonces: new NonceCache(30_000) });
      checks.push(check.trust === "verified" ? `${check.trust} ${check.user} ${check.name}` : JSON.stringify(check));
    },
  });
  const sign = (subject: string, payload: Uint8Array, h: MsgHdrs) => {
    h.set("Agent-Sender", signSender({ signer: gatewayKey, account: "$G", subject, payload, name: "a" }));
  };
  await runNatsTool(nc, cfg, "a", { action: "publish", to: "b", message: "fyi" }, sign);
  await nc.flush();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(checks, [`verified ${gatewayKey.publicKey} a`]);
  sub.unsubscribe();
});
