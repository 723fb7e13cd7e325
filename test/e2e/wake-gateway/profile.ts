import { natsPlugin } from "../../harness/nats-plugin.ts";
import { startStack, type Stack } from "../../harness/stack.ts";

export const AM_TOKEN = "am-e2e-token-0123456789";

/**
 * The wake profile: core wakes, no event store, the Alertmanager receiver on, five agents (main for
 * single-session wakes and Alertmanager, storm/burst for floods, a/b for hop loops). Used by
 * wake-gateway.e2e only; the Alertmanager route and the extra agents change nothing the other
 * modules test (each asserts on its own agents, markers and deltas).
 */
export function startWakeProfile(): Promise<Stack> {
  return startStack({
    gateway: (url) => ({
      plugins: [natsPlugin({ url, events: { enabled: false }, alertmanager: { authToken: AM_TOKEN } })],
      agents: ["main", "storm", "burst", "a", "b"],
      readyLog: /nats: subscribed to agent\.\*\.inbox/,
      timeoutMs: 300_000,
    }),
  });
}
