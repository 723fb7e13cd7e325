import { test } from "node:test";
import assert from "node:assert/strict";
import { collectStatus, formatAge, formatStatus, type StatusSources } from "./status.ts";
import type { EventStoreStatus } from "../events/store.ts";

const link = { connected: true, server: "127.0.0.1:4222", connects: 1, disconnects: 2, reconnects: 2, lastError: undefined };
const wake = { subjects: ["agent.*.inbox"], durableInbox: false, received: 3, injected: 2, rejected: 1, relayed: 0, injectMicros: { count: 0, p50: undefined, p99: undefined, max: undefined }, hostMicros: { count: 0, p50: undefined, p99: undefined, max: undefined } };
const events = (over: Partial<EventStoreStatus> = {}): EventStoreStatus => ({
  connected: true, server: "127.0.0.1:4222", stream: "openclaw-events", streamMessages: 10, streamBytes: 2000, spoolDepth: 0, spoolBytes: 0,
  spoolMaxBytes: 1024, spoolOldestAt: undefined, published: 10, duplicates: 0, failures: 7, consecutiveFailures: 3, disconnects: 2, dropped: 0,
  filtered: 0, lastError: undefined, streams: [], lanes: [], ...over,
});

test("status: the NATS event-store plugin's top-level fields (connected, stream, disconnectCount, publishFailures) plus ours", async () => {
  const src: StatusSources = { url: "nats://alice:s3cret@127.0.0.1:4222", link: () => link, wake: () => wake, events: async () => events() };
  const s = await collectStatus(src);
  assert.deepEqual({ connected: s.connected, stream: s.stream, disconnectCount: s.disconnectCount, publishFailures: s.publishFailures }, { connected: true, stream: "openclaw-events", disconnectCount: 2, publishFailures: 3 });
  assert.equal(s.connection.url, "nats://***@127.0.0.1:4222", "a password in the URL never reaches status");
  assert.equal(s.wake.received, 3);
  const off = await collectStatus({ ...src, events: undefined });
  assert.deepEqual({ stream: off.stream, publishFailures: off.publishFailures, events: off.events }, { stream: null, publishFailures: 0, events: { enabled: false } });
});

test("/eventstatus: the event-store plugin's lines first, in its words, then ours with the spool's oldest event", async () => {
  const now = Date.now();
  const s = await collectStatus({ url: "nats://127.0.0.1:4222", link: () => ({ ...link, connected: false }), wake: () => wake, events: async () => events({ connected: false, spoolDepth: 4, spoolOldestAt: now - 125_000 }) });
  const lines = formatStatus(s, { now }).split("\n");
  assert.deepEqual(lines.slice(0, 5), ["**NATS Event Store**", "Connected: ❌", "Stream: openclaw-events", "Disconnects: 2", "Publish failures: 3"]);
  assert.match(lines.find((l) => l.startsWith("Spool:")) ?? "", /^Spool: 4 waiting, oldest 2 min old/);
  assert.equal(formatStatus(s, { markdown: false }).split("\n")[0], "NATS Event Store");
});

test("formatAge reads like a person would say it", () => {
  assert.deepEqual([formatAge(4_000), formatAge(90_000), formatAge(7_200_000), formatAge(3 * 86_400_000)], ["4 s", "2 min", "2 h", "3 days"]);
});
