import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../config/parse.ts";
import { configKeyOf } from "./shared-runtime.ts";

test("the runtime's process-wide key names the config without holding its secrets", () => {
  const secret = "pa55-word-that-must-not-be-a-key";
  const key = configKeyOf(parseConfig({ credentials: { user: "gw", pass: secret } }));
  assert.ok(!key.includes(secret) && !key.includes("gw"), key);
  assert.equal(configKeyOf(parseConfig({ credentials: { user: "gw", pass: secret } })), key, "same config, same runtime");
  assert.notEqual(configKeyOf(parseConfig({ credentials: { user: "gw", pass: `${secret}-2` } })), key, "another config, another runtime");
});
