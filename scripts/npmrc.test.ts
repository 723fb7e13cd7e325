import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// @ts-expect-error plain .mjs helper without types
import { renderNpmrc } from "./npmrc.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const elsewhere = mkdtempSync(join(tmpdir(), "npm-elsewhere-"));

test(".npmrc is generated from scripts/npm-node24.mjs", () => {
  assert.equal(readFileSync(join(root, ".npmrc"), "utf8"), renderNpmrc());
});

test("npm scripts run from another directory (npm --prefix), on Node 24", () => {
  const r = spawnSync("npm", ["--prefix", root, "run", "-s", "check:npmrc"], { cwd: elsewhere, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /npmrc: up to date \(node 24\./);
});

// The install trap: a lifecycle script started on the machine's older Node re-runs on Node 24.
const oldNode = ["/usr/bin/node", "/usr/local/bin/node"].find(
  (p) => existsSync(p) && Number(spawnSync(p, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout) < 24,
);
test("the preload moves a Node < 24 process onto the repo's Node 24, whatever the cwd", { skip: oldNode ? false : "no Node < 24 on this machine" }, () => {
  const nodeOptions = /^node-options=(.*)$/m.exec(renderNpmrc())?.[1] ?? "";
  const env = { ...process.env, NODE_OPTIONS: nodeOptions, npm_config_local_prefix: root };
  const r = spawnSync(oldNode as string, ["-p", "process.versions.node"], { cwd: elsewhere, env, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^24\./);
});
