import type { MemoryRow } from "./rows.ts";

// The projection's query and result shapes (shared by the projection, its reads, recall and the query worker).

/** Which rows a reader may see (memory.scope and the notes policy, already resolved for one session). */
export interface Visibility {
  /** The agent itself first, then the agent tokens it may also read. */
  agents: readonly string[];
  /** The conversation (session key without `agent:<id>:`) under scope "peer"; undefined under "agent". */
  peer: string | undefined;
  /** Agent-wide rows (notes, events without a session) are visible. */
  agentWide: boolean;
}

/**
 * What the running turn already carries, left out of every read: rows of the current session from its
 * start on (the session's own context), and rows whose words the turn's prompt contains (its own
 * message, recorded a moment before the hook ran; a wake's body inside its `[PRIORITY from x]` frame).
 */
export interface Exclusion {
  session: string | undefined;
  /** Start of the current session (ms); its rows from here on are in the model's context already. */
  since: number;
  /** The texts the turn carries (its prompt), compared as words (see `carriedBy`). */
  texts: readonly string[];
}

export interface RecentQuery {
  visibility: Visibility;
  exclude?: Exclusion;
  types: readonly string[];
  since: number;
  limit: number;
}

export interface SearchQuery {
  visibility: Visibility;
  /** An FTS5 expression (see `ftsQuery`). */
  match: string;
  since?: number;
  until?: number;
  types?: readonly string[];
  session?: string;
  exclude?: Exclusion;
  limit: number;
  /** false: no snippet per hit ("" instead), for callers that snippet only the hits they keep. */
  snippets?: boolean;
}

export interface SearchHit {
  row: MemoryRow;
  /** FTS5 bm25 (lower is better). */
  bm25: number;
  snippet: string;
}

export interface NoteFile {
  path: string;
  sha256: string;
  ts: number;
  /** The chunks present, concatenated in order; `complete` says whether all of them are. */
  text: string;
  complete: boolean;
}
