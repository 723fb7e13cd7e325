import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { EventEnvelope } from "../events/envelope.ts";
import { readEvents } from "../events/reader.ts";
import { eventFilter, eventSubject } from "../shared/subjects.ts";
import { fileEvents, NOTE_TYPE_LIST, type NoteType, type WorkspaceFile } from "./workspace.ts";
import { jsDomain } from "../connection/domain.ts";

export interface NotesLocation {
  stream: string;
  prefix: string;
  agent: string;
}

/**
 * Every note event of one agent, in stream order: three subject-filtered reads (`memory.longterm`,
 * `memory.daily`, `memory.area` of that agent), never the rest of the stream.
 */
export async function readNotes(nc: NatsConnection, at: NotesLocation, timeoutMs = 10_000): Promise<EventEnvelope[]> {
  const out: EventEnvelope[] = [];
  const subjects = NOTE_TYPE_LIST.map((t) => eventFilter(at.prefix, at.agent, t));
  for await (const e of readEvents(nc, { stream: at.stream, subjects, timeoutMs })) if (e.event) out.push(e.event);
  return out;
}

export interface ImportCounts {
  files: number;
  events: number;
  bytes: number;
}

export interface ImportSummary {
  agent: string;
  stream: string;
  dryRun: boolean;
  /** Published now (or, with dryRun, to be published). */
  added: Record<NoteType, ImportCounts>;
  /** Already in the stream (found by id, or the server's duplicate window caught it). */
  present: Record<NoteType, ImportCounts>;
}

const zero = (): Record<NoteType, ImportCounts> => Object.fromEntries(NOTE_TYPE_LIST.map((t) => [t, { files: 0, events: 0, bytes: 0 }])) as Record<NoteType, ImportCounts>;

/**
 * Publishes the files' events that are not in the stream yet. Idempotent twice over: the ids already
 * stored are looked up first (the stream's duplicate window is only minutes by default, so Nats-Msg-Id
 * alone would not stop a re-run next week), and every publish carries Nats-Msg-Id = event id, which
 * covers two runs racing within the window. `onFile` reports progress.
 */
export async function importFiles(
  nc: NatsConnection,
  at: NotesLocation,
  files: readonly WorkspaceFile[],
  opts: { dryRun: boolean; onFile?: (file: WorkspaceFile, added: number, present: number) => void; timeoutMs?: number },
): Promise<ImportSummary> {
  const existing = new Set((await readNotes(nc, at, opts.timeoutMs)).map((e) => e.id));
  const js = jetstream(nc, { ...jsDomain(nc), timeout: opts.timeoutMs ?? 10_000 });
  const summary: ImportSummary = { agent: at.agent, stream: at.stream, dryRun: opts.dryRun, added: zero(), present: zero() };
  for (const file of files) {
    let added = 0;
    let present = 0;
    for (const ev of fileEvents(at.agent, file)) {
      const data = JSON.stringify(ev);
      let dup = existing.has(ev.id);
      if (!dup && !opts.dryRun) {
        const ack = await js.publish(eventSubject(at.prefix, at.agent, ev.type), data, { msgID: ev.id, expect: { streamName: at.stream } });
        dup = ack.duplicate;
      }
      if (dup) present++;
      else added++;
      const bucket = dup ? summary.present[file.type] : summary.added[file.type];
      bucket.events++;
      bucket.bytes += Buffer.byteLength(data);
    }
    if (added > 0) summary.added[file.type].files++;
    else summary.present[file.type].files++;
    opts.onFile?.(file, added, present);
  }
  return summary;
}
