import { buildBlock } from "./context.ts";
import { type Projection, type SearchHit, type Visibility } from "./projection.ts";
import type { MemoryRow } from "./rows.ts";

/** Build the session-start block for one session. */
export interface ContextRequest {
  op: "context";
  agentId: string;
  scope: "peer" | "agent";
  visibility: Visibility;
  types: string[];
  since: number;
  maxEvents: number;
  maxChars: number;
  /** The note file to include (MEMORY.md) when the notes policy allows it. */
  notesPath: string | undefined;
  prompt: string | undefined;
  searchHint: boolean;
}

export interface ContextResult {
  block: string | undefined;
  /** Conversation rows the block was built from. */
  rows: number;
  notes: boolean;
}

/** Ranked search within a visibility. */
export interface SearchRequest {
  op: "search";
  visibility: Visibility;
  match: string;
  since?: number;
  until?: number;
  types?: string[];
  session?: string;
  limit: number;
  /** For the recency tie-break. */
  now: number;
}

export interface RankedHit {
  row: MemoryRow;
  score: number;
  snippet: string;
}

export interface StatsRequest {
  op: "stats";
}

/** One event by id, within a visibility (memory_get through the corpus supplement). */
export interface GetRequest {
  op: "get";
  visibility: Visibility;
  id: string;
}

export type QueryRequest = ContextRequest | SearchRequest | StatsRequest | GetRequest;

/** How many BM25 candidates are re-ranked per requested result. */
const CANDIDATES_PER_RESULT = 4;
/** A result's relevance gains up to this share when it is recent (half of it at 30 days). */
const RECENCY_WEIGHT = 0.3;
const RECENCY_HALF_LIFE_MS = 30 * 86_400_000;

/** The query's words that a text contains (a word matches a token starting with its first letters, like the stemmer would). */
function matchedTerms(text: string, terms: readonly string[]): string {
  const tokens = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return terms.filter((t) => tokens.some((tok) => tok.startsWith(t.length > 5 ? t.slice(0, t.length - 2) : t))).join(" ");
}

/**
 * BM25 first, recency second, and a later statement supersedes an earlier one: hits that match the
 * same query words are about the same thing, so the newest of them takes the best place any of them
 * earned ("my locker code is 4711" … later "my locker code changed, it's 9902"). Otherwise a clearly
 * better match still wins over a newer one.
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
    for (const h of scored) if (h.key) groups.set(h.key, [...(groups.get(h.key) ?? []), h]);
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

/** The words of an FTS expression made by ftsQuery (`"a" OR "b"`). */
function termsOf(match: string): string[] {
  return [...match.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

export function runQuery(projection: Projection, req: QueryRequest): ContextResult | RankedHit[] | ReturnType<Projection["stats"]> | MemoryRow | null {
  switch (req.op) {
    case "context": {
      const rows = projection.recent({ visibility: req.visibility, types: req.types, since: req.since, limit: req.maxEvents });
      const notes = req.notesPath && req.visibility.agentWide ? projection.latestNote(req.agentId, req.notesPath) : undefined;
      const block = buildBlock({ agentId: req.agentId, scope: req.scope, rows, notes, prompt: req.prompt, maxChars: req.maxChars, searchHint: req.searchHint });
      return { block, rows: rows.length, notes: notes !== undefined };
    }
    case "search": {
      const hits = projection.search({ ...req, limit: req.limit * CANDIDATES_PER_RESULT });
      return rankHits(hits, req.now, req.limit, termsOf(req.match));
    }
    case "stats":
      return projection.stats();
    case "get":
      return projection.visibleRow(req.id, req.visibility) ?? null;
  }
}
