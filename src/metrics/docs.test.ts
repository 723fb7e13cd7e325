import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Reservoir } from "../shared/reservoir.ts";
import { REJECT_KINDS } from "../wake/dispatcher.ts";
import { TRUST_REFUSALS } from "../trust/trust.ts";
import { collectMetrics } from "./collect.ts";

const doc = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
const rulesBlock = /```yaml\n(# rules\/openclaw-nats\.yml\n[\s\S]*?)```/.exec(doc)?.[1];

test("docs/metrics.md: every metric the code writes is listed, and the alert rules name only real metrics", async () => {
  const zeros = <K extends string>(k: readonly K[]): Record<K, number> => Object.fromEntries(k.map((x) => [x, 0])) as Record<K, number>;
  const b = new Reservoir(1).buckets();
  const status = { published: 0, duplicates: 0, failures: 0, dropped: 0, spoolDepth: 0, spoolBytes: 0, spoolMaxBytes: 0, spoolOldestAt: 1 } as never;
  const families = await collectMetrics({
    link: () => ({ connected: true, server: undefined, connects: 0, disconnects: 0, reconnects: 0, lastError: undefined }),
    wake: () => ({ counts: { received: 0, injected: 0, rejected: 0, relayed: 0, hopLimited: 0 }, rejectedBy: zeros(REJECT_KINDS), handoffLatency: b, deadLetters: { published: 0, failed: 0 } }),
    inbox: async () => ({ counts: { redeliveriesSkipped: 0, deadLettered: 0, inFlight: 0 }, consumer: { pending: 0, ackPending: 0, redelivered: 0 } }),
    events: async () => ({ status, recorded: 0, publishLatency: b }),
    memory: () => ({ rows: 0, newest: 1, recallLatency: b }),
    agentProtocol: () => ({ outcomes: {} as never, latency: b, activeTurns: 0 }),
    relay: () => ({}) as never,
    trust: () => zeros(TRUST_REFUSALS),
  });
  // The table abbreviates siblings as `openclaw_nats_x_total` / `_y_total`: expand them.
  const listed = new Set<string>();
  for (const cell of doc.matchAll(/^\| (`openclaw_nats_[^|]+)\|/gm)) {
    const names = [...cell[1]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    const base = names[0]!.replace(/_[a-z]+(_total|_bytes|_seconds)?$/, "");
    for (const n of names) listed.add(n.startsWith("_") ? `${base}${n}` : n);
  }
  for (const f of families) assert.ok(listed.has(f.name), `${f.name} is in docs/metrics.md`);
  assert.ok(rulesBlock, "the rules block");
  for (const m of rulesBlock.matchAll(/openclaw_nats_[a-z_]+/g)) assert.ok(families.some((f) => f.name === m[0]), `rule metric ${m[0]} exists`);
});

test("docs/metrics.md: promtool accepts the alert rules", { skip: !existsSync("/usr/bin/promtool") && "no promtool" }, () => {
  const dir = mkdtempSync(join(tmpdir(), "metrics-rules-"));
  try {
    writeFileSync(join(dir, "rules.yml"), rulesBlock ?? "");
    const out = execFileSync("/usr/bin/promtool", ["check", "rules", join(dir, "rules.yml")], { encoding: "utf8" });
    assert.match(out, /SUCCESS: 3 rules found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
