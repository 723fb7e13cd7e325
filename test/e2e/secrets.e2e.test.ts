import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel } from "../harness/model-server.ts";
import { NatsServer } from "../harness/nats-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";

// No credential from the config in any output: a password-bearing URL (which the gateway must really use
// to connect), a wrong password in a second URL (so connection errors happen), relay and alertmanager
// tokens. Every output the plugin has is collected and searched: the gateway's log (console and file),
// errors, nats.status, `openclaw nats status` (the /eventstatus text), HTTP refusals, DLQ copies and
// every event in the stream.

const PASSWORD = "pw-Secret-7f3kZq";
const WRONG_PASSWORD = "wrong-Secret-x91Lp";
const HTTP_TOKEN = "http-token-Secret-0123456789abcdef";
const CRON_TOKEN = "cron-token-Secret-fedcba9876543210";
const AM_TOKEN = "am-token-Secret-5566778899aabbcc";
const SECRETS = [PASSWORD, WRONG_PASSWORD, HTTP_TOKEN, CRON_TOKEN, AM_TOKEN];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function assertClean(where: string, text: string): void {
  for (const s of SECRETS) {
    for (const form of [s, encodeURIComponent(s), Buffer.from(s).toString("base64")]) {
      const at = text.indexOf(form);
      assert.equal(at, -1, `${where} contains a credential: …${text.slice(Math.max(0, at - 80), at + 20)}…`);
    }
  }
}

