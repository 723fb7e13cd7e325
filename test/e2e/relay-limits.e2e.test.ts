import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { newSender, signedRequest } from "../harness/signed.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { agentOf, lastUserText } from "./relay-script.ts";

// Relay limits through a real gateway: past relay.maxConcurrent / maxConcurrentPerSession a caller is
// refused at once (HTTP 429; NATS error reply + DLQ copy), nothing queues; a timeoutMs over
// relay.maxTimeoutMs is refused, not capped. Refused attempts never reach the model.

type Answer = { ok: boolean; from?: string; body?: string; error?: string };
const ext = newSender();
const TOKEN = "limits-token-0123456789abcdef0123";

describe("relay limits: refused at once, never queued, never seen by the model", { timeout: 600_000 }, () => {
  let stack: Stack;
  let model: ScriptedModel;
  let gw: TestGateway;
  let nc: NatsConnection;
  let release = (): void => {};
  const held = new Promise<void>((r) => (release = r));

  before(async () => {
    stack = await startStack({
      jetstream: false,
      reply: async (req) => {
        const last = lastUserText(req);
        if (last.includes("(lim-hold)")) await held;
        const tag = /\((lim-[a-z0-9-]+)\)/.exec(last)?.[1];
        return { text: `${agentOf(req)} answers ${tag ?? "?"}` };
      },
      gateway: (url) => ({
        agents: ["a", "b"],
        plugins: [
          natsPlugin({
            url,
            events: { enabled: false },
            relay: { authToken: TOKEN, maxConcurrent: 2, maxConcurrentPerSession: 1, timeoutMs: 60_000, maxTimeoutMs: 600_000, callers: { ext: { publicKey: ext.publicKey } } },
          }),
        ],
        readyLog: /nats: subscribed to agent\.\*\.inbox/,
        timeoutMs: 300_000,
      }),
    });
    ({ model, gw, nc } = stack);
  });
  after(async () => {
    release();
    await stack?.stop();
  });

  test("a timeoutMs over relay.maxTimeoutMs is refused (error reply + DLQ), not capped; nothing runs", async () => {
    const before = model.requests.length;
    const dlq = nc.subscribe("openclaw.nats.dlq", { max: 1 });
    const reply = await signedRequest(nc, ext.signer, "agent.b.inbox", { from: "ext", body: "take your time (lim-cap)", expectReply: true, timeoutMs: 3_600_000 }, 10_000);
    const answer = reply.json<Answer>();
    assert.deepEqual(answer, { ok: false, error: "timeoutMs 3600000 is over relay.maxTimeoutMs (600000)" });
    for await (const m of dlq) assert.equal(m.json<{ reason: string }>().reason, answer.error);
    assert.equal(model.requests.length, before);
  });

  test("past maxConcurrentPerSession and maxConcurrent: HTTP 429 and NATS error reply + DLQ at once, while held turns run; then the one still waited for answers", async () => {
    // b's caller gives up after 5 s; its run goes on and must keep its slot (relay.maxTimeoutMs bounds it).
    const first = signedRequest(nc, ext.signer, "agent.b.inbox", { from: "ext", body: "hold on (lim-hold)", expectReply: true, timeoutMs: 5000 }, 120_000);
    await model.waitFor((r) => lastUserText(r).includes("(lim-hold)"), 120_000);
    const modelCalls = model.requests.length;
    const dlq: string[] = [];
    const sub = nc.subscribe("openclaw.nats.dlq", { callback: (_e, m) => void dlq.push(m.json<{ reason: string }>().reason) });

    // Same session: over maxConcurrentPerSession.
    const same = (await signedRequest(nc, ext.signer, "agent.b.inbox", { from: "ext", body: "me too (lim-same)", expectReply: true }, 10_000)).json<Answer>();
    assert.equal(same.ok, false);
    assert.match(same.error ?? "", /^busy: agent:b:main already has 1 relay turn\(s\) running, the limit is relay\.maxConcurrentPerSession \(1\); try again later$/);
    const gaveUp = (await first).json<Answer>();
    assert.match(gaveUp.error ?? "", /^b did not answer within 5000 ms \(run \S+ is still going; its answer will stay in agent:b:main\)$/);
    // HTTP, right after b's caller stopped waiting: still 429, because b's run still holds its slot.
    // (Checked before the second hold: the host ends a model call that hangs for minutes, and with it the run.)
    const res = await fetch(`http://127.0.0.1:${gw.port}/notify`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ sessionKey: "agent:b:main", message: "http too (lim-http)" }),
    });
    assert.equal(res.status, 429);
    const body = (await res.json()) as { ok: boolean; error: string };
    assert.equal(body.ok, false);
    assert.match(body.error, /^busy: .*relay\.maxConcurrent/);
    await gw.waitForLog(/nats: relay http 429 from .*busy/, 10_000);
    // A second held turn in a's session fills the gateway (maxConcurrent 2); a third session is then refused.
    // The slot is taken as the message is handled, before the turn starts, and one connection's messages on one
    // subject arrive in order: the request right behind it sees the gateway full without waiting for the model.
    const second = signedRequest(nc, ext.signer, "agent.a.inbox", { from: "ext", body: "hold too (lim-hold)", expectReply: true, timeoutMs: 120_000 }, 150_000);
    const other = (await signedRequest(nc, ext.signer, "agent.a.inbox", { from: "ext", sessionKey: "agent:a:other", body: "and me (lim-other)", expectReply: true }, 10_000)).json<Answer>();
    assert.match(other.error ?? "", /^busy: 2 relay turns are running, the limit is relay\.maxConcurrent \(2\); try again later$/);
    await model.waitFor((r) => agentOf(r) === "a" && lastUserText(r).includes("(lim-hold)"), 180_000);
    const heldCalls = model.requests.length;

    const end = Date.now() + 10_000;
    while (dlq.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    sub.unsubscribe();
    assert.deepEqual(dlq.sort(), [same.error, other.error].sort(), "each NATS refusal has its DLQ copy");
    assert.equal(model.requests.length, heldCalls, "no model call for a refused request");
    assert.equal(heldCalls, modelCalls + 1, "only the second held turn reached the model");

    release();
    const answer2 = (await second).json<Answer>();
    assert.deepEqual({ ok: answer2.ok, from: answer2.from, body: answer2.body }, { ok: true, from: "a", body: "a answers lim-hold" });
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(!model.requests.some((r) => /lim-(cap|same|other|http)/.test(promptText(r))), "no refused text ever reached the model");
    // Nothing was queued: with the slot free again, a new request runs at once and is the only new turn.
    const next = (await signedRequest(nc, ext.signer, "agent.a.inbox", { from: "ext", body: "now (lim-after)", expectReply: true }, 120_000)).json<Answer>();
    assert.deepEqual({ ok: next.ok, body: next.body }, { ok: true, body: "a answers lim-after" });
    assert.ok(!model.requests.some((r) => /lim-(cap|same|other|http)/.test(promptText(r))), "still none of the refused texts");
  });
});
