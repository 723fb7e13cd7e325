import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsServerPerFile } from "../../test/harness/nats-server.ts";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import type { SystemRuntime } from "../wake/inject.ts";
import { acquireRuntime, type RuntimeClaim } from "./shared-runtime.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enqueued: string[] = [];
const system: SystemRuntime = { enqueueSystemEvent: (text) => (enqueued.push(text), true), requestHeartbeat: () => undefined };

const nats = natsServerPerFile();

const deps = () => ({ system, logger: log, stateDir: mkdtempSync(join(tmpdir(), "rt-")), hostedAgents: () => ["main"] });
const claim = (name: string): RuntimeClaim & { name: string } => ({ name, relay: async () => ({ kind: "handled", receipt: { ok: true, by: name } }), onInjected: undefined });

/** A request's answer, or "no responders". */
async function ask(subject: string, body: Record<string, unknown>): Promise<string> {
  try {
    const r = await nats.client.request(subject, JSON.stringify({ from: "t", ...body }), { timeout: 3000 });
    return JSON.stringify(r.json());
  } catch (err) {
    return /no responders/i.test(String(err)) ? "no responders" : String(err);
  }
}

async function until(cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(50);
  }
}

test("stop → start of the service gives a working plugin again, subscribed once", async () => {
  const cfg = parseConfig({ url: nats.server.url, subjects: ["lc1.*.inbox"], events: { enabled: false } });
  const rt = acquireRuntime(cfg, deps());
  const a = claim("a");
  await rt.start(a);
  await until(async () => (await ask("lc1.main.inbox", { body: "one" })) !== "no responders");
  await rt.stop(a);
  assert.equal(await ask("lc1.main.inbox", { body: "while stopped" }), "no responders");
  await rt.start(a);
  await until(async () => (await ask("lc1.main.inbox", { body: "two" })) !== "no responders");
  enqueued.length = 0;
  nats.client.publish("lc1.main.inbox", JSON.stringify({ from: "t", body: "counted" }));
  await sleep(500);
  assert.deepEqual(enqueued, ["[NORMAL from t] counted"], "one subscription after the restart");
  await rt.stop(a);
});

test("several registrations: the first owns the handlers, later ones do not re-point them; the owner's stop hands over", async () => {
  const cfg = parseConfig({ url: nats.server.url, subjects: ["lc2.*.inbox"], events: { enabled: false }, relay: { trustUnsignedCallers: true } });
  const rt = acquireRuntime(cfg, deps());
  assert.equal(acquireRuntime(cfg, deps()), rt, "same config, same runtime");
  const a = claim("a");
  const b = claim("b");
  await rt.start(a);
  await rt.start(b);
  await until(async () => (await ask("lc2.main.inbox", { body: "x", deliver: true })) !== "no responders");
  assert.equal(await ask("lc2.main.inbox", { body: "x", deliver: true }), JSON.stringify({ ok: true, by: "a" }));
  await rt.stop(a);
  assert.equal(await ask("lc2.main.inbox", { body: "x", deliver: true }), JSON.stringify({ ok: true, by: "b" }), "still running, now b's handlers");
  assert.deepEqual(rt.lifecycle(), { started: true, claims: 1 });
  await rt.stop(b);
  assert.deepEqual(rt.lifecycle(), { started: false, claims: 0 });
  assert.equal(await ask("lc2.main.inbox", { body: "x" }), "no responders");
});

test("a config change (new runtime) stops the old one before it starts: the new subject wakes, the old does not", async () => {
  const old = acquireRuntime(parseConfig({ url: nats.server.url, subjects: ["lc3.*.inbox"], events: { enabled: false } }), deps());
  const a = claim("a");
  await old.start(a);
  await until(async () => (await ask("lc3.main.inbox", { body: "old" })) !== "no responders");
  const next = acquireRuntime(parseConfig({ url: nats.server.url, subjects: ["lc3b.*.inbox"], events: { enabled: false } }), deps());
  assert.notEqual(next, old);
  const b = claim("b");
  await next.start(b); // the host may start the new service before it stops the old one
  await until(async () => (await ask("lc3b.main.inbox", { body: "new" })) !== "no responders");
  assert.equal(await ask("lc3.main.inbox", { body: "old" }), "no responders");
  await old.stop(a); // the old registration's stop is then a no-op
  assert.deepEqual(next.lifecycle(), { started: true, claims: 1 });
  enqueued.length = 0;
  nats.client.publish("lc3b.main.inbox", JSON.stringify({ from: "t", body: "once" }));
  await sleep(500);
  assert.deepEqual(enqueued, ["[NORMAL from t] once"]);
  await next.stop(b);
});

