import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import type { EventEnvelope } from "../events/envelope.ts";

/**
 * A workspace's file memory as events (`openclaw nats migrate`) and back (`openclaw nats export`).
 *
 * Types (the memory module reads them, src/memory/rows.ts):
 * - `MEMORY.md`            → `memory.longterm` (the long-term notes the session-start block includes)
 * - `memory/*.md`          → `memory.daily`    (daily notes)
 * - `life/areas/**` (files) → `memory.area`
 *
 * One event per chunk of at most CHUNK_BYTES (cut on UTF-8 character boundaries), payload
 * `{path, sha256, size, encoding: "utf8"|"base64", content, chunk: {index, count}}`. Files that are not
 * valid UTF-8 are carried as base64 so export writes them back byte for byte. The event id (also the
 * Nats-Msg-Id) comes from a hash of agent, path and content: importing the same file again adds nothing.
 */
export const NOTE_TYPE_OF = { longterm: "memory.longterm", daily: "memory.daily", area: "memory.area" } as const;
export type NoteType = (typeof NOTE_TYPE_OF)[keyof typeof NOTE_TYPE_OF];
export const NOTE_TYPE_LIST: readonly NoteType[] = Object.values(NOTE_TYPE_OF);
/** Room for the envelope and base64 growth inside the server's default 1 MiB max_payload. */
export const CHUNK_BYTES = 96 * 1024;
/** Files larger than this are left out (and named in the summary): notes, not archives. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface WorkspaceFile {
  /** Relative, with forward slashes: `MEMORY.md`, `memory/2026-11-01.md`, `life/areas/work/alpha.md`. */
  path: string;
  type: NoteType;
  bytes: Buffer;
  mtimeMs: number;
}

export interface NotePayload {
  path: string;
  sha256: string;
  size: number;
  encoding: "utf8" | "base64";
  content: string;
  chunk: { index: number; count: number };
}

/** Which type a relative path has, or undefined when migrate does not import it (export refuses it too). */
export function noteTypeOf(path: string): NoteType | undefined {
  if (!isSafeRelative(path)) return undefined;
  if (path === "MEMORY.md") return NOTE_TYPE_OF.longterm;
  if (/^memory\/[^/]+\.md$/.test(path)) return NOTE_TYPE_OF.daily;
  if (path.startsWith("life/areas/") && path.length > "life/areas/".length) return NOTE_TYPE_OF.area;
  return undefined;
}

/** A relative path without `..`, empty or `.` segments, backslashes or control characters. */
export function isSafeRelative(path: string): boolean {
  if (path.length === 0 || path.length > 1024 || path.startsWith("/") || /[\\\u0000-\u001f]/.test(path)) return false;
  return path.split("/").every((s) => s.length > 0 && s !== "." && s !== "..");
}

export interface ScanResult {
  files: WorkspaceFile[];
  /** What was found but not imported, and why (symlinks, too large). */
  skipped: Array<{ path: string; reason: string }>;
}

/** The importable files of a workspace, in a stable order. Symbolic links are skipped (they may point anywhere). */
export function scanWorkspace(dir: string): ScanResult {
  const files: WorkspaceFile[] = [];
  const skipped: ScanResult["skipped"] = [];
  const consider = (rel: string): void => {
    const abs = join(dir, ...rel.split("/"));
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return void skipped.push({ path: rel, reason: "symbolic link" });
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (rel.startsWith("life/areas")) consider(`${rel}/${name}`);
      return;
    }
    if (!st.isFile()) return;
    const type = noteTypeOf(rel);
    if (!type) return;
    if (st.size > MAX_FILE_BYTES) return void skipped.push({ path: rel, reason: `${st.size} bytes, over ${MAX_FILE_BYTES}` });
    files.push({ path: rel, type, bytes: readFileSync(abs), mtimeMs: Math.floor(st.mtimeMs) });
  };
  consider("MEMORY.md");
  let daily: string[] = [];
  try {
    daily = readdirSync(join(dir, "memory")).filter((n) => n.endsWith(".md")).sort();
  } catch {
    // no memory/ folder
  }
  for (const name of daily) consider(`memory/${name}`);
  consider("life/areas");
  return { files, skipped };
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Byte ranges of at most `size` bytes that never split a UTF-8 character (for valid UTF-8 input). */
function chunkRanges(bytes: Buffer, size: number, utf8: boolean): Array<[number, number]> {
  if (bytes.length === 0) return [[0, 0]];
  const out: Array<[number, number]> = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + size, bytes.length);
    // Back off continuation bytes (10xxxxxx) so each chunk decodes on its own.
    if (utf8) while (end < bytes.length && end > start + 1 && (bytes[end] & 0xc0) === 0x80) end--;
    out.push([start, end]);
    start = end;
  }
  return out;
}

