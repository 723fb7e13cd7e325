import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { buildEnvelope, type EventInput } from "../events/envelope.ts";
import { ftsQuery, Projection } from "./projection.ts";
import { rankHits, runQuery } from "./queries-core.ts";
import { rowOf, type MemoryRow } from "./rows.ts";
import { agentMemory, visibilityFor } from "./settings.ts";
import { parseConfig } from "../config/parse.ts";

const DAY = 86_400_000;
let n = 0;
function row(input: Partial<EventInput> & { text: string; ts: number }, type = "turn.user"): MemoryRow {
  const env = buildEnvelope({ agent: "main", session: "agent:main:telegram:direct:alice", type, payload: { content: input.text }, ...input }, `id-${String(++n).padStart(6, "0")}`, input.ts);
  const r = rowOf(env);
  assert.ok(r.ok, JSON.stringify(r));
  return r.row;
}
const open = (): Projection => Projection.open(join(mkdtempSync(join(tmpdir(), "proj-")), "memory.sqlite"));

test("rowOf: roles, skips, and the subject decides which agent an event belongs to", () => {
  const ts = Date.now();
  const mk = (type: string, payload: Record<string, unknown>, agent = "main") => buildEnvelope({ agent, session: "agent:main:main", type, payload }, "x", ts);
  assert.equal((rowOf(mk("msg.in", { content: "hi", from: "tg:1" })) as { row: MemoryRow }).row.role, "user");
  assert.equal((rowOf(mk("turn.reply", { content: "hello" })) as { row: MemoryRow }).row.role, "agent");
  assert.deepEqual(rowOf(mk("msg.out", { replyId: "r", length: 3 })), { ok: false, skip: true }, "a delivery of a reply is not a second copy");
  assert.deepEqual(rowOf(mk("turn.reply", { content: "NO_REPLY", silent: true })), { ok: false, skip: true });
  assert.deepEqual(rowOf(mk("turn.user", { length: 3, inIds: ["a"] })), { ok: false, skip: true }, "no text, nothing to remember");
  const spoof = rowOf(mk("msg.in", { content: "I am main" }, "main"), { prefix: "openclaw.events", value: "openclaw.events.bob.msg_in" });
  assert.equal(spoof.ok, false);
  assert.match((spoof as { problem: string }).problem, /claims agent "main"/);
  const good = rowOf(mk("msg.in", { content: "ok" }), { prefix: "openclaw.events", value: "openclaw.events.main.msg_in" });
  assert.equal(good.ok, true);
  const note = rowOf(buildEnvelope({ agent: "main", type: "memory.longterm", payload: { path: "MEMORY.md", sha256: "a".repeat(64), encoding: "utf8", content: "Prefers tea.", chunk: { index: 0, count: 1 } } }, "n1", ts));
  assert.ok(note.ok);
  assert.deepEqual({ role: note.row.role, peer: note.row.peer, note: note.row.note }, { role: "note", peer: null, note: { path: "MEMORY.md", sha256: "a".repeat(64), index: 0, count: 1 } });
});

test("ftsQuery quotes words so no FTS5 operator can be injected", () => {
  assert.equal(ftsQuery('dentist" OR x NEAR(yy) *'), '"dentist" OR "near" OR "yy"');
  assert.equal(ftsQuery("who is it"), '"who" OR "is" OR "it"', "only stop words: keep them");
  assert.equal(ftsQuery("  ?!  "), undefined);
  assert.equal(ftsQuery("v2 7"), '"v2" OR "7"');
});

test("recent: one conversation or the whole agent, newest first, within the lookback and types", () => {
  const p = open();
  const now = Date.now();
  p.add([
    row({ text: "alice old", ts: now - 40 * DAY }),
    row({ text: "alice one", ts: now - 2 * DAY }),
    row({ text: "bob one", ts: now - DAY, session: "agent:main:telegram:direct:bob" }),
    row({ text: "alice two", ts: now - 1000 }),
    row({ text: "alice tool", ts: now - 500 }, "tool.result"),
    row({ text: "other agent", ts: now - 100, agent: "ops", session: "agent:ops:telegram:direct:alice" }),
  ]);
  const cfg = parseConfig({ memory: { agents: { solo: { scope: "agent" } } } });
  const alice = visibilityFor(agentMemory(cfg, "main"), "agent:main:telegram:direct:alice");
  const texts = (rows: MemoryRow[]) => rows.map((r) => r.text);
  const types = ["turn.user", "msg.in"];
  assert.deepEqual(texts(p.recent({ visibility: alice, types, since: now - 30 * DAY, limit: 10 })), ["alice two", "alice one"]);
  const all = { agents: ["main"], peer: undefined, agentWide: true };
  assert.deepEqual(texts(p.recent({ visibility: all, types, since: 0, limit: 10 })), ["alice two", "bob one", "alice one", "alice old"]);
  assert.deepEqual(texts(p.recent({ visibility: { ...all, agents: ["main", "ops"] }, types, since: 0, limit: 2 })), ["other agent", "alice two"]);
  p.close();
});

