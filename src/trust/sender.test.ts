import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { headers } from "@nats-io/transport-node";
import { createUserSeed, isUserPublicKey, signerFromSeed, verifySignature } from "./nkey.ts";
import { NonceCache } from "./nonce-cache.ts";
import { parseSenderHeader, senderTimestamp, signedInput } from "./sender-header.ts";
import { signSender, verifySender, type SenderCheck } from "./sender.ts";
import { senderRefusal } from "./trust.ts";

// Known-answer vectors from the protocol's reference SDK (synadia-ai/synadia-agents,
// test-fixtures/identity/sender-vectors.json): throwaway test seeds, exact expected headers. An
// independent implementation's output, so field order, encodings and the signed input are checked
// against something we did not write.
const VECTORS = [
  {
    id: "global-account-signed",
    seed: "SUAEJ6GDK6FSSB54LD45Q7W25AW7NUT7MVLBABIR5MIPFUTBW7ZNPK2KYE",
    account: "$G",
    subject: "agents.prompt.demo-agent.alice.example",
    payloadB64: "eyJwcm9tcHQiOiJoZWxsbyJ9",
    nonce: "nonce-global-account-signed",
    header:
      '{"v":1,"account":"$G","user":"UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT","sub":"agents.prompt.demo-agent.alice.example","ts":"2026-08-28T12:00:00Z","nonce":"nonce-global-account-signed","sig":"NlnxA8iJk5QpVhPXXIpupBplgKpqeGKuHZVqlKMn-koXrvdnE-Er_qUMX1jkOYLEmRPR9DuthxlxZRAVFueEDw"}',
  },
  {
    id: "named-account-signed",
    seed: "SUAEJ6GDK6FSSB54LD45Q7W25AW7NUT7MVLBABIR5MIPFUTBW7ZNPK2KYE",
    account: "ACME",
    subject: "agents.prompt.demo-agent.alice.example",
    payloadB64: "eyJwcm9tcHQiOiJoZWxsbyJ9",
    nonce: "nonce-named-account-signed",
    name: "claude-code",
    header:
      '{"v":1,"account":"ACME","user":"UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT","name":"claude-code","sub":"agents.prompt.demo-agent.alice.example","ts":"2026-08-28T12:00:00Z","nonce":"nonce-named-account-signed","sig":"mnC5G9UMTeicJ5F5gQ3kVGUUraiGKs-ugwqz7nruKIdmnrWpBlVNhgBUdlIKTGgy9bt24XHZc7XpY5wXBKRXCA"}',
  },
  {
    id: "operator-account-signed",
    seed: "SUAEJ6GDK6FSSB54LD45Q7W25AW7NUT7MVLBABIR5MIPFUTBW7ZNPK2KYE",
    account: "AABYLMBR6Q2CDXTLGRQCFA2GP76BGCDF7NZF2OVHH4RQ7L3Y3TZWJDRL",
    subject: "agents.prompt.demo-agent.alice.example",
    payloadB64: "eyJwcm9tcHQiOiJoZWxsbyJ9",
    nonce: "nonce-operator-account-signed",
    name: "claude-code",
    header:
      '{"v":1,"account":"AABYLMBR6Q2CDXTLGRQCFA2GP76BGCDF7NZF2OVHH4RQ7L3Y3TZWJDRL","user":"UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT","name":"claude-code","sub":"agents.prompt.demo-agent.alice.example","ts":"2026-08-28T12:00:00Z","nonce":"nonce-operator-account-signed","sig":"EPGc0tNF0ZQeBqXUduwUp3zdi33k1AKIXOX-PUPSeY9QtS4V3d2EZLq-fHuPuYkw6Cc3HdVn_jVI58Y_3YBZBw"}',
  },
  {
    id: "empty-payload-status",
    seed: "SUAEJ6GDK6FSSB54LD45Q7W25AW7NUT7MVLBABIR5MIPFUTBW7ZNPK2KYE",
    account: "$G",
    subject: "agents.status.demo-agent.alice.example",
    payloadB64: "",
    nonce: "nonce-empty-payload-status",
    header:
      '{"v":1,"account":"$G","user":"UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT","sub":"agents.status.demo-agent.alice.example","ts":"2026-08-28T12:00:00Z","nonce":"nonce-empty-payload-status","sig":"Z4Dv8YE7z_cMMFRwD6qRgdhAVw2iD2JbtjYr6iOB9GkD7oXYQMHuu58_lQTQxv2P8sv8KLHIFpSq6u9s3VioAg"}',
  },
  {
    id: "non-ascii-name",
    seed: "SUAA37BA6WVMWPX27LE3AREHH5ELK2K5OYDECALTSZBJ7CDMW4AOC3GNAI",
    account: "APP",
    subject: "agents.prompt.demo-agent.alice.example",
    payloadB64: "eyJwcm9tcHQiOiJoZWxsbyJ9",
    nonce: "nonce-non-ascii-name",
    name: "Bob · 日本語 🤖",
    header:
      '{"v":1,"account":"APP","user":"UDLPRVYPNSPIPYH4RVGKEHP2AAG4J2CN4GQ3IBTKC6ZDV6SR7ONG27D4","name":"Bob · 日本語 🤖","sub":"agents.prompt.demo-agent.alice.example","ts":"2026-08-28T12:00:00Z","nonce":"nonce-non-ascii-name","sig":"zdNrRoWiGhOI0l2aH8bZxkbuUlPdMZnWWtVNOsQq-T-0a3XhB8fVSmnj13ONTkCpL-SOG_hEPNrBUTERJ_TBCg"}',
  },
  {
    id: "non-ascii-payload",
    seed: "SUAEJ6GDK6FSSB54LD45Q7W25AW7NUT7MVLBABIR5MIPFUTBW7ZNPK2KYE",
    account: "$G",
    subject: "agents.prompt.demo-agent.alice.example",
    payloadB64: "eyJwcm9tcHQiOiJncsO8w59lIPCfjI0ifQ==",
    nonce: "nonce-non-ascii-payload",
    header:
      '{"v":1,"account":"$G","user":"UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT","sub":"agents.prompt.demo-agent.alice.example","ts":"2026-08-28T12:00:00Z","nonce":"nonce-non-ascii-payload","sig":"91ZhWlzEUh-_fvePmp65078hme4BsSiTMDZHKm9RasgORvdPaBbt75trkc1OShmlXIISUiHeRexZKqkcmsNXBQ"}',
  },
];
const VECTOR_TS = "2026-08-28T12:00:00Z";
const VECTOR_NOW = Date.parse(VECTOR_TS);

