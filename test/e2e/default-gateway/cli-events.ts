import { test } from "node:test";
import assert from "node:assert/strict";
import { headers, type Msg } from "@nats-io/transport-node";
import { readEvents } from "../../harness/event-stream.ts";
import type { Stack } from "../../harness/stack.ts";
import { gatewayNatsCli } from "../../harness/cli-in-process.ts";

interface Line {
  seq: number;
  subject: string;
  storedAt: number;
  event: { id: string; type: string; agent: string; session: string | null; payload: Record<string, unknown>; visibility: string } | null;
}
const lines = (stdout: string): Line[] =>
  stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as Line);

export function cliEventTests(shared: () => Stack): void {
test("nats.events.record: a custom event goes through the spool into the stream in the documented envelope; bad input is refused and logged", async () => {
  const { gw, nc } = shared();
  const res = await gw.call("nats.events.record", { agent: "main", name: "deploy.done", session: "agent:main:main", payload: { version: "1.2.3", note: "Grüße — déploiement" }, visibility: "public" });
  assert.equal(res.ok, true);
  assert.equal(res.type, "custom.deploy.done");
  const [stored] = await readEvents(nc, "openclaw.events.main.custom_deploy_done", (ev) => ev.some((e) => e.id === res.id));
  assert.equal(stored.id, res.id);
  assert.deepEqual({ agent: stored.agent, session: stored.session, type: stored.type, payload: stored.payload }, { agent: "main", session: "agent:main:main", type: "custom.deploy.done", payload: { version: "1.2.3", note: "Grüße — déploiement" } });
  assert.equal((stored as unknown as { visibility: string }).visibility, "public");
  assert.equal(typeof (stored as unknown as { ts: number }).ts, "number");

  const bad = await gw.openclaw(["nats", "events", "record", "no spaces", "--agent", "main"], 180_000);
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stderr, /error: nats\.events\.record: name must be 64 characters at most/);
  await gw.waitForLog(/events: nats\.events\.record refused: name must be/, 10_000);

  const viaCli = await gw.openclaw(["nats", "events", "record", "note.added", "--agent", "ops", "--session", "agent:ops:telegram:direct:7", "--payload", '{"text":"runbook updated for disk alerts"}', "--json"], 180_000);
  assert.equal(viaCli.code, 0, viaCli.stderr);
  const rec = JSON.parse(viaCli.stdout) as { ok: boolean; id: string; type: string };
  assert.deepEqual({ ok: rec.ok, type: rec.type }, { ok: true, type: "custom.note.added" });
  await readEvents(nc, "openclaw.events.ops.custom_note_added", (ev) => ev.some((e) => e.id === rec.id));
});

test("another plugin in the gateway process records a custom event through the handle on globalThis", async () => {
  const { gw, nc } = shared();
  const res = (await gw.call("probe.customEvent", { agent: "main", name: "invoice.paid", payload: { amount: 120 } })) as { ok: boolean; id: string; type: string };
  assert.deepEqual({ ok: res.ok, type: res.type }, { ok: true, type: "custom.invoice.paid" });
  const [stored] = await readEvents(nc, "openclaw.events.main.custom_invoice_paid", (ev) => ev.some((e) => e.id === res.id));
  assert.deepEqual(stored.payload, { amount: 120 });
  const bad = (await gw.call("probe.customEvent", { agent: "main", name: "bad name" })) as { ok: boolean; error: string };
  assert.equal(bad.ok, false);
  assert.match(bad.error, /name must be/);
  await gw.waitForLog(/events: custom event refused: name must be/, 10_000);
});

