// `openclaw nats events record|query|tail|replay` through the real CLI against a gateway with the
// default profile (the same as default-gateway.e2e). A gateway of its own on purpose: these ~17 CLI
// runs (each a Node process that loads the host and the plugin) took 276 s inside default-gateway.e2e
// and made it the suite's long pole (890 s); apart, the two files run side by side for one extra boot.
import { after, before } from "node:test";
import type { Stack } from "../harness/stack.ts";
import { startDefaultProfile } from "./default-gateway/profile.ts";
import { cliEventTests } from "./default-gateway/cli-events.ts";

let stack: Stack;

before(async () => {
  stack = await startDefaultProfile();
});
after(() => stack?.stop());

cliEventTests(() => stack);