function msg(subject: string, data: Uint8Array, value?: string | string[]) {
  const h = headers();
  for (const v of value === undefined ? [] : Array.isArray(value) ? value : [value]) h.append("Agent-Sender", v);
  return { subject, data, headers: h };
}

for (const v of VECTORS) {
  test(`signSender reproduces the reference vector byte for byte: ${v.id}`, () => {
    const payload = Buffer.from(v.payloadB64, "base64");
    const header = signSender({ signer: signerFromSeed(v.seed), account: v.account, subject: v.subject, payload, ts: VECTOR_TS, nonce: v.nonce, ...(v.name ? { name: v.name } : {}) });
    assert.equal(header, v.header);
  });

  test(`verifySender accepts the reference header: ${v.id}`, () => {
    const check = verifySender(msg(v.subject, Buffer.from(v.payloadB64, "base64"), v.header), { mode: "live", nonces: new NonceCache(30_000), now: VECTOR_NOW + 5_000 });
    assert.equal(check.trust, "verified", JSON.stringify(check));
  });
}

test("the signed input is the spec's seven LF-terminated lines", () => {
  const input = new TextDecoder().decode(signedInput({ account: "$G", user: "U1", subject: "a.b", ts: "t", nonce: "n", payloadSha256Hex: createHash("sha256").update("").digest("hex") }));
  assert.equal(input, "AGENT-SENDER-V1\n$G\nU1\na.b\nt\nn\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");
});

test("a generated seed signs and verifies; the public key is a checked user NKEY", () => {
  const signer = signerFromSeed(createUserSeed());
  assert.ok(isUserPublicKey(signer.publicKey));
  const input = new TextEncoder().encode("hello");
  const sig = signer.sign(input);
  assert.equal(sig.length, 64);
  assert.ok(verifySignature(signer.publicKey, input, sig));
  assert.ok(!verifySignature(signer.publicKey, new TextEncoder().encode("hellO"), sig));
  assert.throws(() => signerFromSeed("SUNOTASEED"), /does not decode|not a user seed/);
  assert.throws(() => signerFromSeed("not a seed"), (err: Error) => !err.message.includes("not a seed"));
});

