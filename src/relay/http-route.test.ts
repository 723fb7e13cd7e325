import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../shared/logger.ts";
import { createNotifyHandler, tokenMatches } from "./http-route.ts";
import type { Caller, NotifyRequest, NotifyResult } from "./relay.ts";

const TOKEN = "relay-token-0123456789";

describe("POST /notify handler", () => {
  let server: Server;
  let url: string;
  const lines: string[] = [];
  const calls: Array<{ caller: Caller; req: NotifyRequest }> = [];
  let next: NotifyResult = { ok: true, method: "agent-run", status: "delivered", runId: "r1", sessionKey: "agent:b:main", channel: "testchan", to: "u1" };
  const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

  before(async () => {
    const handler = createNotifyHandler({ token: TOKEN, maxBodyBytes: 1024 }, async (caller, req) => {
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

  test("a valid request reaches the relay as an anonymous http caller and gets its result", async () => {
    const res = await post(good);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), next);
    assert.deepEqual(calls.at(-1), { caller: { id: "http", via: "http", anonymous: true }, req: { sessionKey: "agent:b:main", message: "hello", channel: undefined, to: undefined } });
    await post(JSON.stringify({ sessionKey: "agent:b:main", message: "hi", from: "cron" }), { "content-type": "application/json; charset=utf-8" });
    assert.deepEqual(calls.at(-1)?.caller, { id: "cron", via: "http", anonymous: false });
  });

  test("each bad request gets its status, a JSON error and one log line, and never reaches the relay", async () => {
    const before = calls.length;
    const cases: Array<[Promise<Response>, number, RegExp]> = [
      [post("", {}, "GET"), 405, /method GET not allowed/],
      [post(good, { authorization: "" }), 401, /missing bearer token/],
      [post(good, { authorization: "Basic abc" }), 401, /missing bearer token/],
      [post(good, { authorization: `Bearer ${TOKEN}x` }), 401, /invalid bearer token/],
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
  });

  test("the relay's refusals map to 400/403/404 with one log line; a failed turn is a 502 the relay logged", async () => {
    for (const [kind, status, logged] of [["invalid", 400, 1], ["forbidden", 403, 1], ["not-found", 404, 1], ["failed", 502, 0]] as const) {
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

test("tokenMatches compares whole tokens", () => {
  assert.equal(tokenMatches(TOKEN, TOKEN), true);
  assert.equal(tokenMatches(TOKEN.slice(0, -1), TOKEN), false);
  assert.equal(tokenMatches("", TOKEN), false);
});