test("stop → start with the event store: the spool is opened again and events recorded after the restart reach the stream", async () => {
  const cfg = parseConfig({ url: nats.server.url, subjects: ["lc4.*.inbox"], events: { streamName: "ev-lc", subjectPrefix: "lc.events" } });
  const rt = acquireRuntime(cfg, deps());
  const a = claim("a");
  await rt.start(a);
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const jsm = await jetstreamManager(nats.client);
  const stored = async () => (await jsm.streams.info("ev-lc").catch(() => undefined))?.state.messages ?? 0;
  assert.ok(rt.events?.record({ agent: "main", type: "custom.before", payload: { n: 1 } }));
  await until(async () => (await stored()) === 1, 20_000);
  await rt.stop(a);
  await rt.start(a);
  assert.ok(rt.events?.record({ agent: "main", type: "custom.after", payload: { n: 2 } }), "recorded after the restart");
  await until(async () => (await stored()) === 2, 20_000);
  await rt.stop(a);
});

test("a stop whose first steps throw still stops the rest: the event store's spool is released and the connection closed", async () => {
  const cfg = parseConfig({ url: nats.server.url, subjects: ["lc5.*.inbox"], events: { streamName: "ev-lc5", subjectPrefix: "lc5.events" } });
  const d = deps();
  const rt = acquireRuntime(cfg, d);
  const a = claim("a");
  await rt.start(a);
  await until(() => rt.link.current !== undefined);
  // The wake service's stop throws synchronously; the agent-protocol-free runtime's next steps must still run.
  rt.wake.stop = () => {
    throw new Error("wake stop broke");
  };
  const events = rt.events!;
  const stopEvents = events.stop.bind(events);
  let eventsStopped = false;
  events.stop = async () => (await stopEvents(), (eventsStopped = true), undefined);
  await rt.stop(a);
  assert.ok(logs.some((l) => l.includes("stopping wake service failed (wake stop broke)")), "the failure is logged by name");
  assert.ok(eventsStopped, "the event store was stopped after the wake service's failure");
  assert.equal(rt.link.current, undefined, "the connection was closed");
  assert.deepEqual(rt.lifecycle(), { started: false, claims: 0 });
});

test("a config reload while events are recorded: the new registration records before its start into the spool the old runtime still holds, and every event reaches the stream once", async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), "rt-reload-"));
  const events = { streamName: "ev-rl", subjectPrefix: "rl.events" };
  const old = acquireRuntime(parseConfig({ url: nats.server.url, subjects: ["rl1.*.inbox"], events }), { ...deps(), stateDir });
  const a = claim("a");
  await old.start(a);
  const next = acquireRuntime(parseConfig({ url: nats.server.url, subjects: ["rl2.*.inbox"], events }), { ...deps(), stateDir });
  assert.notEqual(next, old);
  const ids: string[] = [];
  const record = (rt: typeof old, n: number) => {
    const id = rt.events?.record({ agent: "main", type: "custom.reload", payload: { n } });
    assert.ok(id, `event ${n} recorded (${rt === old ? "old" : "new"} runtime)`);
    ids.push(id);
  };
  for (let i = 0; i < 50; i++) record(old, i);
  // The new registration's hooks fire before its service starts, while the old runtime holds the spool's lock.
  for (let i = 50; i < 100; i++) record(next, i);
  const b = claim("b");
  t.after(() => Promise.all([old.shutdown(), next.shutdown()]));
  const starting = next.start(b); // stops the old runtime first
  for (let i = 100; i < 150; i++) record(next, i);
  await starting;
  for (let i = 150; i < 200; i++) record(next, i);
  assert.equal((await next.events?.status())?.lastError, undefined, "no spool error");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  const jsm = await jetstreamManager(nats.client);
  const stored = async () => (await jsm.streams.info("ev-rl").catch(() => undefined))?.state.messages ?? 0;
  await until(async () => (await stored()) >= ids.length, 20_000);
  assert.equal(await stored(), 200, "every event once in the stream");
  const seen = new Set<string>();
  for (let seq = 1; seq <= 200; seq++) seen.add((await jsm.streams.getMessage("ev-rl", { seq }))!.json<{ id: string }>().id);
  assert.deepEqual([...seen].sort(), [...ids].sort());
});