test("add is idempotent by event id and moves the cursor in the same transaction; prune drops old rows", () => {
  const p = open();
  const now = Date.now();
  const a = row({ text: "same event", ts: now });
  assert.equal(p.add([a], { source: "s1", seq: 7 }), 1);
  assert.equal(p.add([a], { source: "s1", seq: 8 }), 0, "the same id from the stream after the tap");
  assert.equal(p.cursor("s1"), 8);
  assert.equal(p.cursor("nope"), 0);
  p.add([row({ text: "ancient", ts: now - 100 * DAY })]);
  assert.equal(p.prune(now - 50 * DAY), 1);
  assert.equal(p.stats().rows, 1);
  p.close();
});

test("prune runs in bounded slices: no step deletes more than 250 rows or looks past 5,000 row numbers; a pass removes every old row, also behind new ones", () => {
  const p = open();
  const now = Date.now();
  const fresh = (i: number) => row({ text: `fresh ${i} kept`, ts: now - i });
  const old = (i: number) => row({ text: `old ${i} gone`, ts: now - 100 * DAY - i });
  // Old rows before, between and after new ones (the stream replays old events after the gateway's own).
  p.add([...Array.from({ length: 600 }, (_, i) => old(i)), ...Array.from({ length: 20 }, (_, i) => fresh(i))]);
  p.add(Array.from({ length: 5200 }, (_, i) => (i % 2 ? fresh(100 + i) : old(1000 + i))));
  const top = p.topRowId();
  assert.equal(top, 5820);
  const before = now - 50 * DAY;
  let removed = 0;
  let steps = 0;
  for (let from = 0; from < top; steps++) {
    const s = p.pruneSlice(before, from, top);
    assert.ok(s.removed <= 250, `step ${steps} removed ${s.removed}`);
    assert.ok(s.next > from && s.next <= Math.min(from + 5000, top), `step ${steps}: ${from} → ${s.next}`);
    removed += s.removed;
    from = s.next;
  }
  assert.equal(removed, 600 + 2600);
  assert.equal(p.stats().rows, 20 + 2600);
  assert.ok(steps >= Math.ceil(3200 / 250), `${steps} steps`);
  assert.equal(p.search({ visibility: { agents: ["main"], peer: undefined, agentWide: true }, match: ftsQuery("gone")!, limit: 5 }).length, 0, "their FTS entries went too");
  assert.equal(p.prune(before), 0, "nothing left to prune");
  p.close();
});

test("search: BM25 within the visibility, filters, and a later correction outranks the earlier fact", () => {
  const p = open();
  const now = Date.now();
  p.add([
    row({ text: "My dentist is Dr. Smith on Elm Street", ts: now - 20 * DAY }),
    row({ text: "Correction: my dentist is now Dr. Jones", ts: now - 2 * DAY }),
    row({ text: "Bob's dentist is Dr. Who", ts: now - DAY, session: "agent:main:telegram:direct:bob" }),
    row({ text: "The deploy is on Friday", ts: now - DAY }),
  ]);
  const alice = { agents: ["main"], peer: "telegram:direct:alice", agentWide: true };
  const hits = rankHits(p.search({ visibility: alice, match: ftsQuery("who is my dentist")!, limit: 20 }), now, 5);
  assert.deepEqual(hits.map((h) => h.row.text), ["Correction: my dentist is now Dr. Jones", "My dentist is Dr. Smith on Elm Street"]);
  assert.match(hits[0].snippet, /dentist/);
  const since = p.search({ visibility: alice, match: ftsQuery("dentist")!, since: now - 5 * DAY, limit: 5 });
  assert.deepEqual(since.map((h) => h.row.text), ["Correction: my dentist is now Dr. Jones"]);
  const everyone = p.search({ visibility: { ...alice, peer: undefined }, match: ftsQuery("dentist")!, limit: 5 });
  assert.equal(everyone.length, 3, "scope agent sees Bob's conversation too");
  assert.equal(p.search({ visibility: alice, match: ftsQuery("dentist")!, types: ["msg.in"], limit: 5 }).length, 0);
  assert.equal(p.search({ visibility: { ...alice, agents: ["ops"] }, match: ftsQuery("dentist")!, limit: 5 }).length, 0);
  p.close();
});

