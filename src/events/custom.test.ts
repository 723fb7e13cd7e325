import { test } from "node:test";
import assert from "node:assert/strict";
import { CUSTOM_PAYLOAD_MAX_BYTES, EVENTS_HANDLE, publishEventsHandle, recordCustomEvent, validateCustomEvent, type NatsEventsHandle } from "./custom.ts";
import type { EventInput, EventStore } from "./store.ts";

function fakeStore(): { store: EventStore; recorded: EventInput[] } {
  const recorded: EventInput[] = [];
  const store = { record: (input: EventInput) => (recorded.push(input), `id-${recorded.length}`) } as unknown as EventStore;
  return { store, recorded };
}

test("validateCustomEvent: every field is checked and the error names it", () => {
  assert.equal(validateCustomEvent({ agent: "main", name: "deploy.done", payload: { v: 1 }, session: "agent:main:main", visibility: "public" }).ok, true);
  const cases: Array<[unknown, RegExp]> = [
    [null, /params must be an object/],
    [{ agent: "Main", name: "x" }, /agent must be an agent id/],
    [{ agent: "main", name: "bad name" }, /name must be 64 characters at most/],
    [{ agent: "main", name: "a".repeat(65) }, /name must be 64/],
    [{ agent: "main", name: "x>y" }, /name must be/],
    [{ agent: "main", name: "x", payload: [1] }, /payload must be a JSON object/],
    [{ agent: "main", name: "x", payload: { big: "x".repeat(CUSTOM_PAYLOAD_MAX_BYTES) } }, /over the 65536-byte limit/],
    [{ agent: "main", name: "x", session: "agent:ops:main" }, /belongs to agent ops, not main/],
    [{ agent: "main", name: "x", visibility: "secret" }, /visibility must be one of/],
    [{ agent: "main", name: "x", extra: 1 }, /unknown field\(s\): extra/],
  ];
  for (const [input, error] of cases) {
    const v = validateCustomEvent(input);
    assert.equal(v.ok, false, JSON.stringify(input)?.slice(0, 80));
    if (!v.ok) assert.match(v.error, error);
  }
});

test("recordCustomEvent: custom.<name> through the store; the process-wide handle does the same and is withdrawn", () => {
  const { store, recorded } = fakeStore();
  assert.deepEqual(recordCustomEvent(store, { agent: "main", name: "deploy.done", payload: { version: "1.2" } }), { ok: true, id: "id-1", type: "custom.deploy.done" });
  assert.deepEqual(recorded[0], { agent: "main", type: "custom.deploy.done", session: undefined, visibility: undefined, payload: { version: "1.2" } });
  const warnings: string[] = [];
  const withdraw = publishEventsHandle(store, { warn: (m) => warnings.push(m) });
  const handle = (globalThis as { [EVENTS_HANDLE]?: NatsEventsHandle })[EVENTS_HANDLE];
  assert.equal(handle?.version, 1);
  assert.equal(handle?.recordCustom({ agent: "main", name: "ping" }).ok, true);
  assert.equal(handle?.recordCustom({ agent: "main", name: "" }).ok, false);
  assert.match(warnings[0], /custom event refused: name must be/);
  withdraw();
  assert.equal((globalThis as { [EVENTS_HANDLE]?: NatsEventsHandle })[EVENTS_HANDLE], undefined);
});
