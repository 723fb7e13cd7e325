import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { subjectMatches, subjectsOverlap } from "../shared/subjects.ts";
import { SubjectFilter } from "./subject-filter.ts";

describe("subjectMatches", () => {
  it("matches literal subjects exactly", () => {
    assert.equal(subjectMatches("openclaw.events.main.msg_in", "openclaw.events.main.msg_in"), true);
    assert.equal(subjectMatches("openclaw.events.main.msg_in", "openclaw.events.main.msg_out"), false);
    assert.equal(subjectMatches("openclaw.events.main", "openclaw.events.main.msg_in"), false);
  });

  it("treats * as exactly one token", () => {
    assert.equal(subjectMatches("openclaw.events.*.msg_in", "openclaw.events.main.msg_in"), true);
    assert.equal(subjectMatches("openclaw.events.*.msg_in", "openclaw.events.system.msg_in"), true);
    assert.equal(subjectMatches("openclaw.events.*.msg_in", "openclaw.events.main.msg_out"), false);
    assert.equal(subjectMatches("openclaw.events.*", "openclaw.events.main.msg_in"), false);
  });

  it("treats > as one or more trailing tokens", () => {
    assert.equal(subjectMatches("openclaw.events.main.>", "openclaw.events.main.msg_in"), true);
    assert.equal(subjectMatches("openclaw.events.>", "openclaw.events.main.msg_in"), true);
    assert.equal(subjectMatches("openclaw.events.main.>", "openclaw.events.main"), false);
    assert.equal(subjectMatches("openclaw.events.main.>", "openclaw.events.other.msg_in"), false);
    assert.equal(subjectMatches(">", "a"), true);
  });
});

describe("subjectsOverlap", () => {
  it("detects patterns that share a subject", () => {
    assert.equal(subjectsOverlap("openclaw.events.>", "openclaw.events.main.>"), true);
    assert.equal(subjectsOverlap("openclaw.events.>", "openclaw.agents.>"), false);
    assert.equal(subjectsOverlap("a.*.c", "a.b.*"), true);
    assert.equal(subjectsOverlap("a.b", "a.b.>"), false);
    assert.equal(subjectsOverlap("a.>", "a"), false);
    assert.equal(subjectsOverlap("a.b.c", "a.b.c"), true);
  });
});

describe("SubjectFilter", () => {
  const s = (agent: string, type: string): string => `openclaw.events.${agent}.${type}`;

  it("passes everything when both lists are empty", () => {
    const f = new SubjectFilter();
    assert.equal(f.isOpen, true);
    assert.equal(f.passes(s("main", "msg_in")), true);
  });

  it("with an allow list, passes only matching subjects", () => {
    const f = new SubjectFilter(["openclaw.events.*.msg_in", "openclaw.events.ops.>"]);
    assert.equal(f.passes(s("main", "msg_in")), true);
    assert.equal(f.passes(s("ops", "llm_output")), true);
    assert.equal(f.passes(s("main", "llm_output")), false);
  });

  it("block wins over allow", () => {
    const f = new SubjectFilter(["openclaw.events.main.>"], ["openclaw.events.*.llm_output"]);
    assert.equal(f.passes(s("main", "msg_in")), true);
    assert.equal(f.passes(s("main", "llm_output")), false);
  });

  it("block alone drops only what it matches, and the cached verdict stays right", () => {
    const f = new SubjectFilter([], ["openclaw.events.secret.>"]);
    for (let i = 0; i < 3; i++) {
      assert.equal(f.passes(s("secret", "msg_in")), false);
      assert.equal(f.passes(s("main", "msg_in")), true);
    }
  });
});