// Each command shape runs once through the real `openclaw` CLI; the filter and range matrices run the
// same command code in-process (natsCliInProcess) against the same gateway's config and stream.
test("openclaw nats events query: agent, type, session, text and time filters", async () => {
  const { gw, nc } = shared();
  const inProcess = (args: string[]) => gatewayNatsCli(gw, args);
  for (const [session, text] of [
    ["agent:main:telegram:direct:1", "alpha disk warning"],
    ["agent:main:telegram:direct:2", "beta disk warning"],
    ["agent:main:telegram:direct:1", "gamma all clear"],
  ] as const) {
    await gw.call("nats.events.record", { agent: "main", name: "probe", session, payload: { text } });
  }
  await readEvents(nc, "openclaw.events.main.custom_probe", (ev) => ev.length >= 3);

  const all = await gw.openclaw(["nats", "events", "query", "--agent", "main", "--type", "custom.probe", "--json"], 180_000);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(lines(all.stdout).map((l) => l.event?.payload.text), ["alpha disk warning", "beta disk warning", "gamma all clear"]);
  for (const l of lines(all.stdout)) assert.equal(l.subject, "openclaw.events.main.custom_probe");

  const bySession = await inProcess(["events", "query", "--session", "agent:main:telegram:direct:1", "--type", "custom.probe", "--json"]);
  assert.deepEqual(lines(bySession.stdout).map((l) => l.event?.payload.text), ["alpha disk warning", "gamma all clear"]);

  const byText = await inProcess(["events", "query", "--agent", "main", "--text", "DISK WARNING", "--json"]);
  assert.deepEqual(lines(byText.stdout).map((l) => l.event?.payload.text), ["alpha disk warning", "beta disk warning"]);

  const limited = await inProcess(["events", "query", "--type", "custom.probe", "--limit", "1", "--json"]);
  assert.deepEqual(lines(limited.stdout).map((l) => l.event?.payload.text), ["gamma all clear"], "the newest one");

  const future = await inProcess(["events", "query", "--agent", "main", "--since", new Date(Date.now() + 3_600_000).toISOString(), "--json"]);
  assert.equal(future.code, 0, future.stderr);
  assert.deepEqual(lines(future.stdout), []);
  const otherAgent = await inProcess(["events", "query", "--agent", "ops", "--json"]);
  assert.ok(lines(otherAgent.stdout).length >= 1);
  assert.ok(lines(otherAgent.stdout).every((l) => l.event?.agent === "ops"));

  const pretty = await gw.openclaw(["nats", "events", "query", "--agent", "main", "--type", "custom.probe", "--text", "beta"], 180_000);
  assert.match(pretty.stdout, /#\d+ main custom\.probe agent:main:telegram:direct:2 beta disk warning/);
  assert.match(pretty.stderr, /1 event\(s\) shown; 3 read from openclaw-events \(openclaw\.events\.main\.custom_probe\)/);

  const bad = await inProcess(["events", "query", "--since", "last tuesday"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--since "last tuesday" is not a time/);
});

test("openclaw nats events query --trace: a wake's traceparent is on its wake.in event, found by trace id across streams", async () => {
  const { gw, nc } = shared();
  const traceId = "0af7651916cd43dd8448eb211c80319c";
  const h = headers();
  h.set("traceparent", `00-${traceId}-b7ad6b7169203331-01`);
  const receipt = await nc.request("agent.main.inbox", JSON.stringify({ from: "trace-cli", body: "a traced wake (trace-cli-1)", priority: "low" }), { headers: h, timeout: 60_000 });
  assert.equal((receipt.json() as { ok: boolean }).ok, true, receipt.string());
  await readEvents(nc, "openclaw.events.main.wake_in", (ev) => ev.some((e) => JSON.stringify(e.payload).includes("trace-cli-1")));
  // `events query` runs through the real CLI above; this filter runs the same command in-process.
  const res = await gatewayNatsCli(gw, ["events", "query", "--trace", traceId, "--json"]);
  assert.equal(res.code, 0, res.stderr);
  const found = lines(res.stdout);
  assert.ok(found.some((l) => l.event?.type === "wake.in" && JSON.stringify(l.event.payload).includes("trace-cli-1")), res.stdout);
  assert.ok(found.every((l) => (l.event as unknown as { trace?: { traceparent: string } }).trace?.traceparent.slice(3, 35) === traceId));
});

test("openclaw nats events tail follows: it prints an event stored after it started", async () => {
  const { gw } = shared();
  const tail = gw.openclaw(["nats", "events", "tail", "--agent", "main", "--type", "custom.tick", "--count", "1", "--json"], 300_000);
  let exited = false;
  void tail.then(() => (exited = true));
  // The CLI takes seconds to start (over 100 s on a loaded 2-core machine): keep recording until the
  // tail has seen one, or its own deadline ended it.
  let n = 0;
  while (!exited) {
    await gw.call("nats.events.record", { agent: "main", name: "tick", payload: { n: ++n } });
    await new Promise((r) => setTimeout(r, 2000));
  }
  const run = await tail;
  assert.equal(run.code, 0, run.stderr);
  const got = lines(run.stdout);
  assert.equal(got.length, 1);
  assert.equal(got[0].event?.type, "custom.tick");
  assert.ok(Number(got[0].event?.payload.n) >= 1);
});

test("openclaw nats events replay: prints a range, re-publishes it to a subject with its origin, refuses $-subjects", async () => {
  const { gw, nc } = shared();
  const inProcess = (args: string[]) => gatewayNatsCli(gw, args);
  const printed = await gw.openclaw(["nats", "events", "replay", "--agent", "main", "--type", "custom.probe", "--since", "1h", "--json"], 180_000);
  assert.equal(printed.code, 0, printed.stderr);
  const range = lines(printed.stdout);
  assert.equal(range.length, 3);
  const fromSeq = await inProcess(["events", "replay", "--agent", "main", "--type", "custom.probe", "--from-seq", String(range[1].seq), "--to-seq", String(range[1].seq), "--json"]);
  assert.deepEqual(lines(fromSeq.stdout).map((l) => l.seq), [range[1].seq]);

  const got: Msg[] = [];
  const sub = nc.subscribe("debug.replay", { callback: (_err, m) => void got.push(m) });
  await nc.flush();
  const run = await gw.openclaw(["nats", "events", "replay", "--agent", "main", "--type", "custom.probe", "--since", "1h", "--to", "debug.replay", "--json"], 180_000);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { ok: true, published: 3, to: "debug.replay", stream: "openclaw-events" });
  const deadline = Date.now() + 10_000;
  while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  sub.unsubscribe();
  assert.equal(got.length, 3);
  assert.deepEqual(got.map((m) => (m.json() as { id: string }).id), range.map((l) => l.event?.id));
  assert.equal(got[0].headers?.get("Openclaw-Replay-Seq"), String(range[0].seq));
  assert.equal(got[0].headers?.get("Openclaw-Replay-Subject"), "openclaw.events.main.custom_probe");

  const refused = await inProcess(["events", "replay", "--since", "1h", "--to", "$JS.API.STREAM.DELETE.openclaw-events"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /\$-subjects are the server's own/);
  const loop = await inProcess(["events", "replay", "--since", "1h", "--to", "openclaw.events.main.msg_in"]);
  assert.equal(loop.code, 1);
  assert.match(loop.stderr, /would be recorded again/);
  const noStart = await inProcess(["events", "replay", "--to", "debug.replay"]);
  assert.match(noStart.stderr, /replay needs where to start/);
});
}
