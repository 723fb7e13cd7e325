import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError, parseConfig } from "./parse.ts";

// The plugin config is operator-written JSON5. parseConfig either returns a config or throws one
// ConfigError whose every problem names a field and says what is wrong; nothing else escapes.
const RUNS = 1_000;

const section = fc.constantFrom("servers", "subjects", "credentials", "reconnect", "tls", "relay", "trust", "alertmanager", "wake", "events", "memory", "dashboard", "agentProtocol", "bogus");
const nearConfig = fc.dictionary(section, fc.oneof(fc.jsonValue(), fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue(), { maxKeys: 4 })), { maxKeys: 4 });
const plausible = fc.record(
  {
    servers: fc.oneof(fc.constant(["nats://127.0.0.1:4222"]), fc.jsonValue()),
    reconnect: fc.record({ delayMs: fc.integer({ min: -10, max: 100_000 }), maxDelayMs: fc.integer({ min: -10, max: 100_000 }) }, { requiredKeys: [] }),
    relay: fc.record({ timeoutMs: fc.integer({ min: 0, max: 4_000_000 }), maxTimeoutMs: fc.integer({ min: 0, max: 4_000_000 }), callers: fc.dictionary(fc.string({ maxLength: 8 }), fc.record({ publicKey: fc.stringMatching(/^U[A-Z2-7]{55}$/) })), tokens: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ minLength: 16, maxLength: 20 }), { maxKeys: 2 }) }, { requiredKeys: [] }),
    trust: fc.record({ account: fc.oneof(fc.constant("$G"), fc.string({ maxLength: 60 })) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

test("property: parseConfig returns a config or throws a ConfigError naming each problem; nothing else", (t) => {
  let cases = 0;
  let accepted = 0;
  const check = (raw: unknown): void => {
    cases++;
    try {
      parseConfig(raw);
      accepted++;
    } catch (err) {
      assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
      assert.ok(err.problems.length > 0);
      for (const p of err.problems) assert.ok(p.field.length > 0 && p.message.trim().length > 0, JSON.stringify(p));
    }
  };
  fc.assert(fc.property(fc.jsonValue(), check), { numRuns: RUNS });
  fc.assert(fc.property(nearConfig, check), { numRuns: RUNS });
  fc.assert(fc.property(plausible, check), { numRuns: RUNS });
  t.diagnostic(`parseConfig: ${cases} cases (${accepted} accepted)`);
  assert.equal(cases, 3 * RUNS);
  assert.ok(accepted > 0 && accepted < cases);
});

test("regression (found by the property): many unknown keys in one section are a ConfigError, not a TypeError", () => {
  const raw = { alertmanager: "", reconnect: Object.fromEntries([" ", "!", "", '"', "#", "$", "%", "&"].map((k) => [k, 0])) };
  assert.throws(() => parseConfig(raw), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.field.startsWith("reconnect") && p.message === "unknown field"));
});
