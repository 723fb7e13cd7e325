import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { connect as connectV2, headers as headersV2, type NatsConnection as NatsConnectionV2 } from "nats";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { NatsServer, serverVarPassword } from "../harness/nats-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { newSender } from "../harness/signed.ts";
import { signSender } from "../../src/trust/sender.ts";
import { agentOf, hasToolResult, lastUserText, toolResultText } from "./relay-script.ts";
import { readmeBlock, readmePluginConfig, withObserver } from "./security-config.ts";

// Least privilege on a real nats-server: docs/security.md's configuration (a) + (b), read from that page, a real
// gateway connected as user "gateway" only, and an outside sender "scheduler" on the legacy `nats` v2
// client (an implementation this project did not write) with its own user only.

type Answer = { ok: boolean; from?: string; body?: string; sessionKey?: string; error?: string; priority?: string; queued?: boolean };
type Dlq = { reason: string; subject: string; data: string };

const pass = serverVarPassword;
process.env.GATEWAY_PASSWORD = pass();
process.env.SCHEDULER_PASSWORD = pass();
process.env.OBSERVER_PASSWORD = pass();

const scheduler = newSender(); // the sender's signing key, listed in relay.callers.scheduler
const stranger = newSender(); // a valid key nobody listed
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();

/** A request from the scheduler on the v2 client; with `signer`, an Agent-Sender signed over exactly these bytes. */
async function request(nc: NatsConnectionV2, subject: string, body: object, opts: { signer?: typeof scheduler.signer; tamper?: boolean; timeout?: number } = {}): Promise<Answer> {
  const data = enc.encode(JSON.stringify(body));
  const h = headersV2();
  if (opts.signer) h.set("Agent-Sender", signSender({ signer: opts.signer, account: "$G", subject, payload: opts.tamper ? enc.encode(JSON.stringify({ ...body, body: "something else" })) : data }));
  const reply = await nc.request(subject, data, { timeout: opts.timeout ?? 10_000, headers: h });
  return JSON.parse(new TextDecoder().decode(reply.data)) as Answer;
}

