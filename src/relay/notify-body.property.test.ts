import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import type { Logger } from "../shared/logger.ts";
import { RateLimitedLog } from "../shared/rate-limited-log.ts";
import { isSessionKey } from "../shared/session-key.ts";
import { createNotifyHandler } from "./http-route.ts";
import type { NotifyRequest } from "./relay.ts";

// POST /notify bodies, through the real handler on a real HTTP server: every body gets a JSON answer,
// a refusal is 4xx with a non-empty error, and only a valid request reaches the relay.
const RUNS = 1_000;
const TOKEN = "relay-token-0123456789";
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
let server: Server;
let url: string;
const reached: NotifyRequest[] = [];

before(async () => {
  const authFailures = new RateLimitedLog(quiet, "auth", { intervalMs: 60_000 });
  const handler = createNotifyHandler({ tokens: [{ caller: "http", token: TOKEN }], maxBodyBytes: 2048, authFailures }, async (_caller, req) => {
    reached.push(req);
    return { ok: true, method: "agent-run", status: "delivered", runId: "r", sessionKey: req.sessionKey, channel: "c", to: "u" };
  }, quiet);
  server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      res.writeHead(599).end(String(err)); // a throw out of the handler: the property fails on 599
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const nearBody = fc.record(
  {
    sessionKey: fc.oneof(fc.stringMatching(/^agent:[a-z0-9]{1,6}:[!-~]{1,16}$/), fc.string({ maxLength: 20 }), fc.jsonValue()),
    message: fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }), fc.jsonValue()),
    channel: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue()),
    to: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue()),
    from: fc.oneof(fc.constant("http"), fc.string({ maxLength: 8 }), fc.jsonValue()),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const validBody = fc.record(
  { sessionKey: fc.stringMatching(/^agent:[a-z0-9]{1,6}:[!-~]{1,16}$/), message: fc.string({ unit: "grapheme", minLength: 1, maxLength: 60 }), from: fc.constant("http"), channel: fc.string({ minLength: 1, maxLength: 8 }) },
  { requiredKeys: ["sessionKey", "message"] },
);
const body = fc.oneof(validBody.map((v) => JSON.stringify(v)), fc.string({ unit: "binary", maxLength: 200 }), fc.jsonValue().map((v) => JSON.stringify(v) ?? "null"), nearBody.map((v) => JSON.stringify(v)), fc.string({ minLength: 2100, maxLength: 2200 }));

test("property: /notify never throws and never forwards an invalid body; refusals are 4xx with an error", async (t) => {
  let cases = 0;
  let forwarded = 0;
  await fc.assert(
    fc.asyncProperty(body, async (text) => {
      cases++;
      const before = reached.length;
      const res = await fetch(url, { method: "POST", body: text, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } });
      const answer = (await res.json()) as { ok: boolean; error?: string };
      if (res.status === 200) {
        forwarded++;
        assert.equal(reached.length, before + 1);
        const req = reached.at(-1)!;
        assert.ok(isSessionKey(req.sessionKey) && typeof req.message === "string" && req.message.length > 0);
        return;
      }
      assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
      assert.equal(answer.ok, false);
      assert.ok(typeof answer.error === "string" && answer.error.trim().length > 0);
      assert.equal(reached.length, before, "a refused body reaches no agent");
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(`POST /notify bodies: ${cases} cases (${forwarded} forwarded to the relay)`);
  assert.equal(cases, RUNS);
  assert.ok(forwarded > 0 && forwarded < cases);
});
