import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CliError } from "../context.ts";
import { parseReplicasFlag, replicasAdvice, replicationVerdict } from "./replication-check.ts";

describe("doctor: replicas on a cluster", () => {
  const streams = [
    { name: "OPENCLAW_INBOX", key: "inbox.replicas", replicas: 1 },
    { name: "OPENCLAW_DLQ", key: "deadLetterStream.replicas", replicas: 3 },
    { name: "openclaw-events", key: "events.replicas", replicas: 2 },
  ];

  it("clustered with streams below R3: one warning naming each of them and the keys to set", () => {
    const r = replicationVerdict(true, streams);
    assert.equal(r.status, "warn");
    assert.match(r.detail, /OPENCLAW_INBOX R1, openclaw-events R2 have fewer than 3 replicas/);
    assert.doesNotMatch(r.detail, /OPENCLAW_DLQ/);
    assert.match(r.fix ?? "", /"replicas": 3.*inbox\.replicas, events\.replicas/);
  });

  it("clustered and every stream R3 or more: ok", () => {
    assert.equal(replicationVerdict(true, streams.map((s) => ({ ...s, replicas: 3 + (s.replicas % 2) * 2 }))).status, "ok");
  });

  it("a single server: R1 is all it can hold, no warning", () => {
    const r = replicationVerdict(false, streams);
    assert.equal(r.status, "ok");
    assert.match(r.detail, /single server/);
  });

  it("no plugin stream yet: skipped", () => {
    assert.equal(replicationVerdict(true, []).status, "skip");
  });
});

describe("setup: the replicas choice", () => {
  it("a clustered server with no replicas chosen gets the offer; a chosen count or a single server does not", () => {
    assert.match(replicasAdvice("prod", undefined) ?? "", /cluster "prod".*--replicas 3/);
    assert.equal(replicasAdvice("prod", 1), undefined);
    assert.equal(replicasAdvice(undefined, undefined), undefined);
  });

  it("--replicas takes 1–5 and names anything else", () => {
    assert.equal(parseReplicasFlag("3"), 3);
    for (const bad of ["0", "6", "2.5", "three", ""]) assert.throws(() => parseReplicasFlag(bad), (e: unknown) => e instanceof CliError && /--replicas must be an integer from 1 to 5/.test(e.message));
  });
});