describe("security: docs/security.md's least-privilege nats-server configuration, a real gateway, an outside sender", { timeout: 600_000 }, () => {
  let server: NatsServer;
  let model: ScriptedModel;
  let gw: TestGateway;
  let observer: NatsConnection;
  let sender: NatsConnectionV2;
  const dlq: Dlq[] = [];

  before(async () => {
    server = await NatsServer.start({ config: withObserver(readmeBlock("conf", "(a) the gateway, (b) a sender")) });
    model = await ScriptedModel.start();
    model.reply(async (req) => {
      const agent = agentOf(req);
      const last = lastUserText(req);
      if (hasToolResult(req)) return { text: `${agent} got: ${toolResultText(req)}` };
      const ask = /^ASK (\S+) (.+)$/.exec(last);
      if (ask) return { toolCalls: [{ name: "nats", arguments: { action: "request", to: ask[1], message: ask[2] } }] };
      const tag = /\((s-[a-z0-9-]+)\)/.exec(last)?.[1];
      return { text: `${agent} answers ${tag ?? "?"}` };
    });
    const cfg = readmePluginConfig("for (a)");
    const relay = cfg.relay as { callers: Record<string, { publicKey: string }> };
    relay.callers.scheduler = { publicKey: scheduler.publicKey };
    gw = await TestGateway.start({
      model,
      agents: ["support", "ops"],
      plugins: [natsPlugin({ ...cfg, url: server.url, credentials: { user: "gateway", pass: process.env.GATEWAY_PASSWORD } })],
      readyLog: /nats: subscribed to agent\.\*\.inbox/,
      timeoutMs: 300_000,
    });
    observer = await connect({ servers: server.url, user: "observer", pass: process.env.OBSERVER_PASSWORD, inboxPrefix: "_INBOX.observer" });
    observer.subscribe("openclaw.nats.dlq", { callback: (_err, m) => void dlq.push(m.json<Dlq>()) });
    await observer.flush();
    sender = await connectV2({ servers: server.url, user: "scheduler", pass: process.env.SCHEDULER_PASSWORD, inboxPrefix: "_INBOX.scheduler" });
  });
  after(async () => {
    if (process.env.E2E_LOG) writeFileSync(process.env.E2E_LOG, gw?.logs() ?? "");
    await sender?.close();
    await observer?.close();
    await gw?.dispose();
    await model?.close();
    await server?.stop();
  });

  const waitDlq = async (pred: (d: Dlq) => boolean, ms = 10_000): Promise<Dlq> => {
    const end = Date.now() + ms;
    for (;;) {
      const hit = dlq.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no DLQ copy; got ${JSON.stringify(dlq)}`);
      await sleep(100);
    }
  };

  test("the outside sender wakes its agent with its own credentials: the model sees the frame, the event store records it", async () => {
    const events = observer.subscribe("openclaw.events.support.wake_in");
    const receipt = await request(sender, "agent.support.inbox", { from: "scheduler", body: "Nightly backup failed (s-wake-1)", priority: "urgent" });
    assert.deepEqual(receipt, { ok: true, sessionKey: "agent:support:main", priority: "urgent", queued: true });
    const turn = await model.waitFor((r) => promptText(r).includes("[URGENT from scheduler] Nightly backup failed (s-wake-1)"), 120_000);
    assert.equal(agentOf(turn), "support");
    for await (const m of events) {
      const e = m.json<{ type: string; payload: { from: string; text?: string } }>();
      assert.equal(e.type, "wake.in");
      assert.equal(e.payload.from, "scheduler");
      break;
    }
  });

  test("the gateway works with its own credentials only: stream created, events published and acked, agent → agent request/reply on its private inbox", async () => {
    const run = await gw.runAgent({ sessionKey: "agent:support:main", message: "ASK ops Is the database healthy? (s-ask-1)" });
    assert.equal(run.status, "ok");
    const followUp = await model.waitFor((r) => agentOf(r) === "support" && hasToolResult(r) && toolResultText(r).includes("s-ask-1"), 60_000);
    const answer = JSON.parse(toolResultText(followUp)) as Answer;
    assert.deepEqual({ ok: answer.ok, from: answer.from, body: answer.body }, { ok: true, from: "ops", body: "ops answers s-ask-1" });
    const status = await gw.call("nats.status");
    const s = JSON.stringify(status);
    assert.match(s, /"connected":true/);
    // Spooled events reach JetStream (the stream acks them) over the gateway's own permissions.
    const end = Date.now() + 60_000;
    for (;;) {
      const st = (await gw.call("nats.status")) as { events?: { published?: number } };
      if ((st.events?.published ?? 0) > 0) break;
      if (Date.now() > end) throw new Error(`no event acked by the stream: ${JSON.stringify(st.events)}`);
      await sleep(500);
    }
  });

  test("the agent protocol works on the gateway's permissions: discovery, heartbeats, and an unsigned prompt is refused (401)", async () => {
    const hb = observer.subscribe("agents.hb.oc.acme.*", { max: 1 });
    const infos: string[] = [];
    const sub = observer.subscribe("_INBOX.observer.srv");
    observer.publish("$SRV.PING.agents", "", { reply: "_INBOX.observer.srv" });
    const timer = setTimeout(() => sub.unsubscribe(), 3000);
    for await (const m of sub) infos.push(m.string());
    clearTimeout(timer);
    assert.equal(infos.length, 2, `one PING answer per agent: ${infos.join("\n")}`);
    const prompt = await observer.request("agents.prompt.oc.acme.support", "hello (s-ap-1)", { timeout: 10_000 });
    assert.equal(prompt.headers?.get("Nats-Service-Error-Code"), "401");
    assert.match(prompt.string(), /relay\.trustUnsignedCallers/);
    const hbTimer = setTimeout(() => hb.unsubscribe(), 60_000); // heartbeatIntervalS: 30
    let beats = 0;
    for await (const m of hb) {
      assert.equal(m.json<{ owner: string }>().owner, "acme");
      beats++;
    }
    clearTimeout(hbTimer);
    assert.equal(beats, 1, "a heartbeat arrived, published with the gateway's permissions");
  });

  test("the sender can wake its agent and nothing else: another agent's subject is a permissions violation, `to` another agent is refused", async () => {
    const errors: string[] = [];
    void (async () => {
      for await (const s of sender.status()) if (s.type === "error") errors.push(String(s.data));
    })();
    const before = model.requests.length;
    const serverLog = (): string => readFileSync(server.logFile, "utf8");
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const end = Date.now() + 10_000;
      while (!cond()) {
        if (Date.now() > end) throw new Error(`${what}; client errors: ${errors.join(" | ")}`);
        await sleep(100);
      }
    };
    sender.publish("agent.ops.inbox", enc.encode(JSON.stringify({ from: "scheduler", body: "hi ops (s-deny-1)", priority: "urgent" })));
    await sender.flush();
    await until(() => /Publish Violation - User "scheduler", Subject "agent\.ops\.inbox"/.test(serverLog()), "the server refused the publish to agent.ops.inbox");
    await until(() => errors.includes("PERMISSIONS_VIOLATION"), "the v2 client was told");

    const rebound = await request(sender, "agent.support.inbox", { from: "scheduler", to: "ops", body: "reach ops via to (s-deny-2)", priority: "urgent" });
    assert.equal(rebound.ok, false);
    assert.match(rebound.error ?? "", /^to "ops" names another agent than the subject agent\.support\.inbox/);
    await waitDlq((d) => d.reason === rebound.error);
    const byKey = await request(sender, "agent.support.inbox", { from: "scheduler", sessionKey: "agent:ops:main", body: "reach ops via sessionKey (s-deny-3)", priority: "urgent" });
    assert.match(byKey.error ?? "", /^sessionKey agent:ops:main belongs to another agent than the subject/);

    // Nor can it read what is not its own: the gateway's replies, the wake subjects, the event store.
    for (const subject of ["_INBOX.gateway.>", "agent.*.inbox", "openclaw.events.>"]) {
      sender.subscribe(subject);
      await sender.flush();
      const quoted = subject.replace(/[.*>]/g, (c) => `\\${c}`);
      await until(() => new RegExp(`Subscription Violation - User "scheduler", Subject "${quoted}"`).test(serverLog()), `the server refused the subscription to ${subject}`);
    }
    await sleep(1000);
    assert.ok(!model.requests.slice(before).some((r) => /s-deny-/.test(promptText(r))), "no refused text reached the model");
  });

  test("a signed sender in relay.callers gets its answer (expectReply) on its own private inbox", async () => {
    const answer = await request(sender, "agent.support.inbox", { from: "scheduler", body: "Backup status? (s-reply-1)", expectReply: true }, { signer: scheduler.signer, timeout: 120_000 });
    assert.deepEqual({ ok: answer.ok, from: answer.from, body: answer.body, sessionKey: answer.sessionKey }, { ok: true, from: "support", body: "support answers s-reply-1", sessionKey: "agent:support:main" });
  });

  test("an unauthenticated or wrongly signed caller gets no turn answered or delivered: error reply naming relay.trustUnsignedCallers, DLQ copy, the model never sees the text", async () => {
    const before = model.requests.length;
    const cases: Array<{ name: string; body: object; signer?: typeof scheduler.signer; tamper?: boolean; error: RegExp }> = [
      { name: "unsigned expectReply", body: { from: "scheduler", body: "unsigned ask (s-refuse-1)", expectReply: true }, error: /^caller "scheduler" is not authenticated: .*relay\.trustUnsignedCallers: true$/ },
      { name: "unsigned deliver", body: { from: "scheduler", body: "unsigned deliver (s-refuse-2)", deliver: true }, error: /^caller "scheduler" is not authenticated: .*relay\.trustUnsignedCallers: true$/ },
      { name: "unlisted key, expectReply", body: { from: "scheduler", body: "stranger ask (s-refuse-3)", expectReply: true }, signer: stranger.signer, error: /^sender key U[A-Z2-7]{55} is not a trusted caller: list it in relay\.callers, or set relay\.trustUnsignedCallers: true/ },
      { name: "unlisted key, deliver", body: { from: "scheduler", body: "stranger deliver (s-refuse-4)", deliver: true }, signer: stranger.signer, error: /relay\.trustUnsignedCallers/ },
      { name: "signature over other bytes", body: { from: "scheduler", body: "tampered (s-refuse-5)", expectReply: true }, signer: scheduler.signer, tamper: true, error: /^Agent-Sender signature rejected: signature does not verify/ },
    ];
    for (const c of cases) {
      const answer = await request(sender, "agent.support.inbox", c.body, { signer: c.signer, tamper: c.tamper });
      assert.equal(answer.ok, false, c.name);
      assert.match(answer.error ?? "", c.error, c.name);
      const copy = await waitDlq((d) => d.reason === answer.error && d.data.includes((c.body as { body: string }).body));
      assert.equal(copy.subject, "agent.support.inbox", c.name);
    }
    await sleep(2000);
    assert.equal(model.requests.length, before, "no model call for a refused request");
    assert.ok(!model.requests.some((r) => /s-refuse-/.test(promptText(r))), "the refused text never reached the model");
  });

  test("the gateway hit no permission violation, and no password appears in its log", () => {
    const serverLog = readFileSync(server.logFile, "utf8");
    assert.doesNotMatch(serverLog, /Violation - User "gateway"/, serverLog.split("\n").filter((l) => /Violation/.test(l)).join("\n"));
    const logs = gw.logs();
    for (const secret of [process.env.GATEWAY_PASSWORD, process.env.SCHEDULER_PASSWORD] as string[]) assert.ok(!logs.includes(secret), "no password in the gateway log");
  });
});
