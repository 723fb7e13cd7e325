import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../config/parse.ts";
import type { Logger } from "../shared/logger.ts";
import { dispatchBroadcast } from "./broadcast.ts";
import { WakeDispatcher } from "./dispatcher.ts";
import { Hosting } from "./hosting.ts";

const logs: string[] = [];
const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(`ERROR ${m}`) };
const system = { enqueueSystemEvent: () => true, requestHeartbeat: () => undefined };
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

test("an unreadable host config fails closed: no agent hosted, one clear error line", () => {
  const hosting = new Hosting(() => {
    throw new Error("EACCES: openclaw.json");
  });
  logs.length = 0;
  assert.deepEqual(hosting.refresh(log), []);
  assert.equal(hosting.hosts("main"), false);
  assert.equal(hosting.describe(), "(none)");
  const errors = logs.filter((l) => l.startsWith("ERROR"));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /cannot read the host config.*EACCES.*hosting no agent/);
  const d = new WakeDispatcher(parseConfig({}), system, log);
  assert.equal(hosting.notHostedTarget(d, enc({ from: "a", body: "b" }), "agent.main.inbox"), "main", "a message for any agent is not ours");
});

test("a wake message is parsed once on the hosting-checked path and on the broadcast path", async () => {
  const d = new WakeDispatcher(parseConfig({ broadcastSubjects: ["all.agents"] }), system, log);
  let parses = 0;
  const real = d.parse.bind(d);
  d.parse = (data, subject) => (parses++, real(data, subject));
  const hosting = new Hosting(() => ["main"]);
  hosting.refresh(log);
  const data = enc({ from: "a", body: "b" });
  const { away, parsed } = hosting.check(d, data, "agent.main.inbox");
  assert.equal(away, undefined);
  const out = await d.dispatch(data, "agent.main.inbox", performance.now(), { ...(parsed ? { parsed } : {}) });
  assert.equal(out.kind, "handled");
  assert.equal(parses, 1, "hosting check + dispatch");
  parses = 0;
  const b = await dispatchBroadcast(d, "main", { data, subject: "all.agents", headers: undefined }, performance.now());
  assert.equal(b.kind, "handled");
  assert.equal(parses, 1, "broadcast check + dispatch");
});
