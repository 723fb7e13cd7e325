import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createInbox, headers, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { collectC, readStream, streamC, streamV2, streamV3, type StreamResult } from "../../test/harness/agent-protocol-clients.ts";
import { InfoResponse, PingResponse, StatsResponse, violations } from "../../test/harness/micro-schema.ts";
import { NatsServer } from "../../test/harness/nats-server.ts";
import type { Logger } from "../shared/logger.ts";
import { createUserSeed, signerFromSeed } from "../trust/nkey.ts";
import { signSender } from "../trust/sender.ts";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../config/parse.ts";
import { Trust } from "../trust/trust.ts";
import { AgentProtocolService, type AgentProtocolSettings } from "./service.ts";
import type { StreamedTurnRequest, StreamedTurnResult, StreamingTurns } from "./turns.ts";

/**
 * The protocol on the wire, against a real nats-server, with the host's turn runner replaced by a
 * scripted agent (the gateway e2e runs the real one). Callers are clients nobody here wrote.
 */

type Script = { deltas?: string[]; delayMs?: number; final?: string; fail?: string; hang?: boolean };

/** A stand-in for the host: records each turn and plays a script for it. */
class ScriptedTurns implements StreamingTurns {
  readonly runs: Array<{ sessionKey: string; message: string }> = [];
  readonly sessions = new Set<string>(["agent:main:main"]);
  script: (message: string) => Script = (m) => ({ deltas: [`echo: ${m}`] });
  /** Runs that outlast the wait, until the test ends them with `resolve()`. */
  readonly hanging = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  private seq = 0;

  async settle(runId: string, timeoutMs: number): Promise<void> {
    const h = this.hanging.get(runId);
    if (h) await Promise.race([h.promise, sleep(timeoutMs)]);
  }

  exists(sessionKey: string): boolean {
    return this.sessions.has(sessionKey);
  }

