import { test } from "node:test";
import assert from "node:assert/strict";
import type { OpenClawPluginApi } from "openclaw/plugin-sdk/plugin-entry";
import { parseConfig } from "../config/parse.ts";
import { registerRelayHttp } from "./register.ts";

function fakeApi() {
  const routes: Array<{ path: string; auth: string; match?: string }> = [];
  const lines: string[] = [];
  return {
    routes,
    lines,
    api: {
      registerHttpRoute: (r: Parameters<OpenClawPluginApi["registerHttpRoute"]>[0]) => void routes.push({ path: r.path, auth: r.auth, match: r.match }),
    },
    log: { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) },
  };
}
const relay = { notify: async () => ({ ok: false as const, kind: "failed" as const, error: "unused" }) };

test("without relay.authToken or relay.tokens there is no endpoint, and the log says so", () => {
  const f = fakeApi();
  assert.equal(registerRelayHttp(f.api, parseConfig({}), relay, f.log), false);
  assert.deepEqual(f.routes, []);
  assert.deepEqual(f.lines, ["nats: relay HTTP endpoint off: set relay.authToken or relay.tokens (16+ characters) to enable POST /notify"]);
});

test("per-caller tokens alone turn the endpoint on; the log names the callers, never a token", () => {
  const f = fakeApi();
  const cfg = parseConfig({ relay: { authToken: "shared-token-0123456789", tokens: { cron: "cron-token-0123456789", ci: "ci-token-0123456789ab" } } });
  assert.equal(registerRelayHttp(f.api, cfg, relay, f.log), true);
  assert.match(f.lines[0] ?? "", /callers: http, cron, ci\)$/);
  assert.doesNotMatch(f.lines.join("\n"), /token-0123/);
});

test("with a token, POST <relay.path> is one plugin-auth route on the gateway server", () => {
  const f = fakeApi();
  assert.equal(registerRelayHttp(f.api, parseConfig({ relay: { authToken: "0123456789abcdef", path: "/relay/notify" } }), relay, f.log), true);
  assert.deepEqual(f.routes, [{ path: "/relay/notify", auth: "plugin", match: "exact" }]);
  assert.match(f.lines[0] ?? "", /POST \/relay\/notify on the gateway port/);
});

test("notify_agent is a hop: the target acts on hop n + 1; past maxHops the turn is refused before it starts", async () => {
  const { HopContext } = await import("../wake/hops.ts");
  const { hopGuardedNotify } = await import("./register.ts");
  const hops = new HopContext();
  const started: string[] = [];
  const notify = hopGuardedNotify(async (_c, req) => (started.push(req.sessionKey), { ok: false as const, kind: "failed" as const, error: "x" }), hops, 2);
  const caller = { id: "a", via: "tool" as const, auth: "in-process" as const };
  await notify(caller, { sessionKey: "agent:b:main", message: "1" }, "agent:a:main");
  assert.equal(hops.get("agent:b:main"), 1);
  await notify(caller, { sessionKey: "agent:a:main", message: "2" }, "agent:b:main");
  assert.equal(hops.get("agent:a:main"), 2);
  const refused = await notify(caller, { sessionKey: "agent:b:main", message: "3" }, "agent:a:main");
  assert.deepEqual(started, ["agent:b:main", "agent:a:main"]);
  assert.equal(refused.ok, false);
  assert.match(refused.ok ? "" : refused.error, /hop limit reached: this message is hop 3, maxHops is 2/);
});
