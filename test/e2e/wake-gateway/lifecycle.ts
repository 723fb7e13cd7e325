import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { promptText } from "../../harness/model-server.ts";
import type { Stack } from "../../harness/stack.ts";
import { wakeFigures } from "../../harness/wait.ts";
import { occurrences, replies, seen, sleep } from "./replies.ts";

/** A config edit and `openclaw plugins reload nats` in the running gateway (was wake-ops.e2e). Last: it moves the wake subject. */
export function lifecycleTests(shared: () => Stack): void {
  describe("lifecycle: a config edit and `openclaw plugins reload nats` in a running gateway", () => {
    let stack: Stack;
    before(() => {
      stack = shared();
    });

    test("after editing subjects the new subject wakes, the old one has no responder, nothing is doubled", async () => {
      const { gw, nc, model } = stack;
      assert.equal((await replies(nc, "agent.main.inbox", { from: "ops", body: "before the edit (lc-0)", priority: "urgent" })).length, 1);
      await model.waitFor((r) => promptText(r).includes("lc-0"), 180_000);

      const from = gw.logs().length;
      const cfg = JSON.parse(readFileSync(gw.configPath, "utf8")) as { plugins: { entries: { nats: { config: Record<string, unknown> } } } };
      cfg.plugins.entries.nats.config.subjects = ["team.*.inbox"];
      writeFileSync(gw.configPath, JSON.stringify(cfg, null, 2));
      await gw.waitForLog(/nats: subscribed to team\.\*\.inbox/, 120_000, from);

      const r = await replies(nc, "team.main.inbox", { from: "ops", body: "after the edit (lc-1)", priority: "urgent" });
      assert.deepEqual(r, [{ ok: true, sessionKey: "agent:main:main", priority: "urgent", queued: true }], "one receipt: one subscription");
      const q = await model.waitFor((q) => promptText(q).includes("lc-1"), 180_000);
      assert.equal(occurrences(promptText(q), "after the edit (lc-1)"), 1, "injected once");
      const was = await wakeFigures(gw);
      assert.deepEqual(await replies(nc, "agent.main.inbox", { from: "ops", body: "old subject (lc-x)" }), [], "the old subject is gone: no responders");
      // Nothing took it in either (a subscription without a queue group would count it as received).
      assert.equal((await wakeFigures(gw)).received, was.received, "not received");
      assert.equal(seen(model, "lc-x"), 0);
    });

    test("`openclaw plugins reload nats` leaves one working subscription", async () => {
      const { gw, nc, model } = stack;
      const from = gw.logs().length;
      const run = await gw.openclaw(["plugins", "reload", "nats", "--json"], 180_000);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      await gw.waitForLog(/nats: subscribed to team\.\*\.inbox/, 120_000, from).catch(() => undefined);
      await sleep(2000);
      const r = await replies(nc, "team.main.inbox", { from: "ops", body: "after plugins reload (lc-2)", priority: "urgent" });
      assert.equal(r.length, 1, `exactly one receipt, got ${JSON.stringify(r)}`);
      const q = await model.waitFor((q) => promptText(q).includes("lc-2"), 180_000);
      assert.equal(occurrences(promptText(q), "after plugins reload (lc-2)"), 1, "injected once");
    });
  });
}
