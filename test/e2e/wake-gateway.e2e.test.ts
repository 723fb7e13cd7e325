// One gateway with the wake profile (core wakes, no event store, the Alertmanager receiver, agents
// main/storm/burst/a/b) shared by every single-gateway wake behaviour: priorities and dead letters,
// storms and hop loops, a real Alertmanager, and last a config edit and a plugin reload. One boot
// instead of four (these were wake.e2e, wake-storm.e2e, alertmanager.e2e and wake-ops.e2e's first
// part); each module asserts only on its own agents, markers and deltas.
import { after, before } from "node:test";
import type { Stack } from "../harness/stack.ts";
import { startWakeProfile } from "./wake-gateway/profile.ts";
import { alertmanagerTests } from "./wake-gateway/alertmanager.ts";
import { basicsTests } from "./wake-gateway/basics.ts";
import { lifecycleTests } from "./wake-gateway/lifecycle.ts";
import { stormTests } from "./wake-gateway/storm.ts";

let stack: Stack;
const shared = (): Stack => stack;

before(async () => {
  stack = await startWakeProfile();
});
after(() => stack?.stop());

basicsTests(shared); // first: it counts model calls from a quiet gateway
stormTests(shared);
alertmanagerTests(shared); // restarts the gateway once
lifecycleTests(shared); // last: it moves the wake subject to team.*.inbox