test("user NKEY check: prefix and CRC", () => {
  assert.ok(isUserPublicKey("UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NT"));
  assert.ok(!isUserPublicKey("UCDUW5V44EBDBIK2FL4CTNDBQFNGBEZVJHSZGQVKRHASN4AV4IWPB5NU"), "CRC");
  assert.ok(!isUserPublicKey("AABYLMBR6Q2CDXTLGRQCFA2GP76BGCDF7NZF2OVHH4RQ7L3Y3TZWJDRL"), "account key");
  assert.ok(!isUserPublicKey("ucduw5v44ebdbik2fl4ctndbqfngbezvjhszgqvkrhasn4av4iwpb5nt"), "case");
});

// ---- receiver side: the four classes and each rejection -----------------------------------------

const seed = createUserSeed();
const signer = signerFromSeed(seed);
const SUBJECT = "agent.ops.inbox";
const body = new TextEncoder().encode('{"from":"ops","body":"hi"}');
const fresh = (over: Partial<Parameters<typeof signSender>[0]> = {}) => signSender({ signer, account: "$G", subject: SUBJECT, payload: body, ...over });
const live = (m: ReturnType<typeof msg>, nonces = new NonceCache(30_000), now?: number): SenderCheck => verifySender(m, { mode: "live", nonces, ...(now ? { now } : {}) });

function rejected(check: SenderCheck, code: 400 | 401, re: RegExp): void {
  assert.equal(check.trust, "rejected", JSON.stringify(check));
  if (check.trust !== "rejected") return;
  assert.equal(check.code, code);
  assert.match(check.reason, re);
}

test("no header, or an unknown v: absent", () => {
  assert.deepEqual(live(msg(SUBJECT, body)), { trust: "absent" });
  assert.deepEqual(live(msg(SUBJECT, body, JSON.stringify({ v: 2, account: "$G", user: signer.publicKey }))), { trust: "absent" });
  assert.deepEqual(verifySender({ subject: SUBJECT, data: body }, { mode: "live" }), { trust: "absent" });
});

test("a header without sig is a claim, nothing more", () => {
  const check = live(msg(SUBJECT, body, JSON.stringify({ v: 1, account: "$G", user: signer.publicKey, name: "ops" })));
  assert.deepEqual(check, { trust: "claimed", account: "$G", user: signer.publicKey, name: "ops" });
});

test("a fresh signature verifies once; the same header again is a replay (401)", () => {
  const nonces = new NonceCache(30_000);
  const header = fresh();
  assert.deepEqual(live(msg(SUBJECT, body, header), nonces), { trust: "verified", account: "$G", user: signer.publicKey });
  rejected(live(msg(SUBJECT, body, header), nonces), 401, /nonce already seen .*replay/);
});

test("malformed headers are 400 and say what is wrong", () => {
  const user = signer.publicKey;
  const cases: Array<[string | string[], RegExp]> = [
    ["not json", /not valid JSON/],
    ["[1]", /not a JSON object/],
    [JSON.stringify({ v: "1", account: "$G", user }), /`v` must be a JSON number/],
    [JSON.stringify({ v: 1, user }), /`account` and `user` must be strings/],
    [JSON.stringify({ v: 1, account: "acme corp", user }), /`account`/],
    [JSON.stringify({ v: 1, account: "$G", user: user.toLowerCase() }), /`user` is not a user NKEY/],
    [JSON.stringify({ v: 1, account: "$G", user, name: "a\nb" }), /`name`/],
    [JSON.stringify({ v: 1, account: "$G", user, sub: "a..b" }), /`sub`/],
    [JSON.stringify({ v: 1, account: "$G", user, ts: "2026-08-28 12:00:00" }), /`ts`/],
    [JSON.stringify({ v: 1, account: "$G", user, nonce: "a b" }), /`nonce`/],
    [JSON.stringify({ v: 1, account: "$G", user, sig: "AAAA" }), /`sig` is not 64 bytes/],
    [JSON.stringify({ v: 1, account: "$G", user, sig: "A".repeat(86) }), /`sig` requires `sub`, `ts` and `nonce`/],
    ["x".repeat(3000), /over 2048 bytes/],
    [[fresh(), fresh()], /more than one value/],
  ];
  for (const [value, re] of cases) rejected(live(msg(SUBJECT, body, value)), 400, re);
});

