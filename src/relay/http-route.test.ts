import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../shared/logger.ts";
import { RateLimitedLog } from "../shared/rate-limited-log.ts";
import { createNotifyHandler, tokenMatches, tokenOwner } from "./http-route.ts";
import type { Caller, NotifyRequest, NotifyResult } from "./relay.ts";

const TOKEN = "relay-token-0123456789";
const CRON_TOKEN = "cron-token-0123456789";

describe("POST /notify handler", () => {
  let server: Server;
  let url: string;
  const lines: string[] = [];
  const calls: Array<{ caller: Caller; req: NotifyRequest }> = [];
  let next: NotifyResult = { ok: true, method: "agent-run", status: "delivered", runId: "r1", sessionKey: "agent:b:main", channel: "testchan", to: "u1" };
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  let clock = 0;
  let flushAuth = (): void => {};
  const authFailures = new RateLimitedLog(log, "nats: relay http authentication failures", {
    intervalMs: 60_000,
    now: () => clock,
    setTimer: (fn) => {
      flushAuth = fn;
      return {};
    },
  });

  before(async () => {
    const tokens = [{ caller: "http", token: TOKEN }, { caller: "cron", token: CRON_TOKEN }];
    const handler = createNotifyHandler({ tokens, maxBodyBytes: 1024, authFailures }, async (caller, req) => {
      calls.push({ caller, req });
      return next;
    }, log);
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const post = (body: string, headers: Record<string, string> = {}, method = "POST") =>
    fetch(url, { method, body: method === "GET" ? undefined : body, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers } });
  const good = JSON.stringify({ sessionKey: "agent:b:main", message: "hello" });

  async function expectRefusal(res: Response, status: number, error: RegExp): Promise<void> {
    assert.equal(res.status, status);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = (await res.json()) as { ok: boolean; error: string };
    assert.equal(body.ok, false);
    assert.match(body.error, error);
  }

  test("a valid request reaches the relay as the token's owner and gets its result", async () => {
    const res = await post(good);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), next);
    assert.deepEqual(calls.at(-1), { caller: { id: "http", via: "http", auth: "token", anonymous: true }, req: { sessionKey: "agent:b:main", message: "hello", channel: undefined, to: undefined } });
    await post(JSON.stringify({ sessionKey: "agent:b:main", message: "hi", from: "cron" }), { authorization: `Bearer ${CRON_TOKEN}`, "content-type": "application/json; charset=utf-8" });
    assert.deepEqual(calls.at(-1)?.caller, { id: "cron", via: "http", auth: "token", anonymous: false });
    await post(JSON.stringify({ sessionKey: "agent:b:main", message: "hi" }), { authorization: `Bearer ${CRON_TOKEN}` });
    assert.deepEqual(calls.at(-1)?.caller, { id: "cron", via: "http", auth: "token", anonymous: true }, "no from: still cron for allowedTargets, just no frame");
  });

  test("the caller is the token's owner: a body from naming anyone else is refused", async () => {
    const before = calls.length;
    const res = await post(JSON.stringify({ sessionKey: "agent:b:main", message: "hi", from: "ceo" }), { authorization: `Bearer ${CRON_TOKEN}` });
    await expectRefusal(res, 400, /from "ceo" is not this token's caller "cron"/);
    assert.equal(calls.length, before);
  });

  test("failed authentication is logged once per interval, then as one line with the count", async () => {
    clock += 120_000;
    const from = lines.length;
    for (let i = 0; i < 25; i++) assert.equal((await post(good, { authorization: `Bearer wrong-token-${i}-xxxxxxxx` })).status, 401);
    assert.equal(lines.length - from, 1, "one line for 25 failures so far");
    assert.match(lines.at(-1) ?? "", /relay http 401 from .*: invalid bearer token/);
    flushAuth();
    assert.equal(lines.length - from, 2);
    assert.match(lines.at(-1) ?? "", /^nats: relay http authentication failures: 24 more in the last 60 s \(last: nats: relay http 401 from .*: invalid bearer token\)$/);
    assert.doesNotMatch(lines.join("\n"), /wrong-token/, "a presented token is never logged");
    clock += 120_000;
  });

  test("each bad request gets its status, a JSON error and one log line, and never reaches the relay", async () => {
    const before = calls.length;
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [post("", {}, "GET"), 405, /method GET not allowed/],
      [post(good, { "content-type": "text/plain" }), 415, /must be application\/json, not text\/plain/],
      [post(JSON.stringify({ sessionKey: "agent:b:main", message: "x".repeat(2000) })), 413, /over the 1024-byte limit/],
      [post("{not json"), 400, /invalid JSON/],
      [post(JSON.stringify({ message: "x" })), 400, /missing sessionKey/],
      [post(JSON.stringify(["x"])), 400, /must be a JSON object/],
    ];
    for (const [res, status, error] of cases) {
      const from = lines.length;
      await expectRefusal(await res, status, error);
      assert.equal(lines.length - from, 1, `one log line for ${status}`);
      assert.match(lines.at(-1) ?? "", new RegExp(`relay http ${status} from `));
    }
    assert.equal(calls.length, before);
  });

  test("405 names the allowed method, 401 asks for a bearer token", async () => {
    const r405 = await post("", {}, "GET");
    assert.equal(r405.headers.get("allow"), "POST");
    const r401 = await post(good, { authorization: "" });
    assert.equal(r401.headers.get("www-authenticate"), "Bearer");
    await expectRefusal(r401, 401, /missing bearer token/);
    await expectRefusal(await post(good, { authorization: "Basic abc" }), 401, /missing bearer token/);
    await expectRefusal(await post(good, { authorization: `Bearer ${TOKEN}x` }), 401, /invalid bearer token/);
  });

  test("the relay's refusals map to 400/401/403/404/429 with one log line; a failed turn is a 502 the relay logged", async () => {
    for (const [kind, status, logged] of [["invalid", 400, 1], ["unauthorized", 401, 1], ["forbidden", 403, 1], ["not-found", 404, 1], ["busy", 429, 1], ["failed", 502, 0]] as const) {
      next = { ok: false, kind, error: `e-${kind}` };
      const from = lines.length;
      const res = await post(good);
      assert.equal(res.status, status);
      assert.deepEqual(await res.json(), { ok: false, error: `e-${kind}` });
      assert.equal(lines.length - from, logged, kind);
      if (logged) assert.match(lines.at(-1) ?? "", new RegExp(`relay http ${status} from .*: e-${kind}`));
    }
  });
});

test("tokenMatches compares whole tokens; tokenOwner finds the owner among several", () => {
  assert.equal(tokenMatches(TOKEN, TOKEN), true);
  assert.equal(tokenMatches(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(tokenMatches("", TOKEN), false);
  const tokens = [{ caller: "http", token: TOKEN }, { caller: "cron", token: CRON_TOKEN }];
  assert.equal(tokenOwner(CRON_TOKEN, tokens), "cron");
  assert.equal(tokenOwner(TOKEN, tokens), "http");
  assert.equal(tokenOwner(`${CRON_TOKEN} `, tokens), undefined);
});
