import { notCarried } from "./carried.ts";
import { speakerTokens, type Projection, type SearchHit, type SearchQuery } from "./projection.ts";
import type { MemoryRow } from "./rows.ts";
import { asksWhen, namedTime, tellsTime } from "./when.ts";

/**
 * Recall: the ranking behind event_search and the session-start block. Lexical only (FTS5 BM25 with
 * the Porter stemmer) plus what a conversation's structure says about relevance:
 * - speakers: a question that names a speaker ("what did Caroline research?") is about that speaker's
 *   turns, whose text rarely contains their own name (the other side's turns do: "Hey Caroline!").
 *   The name leaves the word match and becomes a preference for that speaker's rows;
 * - neighbours: the answer is often the turn after the one that uses the question's words ("did you
 *   find anything?" … "yes, adoption agencies"), so a strong hit lends part of its score to the turns
 *   beside it, and a turn whose neighbours match is worth more than an isolated one;
 * - time: a question that asks when prefers turns that say when (`asksWhen`, `tellsTime`);
 * - later facts win (see `rankHits`).
 * Every knob here is generic (no word lists about any data set).
 */

/** A search (the projection's FTS query) plus what re-ranking reads: the query as typed and the clock. */
export interface RecallQuery extends SearchQuery {
  /** The query as typed (what `match` was made from): read for a date it names. Without it, `match`'s words are. */
  text?: string;
  now: number;
}

export interface RankedHit {
  row: MemoryRow;
  score: number;
  snippet: string;
}

/** BM25 candidates fetched, at least, before re-ranking (a neighbour or a speaker match can lift a weaker one). */
const MIN_POOL = 100;
const CANDIDATES_PER_RESULT = 4;
/**
 * Hits whose neighbours are looked at (two index probes each): about as many as results are asked for,
 * at least MIN_EXPAND. Weaker hits' neighbours are mostly noise that crowds the top (on the LoCoMo dev
 * split, 8–16 beat 24 for a 10-result search; the block, asking for 24, keeps 24).
 */
const MIN_EXPAND = 12;
/** Share of a neighbour's relevance a turn gets. */
const NEIGHBOUR_WEIGHT = 0.6;
/** Extra weight of a row by a speaker the query names. */
const SPEAKER_BOOST = 1;
/** Extra weight of a row from the time the query names. */
/**
 * Extra weight of a row that says when (a time word: "yesterday", "last week", "in June"), for a
 * question that asks when: "when did she go biking?" is answered by "last weekend we went biking", not
 * by another turn about bikes. Chosen leave-one-conversation-out on the LoCoMo dev split (0.25–1.5 all
 * help each held-out conversation or leave it equal; 1 was picked on every 4-conversation fold but one).
 */
const WHEN_BOOST = 1;
const DATE_BOOST = 0.8;
/** A result's relevance gains up to this share when it is recent (half of it at 30 days). */
const RECENCY_WEIGHT = 0.1;
const RECENCY_HALF_LIFE_MS = 30 * 86_400_000;

