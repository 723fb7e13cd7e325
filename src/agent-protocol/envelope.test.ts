import { test } from "node:test";
import assert from "node:assert/strict";
import { parseEnvelope } from "./envelope.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const ok = (s: string | Uint8Array) => {
  const r = parseEnvelope(typeof s === "string" ? enc(s) : s);
  assert.ok(r.ok, JSON.stringify(r));
  return r.envelope;
};
const bad = (s: string | Uint8Array) => {
  const r = parseEnvelope(typeof s === "string" ? enc(s) : s);
  assert.ok(!r.ok, `expected a refusal for ${JSON.stringify(typeof s === "string" ? s : [...s])}`);
  return r.error;
};

test("plain text is the prompt, byte for byte (§5.3 step 3)", () => {
  assert.deepEqual(ok("summarize the attached report"), { prompt: "summarize the attached report" });
  assert.deepEqual(ok("  leading spaces, then not JSON"), { prompt: "  leading spaces, then not JSON" });
  assert.deepEqual(ok("[1, 2] is text too"), { prompt: "[1, 2] is text too" });
  assert.deepEqual(ok("héllo ✓ 🚀"), { prompt: "héllo ✓ 🚀" });
});

test("a payload starting with '{' after whitespace must be a JSON envelope with a prompt (§5.3 step 2)", () => {
  assert.deepEqual(ok('\n\t {"prompt":"hi"}'), { prompt: "hi" });
  assert.match(bad("{not json"), /starts with '\{' but is not valid JSON/);
  assert.match(bad('{"text":"hi"}'), /needs a "prompt" string/);
  assert.match(bad('{"prompt":42}'), /needs a "prompt" string/);
  assert.match(bad('{"prompt":"  "}'), /must not be empty/);
});

test("unknown top-level fields are tolerated (§5.6)", () => {
  assert.deepEqual(ok('{"prompt":"hi","trace":{"id":1},"future_field":true}'), { prompt: "hi" });
});

test("empty, whitespace-only and non-UTF-8 payloads are refused", () => {
  assert.match(bad(new Uint8Array(0)), /empty prompt/);
  assert.match(bad(" \n\t"), /only whitespace/);
  assert.match(bad(new Uint8Array([0x68, 0xff, 0x69])), /not valid UTF-8/);
});

test("attachments: an empty array is fine, files are refused (attachments_ok is false)", () => {
  assert.deepEqual(ok('{"prompt":"hi","attachments":[]}'), { prompt: "hi" });
  assert.match(bad('{"prompt":"hi","attachments":[{"filename":"a.txt","content":"aGk="}]}'), /does not accept attachments/);
  assert.match(bad('{"prompt":"hi","attachments":"a.txt"}'), /must be an array/);
});

test("the openclaw extension picks a session and names the caller; anything else in it is refused", () => {
  assert.deepEqual(ok('{"prompt":"hi","openclaw":{"sessionKey":"agent:main:telegram:direct:42"}}'), { prompt: "hi", sessionKey: "agent:main:telegram:direct:42" });
  assert.deepEqual(ok('{"prompt":"hi","openclaw":{}}'), { prompt: "hi" });
  assert.match(bad('{"prompt":"hi","openclaw":{"session":"x"}}'), /unknown field openclaw\.session/);
  assert.match(bad('{"prompt":"hi","openclaw":{"sessionKey":"main"}}'), /must be a session key/);
  assert.match(bad('{"prompt":"hi","openclaw":"agent:main:main"}'), /"openclaw" must be an object/);
  assert.deepEqual(ok('{"prompt":"hi","openclaw":{"from":"ops-bot"}}'), { prompt: "hi", from: "ops-bot" });
  assert.match(bad('{"prompt":"hi","openclaw":{"from":"two words"}}'), /openclaw\.from must be a caller id/);
});
