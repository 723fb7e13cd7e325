import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, headers } from "@nats-io/transport-node";
import { buildQuery, matches, traceIdOf } from "../../src/events/query.ts";
import { collectEvents, eventFilter } from "../../src/events/reader.ts";
import { TestGateway } from "../harness/gateway.ts";
import { ScriptedModel, promptText } from "../harness/model-server.ts";
import { until } from "../harness/wait.ts";
import { NatsServer, serverVarPassword } from "../harness/nats-server.ts";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { newSender } from "../harness/signed.ts";
import { agentOf, hasToolResult, lastUserText, toolResultText } from "./relay-script.ts";
import { readmeBlock, readmePluginConfig, withObserver } from "./security-config.ts";

// docs/security.md's configuration (c): two gateways, each with its own NATS user, wake subjects, reply prefix,
// event stream and signing key; alice (gw-a) and bob (gw-b) ask each other with the nats tool. Both the
// nats-server config and gw-a's plugin config are read from docs/security.md; gw-b's is gw-a's mirrored.

type Answer = { ok: boolean; from?: string; body?: string; error?: string };
process.env.GW_A_PASSWORD = serverVarPassword();
process.env.GW_B_PASSWORD = serverVarPassword();
process.env.OBSERVER_PASSWORD = serverVarPassword();

/** gw-a's config as gw-b's: every a-side name swapped with its b-side twin. */
function mirror(cfg: object): Record<string, unknown> {
  const pairs: Array<[string, string]> = [["alice", "bob"], ["gw-a", "gw-b"], ["gwa", "gwb"], ["GW_A", "GW_B"]];
  let text = JSON.stringify(cfg);
  pairs.forEach(([a, b], i) => (text = text.split(a).join(`\u0000${i}a`).split(b).join(a).split(`\u0000${i}a`).join(b)));
  return JSON.parse(text) as Record<string, unknown>;
}

