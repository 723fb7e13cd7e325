import type { Subscription } from "@nats-io/transport-node";
import type { AlertService } from "../alertmanager/service.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import type { NatsLink } from "../connection/link.ts";
import { redactConfig, redactUrl } from "../connection/redact.ts";
import type { EventStore } from "../events/store.ts";
import { errorMessage } from "../shared/logger.ts";
import type { WakeDispatcher } from "../wake/dispatcher.ts";
import { consumerFacts, dlqFromStream, parseDeadLetter, streamFacts, type DlqEntry } from "./jetstream.ts";

/** Agents and their sessions, read through the host's runtime (set by the latest registration). */
export interface SessionsSource {
  agents(): { ids: string[]; defaultId: string | undefined };
  sessions(agentId: string): Array<{ sessionKey: string; updatedAt: number | undefined; channel: string | undefined }>;
}

export interface CollectorDeps {
  cfg: NatsPluginConfig;
  link: NatsLink;
  dispatcher: WakeDispatcher;
  events: EventStore | undefined;
  alerts: AlertService | undefined;
}

const DLQ_KEEP = 25;
const SESSIONS_PER_AGENT = 20;
const RATE_WINDOW_MS = 10_000;
const HISTORY = 60;

interface Sample {
  at: number;
  published: number;
  received: number;
}

/**
 * Everything the dashboard shows, gathered on demand from the plugin's parts through small adapters.
 * Process-wide (one per runtime): it also keeps what is only seen live — dead letters when no stream
 * captures them, and samples for rates.
 */
export class DashboardCollector {
  private readonly deps: CollectorDeps;
  private readonly startedAt = Date.now();
  private readonly liveDlq: DlqEntry[] = [];
  private dlqSub: Subscription | undefined;
  private unwatch: (() => void) | undefined;
  private samples: Sample[] = [];
  sessionsSource: SessionsSource | undefined;

  constructor(deps: CollectorDeps) {
    this.deps = deps;
  }

  /** Starts listening on the dead-letter subject (so entries before the page opens are kept). */
  start(): void {
    this.unwatch = this.deps.link.onConnect((nc) => {
      this.dlqSub?.unsubscribe();
      this.dlqSub = nc.subscribe(this.deps.cfg.deadLetterSubject, {
        callback: (err, m) => {
          if (err) return;
          this.liveDlq.unshift({ ...parseDeadLetter(m.string(), m.headers?.get("Openclaw-Dlq-Reason") || undefined), at: new Date().toISOString() });
          if (this.liveDlq.length > DLQ_KEEP) this.liveDlq.pop();
        },
      });
    });
  }

  stop(): void {
    this.unwatch?.();
    this.dlqSub?.unsubscribe();
    this.dlqSub = undefined;
  }

  private sample(published: number): { publishPerSec: number | undefined; wakesPerSec: number | undefined; history: number[] } {
    const now = Date.now();
    const received = this.deps.dispatcher.counts.received;
    const last = this.samples.at(-1);
    if (!last || now - last.at >= 1000) this.samples.push({ at: now, published, received });
    this.samples = this.samples.filter((s) => now - s.at <= HISTORY * 5000).slice(-HISTORY);
    // Rate over the last ~10 s: from the oldest sample inside the window (or the one just before it).
    const inside = this.samples.findIndex((x) => now - x.at <= RATE_WINDOW_MS);
    const base = this.samples[Math.max(0, inside - 1)];
    const span = base ? (now - base.at) / 1000 : 0;
    const rate = (pick: (x: Sample) => number, current: number): number | undefined => (base && span >= 1 ? Math.max(0, (current - pick(base)) / span) : undefined);
    const history = this.samples.slice(1).map((s, i) => Math.max(0, (s.published - this.samples[i]!.published) / Math.max(0.001, (s.at - this.samples[i]!.at) / 1000)));
    return { publishPerSec: rate((s) => s.published, published), wakesPerSec: rate((s) => s.received, received), history };
  }

  private async rtt(): Promise<number | undefined> {
    const nc = this.deps.link.current;
    if (!nc || !this.deps.link.isConnected) return undefined;
    try {
      return await Promise.race([nc.rtt(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref())]);
    } catch {
      return undefined;
    }
  }

