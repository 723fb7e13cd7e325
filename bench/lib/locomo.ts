import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEnvelope } from "../../src/events/envelope.ts";
import { dedupKey } from "../../src/memory/carried.ts";
import { ftsQuery, Projection, type Visibility } from "../../src/memory/projection.ts";
import { runQuery, type ContextResult, type RankedHit } from "../../src/memory/queries-core.ts";
import { rowOf, type MemoryRow } from "../../src/memory/rows.ts";
import { STOP_WORDS } from "../../src/memory/words.ts";
import { TYPES } from "./memory-approaches.ts";

/**
 * LoCoMo recall (Maharana et al., "Evaluating Very Long-Term Conversational Memory of LLM Agents",
 * ACL 2024) on the local dev split. Each conversation is one agent's msg.in history (speaker as `from`,
 * the session's date plus 30 s per turn) in a projection, written through the plugin's own rowOf/add.
 * Each question opens a new session: it is recorded there as msg.in first (as the gateway does before
 * the tool runs) and then asked through the plugin's own runQuery: event_search(question) with the
 * turn's exclusion, and the session-start block built for it. Baselines over the same turns in the same
 * run: plain BM25 (k1 1.2, b 0.75, the plugin's stop words, no stemming) and recency only (the newest
 * turns that fit the same block).
 */
export const LOCOMO_DIR = process.env.LOCOMO_DIR ?? "/work/shared/data/locomo";
const MAX_CHARS = 4000;
const TURN_MS = 30_000;
export const CATEGORIES: Record<number, string> = { 1: "single-hop", 2: "multi-hop", 3: "temporal", 4: "open-domain" };

interface Turn { speaker: string; dia_id: string; text: string }
interface Qa { question: string; evidence?: string[]; category: number }
type Conversation = Record<string, unknown> & { speaker_a: string; speaker_b: string; qa: Qa[] };

const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
/** "1:56 pm on 8 May, 2023" → ms (UTC). */
export function sessionTime(s: string): number {
  const m = /(\d{1,2}):(\d{2})\s*(am|pm)\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})/i.exec(s);
  if (!m) throw new Error(`LoCoMo: cannot read the session date "${s}"`);
  const h = (Number(m[1]) % 12) + (m[3].toLowerCase() === "pm" ? 12 : 0);
  const month = MONTHS.indexOf(m[5].toLowerCase());
  if (month < 0) throw new Error(`LoCoMo: unknown month in "${s}"`);
  return Date.UTC(Number(m[6]), month, Number(m[4]), h, Number(m[2]));
}

const words = (t: string): string[] => (t.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !STOP_WORDS.has(w));

/** Textbook BM25 (Robertson/Spärck Jones idf with +1), no stemming: the baseline. */
export function plainBm25(docs: readonly string[], k1 = 1.2, b = 0.75): (query: string, k: number) => number[] {
  const toks = docs.map(words);
  const avg = toks.reduce((a, t) => a + t.length, 0) / Math.max(1, toks.length);
  const df = new Map<string, number>();
  for (const t of toks) for (const w of new Set(t)) df.set(w, (df.get(w) ?? 0) + 1);
  const tf = toks.map((t) => {
    const m = new Map<string, number>();
    for (const w of t) m.set(w, (m.get(w) ?? 0) + 1);
    return m;
  });
  return (query, k) => {
    const q = [...new Set(words(query))];
    const scores = tf.map((m, i) => q.reduce((s, w) => {
      const f = m.get(w) ?? 0;
      if (f === 0) return s;
      const n = df.get(w) ?? 0;
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      return s + (idf * f * (k1 + 1)) / (f + k1 * (1 - b + (b * toks[i].length) / avg));
    }, 0));
    return scores.map((s, i) => [s, i] as const).filter(([s]) => s > 0).sort((x, y) => y[0] - x[0]).slice(0, k).map(([, i]) => i);
  };
}

export interface Ranks { conv: string; cat: number; search: number; bm25: number; recency: number; block: boolean; recencyBlock: boolean; selfHit: boolean }

function rankOf(ids: readonly string[], evidence: ReadonlySet<string>): number {
  const i = ids.findIndex((id) => evidence.has(id));
  return i + 1;
}

/** Whether a block shows one of the evidence turns (its snippet line starts with the turn's words). */
function blockHolds(block: string | undefined, texts: readonly string[]): boolean {
  if (!block) return false;
  const lines = block.split("\n").filter((l) => l.startsWith("- ")).map((l) => dedupKey(l.replace(/^- \S+ \S+ [^:]+: /, "")));
  return texts.some((t) => {
    const k = dedupKey(t).slice(0, 60);
    return k.length > 0 && lines.some((l) => l.startsWith(k.slice(0, Math.min(k.length, 60))));
  });
}

