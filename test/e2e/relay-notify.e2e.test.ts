import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { newSender, signedRequest } from "../harness/signed.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { readEvents } from "../harness/event-stream.ts";
import { agentOf, hasToolResult, lastUserText, toolResultText } from "./relay-script.ts";

// One gateway: agents a and b, this plugin with the relay on, and the test-only channel "testchan"
// whose sends are recorded in a file. Session CHAN is b's conversation with user-7 on testchan.
const TOKEN = "relay-e2e-token-0123456789";
const CHAN = "agent:b:testchan:direct:user-7";
const NO_RECIPIENT = "agent:b:testchan:direct:nobody";
const HISTORY = "My favourite fruit is PINEAPPLE-42";
// relay.tokens: a second HTTP caller that has no allowedTargets entry.
const INTRUDER_TOKEN = "intruder-token-0123456789";
// The scheduler sends over NATS, signed with this key (relay.callers.scheduler).
const scheduler = newSender();

type Sent = { to?: string; text?: string; accountId?: string | null; messageId?: string };

describe("relay: notify through a real gateway", { timeout: 600_000 }, () => {
  let stack: Stack;
  let model: ScriptedModel;
  let gw: TestGateway;
  let nc: NatsConnection;
  let dir: string;
  let outFile: string;

  const sent = (): Sent[] => (existsSync(outFile) ? readFileSync(outFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Sent) : []);
  const waitSent = async (pred: (s: Sent) => boolean, timeoutMs = 60_000): Promise<Sent> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = sent().find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`testchan never sent a matching message; sent: ${JSON.stringify(sent())}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const post = (body: unknown, headers: Record<string, string> = {}, method = "POST"): Promise<Response> =>
    fetch(`${gw.httpUrl}/notify`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
      body: method === "GET" ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  const route = async (sessionKey: string) => (await gw.call("testchan.session", { sessionKey })) as { exists: boolean; delivery: { kind: string; context?: { channel?: string; to?: string } } | null };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "relay-notify-"));
    outFile = join(dir, "testchan.jsonl");
    stack = await startStack({
      reply: (req) => {
        const agent = agentOf(req);
        const last = lastUserText(req);
        if (agent === "a" && hasToolResult(req)) return { text: `a saw the tool result: ${toolResultText(req).slice(0, 300)}` };
        if (agent === "a") {
          const m = /^NOTIFY-TOOL (\S+) (.+)$/.exec(last);
          if (m) return { toolCalls: [{ name: "notify_agent", arguments: { sessionKey: m[1], message: m[2] } }] };
        }
        return { text: `${agent} says: history=${promptText(req).includes("PINEAPPLE-42")}; re: ${last}` };
      },
      gateway: (url) => ({
        agents: ["a", "b"],
        plugins: [
          natsPlugin({
            url,
            relay: {
              authToken: TOKEN,
              tokens: { intruder: INTRUDER_TOKEN },
              allowedTargets: { a: ["agent:b:*"], scheduler: ["agent:b:testchan:*"], http: ["agent:b:*"] },
              callers: { scheduler: { publicKey: scheduler.publicKey } },
            },
          }),
          { path: "test/fixtures/test-channel", id: "test-channel" },
        ],
        extraConfig: { channels: { testchan: { enabled: true } } },
        env: { TESTCHAN_OUT: outFile },
        readyLog: /nats: subscribed to agent\.\*\.inbox/,
      }),
    });
    ({ model, gw, nc } = stack);
    // The user talked to b on testchan earlier: one turn of history, then the channel records the route.
    const run = await gw.runAgent({ sessionKey: CHAN, message: HISTORY });
    assert.equal(run.status, "ok");
    await gw.call("testchan.inbound", { sessionKey: CHAN, from: "user-7" });
    assert.deepEqual((await route(CHAN)).delivery?.context, { channel: "testchan", to: "user-7" });
  });
  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the HTTP endpoint is served on the gateway port and logged", async () => {
    await gw.waitForLog(/nats: relay HTTP endpoint POST \/notify on the gateway port \(Bearer token; callers: http, intruder\)/, 1000);
  });

  test("every HTTP refusal: JSON error, status, one log line, and nothing reaches an agent", async () => {
    const modelBefore = model.requests.length;
    const good = { sessionKey: CHAN, message: "should never arrive" };
    // Failed authentication is rate-limited: the first 401 is logged, the next ones in the same minute are counted.
    const authOffset = gw.logs().length;
    for (const [res, error] of [[await post(good, { authorization: "" }), /missing bearer token/], [await post(good, { authorization: `Bearer ${TOKEN}-nope` }), /invalid bearer token/], [await post(good, { authorization: "Bearer x" }), /invalid bearer token/]] as const) {
      assert.equal(res.status, 401);
      assert.match(((await res.json()) as { error: string }).error, error);
    }
    await gw.waitForLog(/relay http 401 from .*missing bearer token/, 5000, authOffset);
    assert.equal(gw.logs().slice(authOffset).split("\n").filter((l) => /relay http 401/.test(l)).length, 1, "one line for three failures (the count follows at the end of the minute)");
    const cases: Array<[string, () => Promise<Response>, number, RegExp, RegExp]> = [
      ["wrong method", () => post(good, {}, "GET"), 405, /method GET not allowed/, /relay http 405 /],
      ["form body", () => post("sessionKey=x", { "content-type": "application/x-www-form-urlencoded" }), 415, /must be application\/json/, /relay http 415 /],
      ["over 64 KiB", () => post({ sessionKey: CHAN, message: "x".repeat(70_000) }), 413, /over the 65536-byte limit/, /relay http 413 /],
      ["invalid JSON", () => post("{nope"), 400, /invalid JSON/, /relay http 400 .*invalid JSON/],
      ["missing field", () => post({ sessionKey: CHAN }), 400, /missing message/, /relay http 400 .*missing message/],
      ["caller not allowed", () => post(good, { authorization: `Bearer ${INTRUDER_TOKEN}` }), 403, /caller "intruder" has no entry/, /relay http 403 from .*caller "intruder" has no entry/],
      ["from is not the token's owner", () => post({ ...good, from: "scheduler" }), 400, /from "scheduler" is not this token's caller "http"/, /relay http 400 from .*is not this token's caller/],
      ["not allowed target", () => post({ sessionKey: "agent:a:main", message: "x" }), 403, /may not reach agent:a:main/, /relay http 403 from .*may not reach agent:a:main/],
      ["unknown session", () => post({ sessionKey: "agent:b:nosuch:session", message: "x" }), 404, /no session agent:b:nosuch:session/, /relay http 404 from .*no session agent:b:nosuch:session/],
      ["override", () => post({ ...good, channel: "telegram", to: "999" }), 400, /overrides are not supported.*testchan:user-7/, /relay http 400 from .*channel\/to overrides/],
    ];
    for (const [name, call, status, error, logLine] of cases) {
      const offset = gw.logs().length;
      const res = await call();
      assert.equal(res.status, status, name);
      const body = (await res.json()) as { ok: boolean; error: string };
      assert.equal(body.ok, false, name);
      assert.match(body.error, error, name);
      await gw.waitForLog(logLine, 5000, offset);
      const relayLines = gw.logs().slice(offset).split("\n").filter((l) => /nats: relay /.test(l));
      assert.equal(relayLines.length, 1, `${name}: one log line, got ${relayLines.join(" | ")}`);
    }
    assert.equal(model.requests.length, modelBefore, "no model call for any refused request");
    assert.equal(sent().filter((s) => s.text?.includes("should never arrive")).length, 0);
  });

  test("notify_agent, as documented: b's reply reaches the session's channel, with the session's history", async () => {
    const doc = readFileSync(new URL("../../docs/relay.md", import.meta.url), "utf8");
    const example = /notify_agent\(\{\s*sessionKey: "([^"]+)",\s*message: "([^"]+)"\s*\}\)/.exec(doc);
    assert.ok(example, "docs/relay.md has the tool call example");
    const message = example[2] ?? "";
    const from = model.requests.length;
    // a's scripted model makes exactly the documented call, with this test's session key
    const run = await gw.runAgent({ sessionKey: "agent:a:main", message: `NOTIFY-TOOL ${CHAN} ${message}` });
    assert.equal(run.status, "ok");
    const expected = `b says: history=true; re: [from a] ${message}`;
    const msg = await waitSent((s) => s.text === expected);
    assert.equal(msg.to, "user-7");
    const bTurn = model.requests.slice(from).find((r) => agentOf(r) === "b");
    assert.ok(bTurn, "b took a turn");
    assert.match(promptText(bTurn), /PINEAPPLE-42/, "b saw the earlier history");
    const aFollowUp = await model.waitFor((r) => r.index >= from && agentOf(r) === "a" && hasToolResult(r), 10_000);
    assert.match(toolResultText(aFollowUp), new RegExp(`Delivered: the agent in ${CHAN} answered and its reply went to testchan:user-7`));
    assert.equal(sent().filter((s) => s.text === expected).length, 1, "sent once, to testchan");
    assert.deepEqual((await route(CHAN)).delivery?.context, { channel: "testchan", to: "user-7" }, "the route was not flipped to webchat");
  });

  test("POST /notify: the documented curl command works and the reply reaches the channel", async () => {
    const doc = readFileSync(new URL("../../docs/relay.md", import.meta.url), "utf8");
    const block = /```bash\n(curl -X POST[\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(block, "docs/relay.md has the curl example");
    const cmd = block
      .replace("http://127.0.0.1:18789", gw.httpUrl)
      .replace("your-secret-token", TOKEN)
      .replace("agent:support:telegram:direct:123456", CHAN);
    const stdout = await new Promise<string>((res, rej) => execFile("bash", ["-c", cmd], (err, out) => (err ? rej(err) : res(out))));
    const answer = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(answer.ok, true);
    assert.equal(answer.method, "agent-run");
    assert.equal(answer.status, "delivered");
    assert.equal(answer.channel, "testchan");
    assert.equal(answer.to, "user-7");
    assert.equal(answer.sessionKey, CHAN);
    assert.match(String(answer.reply), /^b says: history=true; re: Reminder: client asked for the contract$/);
    assert.doesNotMatch(String(answer.reply), /\[from /, "an HTTP call without from is not signed");
    const msg = await waitSent((s) => s.text === answer.reply);
    assert.equal(msg.to, "user-7");
  });

  test("NATS deliver:true from a signed caller goes through the relay: the reply reaches the channel and the sender gets the result", async () => {
    const payload = { from: "scheduler", sessionKey: CHAN, body: "Morning check: any pending tickets? (nats-1)", deliver: true };
    const reply = await signedRequest(nc, scheduler.signer, "agent.b.inbox", payload, 120_000);
    const r = reply.json<Record<string, unknown>>();
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.equal(r.method, "agent-run");
    assert.equal(r.status, "delivered");
    assert.match(String(r.reply), /^b says: history=true; re: \[from scheduler\] Morning check: any pending tickets\? \(nats-1\)$/);
    await waitSent((s) => s.text === r.reply && s.to === "user-7");
  });

  test("the NATS path: an unsigned deliver is refused and dead-lettered, a signed caller outside allowedTargets too; nothing is delivered", async () => {
    const modelBefore = model.requests.length;
    const sentBefore = sent().length;
    const dlq = nc.subscribe("openclaw.nats.dlq", { max: 1 });
    // An unsigned message claiming to be the scheduler: "from" is only a claim.
    const reply = await nc.request("agent.b.inbox", JSON.stringify({ from: "scheduler", sessionKey: CHAN, body: "let me in (forged-1)", deliver: true }), { timeout: 10_000 });
    const error = reply.json<{ ok: boolean; error: string }>().error;
    assert.match(error, /^caller "scheduler" is not authenticated: .*relay\.trustUnsignedCallers: true$/);
    for await (const m of dlq) assert.equal(m.json<{ reason: string }>().reason, error);
    const denied = await signedRequest(nc, scheduler.signer, "agent.b.inbox", { from: "scheduler", body: "main is not mine", deliver: true }, 10_000);
    assert.deepEqual(denied.json(), { ok: false, error: 'caller "scheduler" may not reach agent:b:main (relay.allowedTargets)' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(model.requests.length, modelBefore);
    assert.equal(sent().length, sentBefore);
    assert.ok(!model.requests.some((r) => promptText(r).includes("forged-1")));
  });

  test("allowedTargets on the tool path: the refusal comes back as the tool result", async () => {
    const from = model.requests.length;
    const run = await gw.runAgent({ sessionKey: "agent:a:main", message: "NOTIFY-TOOL agent:a:side Talk to yourself (tool-2)" });
    assert.equal(run.status, "ok");
    const followUp = await model.waitFor((r) => r.index >= from && agentOf(r) === "a" && hasToolResult(r), 10_000);
    assert.match(toolResultText(followUp), /Error: caller \\?"a\\?" may not reach agent:a:side \(relay.allowedTargets\)/);
    assert.equal(model.requests.slice(from).filter((r) => agentOf(r) !== "a").length, 0, "no other agent ran");
  });
  test("a run that cannot start falls back to a system event and says so", async () => {
    // A testchan route with no recipient: the host refuses to start a delivering turn there.
    await gw.call("testchan.inbound", { sessionKey: NO_RECIPIENT });
    const res = await post({ sessionKey: NO_RECIPIENT, message: "Fallback please (fallback-1)", from: "http" });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200);
    assert.equal(body.method, "system-event", JSON.stringify(body));
    assert.equal(body.queued, true);
    assert.match(String(body.reason), /target/i);
    await gw.waitForLog(/queued as a system event instead/, 5000);
    const woke = await model.waitFor((r) => promptText(r).includes("[from http] Fallback please (fallback-1)"), 60_000);
    assert.ok(woke, "the system event reached the agent");
  });

  test("the replies delivered to testchan are in the event store as msg.sending and msg.out", async () => {
    const events = await readEvents(nc, "openclaw.events.b.>", (ev) => ev.some((e) => e.type === "msg.sending") && ev.some((e) => e.type === "msg.out" && e.payload.to === "user-7"));
    const out = events.find((e) => e.type === "msg.out" && e.payload.to === "user-7");
    assert.equal(out?.payload.success, true);
  });
});
