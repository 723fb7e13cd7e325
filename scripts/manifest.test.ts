import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildManifest } from "./manifest.ts";

test("openclaw.plugin.json is generated from the typebox config schema (run: npm run manifest)", () => {
  const committed: unknown = JSON.parse(readFileSync(new URL("../openclaw.plugin.json", import.meta.url), "utf8"));
  assert.deepEqual(committed, buildManifest());
});

test("the manifest schema is strict", () => {
  const schema = buildManifest().configSchema as { additionalProperties: boolean };
  assert.equal(schema.additionalProperties, false);
});
