import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadIdentity } from "./identity.ts";
import { createUserSeed, signerFromSeed } from "./nkey.ts";

test("without trust.seedFile a seed is generated once in the state dir, mode 0600, and reused", () => {
  const stateDir = join(mkdtempSync(join(tmpdir(), "trust-")), "plugins", "nats");
  const first = loadIdentity({ stateDir });
  assert.equal(first.source, "generated");
  assert.equal(statSync(first.path).mode & 0o777, 0o600);
  const again = loadIdentity({ stateDir });
  assert.equal(again.source, "state");
  assert.equal(again.signer.publicKey, first.signer.publicKey);
  assert.equal(again.permissionWarning, undefined);
});

test("a shared seed file gives two gateways the same key; a .creds file's seed block works too", () => {
  const dir = mkdtempSync(join(tmpdir(), "trust-"));
  const seedFile = join(dir, "gateways.nk");
  const a = loadIdentity({ seedFile, stateDir: join(dir, "a") });
  const b = loadIdentity({ seedFile, stateDir: join(dir, "b") });
  assert.equal(a.source, "generated");
  assert.equal(b.source, "configured");
  assert.equal(a.signer.publicKey, b.signer.publicKey);
  const seed = createUserSeed();
  const creds = join(dir, "user.creds");
  writeFileSync(creds, `-----BEGIN NATS USER JWT-----\neyJ0eXAi.x.y\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`, { mode: 0o600 });
  assert.equal(loadIdentity({ seedFile: creds, stateDir: dir }).signer.publicKey, signerFromSeed(seed).publicKey);
});

test("a readable seed file is flagged; a file without a seed is an error that never prints its content", () => {
  const dir = mkdtempSync(join(tmpdir(), "trust-"));
  const seedFile = join(dir, "open.nk");
  writeFileSync(seedFile, `${createUserSeed()}\n`);
  chmodSync(seedFile, 0o644);
  assert.match(loadIdentity({ seedFile, stateDir: dir }).permissionWarning ?? "", /readable by others \(mode 644\); run chmod 600/);
  const junk = join(dir, "junk.nk");
  writeFileSync(junk, "SUPERSECRETBUTNOTASEED\n");
  assert.throws(() => loadIdentity({ seedFile: junk, stateDir: dir }), (err: Error) => /holds no user seed/.test(err.message) && !err.message.includes("SUPERSECRET"));
  assert.equal(readFileSync(junk, "utf8"), "SUPERSECRETBUTNOTASEED\n", "an existing file is never overwritten");
});
