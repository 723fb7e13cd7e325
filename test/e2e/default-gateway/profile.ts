import { natsPlugin } from "../../harness/nats-plugin.ts";
import { startStack, type Stack } from "../../harness/stack.ts";

/**
 * The default profile: the plugin's default configuration plus the probe plugin (which stands for
 * "another plugin" recording through openclaw-nats's process-wide handle), with Prometheus metrics on. default-gateway.e2e and
 * cli-events.e2e each boot one.
 */
export function startDefaultProfile(): Promise<Stack> {
  return startStack({
    reply: () => ({ text: "ok" }),
    gateway: (url) => ({
      // metrics.enabled adds one read-only route (off by default); nothing else in the profile changes.
      plugins: [natsPlugin({ url, metrics: { enabled: true } }), { path: "test/fixtures/probe-plugin", id: "probe" }],
      readyLog: /nats: subscribed to agent\.\*\.inbox/,
    }),
  });
}
