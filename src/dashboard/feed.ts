import type { ServerResponse } from "node:http";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { NatsLink } from "../connection/link.ts";
import type { Logger } from "../shared/logger.ts";
import { eventFilter } from "../shared/subjects.ts";

/** One event as the live feed sends it: the envelope's identity plus a short preview of its payload. */
export interface FeedEvent {
  id: string;
  ts: number;
  agent: string;
  session: string | undefined;
  type: string;
  subject: string;
  preview: string;
}

export interface FeedFilter {
  /** Exact agent id. */
  agent?: string;
  /** Event type, or a prefix of it ending at a dot boundary: `msg` matches msg.in and msg.out. */
  type?: string;
}

interface Client {
  res: ServerResponse;
  filter: FeedFilter;
  dropped: number;
  timers: NodeJS.Timeout[];
}

const PREVIEW_CHARS = 240;
const KEEPALIVE_MS = 15_000;

export function matchesFilter(e: Pick<FeedEvent, "agent" | "type">, f: FeedFilter): boolean {
  if (f.agent && e.agent !== f.agent) return false;
  if (f.type && e.type !== f.type && !e.type.startsWith(`${f.type}.`)) return false;
  return true;
}

/** Reads an event-store envelope off the wire; undefined for anything that is not one. */
export function toFeedEvent(subject: string, text: string): FeedEvent | undefined {
  try {
    const e = JSON.parse(text) as Record<string, unknown>;
    if (typeof e.id !== "string" || typeof e.type !== "string" || typeof e.agent !== "string") return undefined;
    const payload = JSON.stringify(e.payload ?? {});
    return {
      id: e.id,
      ts: typeof e.ts === "number" ? e.ts : Date.now(),
      agent: e.agent,
      session: typeof e.session === "string" ? e.session : undefined,
      type: e.type,
      subject,
      preview: payload.length > PREVIEW_CHARS ? `${payload.slice(0, PREVIEW_CHARS)}…` : payload,
    };
  } catch {
    return undefined;
  }
}

/**
 * The live event feed: server-sent events of what the event store publishes, read back from NATS
 * (`<subjectPrefix>.>`), so the feed shows what really reached the bus. Subscribed only while a page
 * is listening. A slow page loses events (counted and told) instead of growing the gateway's memory;
 * each stream ends after `maxLifetimeMs` and the browser reconnects, which re-checks its credentials.
 */
export class EventFeed {
  private readonly link: NatsLink;
  private readonly prefixes: string[];
  private readonly log: Logger;
  private readonly clients = new Set<Client>();
  private subs: Subscription[] = [];
  private subscribedOn: NatsConnection | undefined;
  private unwatch: (() => void) | undefined;
  sent = 0;

  constructor(link: NatsLink, prefixes: string[], log: Logger) {
    this.link = link;
    this.prefixes = [...new Set(prefixes)];
    this.log = log;
  }

  get listeners(): number {
    return this.clients.size;
  }

  attach(res: ServerResponse, filter: FeedFilter, maxLifetimeMs: number, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" });
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ connected: this.link.isConnected, subjects: this.prefixes.map((p) => eventFilter(p)) })}\n\n`);
    const client: Client = { res, filter, dropped: 0, timers: [] };
    const close = (): void => this.detach(client);
    client.timers.push(setInterval(() => res.write(`: keepalive\n\n`), KEEPALIVE_MS));
    client.timers.push(setTimeout(() => {
      res.write(`event: bye\ndata: {"reason":"stream lifetime reached; reconnect"}\n\n`);
      res.end();
    }, maxLifetimeMs));
    for (const t of client.timers) t.unref();
    res.on("close", close);
    this.clients.add(client);
    if (this.clients.size === 1) this.subscribe();
  }

  private detach(client: Client): void {
    for (const t of client.timers) clearTimeout(t);
    this.clients.delete(client);
    if (this.clients.size === 0) this.unsubscribe();
  }

  private subscribe(): void {
    this.unwatch = this.link.onConnect((nc) => {
      if (this.subscribedOn === nc) return; // reconnect: the client restores subscriptions itself
      this.subscribedOn = nc;
      this.subs = this.prefixes.map((prefix) => nc.subscribe(eventFilter(prefix), { callback: (err, m) => void (err || this.publish(m.subject, m.string())) }));
    });
  }

  private unsubscribe(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.subscribedOn = undefined;
  }

  private publish(subject: string, text: string): void {
    const event = toFeedEvent(subject, text);
    if (!event) return;
    const line = `event: event\nid: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const c of this.clients) {
      if (!matchesFilter(event, c.filter)) continue;
      if (c.res.writableNeedDrain) {
        c.dropped++;
        continue;
      }
      if (c.dropped > 0) {
        c.res.write(`event: dropped\ndata: ${JSON.stringify({ count: c.dropped })}\n\n`);
        c.dropped = 0;
      }
      c.res.write(line);
      this.sent++;
    }
  }

  stop(): void {
    for (const c of [...this.clients]) {
      c.res.end();
      this.detach(c);
    }
    this.log.debug?.("nats: dashboard feed stopped");
  }
}
