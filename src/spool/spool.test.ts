import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Spool } from "./spool.ts";
import { peekSpool } from "./peek.ts";

function tempPath(): string {
  return join(mkdtempSync(join(tmpdir(), "spool-test-")), "sub", "spool.sqlite");
}

function fill(spool: Spool, lane: string, n: number, size = 10): void {
  for (let i = 0; i < n; i++) spool.append(lane, `id-${lane}-${String(i).padStart(6, "0")}`, `s.${lane}`, "x".repeat(size), size);
}

describe("Spool", () => {
  it("appends and reads back in order, per lane", () => {
    const spool = Spool.open({ path: tempPath(), maxBytes: 1 << 20 });
    fill(spool, "a", 5);
    fill(spool, "b", 3);
    assert.equal(spool.depth(), 8);
    assert.equal(spool.depth("a"), 5);
    assert.equal(spool.bytes("b"), 30);
    const rows = spool.read("a", 0, 10);
    assert.deepEqual(rows.map((r) => r.seq), [1, 2, 3, 4, 5]);
    assert.equal(rows[0].id, "id-a-000000");
    assert.equal(rows[0].subject, "s.a");
    assert.deepEqual(spool.read("a", 3, 10).map((r) => r.seq), [4, 5]);
    assert.deepEqual(spool.read("a", 0, 2).map((r) => r.seq), [1, 2]);
    assert.deepEqual(spool.read("nope", 0, 2), []);
    spool.close();
  });

  it("removes through a seq and keeps its counters exact", () => {
    const spool = Spool.open({ path: tempPath(), maxBytes: 1 << 20 });
    fill(spool, "a", 10);
    assert.deepEqual(spool.removeThrough("a", 4), { rows: 4, bytes: 40 });
    assert.deepEqual(spool.removeThrough("a", 4), { rows: 0, bytes: 0 });
    assert.deepEqual(spool.removeThrough("a", 6), { rows: 2, bytes: 20 });
    assert.equal(spool.depth(), 4);
    assert.equal(spool.bytes(), 40);
    assert.equal(spool.read("a", 0, 100)[0].seq, 7);
    spool.close();
  });

  it("keeps rows and seq order across close and reopen; never reuses a seq", () => {
    const path = tempPath();
    let spool = Spool.open({ path, maxBytes: 1 << 20 });
    fill(spool, "a", 3);
    spool.removeThrough("a", 3);
    fill(spool, "a", 2);
    spool.close();
    spool = Spool.open({ path, maxBytes: 1 << 20 });
    assert.deepEqual(spool.laneNames(), ["a"]);
    assert.equal(spool.depth(), 2);
    assert.equal(spool.bytes(), 20);
    fill(spool, "a", 1);
    assert.deepEqual(spool.read("a", 0, 10).map((r) => r.seq), [4, 5, 6]);
    spool.close();
  });

  it("refuses a second opener while the first holds the file", () => {
    const path = tempPath();
    const first = Spool.open({ path, maxBytes: 1 << 20 });
    assert.throws(() => Spool.open({ path, maxBytes: 1 << 20 }), /in use by another process/);
    first.close();
    Spool.open({ path, maxBytes: 1 << 20 }).close();
  });

  it("checkpoints: the periodic one waits for the spool to be idle, a long log is due anyway; the log is fsynced off the event loop first", async () => {
    const until = async (cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    const busy = Spool.open({ path: tempPath(), maxBytes: 1 << 30, idleMs: 3_600_000 });
    fill(busy, "a", 10);
    busy.maintain(true);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(busy.checkpoints, 0, "not idle: the periodic call leaves the log alone");
    fill(busy, "a", 4000);
    busy.maintain(); // 4,010 writes: due while busy
    assert.equal(busy.checkpoints, 0, "the copy waits for the log's fsync in the thread pool");
    await until(() => busy.checkpoints === 1);
    assert.equal(busy.checkpoints, 1);
    busy.maintain(true);
    busy.close();

    const path = tempPath();
    const idle = Spool.open({ path, maxBytes: 1 << 30, idleMs: 0 });
    fill(idle, "a", 10);
    idle.maintain(true);
    idle.maintain(true); // one at a time: the second call finds the first still syncing
    await until(() => idle.checkpoints === 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(idle.checkpoints, 1);
    idle.maintain(true);
    assert.equal(idle.checkpoints, 1, "nothing written since: nothing to do");
    fill(idle, "a", 1);
    idle.maintain(true);
    idle.close(); // with an fsync in flight: closes cleanly, the row is kept
    const again = Spool.open({ path, maxBytes: 1 << 30 });
    assert.equal(again.depth("a"), 11);
    again.close();
  });

  it("peekSpool: in use while a spool holds its lock; the rows once it is closed", () => {
    const path = tempPath();
    assert.equal(peekSpool(path), undefined);
    const spool = Spool.open({ path, maxBytes: 1 << 20 });
    fill(spool, "a", 3);
    assert.throws(() => peekSpool(path), /in use by another process/);
    spool.close();
    assert.deepEqual(peekSpool(path), { rows: 3, bytes: 30, oldestId: "id-a-000000" });
  });

  it("trim drops the oldest rows across lanes until under the limit", () => {
    const spool = Spool.open({ path: tempPath(), maxBytes: 1000 });
    fill(spool, "a", 30, 20); // ids id-a-… sort before id-b-…
    fill(spool, "b", 30, 20);
    assert.equal(spool.overLimit, true);
    const dropped = spool.trim();
    assert.equal(spool.overLimit, false);
    assert.ok(spool.bytes() <= 990);
    assert.equal(dropped.rows, 60 - spool.depth());
    assert.equal(dropped.bytes, 1200 - spool.bytes());
    assert.equal(dropped.rows, 11);
    assert.equal(spool.depth("a"), 19, "the older lane went first");
    assert.equal(spool.read("a", 0, 1)[0].seq, 12, "its oldest rows first");
    assert.equal(spool.depth("b"), 30);
    spool.close();
  });

  it("survives the writing process being SIGKILLed right after its inserts", () => {
    const path = tempPath();
    const script = `
      import { Spool } from ${JSON.stringify(new URL("./spool.ts", import.meta.url).pathname)};
      const spool = Spool.open({ path: ${JSON.stringify(path)}, maxBytes: 1 << 30 });
      for (let i = 0; i < 5000; i++) spool.append("a", "id" + i, "s", "payload-" + i, 10);
      process.kill(process.pid, "SIGKILL");
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.signal, "SIGKILL", r.stderr);
    const spool = Spool.open({ path, maxBytes: 1 << 30 });
    assert.equal(spool.depth("a"), 5000);
    const rows = spool.read("a", 4990, 100);
    assert.deepEqual(rows.map((x) => x.data), Array.from({ length: 10 }, (_, i) => `payload-${4990 + i}`));
    spool.close();
  });
});