  async run(req: StreamedTurnRequest): Promise<StreamedTurnResult> {
    this.runs.push({ sessionKey: req.sessionKey, message: req.message });
    this.sessions.add(req.sessionKey);
    const runId = `run-${++this.seq}`;
    req.onStarted?.(runId);
    const s = this.script(req.message);
    if (s.hang) {
      // the host's wait gives up after timeoutMs; the run itself ends when the test says so
      let resolve = (): void => {};
      const promise = new Promise<void>((r) => (resolve = r));
      this.hanging.set(runId, { promise, resolve });
      await sleep(req.timeoutMs);
      return { kind: "timeout", runId };
    }
    let text = "";
    for (const d of s.deltas ?? []) {
      if (s.delayMs) await sleep(s.delayMs);
      text += d;
      req.onAssistant({ text, delta: d, itemId: `${runId}:0` });
    }
    if (s.fail) return { kind: "failed", runId, error: s.fail };
    return { kind: "finished", runId, answer: s.final ?? text };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };

function settings(over: Partial<AgentProtocolSettings> = {}): AgentProtocolSettings {
  return {
    owner: "acme",
    heartbeatIntervalS: 1,
    keepAliveMs: 20_000,
    maxPayloadBytes: undefined,
    minSenderTrust: "any",
    timeoutMs: 10_000,
    maxTimeoutMs: 60_000,
    maxConcurrent: 4,
    maxConcurrentPerSession: 1,
    version: "1.2.3",
    ...over,
  };
}

/** The gateway's real trust module, from a relay config (most tests let unsigned callers have turns). */
function trustFor(relay: object = { trustUnsignedCallers: true }): Trust {
  return new Trust(parseConfig({ relay }), mkdtempSync(join(tmpdir(), "ap-trust-")), log);
}

const MAX_PAYLOAD = 4096;
let server: NatsServer;
let nc: NatsConnection;
const services: AgentProtocolService[] = [];
const conns: NatsConnection[] = [];

/** A service (what one gateway runs) on its own connection. */
async function startService(turns: StreamingTurns, over: Partial<AgentProtocolSettings> = {}, agents = ["main", "ops"], trust: Trust = trustFor()): Promise<AgentProtocolService> {
  const conn = await connect({ servers: server.url });
  conns.push(conn);
  const svc = new AgentProtocolService(settings(over), { turns, trust, log, agents: () => agents.map((agentId) => ({ agentId, owner: over.owner ?? "acme", name: agentId })) });
  services.push(svc);
  await svc.start(conn);
  return svc;
}

function assertWellFormed(r: StreamResult): void {
  assert.ok(r.terminated, `no terminator: ${JSON.stringify(r.messages)}`);
  const last = r.messages.at(-1);
  assert.deepEqual({ bytes: last?.bytes, headers: last?.headerCount }, { bytes: 0, headers: 0 });
  assert.equal(r.messages.filter((m) => m.bytes === 0 && m.headerCount === 0).length, 1, "exactly one terminator");
}

before(async () => {
  server = await NatsServer.start({ jetstream: false, config: `max_payload: ${MAX_PAYLOAD}` });
  nc = await connect({ servers: server.url });
});
after(async () => {
  for (const s of services) await s.stop();
  for (const c of conns) await c.close();
  await nc?.close();
  await server?.stop();
});

describe("registration and discovery", () => {
  const turns = new ScriptedTurns();
  let svc: AgentProtocolService;
  before(async () => {
    svc = await startService(turns, { owner: "disco" });
  });

  test("@nats-io/services' client finds one 'agents' instance per agent, and PING/INFO/STATS follow ADR-32", async () => {
    const client = new Svcm(nc as never).client();
    const infos: Array<Record<string, unknown>> = [];
    for await (const i of await client.info("agents")) infos.push(i as unknown as Record<string, unknown>);
    const ours = infos.filter((i) => (i.metadata as Record<string, string>).owner === "disco");
    assert.equal(ours.length, 2);
    for (const info of ours) assert.deepEqual(violations(InfoResponse, info), []);
    const main = ours.find((i) => (i.metadata as Record<string, string>).openclaw_agent_id === "main");
    assert.ok(main);
    assert.deepEqual(main.metadata, { agent: "openclaw", owner: "disco", protocol_version: "0.3", openclaw_agent_id: "main" });
    assert.equal(main.name, "agents");
    assert.equal(main.version, "1.2.3");
    assert.deepEqual(main.endpoints, [
      { name: "prompt", subject: "agents.prompt.oc.disco.main", queue_group: "agents", metadata: { max_payload: "4KB", attachments_ok: "false", min_sender_trust: "any" } },
      { name: "status", subject: "agents.status.oc.disco.main", queue_group: "agents" },
    ]);

    const pings: unknown[] = [];
    for await (const p of await client.ping("agents")) pings.push(p);
    for (const p of pings) assert.deepEqual(violations(PingResponse, p), []);
    assert.ok(pings.some((p) => (p as { id: string }).id === main.id));

    const byId: unknown[] = [];
    for await (const s of await client.stats("agents", main.id as string)) byId.push(s);
    assert.equal(byId.length, 1, "one instance answers STATS by id");
    assert.deepEqual(violations(StatsResponse, byId[0]), []);
    assert.deepEqual(
      (byId[0] as { endpoints: Array<{ name: string }> }).endpoints.map((e) => e.name),
      ["prompt", "status"],
    );
  });

  test("the raw $SRV subjects answer too (NATS C client, schema-checked), and $SRV.PING reaches every service", async () => {
    const infos = (await collectC(server.url, "$SRV.INFO.agents", 1000)).map((s) => JSON.parse(s) as Record<string, unknown>);
    assert.ok(infos.length >= 2);
    for (const i of infos) assert.deepEqual(violations(InfoResponse, i), []);
    const all = (await collectC(server.url, "$SRV.PING", 1000)).map((s) => JSON.parse(s) as Record<string, unknown>);
    for (const p of all) assert.deepEqual(violations(PingResponse, p), []);
    const ids = svc.status().agents.map((a) => a.instanceId);
    for (const id of ids) assert.ok(all.some((p) => p.id === id), `$SRV.PING lists ${id}`);
    const one = await collectC(server.url, `$SRV.INFO.agents.${ids[0]}`, 500);
    assert.equal(one.length, 1);
    assert.equal((JSON.parse(one[0]) as { id: string }).id, ids[0]);
  });

  test("STATS counts requests, errors and the last error per endpoint", async () => {
    const id = svc.status().agents[0].instanceId;
    await streamV3(nc, "agents.prompt.oc.disco.main", "");
    await streamV3(nc, "agents.prompt.oc.disco.main", "count me");
    await nc.request("agents.status.oc.disco.main", "");
    const client = new Svcm(nc as never).client();
    const stats: Array<{ endpoints: Array<Record<string, unknown>> }> = [];
    for await (const s of await client.stats("agents", id)) stats.push(s as never);
    const [prompt, status] = stats[0].endpoints;
    assert.equal(prompt.num_requests, 2);
    assert.equal(prompt.num_errors, 1);
    assert.match(prompt.last_error as string, /^400: empty prompt/);
    assert.ok((prompt.processing_time as number) > 0);
    assert.equal(prompt.average_processing_time, Math.floor((prompt.processing_time as number) / 2));
    assert.deepEqual({ n: status.num_requests, e: status.num_errors, last: status.last_error }, { n: 1, e: 0, last: "" });
  });

  test("heartbeats: the first right after registration, then every interval_s; status answers the same shape", async () => {
    const beats: Array<{ subject: string; body: Record<string, unknown> }> = [];
    const sub = nc.subscribe("agents.hb.*.*.*", { callback: (_e, m) => void beats.push({ subject: m.subject, body: m.json() }) });
    await nc.flush();
    const late = await startService(new ScriptedTurns(), { owner: "beats", heartbeatIntervalS: 1 }, ["main"]);
    const id = late.status().agents[0].instanceId;
    const mine = () => beats.filter((b) => b.subject === "agents.hb.oc.beats.main");
    for (let i = 0; i < 200 && mine().length < 3; i++) await sleep(50);
    sub.unsubscribe();
    assert.ok(mine().length >= 3, `beats: ${mine().length}`);
    const first = mine()[0].body;
    assert.deepEqual(Object.keys(first).sort(), ["agent", "instance_id", "interval_s", "owner", "ts"]);
    assert.deepEqual({ agent: first.agent, owner: first.owner, instance_id: first.instance_id, interval_s: first.interval_s }, { agent: "openclaw", owner: "beats", instance_id: id, interval_s: 1 });
    assert.match(first.ts as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);

    const status = (await nc.request("agents.status.oc.beats.main", "ignored body")).json<Record<string, unknown>>();
    assert.deepEqual(Object.keys(status).sort(), Object.keys(first).sort());
    assert.equal(status.instance_id, id);
  });
});

describe("prompts", () => {
  const turns = new ScriptedTurns();
  before(async () => {
    await startService(turns, { owner: "p", keepAliveMs: 300, maxPayloadBytes: 2048 });
  });

  test("ack first, the agent's deltas as response chunks in order, then the terminator (nats.js, plain request)", async () => {
    turns.script = () => ({ deltas: ["Hello", ", ", "world."], delayMs: 20 });
    const r = await streamV3(nc, "agents.prompt.oc.p.main", "say hello");
    assertWellFormed(r);
    assert.deepEqual(readStream(r).types, ["status:ack", "response", "response", "response", "end"]);
    assert.equal(readStream(r).text, "Hello, world.");
    assert.equal(turns.runs.at(-1)?.message, "say hello");
    assert.match(turns.runs.at(-1)?.sessionKey ?? "", /^agent:main:nats:inbox-[0-9a-f]{32}$/);
  });

  test("the same through requestMany's sentinel strategy (nats req --wait-for-empty), a JSON envelope, and the legacy nats v2 client", async () => {
    turns.script = (m) => ({ deltas: [`echo: ${m}`] });
    const msgs: string[] = [];
    for await (const m of await nc.requestMany("agents.prompt.oc.p.ops", JSON.stringify({ prompt: "from json", extra: 1 }), { strategy: "sentinel", maxWait: 30_000 })) msgs.push(m.string());
    assert.deepEqual(msgs, ['{"type":"status","data":"ack"}', '{"type":"response","data":"echo: from json"}', ""]);
    assert.match(turns.runs.at(-1)?.sessionKey ?? "", /^agent:ops:nats:inbox-/);

    const v2 = await streamV2(server.url, "agents.prompt.oc.p.main", "from v2");
    assertWellFormed(v2);
    assert.deepEqual(readStream(v2).types, ["status:ack", "response", "end"]);
    assert.equal(readStream(v2).text, "echo: from v2");
  });

  test("the NATS C client gets the same stream", async () => {
    turns.script = () => ({ deltas: ["from ", "C ", "with ✓"], delayMs: 10 });
    const r = await streamC(server.url, "agents.prompt.oc.p.main", "hello from C");
    assertWellFormed(r);
    assert.deepEqual(readStream(r).types, ["status:ack", "response", "response", "response", "end"]);
    assert.equal(readStream(r).text, "from C with ✓");
  });

  test("callers never share a session: one per connection's request inbox, kept across its requests", async () => {
    turns.script = () => ({ deltas: ["ok"] });
    const other = await connect({ servers: server.url });
    conns.push(other);
    const ask = async (conn: NatsConnection, text: string) => {
      for await (const m of await conn.requestMany("agents.prompt.oc.p.main", text, { strategy: "sentinel", maxWait: 30_000 })) void m;
    };
    await ask(nc, "a1");
    await ask(nc, "a2");
    await ask(other, "b1");
    await streamV3(nc, "agents.prompt.oc.p.main", "c1"); // a bare _INBOX.<nuid> per request: a session per request
    const [a1, a2, b1, c1] = turns.runs.slice(-4);
    assert.equal(a1.sessionKey, a2.sessionKey);
    assert.equal(new Set([a1.sessionKey, b1.sessionKey, c1.sessionKey]).size, 3);
  });

  test("a long answer is split so that every chunk fits the server's max_payload", async () => {
    const long = "The quick \"brown\" fox 🦊 jumps.\n".repeat(600);
    turns.script = () => ({ deltas: [long] });
    const r = await streamV3(nc, "agents.prompt.oc.p.main", "long please");
    assertWellFormed(r);
    const chunks = r.messages.filter((m) => m.bytes > 0);
    assert.ok(chunks.length > long.length / MAX_PAYLOAD, `${chunks.length} chunks`);
    for (const c of chunks) assert.ok(c.bytes <= MAX_PAYLOAD, `chunk of ${c.bytes} bytes`);
    assert.equal(readStream(r).text, long);
  });

  test("keep-alive acks while the turn is quiet", async () => {
    turns.script = () => ({ deltas: ["late"], delayMs: 1200 });
    const r = await streamV3(nc, "agents.prompt.oc.p.main", "take your time");
    assertWellFormed(r);
    const s = readStream(r);
    assert.ok(s.acks >= 3, `acks: ${s.types.join(",")}`);
    assert.deepEqual(s.types.slice(-2), ["response", "end"]);
  });

  test("the final reply completes what the deltas did not carry", async () => {
    turns.script = () => ({ deltas: ["Par"], final: "Partial, then whole." });
    const r = await streamV3(nc, "agents.prompt.oc.p.main", "x");
    assert.equal(readStream(r).text, "Partial, then whole.");
  });
});

describe("errors: an error frame with headers and a JSON body, then the terminator", () => {
  const turns = new ScriptedTurns();
  before(async () => {
    await startService(turns, { owner: "err", maxPayloadBytes: 2048, timeoutMs: 400 });
  });

  async function refused(payload: string | Uint8Array, inbox?: string) {
    const before = turns.runs.length;
    const r = await streamV3(nc, "agents.prompt.oc.err.main", payload, { inbox });
    assertWellFormed(r);
    const s = readStream(r);
    assert.equal(s.acks, 0, "no ack for a refused request");
    assert.equal(s.errors.length, 1);
    assert.equal(turns.runs.length, before, "no turn ran");
    assert.equal(r.messages.length, 2);
    return { code: s.errors[0].code, body: s.errors[0].body as { error: string; message: string } };
  }

  test("400: empty, bad JSON, no prompt, attachments, over max_payload", async () => {
    assert.deepEqual(await refused(""), { code: "400", body: { error: "bad_request", message: 'empty prompt: send plain text or {"prompt": "…"}' } });
    assert.equal((await refused("{oops")).code, "400");
    assert.match((await refused('{"text":"x"}')).body.message, /needs a "prompt" string/);
    assert.match((await refused('{"prompt":"x","attachments":[{"filename":"a","content":"YQ=="}]}')).body.message, /attachments/);
    assert.match((await refused("x".repeat(3000))).body.message, /3000 bytes; this endpoint's max_payload is 2048/);
    assert.match((await refused('{"prompt":"x","openclaw":{"sessionKey":"agent:ops:main"}}')).body.message, /not a session of agent main/);
  });

  test("403: another NATS caller's session is never pickable", async () => {
    const other = await refused('{"prompt":"x","openclaw":{"sessionKey":"agent:main:nats:inbox-0000"}}');
    assert.equal(other.code, "403");
    assert.match(other.body.message, /another NATS caller's session/);
  });

  test("429: over relay.maxConcurrentPerSession while the caller's turn runs (with retry_after_s)", async () => {
    turns.script = (m) => (m === "slow" ? { deltas: ["done"], delayMs: 300 } : { deltas: ["fast"] });
    const conn = createInbox(); // two requests from one "connection": <prefix>.<n> like a client's muxed inbox
    const slow = streamV3(nc, "agents.prompt.oc.err.main", "slow", { inbox: `${conn}.1` });
    await sleep(100);
    const r = await refused("second", `${conn}.2`);
    assert.equal(r.code, "429");
    assert.equal((r.body as unknown as { retry_after_s: number }).retry_after_s, 5);
    assert.match(r.body.message, /already has 1 relay turn\(s\) running, the limit is relay\.maxConcurrentPerSession \(1\)/);
    assert.equal(readStream(await slow).text, "done");
  });

  test("500: a failed turn, and a turn that outlasts relay.timeoutMs — after the ack", async () => {
    turns.script = () => ({ deltas: ["so far"], fail: "model exploded" });
    const failed = await streamV3(nc, "agents.prompt.oc.err.main", "boom");
    assertWellFormed(failed);
    assert.deepEqual(readStream(failed).types, ["status:ack", "response", "error:500", "end"]);
    assert.match((readStream(failed).errors[0].body as { message: string }).message, /^run run-\d+ failed: model exploded$/);

    turns.script = () => ({ hang: true });
    const conn = createInbox();
    const slow = await streamV3(nc, "agents.prompt.oc.err.main", "hang", { inbox: `${conn}.1` });
    assertWellFormed(slow);
    assert.deepEqual(readStream(slow).types, ["status:ack", "error:500", "end"]);
    assert.match((readStream(slow).errors[0].body as { message: string }).message, /no answer within 400 ms \(relay\.timeoutMs\); run run-\d+ goes on in agent:main:nats:inbox-/);
    // the run goes on and keeps its slot (as in the relay): the same caller is busy until it ends
    const busy = await refused("again", `${conn}.2`);
    assert.equal(busy.code, "429");
    for (const h of turns.hanging.values()) h.resolve();
    await sleep(50);
    turns.script = () => ({ deltas: ["free again"] });
    assert.equal(readStream(await streamV3(nc, "agents.prompt.oc.err.main", "again", { inbox: `${conn}.3` })).text, "free again");
  });

  test("the error header says the same, on one line, for clients that only read headers", async () => {
    const msgs: Array<{ code?: string; text?: string }> = [];
    const inbox = "_INBOX.headers-only";
    const sub = nc.subscribe(inbox, { max: 2 });
    nc.publish("agents.prompt.oc.err.main", "", { reply: inbox });
    for await (const m of sub) msgs.push({ code: m.headers?.get("Nats-Service-Error-Code"), text: m.headers?.get("Nats-Service-Error") });
    assert.deepEqual(msgs[0], { code: "400", text: 'empty prompt: send plain text or {"prompt": "?"}' });
  });
});

describe("sessions picked with the openclaw extension", () => {
  const turns = new ScriptedTurns();
  before(async () => {
    await startService(turns, { owner: "pick" }, ["main", "ops"], trustFor({ trustUnsignedCallers: true, allowedTargets: { anonymous: ["agent:main:nats:*", "agent:main:main", "agent:main:telegram:*"] } }));
  });

  test("an allowed, existing session takes the turn, and the agent is told who spoke", async () => {
    const r = await streamV3(nc, "agents.prompt.oc.pick.main", JSON.stringify({ prompt: "status?", openclaw: { sessionKey: "agent:main:main" } }));
    assertWellFormed(r);
    assert.equal(readStream(r).acks, 1);
    assert.deepEqual(turns.runs.at(-1), { sessionKey: "agent:main:main", message: "[from anonymous] status?" });
    // a claimed name (openclaw.from) is what allowedTargets checks for an unsigned caller, and what the agent reads
    const named = readStream(await streamV3(nc, "agents.prompt.oc.pick.main", JSON.stringify({ prompt: "hi", openclaw: { from: "ops-bot", sessionKey: "agent:main:main" } })));
    assert.deepEqual(named.types, ["error:403", "end"]);
    assert.match((named.errors[0].body as { message: string }).message, /caller "ops-bot" has no entry in relay\.allowedTargets/);
  });

  test("404 for an allowed session that does not exist; 403 for one allowedTargets does not list", async () => {
    const missing = readStream(await streamV3(nc, "agents.prompt.oc.pick.main", JSON.stringify({ prompt: "x", openclaw: { sessionKey: "agent:main:telegram:direct:42" } })));
    assert.deepEqual(missing.types, ["error:404", "end"]);
    assert.match((missing.errors[0].body as { message: string }).message, /^no session agent:main:telegram:direct:42$/);
    const denied = readStream(await streamV3(nc, "agents.prompt.oc.pick.main", JSON.stringify({ prompt: "x", openclaw: { sessionKey: "agent:main:discord:group:1" } })));
    assert.deepEqual(denied.types, ["error:403", "end"]);
  });

  test("with allowedTargets, the caller's own session must be listed too", async () => {
    const strict = new ScriptedTurns();
    await startService(strict, { owner: "strict" }, ["main"], trustFor({ trustUnsignedCallers: true, allowedTargets: { alice: ["agent:main:*"] } }));
    const r = readStream(await streamV3(nc, "agents.prompt.oc.strict.main", "hi"));
    assert.deepEqual(r.types, ["error:403", "end"]);
    assert.match((r.errors[0].body as { message: string }).message, /caller "anonymous" has no entry in relay\.allowedTargets/);
  });
});

describe("reply subjects are the requester's to choose, not to abuse", () => {
  test("a prompt, status probe or discovery request whose reply is a KV key or another agent gets nothing published there", async () => {
    const turns = new ScriptedTurns();
    await startService(turns, { owner: "deputy" }, ["main"]);
    const seen: string[] = [];
    const watch = nc.subscribe("$KV.cfg.flag", { callback: (_e, m) => void seen.push(`kv: ${m.string()}`) });
    const watch2 = nc.subscribe("agents.prompt.oc.deputy.other", { callback: (_e, m) => void seen.push(`agent: ${m.string()}`) });
    await nc.flush();
    const before = logs.length;
    nc.publish("agents.prompt.oc.deputy.main", "hi", { reply: "$KV.cfg.flag" });
    nc.publish("agents.prompt.oc.deputy.main", "hi", { reply: "agents.prompt.oc.deputy.other" });
    nc.publish("agents.status.oc.deputy.main", "", { reply: "$KV.cfg.flag" });
    nc.publish("$SRV.INFO.agents", "", { reply: "$KV.cfg.flag" });
    await nc.flush();
    await sleep(300);
    watch.unsubscribe();
    watch2.unsubscribe();
    assert.deepEqual(seen, []);
    assert.equal(turns.runs.length, 0);
    const lines = logs.slice(before).filter((l) => /ignored: its reply subject/.test(l));
    // every hosted service's control plane sees $SRV.INFO.agents; at least ours logs it
    assert.ok(lines.length >= 4, lines.join("\n"));
    assert.ok(lines.some((l) => /prompt for main ignored: its reply subject \$KV\.cfg\.flag is a system subject/.test(l)));
    assert.ok(lines.some((l) => /reply subject agents\.prompt\.oc\.deputy\.other is an agent-protocol subject/.test(l)));
  });
});

describe("two gateways hosting one agent share its prompts (queue group agents)", () => {
  test("each prompt is answered by exactly one of them; discovery lists both", async () => {
    const a = new ScriptedTurns();
    const b = new ScriptedTurns();
    a.script = () => ({ deltas: ["from a"] });
    b.script = () => ({ deltas: ["from b"] });
    const sa = await startService(a, { owner: "shared" }, ["main"]);
    const sb = await startService(b, { owner: "shared" }, ["main"]);
    for (let i = 0; i < 12; i++) {
      const r = await streamV3(nc, "agents.prompt.oc.shared.main", `q${i}`);
      assertWellFormed(r);
      assert.equal(readStream(r).acks, 1, "one responder");
    }
    assert.equal(a.runs.length + b.runs.length, 12);
    assert.ok(a.runs.length > 0 && b.runs.length > 0, `a ${a.runs.length}, b ${b.runs.length}`);
    const ids = new Set<string>();
    for await (const p of await new Svcm(nc as never).client().ping("agents")) ids.add((p as { id: string }).id);
    assert.ok(ids.has(sa.status().agents[0].instanceId) && ids.has(sb.status().agents[0].instanceId));
  });

  test("a stopping gateway ends its open streams with a 500 and the terminator", async () => {
    const t = new ScriptedTurns();
    t.script = () => ({ deltas: ["never"], delayMs: 5000 });
    const svc = await startService(t, { owner: "stopping" }, ["main"]);
    const pending = streamV3(nc, "agents.prompt.oc.stopping.main", "wait");
    await sleep(200);
    await svc.stop();
    const r = await pending;
    assertWellFormed(r);
    assert.deepEqual(readStream(r).types, ["status:ack", "error:500", "end"]);
    assert.match((readStream(r).errors[0].body as { message: string }).message, /gateway is stopping/);
  });
});

describe("who may have a turn: the relay's trust rules (§13 signatures, relay.callers, relay.trustUnsignedCallers)", () => {
  const turns = new ScriptedTurns();
  const alice = signerFromSeed(createUserSeed());
  const stranger = signerFromSeed(createUserSeed());
  const gateway2 = signerFromSeed(createUserSeed());
  const subject = "agents.prompt.oc.sig.main";
  const signed = (payload: string, over: { signer?: typeof alice; subject?: string; signedPayload?: string } = {}): MsgHdrs => {
    const h = headers();
    const payloadBytes = new TextEncoder().encode(over.signedPayload ?? payload);
    h.set("Agent-Sender", signSender({ signer: over.signer ?? alice, account: "$G", subject: over.subject ?? subject, payload: payloadBytes, name: "tester" }));
    return h;
  };
  const message = (r: ReturnType<typeof readStream>) => (r.errors[0]?.body as { message: string } | undefined)?.message ?? "";
  before(async () => {
    turns.script = () => ({ deltas: ["ok"] });
    const callers = { alice: { publicKey: alice.publicKey }, gw2: { publicKey: gateway2.publicKey, agents: ["a", "b"] } };
    await startService(turns, { owner: "sig" }, ["main"], trustFor({ callers })); // the default: unsigned callers have no turns
    await startService(turns, { owner: "sigonly", minSenderTrust: "signed" }, ["main"], trustFor({ callers, trustUnsignedCallers: true }));
  });

  test("by default an unsigned prompt is 401 and a valid signature by a key nobody listed is 403; nothing runs", async () => {
    const before = turns.runs.length;
    const unsigned = readStream(await streamV3(nc, subject, "hi"));
    assert.deepEqual(unsigned.types, ["error:401", "end"]);
    assert.match(message(unsigned), /caller "anonymous" is not authenticated: .*relay\.trustUnsignedCallers: true/);
    const unknown = readStream(await streamV3(nc, subject, "hi", { headers: signed("hi", { signer: stranger }) }));
    assert.deepEqual(unknown.types, ["error:403", "end"]);
    assert.match(message(unknown), new RegExp(`sender key ${stranger.publicKey} is not a trusted caller: list it in relay\\.callers`));
    const claim = headers();
    claim.set("Agent-Sender", JSON.stringify({ v: 1, account: "$G", user: alice.publicKey, name: "impostor" }));
    assert.deepEqual(readStream(await streamV3(nc, subject, "hi", { headers: claim })).types, ["error:401", "end"], "a claim of alice's key is no signature");
    assert.equal(turns.runs.length, before);
  });

  test("a caller in relay.callers is its key: one session across connections; min_sender_trust is advertised", async () => {
    const other = await connect({ servers: server.url });
    conns.push(other);
    const a = await streamV3(nc, subject, "first", { headers: signed("first") });
    const b = await streamV3(other, subject, "second", { headers: signed("second") });
    assert.deepEqual([readStream(a).types, readStream(b).types], [["status:ack", "response", "end"], ["status:ack", "response", "end"]]);
    const [r1, r2] = turns.runs.slice(-2);
    assert.equal(r1.sessionKey, `agent:main:nats:${alice.publicKey.toLowerCase()}`);
    assert.equal(r2.sessionKey, r1.sessionKey);
    const infos: Array<{ endpoints: Array<{ name: string; subject: string; metadata?: Record<string, string> }> }> = [];
    for await (const i of await new Svcm(nc as never).client().info("agents")) infos.push(i as never);
    const prompts = infos.flatMap((i) => i.endpoints.filter((e) => e.name === "prompt" && /\.sig(only)?\./.test(e.subject)));
    assert.deepEqual(prompts.map((e) => e.metadata?.min_sender_trust).sort(), ["any", "signed"]);
  });

  test("a gateway key speaks for the agents it lists, named by the signed openclaw.from: one session per agent", async () => {
    const ask = async (from: string | undefined) => {
      const payload = JSON.stringify({ prompt: "from another gateway", ...(from ? { openclaw: { from } } : {}) });
      return readStream(await streamV3(nc, subject, payload, { headers: signed(payload, { signer: gateway2 }) }));
    };
    assert.deepEqual((await ask("a")).types, ["status:ack", "response", "end"]);
    const forA = turns.runs.at(-1)?.sessionKey;
    assert.deepEqual((await ask("b")).types, ["status:ack", "response", "end"]);
    const forB = turns.runs.at(-1)?.sessionKey;
    assert.equal(forA, `agent:main:nats:${gateway2.publicKey.toLowerCase()}-a`);
    assert.equal(forB, `agent:main:nats:${gateway2.publicKey.toLowerCase()}-b`);
    const c = await ask("c");
    assert.deepEqual(c.types, ["error:403", "end"]);
    assert.match(message(c), /may not speak for agent "c" \(relay\.callers\.gw2\.agents\)/);
    assert.deepEqual((await ask(undefined)).types, ["error:403", "end"]);
  });

  test("a replayed, tampered or misdirected signature is 401; a malformed header is 400; nothing runs", async () => {
    const before = turns.runs.length;
    const h = signed("once");
    await streamV3(nc, subject, "once", { headers: h });
    const replay = readStream(await streamV3(nc, subject, "once", { headers: h }));
    assert.deepEqual(replay.types, ["error:401", "end"]);
    assert.match(message(replay), /replay/);
    const tampered = readStream(await streamV3(nc, subject, "changed", { headers: signed("changed", { signedPayload: "original" }) }));
    assert.deepEqual(tampered.types, ["error:401", "end"]);
    const elsewhere = readStream(await streamV3(nc, subject, "x", { headers: signed("x", { subject: "agents.prompt.oc.sig.ops" }) }));
    assert.deepEqual(elsewhere.types, ["error:401", "end"]);
    const bad = headers();
    bad.set("Agent-Sender", '{"v":1,"account":"$G","user":"not-a-key"}');
    const malformed = readStream(await streamV3(nc, subject, "x", { headers: bad }));
    assert.deepEqual(malformed.types, ["error:400", "end"]);
    assert.equal(turns.runs.length, before + 1, "only the first, genuine request ran");
  });

  test("min_sender_trust signed: unsigned prompts are 401 even with trustUnsignedCallers; signed ones are served; status probes always answer", async () => {
    const s = "agents.prompt.oc.sigonly.main";
    const unsigned = readStream(await streamV3(nc, s, "hi"));
    assert.deepEqual(unsigned.types, ["error:401", "end"]);
    assert.match(message(unsigned), /only serves signed requests \(min_sender_trust signed\); it has no Agent-Sender header/);
    const ok = readStream(await streamV3(nc, s, "hi", { headers: signed("hi", { subject: s }) }));
    assert.deepEqual(ok.types, ["status:ack", "response", "end"]);
    const status = (await nc.request("agents.status.oc.sigonly.main", "")).json<{ owner: string }>();
    assert.equal(status.owner, "sigonly");
  });
});
