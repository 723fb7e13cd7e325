import { test } from "node:test";
import assert from "node:assert/strict";
import { errorFrame, formatBytes, headerText, parseBytes, responseChunks } from "./chunks.ts";

const dec = new TextDecoder();

function roundTrip(text: string, max: number): string[] {
  const chunks = responseChunks(text, max);
  for (const c of chunks) assert.ok(c.length <= max, `chunk of ${c.length} bytes > ${max}`);
  const parts = chunks.map((c) => JSON.parse(dec.decode(c)) as { type: string; data: string });
  for (const p of parts) assert.equal(p.type, "response");
  assert.equal(parts.map((p) => p.data).join(""), text);
  return parts.map((p) => p.data);
}

test("a short text is one chunk; nothing for empty text", () => {
  assert.deepEqual(roundTrip("Hello, world.", 1024), ["Hello, world."]);
  assert.deepEqual(responseChunks("", 1024), []);
});

test("long text splits to fit max_payload after JSON escaping, never inside a code point", () => {
  const max = 64;
  roundTrip("a".repeat(500), max);
  roundTrip('"quoted" \\ back\\slashes "everywhere"'.repeat(20), max);
  roundTrip("🚀✓é".repeat(100), max);
  roundTrip("\u0001\u0002\n\t\u001f".repeat(50), max);
  roundTrip("lone \ud800 surrogate \udfff ok".repeat(10), max);
  // tightly packed: every chunk but the last is exactly max_payload bytes ({"type":"response","data":""} is 29)
  const parts = roundTrip("x".repeat(1000), 128);
  assert.equal(parts.length, Math.ceil(1000 / (128 - 29)));
  assert.ok(parts.slice(0, -1).every((p) => p.length === 128 - 29));
});

test("error frames carry both headers and a JSON body", () => {
  const f = errorFrame(429, "too many\nprompts", { retry_after_s: 5 });
  assert.equal(f.headers.get("Nats-Service-Error-Code"), "429");
  assert.equal(f.headers.get("Nats-Service-Error"), "too many prompts");
  assert.deepEqual(JSON.parse(dec.decode(f.data)), { error: "rate_limited", message: "too many\nprompts", retry_after_s: 5 });
  assert.equal(headerText("x".repeat(300)).length, 200);
  assert.equal(headerText("naïve"), "na?ve");
});

test("max_payload strings (§2.1)", () => {
  assert.equal(formatBytes(1024 * 1024), "1MB");
  assert.equal(formatBytes(8 * 1024 * 1024), "8MB");
  assert.equal(formatBytes(2048), "2KB");
  assert.equal(formatBytes(1500), "1500B");
  assert.equal(parseBytes("512KB"), 512 * 1024);
  assert.equal(parseBytes("1MB"), 1024 * 1024);
  assert.equal(parseBytes("0MB"), undefined);
  assert.equal(parseBytes("1 MB"), undefined);
});