test("bad signatures are 401: other payload, other subject, stale or future ts, tampered fields, wrong key", () => {
  const other = signerFromSeed(createUserSeed());
  rejected(live(msg(SUBJECT, new TextEncoder().encode('{"from":"ops","body":"HI"}'), fresh())), 401, /signature does not verify/);
  rejected(live(msg("agent.billing.inbox", body, fresh())), 401, /signed subject "agent.ops.inbox" is not the arrival subject "agent.billing.inbox"/);
  rejected(live(msg(SUBJECT, body, fresh({ ts: senderTimestamp(Date.now() - 31_000) }))), 401, /replay window 30 s/);
  rejected(live(msg(SUBJECT, body, fresh({ ts: senderTimestamp(Date.now() + 45_000) }))), 401, /replay window/);
  const h = parseSenderHeader(fresh()) as unknown as Record<string, unknown>;
  rejected(live(msg(SUBJECT, body, JSON.stringify({ ...h, account: "OTHER" }))), 401, /does not verify/);
  rejected(live(msg(SUBJECT, body, JSON.stringify({ ...h, user: other.publicKey }))), 401, /does not verify/);
  rejected(live(msg(SUBJECT, body, JSON.stringify({ ...h, nonce: "another-nonce" }))), 401, /does not verify/);
  // `name` is outside the signature by design (§13.5): changing it keeps the signature valid.
  assert.equal(live(msg(SUBJECT, body, JSON.stringify({ ...h, name: "renamed" }))).trust, "verified");
});

test("fractional-second timestamps verify (signers emit whole seconds; verifiers accept both)", () => {
  const ts = new Date().toISOString();
  assert.match(ts, /\.\d{3}Z$/);
  assert.equal(live(msg(SUBJECT, body, fresh({ ts }))).trust, "verified");
});

test("stored mode (a JetStream record delivered later) checks authorship only: no ts window, no nonce set", () => {
  const old = fresh({ ts: senderTimestamp(Date.now() - 3_600_000) });
  assert.equal(verifySender(msg(SUBJECT, body, old), { mode: "stored" }).trust, "verified");
  assert.equal(verifySender(msg(SUBJECT, body, old), { mode: "stored" }).trust, "verified", "a redelivery is the same record");
  rejected(verifySender(msg("agent.x.inbox", body, old), { mode: "stored" }), 401, /arrival subject/);
});

test("the nonce cache forgets pairs after twice the window and stays bounded", () => {
  const cache = new NonceCache(1000, 3);
  assert.ok(cache.add("U", "a", 0));
  assert.ok(!cache.add("U", "a", 1000));
  assert.ok(cache.add("U", "a", 2001), "expired after 2 × window");
  assert.ok(cache.add("V", "a", 2001), "keyed by user and nonce");
  for (const n of ["b", "c", "d"]) cache.add("U", n, 2002);
  assert.equal(cache.size, 3);
});

test("metrics: each rejected check maps to its fixed refusal kind (the reason text never becomes a label)", () => {
  const kind = (c: SenderCheck): string => (c.trust === "rejected" ? senderRefusal(c) : `not rejected: ${c.trust}`);
  const nonces = new NonceCache(30_000);
  const header = fresh();
  live(msg(SUBJECT, body, header), nonces);
  assert.equal(kind(live(msg(SUBJECT, body, header), nonces)), "replay");
  assert.equal(kind(live(msg(SUBJECT, body, "not json"))), "malformed");
  assert.equal(kind(live(msg("agent.billing.inbox", body, fresh()))), "subject_mismatch");
  assert.equal(kind(live(msg(SUBJECT, body, fresh({ ts: senderTimestamp(Date.now() - 31_000) })))), "stale");
  assert.equal(kind(live(msg(SUBJECT, new TextEncoder().encode('{"from":"ops","body":"HI"}'), fresh()))), "bad_signature");
});