  private async dlq(): Promise<{ subject: string; stream: string | undefined; entries: DlqEntry[]; source: string; error?: string }> {
    const subject = this.deps.cfg.deadLetterSubject;
    const nc = this.deps.link.current;
    if (nc && this.deps.link.isConnected) {
      try {
        const fromStream = await dlqFromStream(nc, subject, DLQ_KEEP);
        if (fromStream) return { subject, stream: fromStream.stream, entries: fromStream.entries, source: "stream" };
      } catch (err) {
        return { subject, stream: undefined, entries: this.liveDlq, source: "live", error: errorMessage(err) };
      }
    }
    return { subject, stream: undefined, entries: this.liveDlq, source: "live" };
  }

  private async eventStore(): Promise<Record<string, unknown>> {
    const events = this.deps.events;
    if (!events) return { enabled: false };
    const s = await events.status();
    const nc = this.deps.link.current;
    const facts = nc && this.deps.link.isConnected ? await streamFacts(nc, s.stream) : { error: "not connected" };
    const oldest = s.spoolOldestAt;
    return {
      enabled: true,
      stream: s.stream,
      connected: s.connected,
      streamInfo: facts,
      spoolDepth: s.spoolDepth,
      spoolBytes: s.spoolBytes,
      spoolMaxBytes: s.spoolMaxBytes,
      oldestUnsentAgeMs: oldest === undefined ? undefined : Math.max(0, Date.now() - oldest),
      published: s.published,
      duplicates: s.duplicates,
      failures: s.failures,
      dropped: s.dropped,
      filtered: s.filtered,
      lastError: s.lastError,
    };
  }

  private async inbox(): Promise<Record<string, unknown>> {
    const { durable, streamName, consumerName } = this.deps.cfg.inbox;
    if (!durable) return { durable: false };
    const nc = this.deps.link.current;
    const facts = nc && this.deps.link.isConnected ? await consumerFacts(nc, streamName, consumerName) : { error: "not connected" };
    return { durable: true, stream: streamName, consumer: consumerName, ...facts };
  }

  private agents(): Array<Record<string, unknown>> {
    const src = this.sessionsSource;
    if (!src) return [];
    try {
      const { ids, defaultId } = src.agents();
      return ids.map((id) => {
        const sessions = src.sessions(id).sort((a, b) => (b.updatedAt ?? 0) - (a.updatedAt ?? 0));
        return { id, default: id === defaultId, sessionCount: sessions.length, sessions: sessions.slice(0, SESSIONS_PER_AGENT) };
      });
    } catch (err) {
      return [{ id: "?", error: errorMessage(err) }];
    }
  }

  async snapshot(): Promise<Record<string, unknown>> {
    const { cfg, link, dispatcher, alerts } = this.deps;
    const l = link.status();
    const [rttMs, events, inbox, dlq] = await Promise.all([this.rtt(), this.eventStore(), this.inbox(), this.dlq()]);
    const rates = this.sample(typeof events.published === "number" ? events.published : 0);
    if (events.enabled) Object.assign(events, { publishPerSec: rates.publishPerSec, publishHistory: rates.history });
    const amStats = alerts ? (() => { try { return alerts.receiver.stats(); } catch (err) { return { error: errorMessage(err) }; } })() : undefined;
    return {
      generatedAt: new Date().toISOString(),
      uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
      connection: { url: cfg.url.split(",").map(redactUrl).join(","), connected: l.connected, server: l.server, rttMs, connects: l.connects, disconnects: l.disconnects, reconnects: l.reconnects, lastError: l.lastError },
      wake: {
        subjects: cfg.subjects,
        durableInbox: cfg.inbox.durable,
        ...dispatcher.counts,
        perSec: rates.wakesPerSec,
        injectMicros: dispatcher.injectMicros.summary(),
        recent: dispatcher.recent.slice(0, 20),
      },
      dlq,
      events,
      inbox,
      agents: this.agents(),
      alertmanager: alerts ? { enabled: true, path: cfg.alertmanager.path, ...amStats, ...alerts.receiver.counts, recent: alerts.receiver.recent.slice(0, 10) } : { enabled: false, path: cfg.alertmanager.path },
      config: redactConfig(cfg),
    };
  }
}
