import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import { NatsServer } from "../../test/harness/nats-server.ts";
import { rowOf } from "../memory/rows.ts";
import { MemoryService } from "../memory/service.ts";
import { parseConfig } from "../config/parse.ts";
import { memoryLogger, tempDir, testLink, waitFor } from "../../test/reliability/helpers.ts";
import { importFiles, readNotes } from "./stream.ts";
import { CHUNK_BYTES, restoreFiles, scanWorkspace } from "./workspace.ts";

const STREAM = "migrate-test";
const PREFIX = "mg.events";
const at = { stream: STREAM, prefix: PREFIX, agent: "main" };

/** Every file under dir (relative path → bytes). */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p).split("\\").join("/"), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** A workspace with the shapes that break naive round trips. */
function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), "migrate-ws-"));
  mkdirSync(join(dir, "memory"));
  mkdirSync(join(dir, "life/areas/work/projects"), { recursive: true });
  mkdirSync(join(dir, "life/areas/home"), { recursive: true });
  writeFileSync(join(dir, "MEMORY.md"), "# Long-term\n\nAlice prefers tea. Grüße aus Köln — 日本語のメモ 🎉\r\nCRLF line kept.\n");
  writeFileSync(join(dir, "memory/2026-11-01.md"), "- met Bob about the ⚙️ rollout\n");
  writeFileSync(join(dir, "memory/2026-11-02.md"), "");
  writeFileSync(join(dir, "memory/notes.txt"), "not a daily note (not .md): not imported\n");
  writeFileSync(join(dir, "life/areas/work/projects/alpha.md"), "Project α: launch on the 3rd.\n");
  // Larger than one chunk, with 3-byte characters straddling every chunk boundary.
  writeFileSync(join(dir, "life/areas/work/big.md"), "ab€".repeat(Math.ceil((CHUNK_BYTES * 2.5) / 5)));
  // Not UTF-8 at all: carried as base64.
  writeFileSync(join(dir, "life/areas/home/scan.bin"), Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a]));
  writeFileSync(join(dir, "other.md"), "outside the migrated places\n");
  return dir;
}

