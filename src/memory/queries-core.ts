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

/** How many BM25 candidates are re-ranked for recency per requested result. */
const CANDIDATES_PER_RESULT = 4;
/** A result's relevance gains up to this share when it is recent (half of it at 30 days). */
const RECENCY_WEIGHT = 0.3;
const RECENCY_HALF_LIFE_MS = 30 * 86_400_000;

/**
 * BM25 first, recency second: a later statement about the same thing (a correction) outranks the
 * earlier one when both match about as well, while a clearly better match still wins.
 */
export function rankHits(hits: readonly SearchHit[], now: number, limit: number): RankedHit[] {
  return hits
    .map((h) => {
      const relevance = Math.max(0, -h.bm25);
      const age = Math.max(0, now - h.row.ts);
      const recency = Math.pow(2, -age / RECENCY_HALF_LIFE_MS);
      return { row: h.row, snippet: h.snippet, score: relevance * (1 + RECENCY_WEIGHT * recency) };
    })
    .sort((a, b) => b.score - a.score || b.row.ts - a.row.ts)
    .slice(0, limit);
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
      return rankHits(hits, req.now, req.limit);
    }
    case "stats":
      return projection.stats();
    case "get":
      return projection.visibleRow(req.id, req.visibility) ?? null;
  }
}