describe("secrets: no credential from the config in any output", { timeout: 600_000 }, () => {
  let server: NatsServer;
  let model: ScriptedModel;
  let gw: TestGateway;
  let nc: NatsConnection;
  const dlq: string[] = [];
  const outputs: Array<[string, string]> = [];

  before(async () => {
    server = await NatsServer.start({ config: `authorization { users: [ { user: ops, password: "${PASSWORD}" } ] }` });
    model = await ScriptedModel.start();
    model.reply(() => ({ text: "done" }));
    const url = `nats://ops:${PASSWORD}@127.0.0.1:${server.port}`;
    gw = await TestGateway.start({
      model,
      agents: ["main", "side"],
      plugins: [
        natsPlugin({
          url,
          events: { agents: { side: { url: `nats://ops:${WRONG_PASSWORD}@127.0.0.1:${server.port}` } } },
          relay: { authToken: HTTP_TOKEN, tokens: { cron: CRON_TOKEN } },
          alertmanager: { authToken: AM_TOKEN },
        }),
      ],
      readyLog: /nats: subscribed to agent\.\*\.inbox/,
      timeoutMs: 300_000,
    });
    nc = await connect({ servers: server.url, user: "ops", pass: PASSWORD });
    nc.subscribe("openclaw.nats.dlq", { callback: (_e, m) => void dlq.push(m.string()) });
    await nc.flush();
  });
  after(async () => {
    if (process.env.E2E_LOG) writeFileSync(process.env.E2E_LOG, gw?.logs() ?? "");
    await nc?.close();
    await gw?.dispose();
    await model?.close();
    await server?.stop();
  });

  test("the URL's user:password is what the gateway connects with (the server refuses anyone without it)", async () => {
    await assert.rejects(connect({ servers: server.url, reconnect: false }), /Authorization Violation|AUTHORIZATION_VIOLATION/i);
    const status = await gw.call("nats.status");
    assert.equal(status.connected, true, JSON.stringify(status));
    outputs.push(["nats.status", JSON.stringify(status)]);
  });

  test("exercise every path that writes output: wakes, a refused relay request, HTTP refusals, turns in both agents, a failing per-agent connection", async () => {
    // 60-s request deadlines: the urgent wake's first turn loads the host's agent runtime on the gateway's
    // event loop (~10 CPU-s), and under the full suite's load the next replies waited past 10 s (run 3).
    const receipt = await nc.request("agent.main.inbox", JSON.stringify({ from: "cron", body: "wake (sec-1)", priority: "urgent" }), { timeout: 60_000 });
    outputs.push(["wake receipt", receipt.string()]);
    const refused = await nc.request("agent.main.inbox", JSON.stringify({ from: "cron", body: "answer me (sec-2)", expectReply: true }), { timeout: 60_000 });
    outputs.push(["refused relay reply", refused.string()]);
    assert.match(refused.string(), /relay\.trustUnsignedCallers/);
    const bad = await nc.request("agent.main.inbox", "{not json", { timeout: 60_000 });
    outputs.push(["invalid wake reply", bad.string()]);

    const base = `http://127.0.0.1:${gw.port}/notify`;
    const post = async (token: string | undefined, body: object): Promise<void> => {
      const res = await fetch(base, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
      outputs.push([`POST /notify ${res.status}`, `${JSON.stringify([...res.headers])}\n${await res.text()}`]);
    };
    await post(undefined, { sessionKey: "agent:main:main", message: "x" });
    await post("not-the-token-at-all-000000000000", { sessionKey: "agent:main:main", message: "x" });
    await post(CRON_TOKEN, { sessionKey: "agent:main:nope", message: "x", from: "cron" });
    await post(CRON_TOKEN, { sessionKey: "agent:main:main", message: "x", from: "someone-else" });
    await post(HTTP_TOKEN, { sessionKey: "agent:main:main", message: "x", channel: "telegram" });

    assert.equal((await gw.runAgent({ sessionKey: "agent:main:main", message: "hello main (sec-3)" })).status, "ok");
    assert.equal((await gw.runAgent({ sessionKey: "agent:side:main", message: "hello side (sec-4)" })).status, "ok");
    // The side agent's own connection is refused by the server (wrong password): its error is logged and shown.
    await gw.waitForLog(/nats: cannot connect to nats:\/\/\*\*\*@127\.0\.0\.1:\d+: Authorization Violation/, 120_000);
    await sleep(3000);
  });

  test("no credential in the log, nats.status, openclaw nats status (/eventstatus), HTTP answers, DLQ copies, or any event in the stream", async () => {
    const status = await gw.call("nats.status");
    outputs.push(["nats.status", JSON.stringify(status)]);
    const text = await gw.openclaw(["nats", "status"]);
    assert.match(text.stdout, /NATS Event Store/, text.stderr);
    outputs.push(["openclaw nats status", text.stdout + text.stderr]);
    const json = await gw.openclaw(["nats", "status", "--json"]);
    outputs.push(["openclaw nats status --json", json.stdout + json.stderr]);
    const doctor = await gw.openclaw(["nats", "doctor"], 120_000);
    outputs.push(["openclaw nats doctor", doctor.stdout + doctor.stderr]);

    assert.ok(dlq.length >= 2, `DLQ copies: ${dlq.length}`);
    dlq.forEach((d, i) => outputs.push([`DLQ copy ${i}`, d]));

    // Every event the gateway stored (all agents, all types).
    const deadline = Date.now() + 60_000;
    let events: string[] = [];
    while (Date.now() < deadline) {
      events = [];
      const total = (await (await jetstreamManager(nc)).streams.info("openclaw-events")).state.messages;
      if (total > 0) {
        const consumer = await jetstream(nc).consumers.get("openclaw-events");
        const batch = await consumer.fetch({ max_messages: total, expires: 5000 });
        for await (const m of batch) {
          events.push(m.string());
          if (events.length >= total) break;
        }
      }
      if (events.some((e) => e.includes("sec-3")) && events.some((e) => e.includes('"wake.in"'))) break;
      await sleep(1000);
    }
    assert.ok(events.some((e) => e.includes('"wake.in"')) && events.some((e) => e.includes("sec-3")), `events recorded: ${events.length}`);
    events.forEach((e, i) => outputs.push([`event ${i}`, e]));

    outputs.push(["gateway console log", gw.logs()]);
    const fileLog = join(gw.dir, "openclaw.log");
    if (existsSync(fileLog)) outputs.push(["gateway log file", readFileSync(fileLog, "utf8")]);
    assert.match(gw.logs(), /nats: connected to 127\.0\.0\.1:\d+/);

    for (const [where, out] of outputs) assertClean(where, out);
    // The redaction is visible where a URL is printed: user-info shows as ***.
    assert.ok(outputs.some(([, out]) => out.includes("nats://***@127.0.0.1")), "a redacted URL is shown somewhere (status or log)");
  });
});
