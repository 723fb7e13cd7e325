import { test } from "node:test";
import assert from "node:assert/strict";
import { AssistantText } from "./assistant-text.ts";

test("deltas stream as they come", () => {
  const t = new AssistantText();
  assert.equal(t.push({ text: "Hel", delta: "Hel", itemId: "r:0" }), "Hel");
  assert.equal(t.push({ text: "Hello", delta: "lo", itemId: "r:0" }), "lo");
  assert.equal(t.push({ delta: " you", itemId: "r:0" }), " you");
  assert.equal(t.finish("Hello you"), "");
  assert.equal(t.streamed, "Hello you");
  assert.equal(t.diverged, false);
});

test("a second assistant message (after a tool call) follows a blank line", () => {
  const t = new AssistantText();
  t.push({ text: "Let me check.", delta: "Let me check.", itemId: "r:0" });
  assert.equal(t.push({ text: "It is 4.", delta: "It is 4.", itemId: "r:1" }), "\n\nIt is 4.");
  assert.equal(t.finish("It is 4."), "", "the final reply is the last message, already streamed");
  assert.equal(t.diverged, false);
});

test("events without text, and snapshots that repeat what was sent, add nothing", () => {
  const t = new AssistantText();
  assert.equal(t.push({ phase: "final" }), "");
  assert.equal(t.push({ text: "abc" }), "abc");
  assert.equal(t.push({ text: "abc" }), "");
});

test("a rewrite of sent text stops the stream; the final reply is appended only when it extends it", () => {
  const t = new AssistantText();
  t.push({ text: "Draft one", delta: "Draft one", itemId: "r:0" });
  assert.equal(t.push({ text: "Final", delta: "", replace: true, itemId: "r:0" }), "");
  assert.equal(t.diverged, true);
  assert.equal(t.push({ text: "Final answer", delta: " answer", itemId: "r:0" }), "");
  assert.equal(t.finish("Final answer"), "");
  assert.equal(t.streamed, "Draft one");
});

test("nothing streamed: the final reply is sent whole; a longer final reply is completed", () => {
  const a = new AssistantText();
  assert.equal(a.finish("all at once"), "all at once");
  const b = new AssistantText();
  b.push({ delta: "Part" });
  assert.equal(b.finish("Part and the rest"), " and the rest");
  const c = new AssistantText();
  assert.equal(c.finish(undefined), "");
});