describe("security (c): two gateways on least privilege whose agents talk to each other", { timeout: 600_000 }, () => {
  let server: NatsServer;
  let model: ScriptedModel;
  let gwA: TestGateway;
  let gwB: TestGateway;
  const keyA = newSender();
  const keyB = newSender();

  before(async () => {
    server = await NatsServer.start({ config: withObserver(readmeBlock("conf", "(c) two gateways")) });
    model = await ScriptedModel.start();
    model.reply((req) => {
      const agent = agentOf(req);
      const last = lastUserText(req);
      if (hasToolResult(req)) return { text: `${agent} got: ${toolResultText(req)}` };
      const ask = /^ASK (\S+) (.+)$/.exec(last);
      if (ask) return { toolCalls: [{ name: "nats", arguments: { action: "request", to: ask[1], message: ask[2] } }] };
      // The traced wake (below) reaches the model as a system event, not as the user's own text.
      const woken = /\[URGENT from tracer\] ASK (\S+) (.+\(c-trace\))/.exec(promptText(req));
      if (woken) return { toolCalls: [{ name: "nats", arguments: { action: "request", to: woken[1], message: woken[2] } }] };
      return { text: `${agent} answers ${/\((c-[a-z0-9-]+)\)/.exec(last)?.[1] ?? "?"}` };
    });
    const dir = mkdtempSync(join(tmpdir(), "two-gw-"));
    const seedA = join(dir, "gw-a.nk");
    const seedB = join(dir, "gw-b.nk");
    writeFileSync(seedA, `${keyA.seed}\n`, { mode: 0o600 });
    writeFileSync(seedB, `${keyB.seed}\n`, { mode: 0o600 });
    const cfgA = readmePluginConfig("for (c), gw-a");
    const cfgB = mirror(cfgA);
    const plugin = (cfg: Record<string, unknown>, user: string, pass: string, seedFile: string, peer: string, peerKey: string) => {
      const relay = cfg.relay as { callers: Record<string, { publicKey: string }> };
      relay.callers[peer] = { ...relay.callers[peer], publicKey: peerKey };
      return natsPlugin({ ...cfg, url: server.url, credentials: { user, pass }, trust: { ...(cfg.trust as object), seedFile } });
    };
    [gwA, gwB] = await Promise.all([
      TestGateway.start({ model, agents: ["alice"], plugins: [plugin(cfgA, "gw-a", process.env.GW_A_PASSWORD as string, seedA, "gw-b", keyB.publicKey)], readyLog: /nats: subscribed to agent\.alice\.inbox/, timeoutMs: 300_000 }),
      TestGateway.start({ model, agents: ["bob"], plugins: [plugin(cfgB, "gw-b", process.env.GW_B_PASSWORD as string, seedB, "gw-a", keyA.publicKey)], readyLog: /nats: subscribed to agent\.bob\.inbox/, timeoutMs: 300_000 }),
    ]);
  });
  after(async () => {
    if (process.env.E2E_LOG) writeFileSync(process.env.E2E_LOG, `${gwA?.logs()}\n----- gw-b -----\n${gwB?.logs()}`);
    await Promise.all([gwA?.dispose(), gwB?.dispose()]);
    await model?.close();
    await server?.stop();
  });

  const ask = async (gw: TestGateway, from: string, to: string, tag: string): Promise<Answer> => {
    const run = await gw.runAgent({ sessionKey: `agent:${from}:main`, message: `ASK ${to} Are you there? (${tag})`, timeoutMs: 300_000 });
    assert.equal(run.status, "ok");
    const followUp = await model.waitFor((r) => agentOf(r) === from && hasToolResult(r) && toolResultText(r).includes(tag), 60_000);
    return JSON.parse(toolResultText(followUp)) as Answer;
  };

  test("alice (gw-a) asks bob (gw-b): signed by gw-a's key for alice, answered on gw-a's private inbox", async () => {
    const answer = await ask(gwA, "alice", "bob", "c-1");
    assert.deepEqual({ ok: answer.ok, from: answer.from, body: answer.body }, { ok: true, from: "bob", body: "bob answers c-1" }, JSON.stringify(answer));
    const bobTurn = await model.waitFor((r) => agentOf(r) === "bob" && lastUserText(r).includes("(c-1)"), 1000);
    assert.equal(lastUserText(bobTurn), "[from alice] Are you there? (c-1)");
  });

  test("and bob (gw-b) asks alice (gw-a) the same way", async () => {
    const answer = await ask(gwB, "bob", "alice", "c-2");
    assert.deepEqual({ ok: answer.ok, from: answer.from, body: answer.body }, { ok: true, from: "alice", body: "alice answers c-2" }, JSON.stringify(answer));
  });

  test("one trace id followed from a wake on gw-a through alice's relay to bob on gw-b, on the events of both turns", async () => {
    // The sender is gw-b's NATS user (allowed to publish agent.alice.inbox); the observer reads both event streams.
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const sender = await connect({ servers: server.url, user: "gw-b", pass: process.env.GW_B_PASSWORD, inboxPrefix: "_INBOX.gw-b" });
    const observer = await connect({ servers: server.url, user: "observer", pass: process.env.OBSERVER_PASSWORD, inboxPrefix: "_INBOX.observer" });
    try {
      const h = headers();
      h.set("traceparent", `00-${traceId}-00f067aa0ba902b7-01`);
      h.set("tracestate", "tester=t1");
      const receipt = await sender.request("agent.alice.inbox", JSON.stringify({ from: "tracer", body: "ASK bob Are you there? (c-trace)", priority: "urgent" }), { headers: h, timeout: 60_000 }); // the receipt follows the host's commit: seconds on a loaded machine
      assert.equal((receipt.json() as { ok: boolean }).ok, true, receipt.string());
      assert.equal(receipt.headers?.get("traceparent").slice(0, 35), `00-${traceId}`, "the receipt continues the sender's trace");
      await model.waitFor((r) => agentOf(r) === "alice" && hasToolResult(r) && toolResultText(r).includes("c-trace"), 240_000);
      // The in-process query code (what `events query --trace` runs) over each gateway's stream.
      const q = buildQuery({ trace: traceId }, Date.now());
      const traced = async (stream: string, prefix: string) =>
        (await collectEvents(observer, { stream, subjects: [eventFilter(prefix)] })).filter((e) => matches(q, e)).map((e) => e.event!);
      let a: Awaited<ReturnType<typeof traced>> = [];
      let b: typeof a = [];
      await until(async () => {
        [a, b] = await Promise.all([traced("events-gw-a", "gwa.events"), traced("events-gw-b", "gwb.events")]);
        return a.some((e) => e.type === "turn.reply") && b.some((e) => e.type === "turn.reply");
      }, 60_000, "both turns' replies in the event streams under the wake's trace");
      assert.ok(a.some((e) => e.type === "wake.in" && e.session === "agent:alice:main"), JSON.stringify(a.map((e) => e.type)));
      assert.ok(a.every((e) => e.agent === "alice") && b.every((e) => e.agent === "bob"));
      assert.ok(b.some((e) => e.type === "turn.user" && JSON.stringify(e.payload).includes("c-trace")), JSON.stringify(b.map((e) => e.type)));
      assert.ok([...a, ...b].every((e) => traceIdOf(e) === traceId && e.trace?.tracestate === "tester=t1"));
      // The same trace id reaches each stream as a NATS header of the event's publish.
      const stored = await collectEvents(observer, { stream: "events-gw-b", subjects: [eventFilter("gwb.events")] });
      const raw = stored.find((e) => e.event && traceIdOf(e.event) === traceId);
      assert.equal(raw?.headers?.get("traceparent").slice(3, 35), traceId);
    } finally {
      await Promise.all([sender.close(), observer.close()]);
    }
  });

  test("neither gateway hit a permission violation; neither saw the other's password", () => {
    const serverLog = readFileSync(server.logFile, "utf8");
    assert.doesNotMatch(serverLog, /Violation - User "gw-[ab]"/, serverLog.split("\n").filter((l) => /Violation/.test(l)).join("\n"));
    for (const [gw, other] of [[gwA, process.env.GW_B_PASSWORD], [gwB, process.env.GW_A_PASSWORD]] as const) {
      assert.ok(!gw.logs().includes(other as string));
      assert.ok(!readFileSync(gw.configPath, "utf8").includes(other as string), "a gateway's config holds only its own credentials");
    }
  });
});