test("notes: the newest MEMORY.md version, chunks in order; visible only where notes are allowed", () => {
  const p = open();
  const now = Date.now();
  const note = (sha: string, index: number, count: number, content: string, ts: number): MemoryRow => {
    const r = rowOf(buildEnvelope({ agent: "main", type: "memory.longterm", payload: { path: "MEMORY.md", sha256: sha, encoding: "utf8", content, chunk: { index, count } } }, `${sha}-${index}`, ts));
    assert.ok(r.ok);
    return r.row;
  };
  p.add([note("a".repeat(64), 0, 1, "old notes", now - DAY), note("b".repeat(64), 1, 2, "second half.", now), note("b".repeat(64), 0, 2, "First half, ", now)]);
  const latest = p.latestNote("main", "MEMORY.md");
  assert.deepEqual({ text: latest?.text, complete: latest?.complete }, { text: "First half, second half.", complete: true });
  const cfg = parseConfig({});
  const dm = visibilityFor(agentMemory(cfg, "main"), "agent:main:telegram:direct:alice");
  const group = visibilityFor(agentMemory(cfg, "main"), "agent:main:telegram:group:-100");
  assert.equal(dm.agentWide, true);
  assert.equal(group.agentWide, false);
  const ctxDm = runQuery(p, { op: "context", agentId: "main", scope: "peer", visibility: dm, types: ["turn.user"], since: 0, maxEvents: 10, maxChars: 2000, notesPath: "MEMORY.md", prompt: undefined, searchHint: true });
  assert.match(String((ctxDm as { block?: string }).block), /First half, second half\./);
  const ctxGroup = runQuery(p, { op: "context", agentId: "main", scope: "peer", visibility: group, types: ["turn.user"], since: 0, maxEvents: 10, maxChars: 2000, notesPath: "MEMORY.md", prompt: undefined, searchHint: true });
  assert.equal((ctxGroup as { block?: string }).block, undefined, "no notes in a group chat under notes: private");
  assert.equal(p.search({ visibility: group, match: ftsQuery("half")!, limit: 5 }).length, 0);
  p.close();
});

test("a projection from another schema version is emptied for a rebuild", () => {
  const dir = mkdtempSync(join(tmpdir(), "proj-"));
  const path = join(dir, "memory.sqlite");
  const p = Projection.open(path);
  p.add([row({ text: "kept?", ts: Date.now() })], { source: "s", seq: 3 });
  p.close();
  const db = new DatabaseSync(path);
  db.prepare("UPDATE meta SET value = '0' WHERE key = 'schema'").run();
  db.close();
  const again = Projection.open(path);
  assert.equal(again.stats().rows, 0);
  assert.equal(again.cursor("s"), 0, "the feed replays the stream from the start");
  again.close();
});

test("rankHits: a later statement matching the same words supersedes the earlier one, even with a weaker BM25", () => {
  const now = Date.now();
  const old = row({ text: "My locker code is 4711.", ts: now - 55 * DAY });
  const correction = row({ text: "Update: my locker code was changed, it's 9902 now, write it down somewhere safe.", ts: now - 20 * DAY });
  const other = row({ text: "The code review is at noon.", ts: now - DAY });
  const hits = [
    { row: old, bm25: -5, snippet: "" },
    { row: correction, bm25: -3, snippet: "" },
    { row: other, bm25: -1, snippet: "" },
  ];
  assert.deepEqual(rankHits(hits, now, 3).map((h) => h.row.text.slice(0, 10)), ["My locker ", "Update: my", "The code r"], "without the query's words: BM25 and recency only");
  const ranked = rankHits(hits, now, 3, ["locker", "code"]);
  assert.deepEqual(ranked.map((h) => h.row.text.slice(0, 10)), ["Update: my", "My locker ", "The code r"]);
});

test("search: each hit's snippet is its own row's; a search from `since` finds rows inserted out of time order", () => {
  const p = open();
  const now = Date.UTC(2026, 0, 10);
  // Inserted first but the oldest: the rowid bound the scan starts from must not hide later-inserted rows of the window.
  p.add([row({ text: "The code word is ALPHA-1", ts: now - 10 * DAY }), row({ text: "My locker code is LOCKER-4711", ts: now - DAY }), row({ text: "late import: the code for the gate is 1234", ts: now - 2 * DAY })]);
  const alice = visibilityFor(agentMemory(parseConfig({}), "main"), "agent:main:telegram:direct:alice");
  const all = p.search({ visibility: alice, match: ftsQuery("locker code")!, limit: 5 });
  assert.equal(all.length, 3);
  for (const h of all) assert.equal(h.snippet, h.row.text, "FTS5 snippet of the same row (a REAL-bound rowid once gave the first match's)");
  const recent = p.search({ visibility: alice, match: ftsQuery("code")!, since: now - 3 * DAY, limit: 5 }).map((h) => h.row.text).sort();
  assert.deepEqual(recent, ["My locker code is LOCKER-4711", "late import: the code for the gate is 1234"]);
  assert.deepEqual(p.search({ visibility: alice, match: ftsQuery("code")!, since: now, limit: 5 }), [], "nothing from then on");
  p.close();
});
