import { buildBlock } from "./context.ts";
import { ftsQuery, type Exclusion, type Projection, type Visibility } from "./projection.ts";
import { recall, type RankedHit, type RecallQuery } from "./recall.ts";
import type { MemoryRow } from "./rows.ts";

export { rankHits, type RankedHit } from "./recall.ts";

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
  /** What the running turn carries (its session, its prompt): never shown back to it. */
  exclude?: Exclusion;
  searchHint: boolean;
  /** For the recency tie-break of the hits about the prompt (default: the newest recorded row). */
  now?: number;
}

export interface ContextResult {
  block: string | undefined;
  /** Conversation rows the block was built from. */
  rows: number;
  notes: boolean;
}

/** Ranked search within a visibility: a recall query (recall.ts) sent to the worker; hits always carry snippets. */
export interface SearchRequest extends Omit<RecallQuery, "snippets"> {
  op: "search";
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

/** Hits about the opening message the block may show (the budget usually ends it sooner). */
const RELEVANT_ROWS = 24;

/** The block leaves out the prompt it is built for, also when the caller named no exclusion. */
function contextExclusion(req: ContextRequest): Exclusion | undefined {
  if (req.exclude) return req.prompt && !req.exclude.texts.includes(req.prompt) ? { ...req.exclude, texts: [...req.exclude.texts, req.prompt] } : req.exclude;
  return req.prompt ? { session: undefined, since: 0, texts: [req.prompt] } : undefined;
}

export function runQuery(projection: Projection, req: QueryRequest): ContextResult | RankedHit[] | ReturnType<Projection["stats"]> | MemoryRow | null {
  switch (req.op) {
    case "context": {
      const exclude = contextExclusion(req);
      const rows = projection.recent({ visibility: req.visibility, types: req.types, since: req.since, exclude, limit: req.maxEvents });
      const notes = req.notesPath && req.visibility.agentWide ? projection.latestNote(req.agentId, req.notesPath) : undefined;
      // The block is built for the message that opens the session: what the history says about it first.
      const match = req.prompt ? ftsQuery(req.prompt) : undefined;
      const relevant = match && rows.length > 0 ? recall(projection, { visibility: req.visibility, match, text: req.prompt, since: req.since, types: req.types, exclude, limit: RELEVANT_ROWS, now: req.now ?? rows[0].ts, snippets: false }).map((h) => h.row) : [];
      const block = buildBlock({ agentId: req.agentId, scope: req.scope, rows, relevant, notes, prompt: req.prompt, maxChars: req.maxChars, searchHint: req.searchHint });
      return { block, rows: rows.length, notes: notes !== undefined };
    }
    case "search":
      return recall(projection, req);
    case "stats":
      return projection.stats();
    case "get":
      return projection.visibleRow(req.id, req.visibility) ?? null;
  }
}
