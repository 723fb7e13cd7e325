import assert from "node:assert/strict";
import { test } from "node:test";
import type { Logger } from "./logger.ts";
import { RegistrationNotices } from "./notices.ts";

function recorder(): Logger & { info: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(`debug ${m}`), info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

test("a registration notice is debug until the service starts (a CLI run never shows it at info)", () => {
  const notices = new RegistrationNotices();
  const log = recorder();
  notices.for(log)("nats: relay HTTP endpoint off");
  assert.deepEqual(log.lines, ["debug nats: relay HTTP endpoint off"]);
});

test("at the service start each notice shows at info once, however many registrations made it", () => {
  const notices = new RegistrationNotices();
  const first = recorder();
  const second = recorder();
  notices.for(first)("nats: dashboard off");
  notices.for(second)("nats: dashboard off");
  notices.flush();
  notices.for(second)("nats: dashboard off");
  notices.for(second)("nats: alertmanager receiver off");
  const infos = [...first.lines, ...second.lines].filter((l) => l.startsWith("info "));
  assert.deepEqual(infos, ["info nats: dashboard off", "info nats: alertmanager receiver off"]);
});
