// `openclaw nats events record|query|tail|replay` through the real CLI against a gateway with the
// default profile (the same as default-gateway.e2e). A gateway of its own on purpose: these ~17 CLI
// runs (each a Node process that loads the host and the plugin) took 276 s inside default-gateway.e2e
// and made it the suite's long pole (890 s); apart, the two files run side by side for one extra boot.
import { after, before } from "node:test";
import { natsPlugin } from "../harness/nats-plugin.ts";
import { startStack, type Stack } from "../harness/stack.ts";
import { cliEventTests } from "./default-gateway/cli-events.ts";

let stack: Stack;

before(async () => {
  stack = await startStack({
    reply: () => ({ text: "ok" }),
    gateway: (url) => ({
      plugins: [natsPlugin({ url }), { path: "test/fixtures/probe-plugin", id: "probe" }],
      readyLog: /nats: subscribed to agent\.\*\.inbox/,
    }),
  });
});
after(() => stack?.stop());

cliEventTests(() => stack);