/** The words of an FTS expression made by ftsQuery (`"a" OR "b"`). */
export function termsOf(match: string): string[] {
  return [...match.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

/** The query's words that a text contains (a word matches a token starting with its first letters, like the stemmer would). */
function matchedTerms(text: string, terms: readonly string[]): string {
  const tokens = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return terms.filter((t) => tokens.some((tok) => tok.startsWith(t.length > 5 ? t.slice(0, t.length - 2) : t))).join(" ");
}

/**
 * Relevance first, recency second, and a later statement supersedes an earlier one: hits that match the
 * same query words (all of them) are about the same thing, so the newest of them takes the best place
 * any of them earned ("my locker code is 4711" … later "my locker code changed, it's 9902"). Otherwise
 * a clearly better match still wins over a newer one. `bm25` is FTS5's (lower is better).
 */
export function rankHits(hits: readonly SearchHit[], now: number, limit: number, terms: readonly string[] = []): RankedHit[] {
  const scored = hits.map((h) => {
    const relevance = Math.max(0, -h.bm25);
    const age = Math.max(0, now - h.row.ts);
    const recency = Math.pow(2, -age / RECENCY_HALF_LIFE_MS);
    return { row: h.row, snippet: h.snippet, score: relevance * (1 + RECENCY_WEIGHT * recency), key: terms.length > 0 ? matchedTerms(h.row.text, terms) : "" };
  });
  if (terms.length > 0) {
    const groups = new Map<string, typeof scored>();
    // Only hits with every query word are "the same thing": two turns that share one of several words
    // are not a statement and its correction.
    const all = terms.join(" ");
    for (const h of scored) if (h.key === all) groups.set(h.key, [...(groups.get(h.key) ?? []), h]);
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      const scores = group.map((h) => h.score).sort((a, b) => b - a);
      group.sort((a, b) => b.row.ts - a.row.ts).forEach((h, i) => (h.score = scores[i]));
    }
  }
  return scored
    .sort((a, b) => b.score - a.score || b.row.ts - a.row.ts)
    .slice(0, limit)
    .map(({ row, snippet, score }) => ({ row, snippet, score }));
}

function passes(row: MemoryRow, q: RecallQuery): boolean {
  if (q.since !== undefined && row.ts < q.since) return false;
  if (q.until !== undefined && row.ts > q.until) return false;
  if (q.types && q.types.length > 0 && !q.types.includes(row.type)) return false;
  if (q.session !== undefined && row.session !== q.session) return false;
  return true;
}

function snippetOf(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 240 ? `${flat.slice(0, 239)}…` : flat;
}

export function recall(projection: Projection, q: RecallQuery): RankedHit[] {
  const terms = termsOf(q.match);
  const named = projection.speakerWords(q.visibility.agents, terms);
  const when = namedTime(q.text ?? terms.join(" "), q.now);
  const content = terms.filter((t) => !named.has(t) && !when?.words.has(t));
  const match = content.length > 0 && content.length < terms.length ? content.map((t) => `"${t}"`).join(" OR ") : q.match;
  const keep = notCarried(q.exclude);
  const pool = Math.max(MIN_POOL, q.limit * CANDIDATES_PER_RESULT);
  // No snippets for the pool: only the hits kept get one (below), each a small FTS5 lookup.
  const hits = projection.search({ visibility: q.visibility, match, since: q.since, until: q.until, types: q.types, session: q.session, exclude: q.exclude, limit: pool, snippets: false }).filter((h) => keep(h.row));
  if (hits.length === 0) return [];

  const top = Math.max(...hits.map((h) => -h.bm25), 1e-9);
  const askWhen = q.text !== undefined && asksWhen(q.text);
  const bySpeaker = (row: MemoryRow): number =>
    (askWhen && tellsTime(row.text) ? 1 + WHEN_BOOST : 1) * (named.size > 0 && speakerTokens(row.speaker).some((t) => named.has(t)) ? 1 + SPEAKER_BOOST : 1) * (when && row.ts >= when.from && row.ts < when.to ? 1 + DATE_BOOST : 1);
  type Cand = { row: MemoryRow; snippet: string; rel: number; lent: number };
  const cands = new Map<string, Cand>();
  for (const h of hits) cands.set(h.row.id, { row: h.row, snippet: "", rel: (Math.max(0, -h.bm25) / top) * bySpeaker(h.row), lent: 0 });

  // Neighbours of the strongest hits: each side lends the other part of its relevance.
  const lentTo = new Set<string>();
  const strongest = [...cands.values()].sort((a, b) => b.rel - a.rel).slice(0, Math.max(MIN_EXPAND, q.limit));
  for (const c of strongest) {
    for (const n of projection.neighbours(c.row, q.exclude)) {
      if (!passes(n, q) || !keep(n) || !q.visibility.agents.includes(n.agent)) continue;
      let other = cands.get(n.id);
      if (!other) {
        other = { row: n, snippet: snippetOf(n.text), rel: 0, lent: 0 };
        cands.set(n.id, other);
      }
      other.lent = Math.max(other.lent, c.rel * (bySpeaker(n) > 1 || named.size === 0 ? 1 : 0.6));
      c.lent = Math.max(c.lent, other.rel);
    }
  }
  const scored: SearchHit[] = [...cands.values()].map((c) => ({ row: c.row, snippet: c.snippet, bm25: -(c.rel + NEIGHBOUR_WEIGHT * c.lent) }));
  // A query that names a time asks about then, and one that asks when asks for the turn that dated it:
  // what came later does not supersede either.
  const ranked = rankHits(scored, q.now, q.limit, when || askWhen ? [] : content.length > 0 ? content : terms);
  if (q.snippets === false) return ranked;
  // A hit the match found gets FTS5's snippet around the matching words; a neighbour keeps its text's start.
  return ranked.map((h) => (h.snippet === "" ? { ...h, snippet: projection.snippet(h.row.agent, match, h.row.id) || snippetOf(h.row.text) } : h));
}
