import { consumerFacts } from "../dashboard/jetstream.ts";
import type { MetricsSources } from "../metrics/collect.ts";
import type { Relay } from "../relay/relay.ts";
import type { NatsRuntime } from "./shared-runtime.ts";

/** The runtime's parts as metrics sources: every figure read when Prometheus scrapes. */
export function runtimeMetricsSources(rt: NatsRuntime, relay: Relay): MetricsSources {
  const { cfg, link, wake, events, memory, agentProtocol, trust } = rt;
  const d = wake.dispatcher;
  return {
    link: () => link.status(),
    wake: () => ({ counts: d.counts, rejectedBy: d.rejectedBy, handoffLatency: d.injectMicros.buckets(), deadLetters: wake.status().deadLetters }),
    inbox: cfg.inbox.durable
      ? async () => {
          const nc = link.current;
          const facts = nc && link.isConnected ? await consumerFacts(nc, cfg.inbox.streamName, cfg.inbox.consumerName) : undefined;
          return { counts: wake.status().inbox, consumer: facts && !("error" in facts) ? facts : undefined };
        }
      : undefined,
    events: events && (async () => ({ status: await events.status(), ...events.metrics() })),
    memory: memory && (() => {
      const s = memory.status();
      return { rows: s.rows, newest: s.newest, recallLatency: memory.recallLatency() };
    }),
    agentProtocol: agentProtocol && (() => ({ outcomes: agentProtocol.outcomes, latency: agentProtocol.promptMicros.buckets(), activeTurns: agentProtocol.status().activeTurns })),
    relay: () => relay.outcomes,
    trust: () => trust.refusals,
  };
}
