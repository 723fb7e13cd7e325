import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEnvelope } from "../events/envelope.ts";
import { formatWakeText } from "../wake/route.ts";
import { carried, carriedKeys } from "./carried.ts";
import { buildBlock } from "./context.ts";
import { ftsQuery, Projection, type Visibility } from "./projection.ts";
import { runQuery, type ContextResult, type RankedHit } from "./queries-core.ts";
import { rowOf, type MemoryRow } from "./rows.ts";
import { asksWhen, namedTime, tellsTime } from "./when.ts";

const DAY = 86_400_000;
const SESSION = "agent:main:nats:direct:alice";
let n = 0;
function row(text: string, ts: number, from = "alice", session = SESSION, type = "msg.in"): MemoryRow {
  const r = rowOf(buildEnvelope({ agent: "main", session, type, payload: { from, content: text } }, `r-${String(++n).padStart(6, "0")}`, ts));
  assert.ok(r.ok);
  return r.row;
}
const open = (): Projection => Projection.open(join(mkdtempSync(join(tmpdir(), "recall-")), "memory.sqlite"));
const all: Visibility = { agents: ["main"], peer: undefined, agentWide: true };
const search = (p: Projection, query: string, now: number, exclude?: { session: string; since: number; texts: string[] }) =>
  runQuery(p, { op: "search", visibility: all, match: ftsQuery(query)!, text: query, exclude, limit: 5, now }) as RankedHit[];

test("a question is never its own hit: the running turn's message and its session's rows are left out", () => {
  const p = open();
  const now = Date.UTC(2026, 0, 10);
  p.add([row("I adopted a beagle called Rex", now - 20 * DAY), row("Rex likes the beach", now - 10 * DAY)]);
  const question = "What is the name of my beagle?";
  const qSession = "agent:main:nats:direct:q1";
  // Recorded a moment before the hook ran (the gateway records msg.in first), then a reply in the same session.
  p.add([row(question, now - 5, "alice", qSession), row("Let me look that up for you, beagle owner", now + 10, "main", qSession, "msg.out")]);
  const naive = search(p, question, now);
  assert.equal(naive[0]?.row.text, question, "without the exclusion the question matches itself best");
  const hits = search(p, question, now, { session: qSession, since: now, texts: [question] });
  assert.ok(hits.length > 0);
  assert.ok(hits.every((h) => h.row.session !== qSession), "nothing of the current session comes back");
  assert.equal(hits[0].row.text, "I adopted a beagle called Rex");
  const ctx = runQuery(p, { op: "context", agentId: "main", scope: "agent", visibility: all, types: ["msg.in", "msg.out"], since: 0, maxEvents: 100, maxChars: 2000, notesPath: undefined, prompt: question, exclude: { session: qSession, since: now, texts: [question] }, searchHint: true, now }) as ContextResult;
  assert.ok(ctx.block);
  assert.doesNotMatch(ctx.block, /name of my beagle|Let me look that up/);
  p.close();
});

test("the block never repeats what the turn carries: a wake body in its frame, a relayed prompt in an envelope", () => {
  const now = Date.UTC(2026, 0, 10);
  const body = "Disk on db-1 is at 95 percent, please check";
  const rows = [row(body, now - 1000, "ops"), row("Channel says hi there, how is the backup going?", now - 2000), row("The backup finished at 3am", now - DAY)];
  const wake = formatWakeText("urgent", "ops", body);
  const relayed = "[Telegram alice (@alice) Mon 2026-01-10 11:59] Channel says hi there, how is the backup going?";
  const block = buildBlock({ agentId: "main", scope: "peer", rows, notes: undefined, prompt: wake, carries: [relayed], maxChars: 2000, searchHint: false });
  assert.ok(block);
  assert.doesNotMatch(block, /Disk on db-1/, "the wake body is in the turn already");
  assert.doesNotMatch(block, /how is the backup going/, "the relayed message is in the turn already");
  assert.match(block, /The backup finished at 3am/);
  assert.equal(carried("at 95", carriedKeys([wake])), true);
  assert.equal(carried("percent please checkout", carriedKeys([wake])), false, "whole words only");
});

test("the block is built for the opening message: an old relevant turn is shown though 500 newer ones would fill it", () => {
  const p = open();
  const now = Date.UTC(2026, 0, 10);
  p.add([row("My passport number ends in 4471", now - 40 * DAY)]);
  p.add(Array.from({ length: 500 }, (_, i) => row(`status update ${i}: the build is green and the queue is short`, now - DAY + i * 1000)));
  const prompt = "what was my passport number again?";
  const ctx = runQuery(p, { op: "context", agentId: "main", scope: "agent", visibility: all, types: ["msg.in"], since: 0, maxEvents: 1000, maxChars: 2000, notesPath: undefined, prompt, searchHint: true, now }) as ContextResult;
  assert.ok(ctx.block && ctx.block.length <= 2000);
  assert.match(ctx.block, /about this, best match first:\n- \S+ \S+ user alice: My passport number ends in 4471/);
  assert.match(ctx.block, /Last exchange:\n.*status update 499/, "the last exchange stays for continuity");
  p.close();
});

