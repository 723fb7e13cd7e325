import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import { NatsToolError, runNatsTool } from "./nats-tool.ts";

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
const cfg = parseConfig({});

test("publish sends the seed payload to agent.<to>.inbox", async () => {
  const sub = nc.subscribe("agent.ops.inbox", { max: 1 });
  const result = await runNatsTool(nc, cfg, "main", { action: "publish", to: "ops", message: "hi", priority: "urgent" });
  assert.equal(result.details.ok, true);
  for await (const m of sub) {
    const p = m.json<Record<string, unknown>>();
    assert.equal(p.from, "main");
    assert.equal(p.to, "ops");
    assert.equal(p.body, "hi");
    assert.equal(p.priority, "urgent");
    assert.equal((p.metadata as Record<string, unknown>).source, "nats-tool");
  }
});

test("request returns the reply text; timeouts and no responders are clear errors", async () => {
  const sub = nc.subscribe("system.echo", { callback: (_e, m) => void m.respond(`echo:${m.json<{ body: string }>().body}`) });
  const r = await runNatsTool(nc, cfg, "main", { action: "request", subject: "system.echo", message: "ping" });
  assert.equal(r.content[0]?.text, "echo:ping");
  sub.unsubscribe();
  await assert.rejects(runNatsTool(nc, cfg, "main", { action: "request", subject: "system.nobody", message: "x", timeoutMs: 200 }), (e: unknown) => {
    assert.ok(e instanceof NatsToolError);
    assert.match(e.message, /no responders on system.nobody/);
    return true;
  });
  const silent = nc.subscribe("system.silent", { callback: () => {} });
  await assert.rejects(runNatsTool(nc, cfg, "main", { action: "request", subject: "system.silent", message: "x", timeoutMs: 200 }), /timed out after 200 ms/);
  silent.unsubscribe();
});

test("refused subjects never reach the wire", async () => {
  await assert.rejects(runNatsTool(nc, cfg, "main", { action: "publish", subject: "$JS.API.STREAM.DELETE.x", message: "x" }), /not allowed/);
  await assert.rejects(runNatsTool(undefined, cfg, "main", { action: "publish", to: "ops", message: "x" }), /not connected/);
});

test("every send carries OpenClaw-Hops: the caller's hops + 1; past maxHops the send is refused before the wire", async () => {
  const sub = nc.subscribe("agent.ops.inbox", { max: 2 });
  await runNatsTool(nc, cfg, "main", { action: "publish", to: "ops", message: "first" });
  await runNatsTool(nc, cfg, "main", { action: "publish", to: "ops", message: "relayed" }, undefined, { sessionKey: "agent:main:main", hops: 3 });
  const seen: string[] = [];
  for await (const m of sub) seen.push(`${m.json<{ body: string }>().body}:${m.headers?.get("OpenClaw-Hops")}`);
  assert.deepEqual(seen, ["first:1", "relayed:4"]);
  const wire = nc.subscribe("agent.ops.inbox");
  let leaked = 0;
  void (async () => {
    for await (const _ of wire) leaked++;
  })();
  await assert.rejects(
    runNatsTool(nc, cfg, "main", { action: "publish", to: "ops", message: "loop" }, undefined, { sessionKey: "agent:main:main", hops: 4 }),
    (e: unknown) => e instanceof NatsToolError && /hop 5 of a chain of agent messages \(maxHops 4\)/.test(e.message),
  );
  await nc.flush();
  assert.equal(leaked, 0);
  wire.unsubscribe();
});

test("a request to the caller's own session is refused at once, not after a timeout", async () => {
  const started = Date.now();
  await assert.rejects(
    runNatsTool(nc, cfg, "main", { action: "request", to: "main", message: "me?" }, undefined, { sessionKey: "agent:main:main" }),
    /would wait for your own session \(agent:main:main\)/,
  );
  await assert.rejects(
    runNatsTool(nc, cfg, "main", { action: "request", subject: "agent.main.inbox", message: "me?" }, undefined, { sessionKey: "agent:main:main" }),
    /your own session/,
  );
  assert.ok(Date.now() - started < 1000);
  // another session of the same agent may ask the main session
  const responder = nc.subscribe("agent.main.inbox", { callback: (_e, m) => void m.respond(JSON.stringify({ ok: true, answer: "yes" })) });
  const r = await runNatsTool(nc, cfg, "main", { action: "request", to: "main", message: "you?" }, undefined, { sessionKey: "agent:main:telegram:direct:1" });
  assert.match(r.content[0]!.text, /yes/);
  responder.unsubscribe();
});