export function locomoRanks(files = readdirSync(LOCOMO_DIR).filter((f) => f.endsWith(".json")).sort()): { ranks: Ranks[]; conversations: number; turns: number; searchMicros: number[]; blockMicros: number[] } {
  const ranks: Ranks[] = [];
  const searchMicros: number[] = [];
  const blockMicros: number[] = [];
  let turnsTotal = 0;
  for (const file of files) {
    const conv = JSON.parse(readFileSync(join(LOCOMO_DIR, file), "utf8")) as Conversation;
    const agent = `locomo${file.replace(/\D/g, "")}`;
    const session = `agent:${agent}:nats:direct:${conv.speaker_a.toLowerCase()}`;
    const rows: MemoryRow[] = [];
    const diaToId = new Map<string, string>();
    const textOfDia = new Map<string, string>();
    for (let n = 1; conv[`session_${n}`]; n++) {
      const start = sessionTime(String(conv[`session_${n}_date_time`]));
      (conv[`session_${n}`] as Turn[]).forEach((t, i) => {
        const id = `${agent}-${t.dia_id}`;
        const r = rowOf(buildEnvelope({ agent, session, type: "msg.in", visibility: "public", payload: { from: t.speaker, content: t.text } }, id, start + i * TURN_MS));
        if (!r.ok) return;
        rows.push(r.row);
        diaToId.set(t.dia_id, id);
        textOfDia.set(t.dia_id, t.text);
      });
    }
    turnsTotal += rows.length;
    const dir = mkdtempSync(join(tmpdir(), "bench-locomo-"));
    const projection = Projection.open(join(dir, "memory.sqlite"));
    projection.add(rows);
    const bm25 = plainBm25(rows.map((r) => r.text));
    const newestFirst = [...rows].sort((a, b) => b.ts - a.ts);
    const now = newestFirst[0].ts + 86_400_000;
    const visibility: Visibility = { agents: [agent], peer: undefined, agentWide: true };
    const ctx = { op: "context" as const, agentId: agent, scope: "agent" as const, visibility, types: TYPES, since: 0, maxEvents: 1000, maxChars: MAX_CHARS, notesPath: undefined, searchHint: true, now };
    const recencyBlock = runQuery(projection, { ...ctx, prompt: undefined }) as ContextResult;
    conv.qa.forEach((qa, qi) => {
      if (!CATEGORIES[qa.category] || !qa.evidence?.length) return;
      const evidence = new Set(qa.evidence.map((d) => diaToId.get(d.trim())).filter((x): x is string => x !== undefined));
      if (evidence.size === 0) return;
      // The question opens its own session and is recorded there before the tool runs.
      const qSession = `agent:${agent}:nats:direct:q${qi}`;
      const qRow = rowOf(buildEnvelope({ agent, session: qSession, type: "msg.in", visibility: "public", payload: { from: "asker", content: qa.question } }, `${agent}-q${qi}`, now + qi));
      if (qRow.ok) projection.add([qRow.row]);
      const exclude = { session: qSession, since: now + qi, texts: [qa.question] };
      const match = ftsQuery(qa.question) ?? '"x"';
      let t0 = performance.now();
      const hits = runQuery(projection, { op: "search", visibility, match, text: qa.question, exclude, limit: 10, now: now + qi }) as RankedHit[];
      searchMicros.push((performance.now() - t0) * 1000);
      t0 = performance.now();
      const block = runQuery(projection, { ...ctx, prompt: qa.question, exclude, now: now + qi }) as ContextResult;
      blockMicros.push((performance.now() - t0) * 1000);
      const evTexts = [...evidence].map((id) => rows.find((r) => r.id === id)?.text ?? "");
      ranks.push({
        conv: agent,
        cat: qa.category,
        search: rankOf(hits.map((h) => h.row.id), evidence),
        bm25: rankOf(bm25(qa.question, 10).map((i) => rows[i].id), evidence),
        recency: rankOf(newestFirst.slice(0, 10).map((r) => r.id), evidence),
        block: blockHolds(block.block, evTexts),
        recencyBlock: blockHolds(recencyBlock.block, evTexts),
        selfHit: hits.some((h) => h.row.id === `${agent}-q${qi}` || h.row.text === qa.question),
      });
    });
    projection.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { ranks, conversations: files.length, turns: turnsTotal, searchMicros, blockMicros };
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
export function summarise(ranks: readonly Ranks[]) {
  const at = (k: number, f: (r: Ranks) => number) => r3(ranks.filter((r) => f(r) >= 1 && f(r) <= k).length / Math.max(1, ranks.length));
  const mrr = (f: (r: Ranks) => number) => r3(ranks.reduce((a, r) => a + (f(r) > 0 ? 1 / f(r) : 0), 0) / Math.max(1, ranks.length));
  const share = (f: (r: Ranks) => boolean) => r3(ranks.filter(f).length / Math.max(1, ranks.length));
  return {
    n: ranks.length,
    eventSearch: { recallAt5: at(5, (r) => r.search), recallAt10: at(10, (r) => r.search), mrr: mrr((r) => r.search) },
    bm25: { recallAt5: at(5, (r) => r.bm25), recallAt10: at(10, (r) => r.bm25), mrr: mrr((r) => r.bm25) },
    recency: { recallAt5: at(5, (r) => r.recency), recallAt10: at(10, (r) => r.recency), mrr: mrr((r) => r.recency) },
    block: share((r) => r.block),
    recencyBlock: share((r) => r.recencyBlock),
    selfHits: ranks.filter((r) => r.selfHit).length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const res = locomoRanks();
  const all = summarise(res.ranks);
  console.log("all", JSON.stringify(all));
  for (const c of Object.keys(CATEGORIES).map(Number)) console.log(c, JSON.stringify(summarise(res.ranks.filter((r) => r.cat === c))));
  for (const conv of [...new Set(res.ranks.map((r) => r.conv))]) {
    const rs = res.ranks.filter((r) => r.conv === conv);
    console.log(conv, rs.length, "top5 ours", rs.filter((r) => r.search >= 1 && r.search <= 5).length, "bm25", rs.filter((r) => r.bm25 >= 1 && r.bm25 <= 5).length, "block", rs.filter((r) => r.block).length);
  }
}