/** The events for one file: deterministic ids, ts = the file's modification time. */
export function fileEvents(agent: string, file: WorkspaceFile, chunkBytes = CHUNK_BYTES): EventEnvelope[] {
  const fileSha = sha256(file.bytes);
  const utf8 = isUtf8(file.bytes);
  const ranges = chunkRanges(file.bytes, chunkBytes, utf8);
  const key = sha256(`${agent}\u0000${file.path}\u0000${fileSha}`).slice(0, 32);
  return ranges.map(([a, b], index): EventEnvelope => {
    const slice = file.bytes.subarray(a, b);
    const payload: NotePayload = {
      path: file.path,
      sha256: fileSha,
      size: file.bytes.length,
      encoding: utf8 ? "utf8" : "base64",
      content: utf8 ? slice.toString("utf8") : slice.toString("base64"),
      chunk: { index, count: ranges.length },
    };
    return { id: `note-${key}-${index}`, ts: file.mtimeMs, agent, session: null, type: file.type, visibility: "internal", payload: payload as unknown as Record<string, unknown>, meta: {} };
  });
}

function notePayload(p: Record<string, unknown>): NotePayload | undefined {
  const chunk = p.chunk as { index?: unknown; count?: unknown } | undefined;
  if (typeof p.path !== "string" || typeof p.sha256 !== "string" || typeof p.content !== "string" || (p.encoding !== "utf8" && p.encoding !== "base64")) return undefined;
  if (typeof chunk !== "object" || chunk === null || !Number.isInteger(chunk.index) || !Number.isInteger(chunk.count)) return undefined;
  return { path: p.path, sha256: p.sha256, size: Number(p.size), encoding: p.encoding, content: p.content, chunk: { index: Number(chunk.index), count: Number(chunk.count) } };
}

export interface RestoredFile {
  path: string;
  bytes: Buffer;
  mtimeMs: number;
  sha256: string;
}

export interface RestoreResult {
  files: RestoredFile[];
  /** Versions that could not be rebuilt (missing chunks, hash mismatch, unsafe path), with the reason. */
  problems: string[];
}

/**
 * Files back from note events (in stream order): per path the newest complete version (by ts, then by
 * stream order, as memory picks MEMORY.md), checked against its sha256.
 */
export function restoreFiles(events: readonly EventEnvelope[]): RestoreResult {
  const versions = new Map<string, { path: string; sha: string; ts: number; order: number; count: number; encoding: string; chunks: Map<number, string> }>();
  const problems: string[] = [];
  events.forEach((e, order) => {
    const p = notePayload(e.payload);
    if (!p) return void problems.push(`event ${e.id}: not a note chunk`);
    if (noteTypeOf(p.path) !== e.type) return void problems.push(`event ${e.id}: path "${p.path}" is not a ${e.type} path; not written`);
    const key = `${p.path}\u0000${p.sha256}`;
    let v = versions.get(key);
    if (!v) {
      v = { path: p.path, sha: p.sha256, ts: e.ts, order, count: p.chunk.count, encoding: p.encoding, chunks: new Map() };
      versions.set(key, v);
    }
    v.ts = Math.max(v.ts, e.ts);
    v.order = Math.max(v.order, order);
    v.chunks.set(p.chunk.index, p.content);
  });
  const newest = new Map<string, RestoredFile>();
  const rank = new Map<string, [number, number]>();
  for (const v of versions.values()) {
    if (v.chunks.size !== v.count) {
      problems.push(`${v.path} (sha256 ${v.sha.slice(0, 12)}…): ${v.chunks.size} of ${v.count} chunks in the stream`);
      continue;
    }
    const parts: Buffer[] = [];
    for (let i = 0; i < v.count; i++) parts.push(Buffer.from(v.chunks.get(i) ?? "", v.encoding === "base64" ? "base64" : "utf8"));
    const bytes = Buffer.concat(parts);
    if (sha256(bytes) !== v.sha) {
      problems.push(`${v.path}: content does not match its sha256 ${v.sha.slice(0, 12)}…`);
      continue;
    }
    const r = rank.get(v.path);
    if (r && (r[0] > v.ts || (r[0] === v.ts && r[1] > v.order))) continue;
    rank.set(v.path, [v.ts, v.order]);
    newest.set(v.path, { path: v.path, bytes, mtimeMs: v.ts, sha256: v.sha });
  }
  return { files: [...newest.values()].sort((a, b) => a.path.localeCompare(b.path)), problems };
}

/** `life/areas/x` → the OS path under `dir` (the path was checked by noteTypeOf). */
export function workspacePath(dir: string, rel: string): string {
  return join(dir, ...rel.split(posix.sep));
}
