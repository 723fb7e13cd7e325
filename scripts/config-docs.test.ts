import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CONFIG_DOCS_PATH, configKeys, renderConfigDocs } from "./config-docs.ts";

test("docs/configuration.md is what the schema renders (run `npm run docs:config` after changing the schema)", () => {
  const onDisk = readFileSync(CONFIG_DOCS_PATH, "utf8");
  assert.equal(onDisk, renderConfigDocs(), "docs/configuration.md drifted from src/config/schema.ts: run npm run docs:config");
});

test("every config key has a description in the schema", () => {
  const missing = configKeys().filter((k) => k.description.trim() === "").map((k) => k.path);
  assert.deepEqual(missing, [], `add a description to these schema keys: ${missing.join(", ")}`);
});

test("the reference names keys the schema validates, nested ones by dotted path", () => {
  const paths = new Set(configKeys().map((k) => k.path));
  for (const p of ["url", "credentials.nkeySeed", "events.spool.maxBytes", "events.agents.<id>.streamName", "relay.callers.<caller>.publicKey", "wake.maxHops"]) {
    assert.ok(paths.has(p), `${p} is listed`);
  }
});
