import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { FrameLocator, Page } from "playwright-core";
import { REPO_ROOT } from "../../../scripts/stage-plugin.ts";
import { launchChromium } from "../../harness/browser.ts";
import type { TestGateway } from "../../harness/gateway.ts";
import { promptText, type ScriptedModel } from "../../harness/model-server.ts";
import type { Stack } from "../../harness/stack.ts";

/** Reads one number the page shows (`data-k` = its path in the API snapshot). */
async function shown(frame: FrameLocator, key: string): Promise<number> {
  const text = (await frame.locator(`[data-k="${key}"]`).first().textContent()) ?? "";
  return Number(text.replace(/[^0-9.]/g, "") || Number.NaN);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function dashboardTests(shared: () => Stack): void {
describe("the NATS dashboard in a real headless Chromium", () => {
  let stack: Stack;
  let gw: TestGateway;
  let model: ScriptedModel;
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  before(async () => {
    stack = shared();
    ({ gw, model } = stack);
    await gw.waitForLog(/nats: dashboard at \/nats-dashboard\//, 60_000);
    model.reply(() => ({ text: "ok" }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test("without gateway auth there is no data: the page and the API answer 401", async () => {
    const page = await browser.context.newPage();
    const res = await page.goto(`${gw.httpUrl}/nats-dashboard/`);
    assert.equal(res?.status(), 401);
    const body = await page.locator("body").innerText();
    assert.doesNotMatch(body, /openclaw-events|nats-dashboard|127\.0\.0\.1/);
    for (const path of ["/nats-dashboard-api/state", "/nats-dashboard-api/feed", `/nats-dashboard-api/state?t=1.99999999999999.${"A".repeat(43)}`]) {
      const api = await page.goto(`${gw.httpUrl}${path}`);
      assert.equal(api?.status(), 401, path);
      const text = await page.locator("body").innerText();
      assert.match(text, /page token/);
      assert.doesNotMatch(text, /openclaw-events|connected/);
    }
    // the same page with the gateway's credential does serve data (so the 401s above are the auth, not a broken route)
    const authed = await fetch(`${gw.httpUrl}/nats-dashboard/`, { headers: { authorization: `Bearer ${gw.token}` } });
    assert.equal(authed.status, 200);
    assert.match(authed.headers.get("content-security-policy") ?? "", /^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+';.*frame-ancestors 'self'$/);
    await page.close();
  });

  test("inside the Control UI: the NATS tab loads, its numbers change when events flow, the feed shows them, pause holds them", async () => {
    const page: Page = await browser.context.newPage();
    const errors: string[] = [];
    // The host's own Control UI (its /assets/ bundles) throws in its sidebar agent roster once wake turns
    // (subagent.run) exist in the session list ("childLoadParentKeys" of undefined, openclaw 2026.9.6); that
    // is not this page. Every other uncaught error, ours included, still fails the test.
    page.on("pageerror", (e) => {
      if (/\/assets\/[\w.-]+\.js/.test(e.stack ?? "") && !(e.stack ?? "").includes("nats-dashboard")) return;
      errors.push(e.message);
    });
    await page.goto(`${gw.httpUrl}/#token=${gw.token}`);
    await page.getByRole("link", { name: "NATS", exact: true }).or(page.getByText("NATS", { exact: true })).first().click({ timeout: 60_000 });
    const frame = page.frameLocator("iframe.plugin-tab-embed__frame");
    await frame.locator("#conn", { hasText: "connected" }).waitFor({ timeout: 60_000 });
    await until("first numbers", async () => !Number.isNaN(await shown(frame, "events.streamInfo.messages")));
    const received0 = await shown(frame, "wake.received");
    const messages0 = await shown(frame, "events.streamInfo.messages");
    const feedRows = frame.locator("#feed tr:not([data-empty])");

    stack.nc.publish("agent.main.inbox", JSON.stringify({ from: "dashboard-e2e", body: "wake for the dashboard (dash-1)", priority: "urgent" }));
    await model.waitFor((r) => promptText(r).includes("dash-1"), 90_000);
    await until("wake.received to rise", async () => (await shown(frame, "wake.received")) > received0);
    await until("stream messages to rise", async () => (await shown(frame, "events.streamInfo.messages")) > messages0);
    await until("a live event row for agent main", async () => (await frame.locator("#feed tr", { hasText: "main" }).count()) > 0);
    assert.match((await frame.locator("#wakes").innerText()), /dashboard-e2e\s+agent:main:main\s+urgent\s+injected/);
    await until("the session in the agents panel", async () => /main\s*default[\s\S]*agent:main:main/.test(await frame.locator("#agents").innerText()));
    assert.match(await frame.locator("#config").innerText(), /"deadLetterSubject": "openclaw\.nats\.dlq"/);

    stack.nc.publish("agent.main.inbox", JSON.stringify({ from: "dashboard-e2e", body: "x", priority: "asap" }));
    await until("the dead letter", async () => /priority: must be one of urgent, normal, low/.test(await frame.locator("#dlq").innerText()));

    await frame.locator("#pause").click();
    await until("feed to settle", async () => {
      const n = await feedRows.count();
      await new Promise((r) => setTimeout(r, 1500));
      return (await feedRows.count()) === n;
    });
    const held = await feedRows.count();
    stack.nc.publish("agent.main.inbox", JSON.stringify({ from: "dashboard-e2e", body: "second wake (dash-2)", priority: "urgent" }));
    await model.waitFor((r) => promptText(r).includes("dash-2"), 90_000);
    await until("events held while paused", async () => /\d+ new while paused/.test((await frame.locator("#buffered").textContent()) ?? ""));
    assert.equal(await feedRows.count(), held, "no row added while paused");
    await frame.locator("#pause").click();
    await until("held events shown after resume", async () => (await feedRows.count()) > held);

    await frame.locator("#fType").fill("run");
    await new Promise((r) => setTimeout(r, 1500)); // the filter reconnects the feed
    const before = await feedRows.count();
    stack.nc.publish("agent.main.inbox", JSON.stringify({ from: "dashboard-e2e", body: "third wake (dash-3)", priority: "urgent" }));
    await model.waitFor((r) => promptText(r).includes("dash-3"), 90_000);
    await until("filtered rows", async () => (await feedRows.count()) > before);
    const newTypes = await feedRows.evaluateAll((rows, n) => rows.slice(0, rows.length - n).map((r) => r.getAttribute("data-type")), before);
    assert.ok(newTypes.length > 0 && newTypes.every((t) => t === "run" || t?.startsWith("run.")), `only run.* events after the filter: ${newTypes.join(",")}`);
    await frame.locator("#fType").fill("");

    const shot = join(mkdtempSync(join(tmpdir(), "dashboard-shot-")), "dashboard.png");
    await page.locator("button[aria-label*='ismiss'], button[aria-label*='lose']").first().click({ timeout: 2000 }).catch(() => undefined); // the Control UI's promo card
    await page.waitForTimeout(3500);
    await page.screenshot({ path: shot });
    assert.ok(readFileSync(shot).subarray(1, 4).toString() === "PNG");
    if (process.env.DASHBOARD_SCREENSHOT) copyFileSync(shot, resolve(REPO_ROOT, process.env.DASHBOARD_SCREENSHOT));
    assert.deepEqual(errors, [], "no script errors in the page");
    await page.close();
  });
});
}