test("speakers and neighbours: a turn by the named speaker, or the answer right after the matching question, ranks first", () => {
  const p = open();
  const t0 = Date.UTC(2023, 4, 8);
  p.add([
    row("Caroline, I research recipes all the time", t0, "Melanie"),
    row("I did some research on adoption agencies", t0 + 30_000, "Caroline"),
    row("Totally unrelated chatter about the weather", t0 + 60_000, "Caroline"),
    row("Did you ever find a new flat for the move?", t0 + DAY, "Melanie"),
    row("Yes! Near the river, two rooms.", t0 + DAY + 30_000, "Caroline"),
    row("Weather chatter again, sunny today", t0 + DAY + 60_000, "Caroline"),
  ]);
  assert.equal(search(p, "What did Caroline research?", t0 + 2 * DAY)[0].row.text, "I did some research on adoption agencies", "her own turn, though it never names her; Melanie's says Caroline");
  const flat = search(p, "Where is the new flat?", t0 + 2 * DAY).map((h) => h.row.text);
  assert.deepEqual(flat.slice(0, 2).sort(), ["Did you ever find a new flat for the move?", "Yes! Near the river, two rooms."], "the answer after the matching question comes with it");
  assert.ok(flat.indexOf("Yes! Near the river, two rooms.") < flat.indexOf("Weather chatter again, sunny today") || !flat.includes("Weather chatter again, sunny today"));
  p.close();
});

test("a date the question names prefers turns from then; a later correction still outranks what it corrects", () => {
  const p = open();
  const may = Date.UTC(2023, 5, 8, 13);
  const july = Date.UTC(2023, 6, 20, 13);
  p.add([row("We went hiking in the hills", may), row("We went hiking by the lake", july), row("my locker code is 4711", july - 40 * DAY), row("update: my locker code changed, it is 9902", july - DAY)]);
  assert.equal(search(p, "Where did we go hiking on 20 July 2023?", july + 30 * DAY)[0].row.text, "We went hiking by the lake");
  assert.equal(search(p, "Where did we go hiking in June 2023?", july + 30 * DAY)[0].row.text, "We went hiking in the hills");
  assert.match(search(p, "what is my locker code", july)[0].row.text, /9902/);
  const t = namedTime("Where did we go hiking on 20 July 2023?", july);
  assert.ok(t && t.from <= july && july < t.to && t.words.has("july"));
  assert.equal(namedTime("What about the dance studio?", july), undefined);
  p.close();
});

test("dates are read from the question as typed: a stop word can name a month, a verb does not", () => {
  const dec = Date.UTC(2023, 11, 1);
  const may = namedTime("What did Maria and her mom do together in May 2023?", dec);
  assert.ok(may, "'may' is a stop word of the FTS query, yet 'in May 2023' names a month");
  assert.equal(may.from, Date.UTC(2023, 4, 1));
  assert.equal(may.to, Date.UTC(2023, 5, 1));
  assert.ok(may.words.has("may") && may.words.has("2023"));
  assert.equal(namedTime("She may go hiking with us", dec), undefined, "the modal verb is no month");
  assert.equal(namedTime("Did they march in the parade?", dec), undefined, "a lowercase month name alone is a word");
  assert.equal(namedTime("What did she do at 5 pm?", dec), undefined, "a time of day names no date");
  // Memory is about the past: a month without a year is the latest one up to now, not the closest.
  const bare = namedTime("Which outdoor spot did Joanna visit in May?", dec);
  assert.equal(bare?.from, Date.UTC(2023, 4, 1));
  const week = namedTime("What did he do the week before August 3, 2023?", dec);
  assert.ok(week && week.from <= Date.UTC(2023, 6, 28) && Date.UTC(2023, 7, 2) < week.to, "a week phrase spans the week");
  assert.equal(namedTime("x".repeat(5000) + " in May 2023", dec), undefined, "only the start of a long text is read");
});

test("event_search reads a date named with a stop word: 'in May 2023' prefers that month's turns", () => {
  const p = open();
  const may = Date.UTC(2023, 4, 12, 13);
  const aug = Date.UTC(2023, 7, 20, 13);
  p.add([row("We baked a cake with mom, a lemon one with icing", may), row("We baked a cake with mom", aug)]);
  const q = "What did we bake in May 2023?";
  assert.equal(search(p, q, aug + 30 * DAY)[0].row.ts, may);
  // Without the typed text only the FTS words are read ("bake", "2023"): no month, the newer turn leads.
  const wordsOnly = runQuery(p, { op: "search", visibility: all, match: ftsQuery(q)!, limit: 5, now: aug + 30 * DAY }) as RankedHit[];
  assert.equal(wordsOnly[0].row.ts, aug, "this test can fail: without the typed text the month is not read");
  p.close();
});

test("a question that asks when prefers the turn that says when", () => {
  assert.ok(asksWhen("When did Caroline go biking?") && asksWhen("what year did they move?") && !asksWhen("Where do bikes go?"));
  assert.ok(tellsTime("we went biking last weekend") && tellsTime("in June 2023") && !tellsTime("bikes are fun, biking is great"));
  const p = open();
  const now = Date.UTC(2026, 0, 10);
  // The timeless turn is the better plain-word match (shorter, the word twice) and the newer one.
  p.add([row("last weekend I went biking along the coast with the gang", now - 9 * DAY), row("biking biking is the best", now - 8 * DAY)]);
  assert.equal(search(p, "When did alice go biking?", now)[0]?.row.text, "last weekend I went biking along the coast with the gang");
  assert.equal(search(p, "Does alice like biking?", now)[0]?.row.text, "biking biking is the best", "no time asked: word match decides");
});