describe("migrate / export: a workspace's memory files into the agent's stream and back (real nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let ws: string;

  before(async () => {
    server = await NatsServer.start();
    nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    // A 1 s duplicate window: the re-run below comes after it, so only the id lookup can keep it idempotent.
    await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`], duplicate_window: nanos(1000), allow_direct: true });
    ws = fixture();
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("imports MEMORY.md, daily notes and life/areas as typed events; counts per type; only the migrated places", async () => {
    const scan = scanWorkspace(ws);
    assert.deepEqual(
      scan.files.map((f) => [f.path, f.type]),
      [
        ["MEMORY.md", "memory.longterm"],
        ["memory/2026-11-01.md", "memory.daily"],
        ["memory/2026-11-02.md", "memory.daily"],
        ["life/areas/home/scan.bin", "memory.area"],
        ["life/areas/work/big.md", "memory.area"],
        ["life/areas/work/projects/alpha.md", "memory.area"],
      ],
    );
    const progress: string[] = [];
    const dry = await importFiles(nc, at, scan.files, { dryRun: true });
    assert.equal(dry.added["memory.area"].events, 1 + 3 + 1, "big.md is three chunks");
    assert.equal((await readNotes(nc, at)).length, 0, "dry run publishes nothing");

    const first = await importFiles(nc, at, scan.files, { dryRun: false, onFile: (f, added) => progress.push(`${f.path}:${added}`) });
    assert.deepEqual(first.added["memory.longterm"], { files: 1, events: 1, bytes: first.added["memory.longterm"].bytes });
    assert.equal(first.added["memory.daily"].files, 2);
    assert.equal(first.added["memory.area"].files, 3);
    assert.equal(first.added["memory.area"].events, 5);
    assert.deepEqual(progress, ["MEMORY.md:1", "memory/2026-11-01.md:1", "memory/2026-11-02.md:1", "life/areas/home/scan.bin:1", "life/areas/work/big.md:3", "life/areas/work/projects/alpha.md:1"]);

    const stored = await readNotes(nc, at);
    assert.equal(stored.length, 8);
    const memory = stored.find((e) => e.type === "memory.longterm");
    assert.equal(memory?.payload.encoding, "utf8");
    assert.match(String(memory?.payload.content), /Grüße aus Köln — 日本語のメモ 🎉\r\n/);
    // The memory module reads these as notes (MEMORY.md is the block's long-term notes).
    const row = memory && rowOf(memory, { prefix: PREFIX, value: `${PREFIX}.main.memory_longterm` });
    assert.equal(row?.ok && row.row.role, "note");
    assert.equal(stored.find((e) => String(e.payload.path).endsWith("scan.bin"))?.payload.encoding, "base64");
  });

  it("a re-run after the duplicate window adds nothing (ids looked up in the agent's note subjects)", async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const again = await importFiles(nc, at, scanWorkspace(ws).files, { dryRun: false });
    for (const t of ["memory.longterm", "memory.daily", "memory.area"] as const) assert.equal(again.added[t].events, 0, t);
    assert.equal(again.present["memory.area"].events, 5);
    assert.equal((await readNotes(nc, at)).length, 8);
  });

  it("export writes every file back byte for byte; a changed file is a new version and the newest wins", async () => {
    const restored = restoreFiles(await readNotes(nc, at));
    assert.deepEqual(restored.problems, []);
    const out = mkdtempSync(join(tmpdir(), "migrate-out-"));
    for (const f of restored.files) {
      mkdirSync(join(out, f.path, ".."), { recursive: true });
      writeFileSync(join(out, f.path), f.bytes);
    }
    const want = tree(ws);
    want.delete("memory/notes.txt");
    want.delete("other.md");
    assert.deepEqual(tree(out), want);

    writeFileSync(join(ws, "MEMORY.md"), "Alice now prefers coffee.\n");
    const later = await importFiles(nc, at, scanWorkspace(ws).files, { dryRun: false });
    assert.equal(later.added["memory.longterm"].events, 1);
    assert.equal(later.added["memory.area"].events, 0);
    const again = restoreFiles(await readNotes(nc, at));
    assert.equal(again.files.find((f) => f.path === "MEMORY.md")?.bytes.toString(), "Alice now prefers coffee.\n");
  });

  it("export refuses what it should not write: unsafe paths and incomplete or altered versions", () => {
    const base = { ts: 1, agent: "main", session: null, visibility: "internal" as const, meta: {} };
    const res = restoreFiles([
      { ...base, id: "x1", type: "memory.area", payload: { path: "life/areas/../../etc/passwd", sha256: "0", size: 1, encoding: "utf8", content: "x", chunk: { index: 0, count: 1 } } },
      { ...base, id: "x2", type: "memory.daily", payload: { path: "memory/a.md", sha256: "0".repeat(64), size: 1, encoding: "utf8", content: "x", chunk: { index: 0, count: 1 } } },
      { ...base, id: "x3", type: "memory.daily", payload: { path: "memory/b.md", sha256: "0".repeat(64), size: 1, encoding: "utf8", content: "x", chunk: { index: 0, count: 2 } } },
    ]);
    assert.deepEqual(res.files, []);
    assert.match(res.problems[0], /is not a memory\.area path; not written/);
    assert.match(res.problems[1], /memory\/a\.md: content does not match its sha256/);
    assert.match(res.problems[2], /memory\/b\.md .*1 of 2 chunks/);
  });

  it("memory reads the imported notes from the stream: the newest MEMORY.md is in a session-start block, daily notes are searchable", async () => {
    const cfg = parseConfig({ url: server.url, events: { streamName: STREAM, subjectPrefix: PREFIX } });
    const log = memoryLogger();
    const link = testLink(server.url, log);
    void link.start();
    const memory = new MemoryService({ cfg, stateDir: tempDir("migrate-mem-"), events: undefined, link, logger: log });
    memory.start();
    try {
      const block = async () => (await memory.context({ agentId: "main", sessionKey: "agent:main:main", prompt: "hi" })) ?? "";
      await waitFor("the notes in the block", async () => (await block()).includes("Alice now prefers coffee."), 20_000);
      assert.match(await block(), /Long-term notes \(MEMORY\.md/);
      assert.ok(!(await block()).includes("Alice prefers tea"), "only the newest version");
      const hits = await memory.search({ agentId: "main", sessionKey: "agent:main:main", match: '"plumber" OR "rollout"', limit: 5 });
      assert.ok(hits.some((h) => h.row.type === "memory.daily" && h.row.text.includes("rollout")), JSON.stringify(hits.map((h) => h.row.text)));
    } finally {
      await memory.stop();
      await link.stop();
    }
  });
});
