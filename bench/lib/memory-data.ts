import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { buildEnvelope, newEventId, type EventEnvelope } from "../../src/events/envelope.ts";
import { eventSubject } from "../../src/shared/subjects.ts";
import { AckPublisher } from "../../src/spool/ack-publisher.ts";

/**
 * Synthetic event streams for the memory latency bench: `total` events across 20 agents, of which the
 * target agent has exactly RECENT conversation events in the last 7 days (one user), published last and
 * interleaved with the other agents' recent traffic. Every agent, the target too, has its share of the
 * older history (half conversation, half tool/LLM metadata, 40 users, older than the lookback), so the
 * target's own full-text index grows with the stream: ~48,000 old events of its own at 1,000,000.
 */
export const AGENTS = 20;
export const TARGET = "a00";
export const TARGET_SESSION = "agent:a00:telegram:direct:u0";
export const RECENT = 1000;
/** Recent events per other agent (when it has that many). */
const OTHER_RECENT = 2000;
const DAY = 86_400_000;
export const LOOKBACK_MS = 7 * DAY;

const WORDS = (
  "deploy database migration invoice budget meeting offsite dentist locker deadline restaurant report " +
  "server backup release ticket customer contract holiday flight hotel train weather calendar reminder " +
  "password network laptop printer coffee lunch dinner weekend project review design roadmap hiring"
).split(" ");

function sentence(r: () => number, n: number): string {
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(r() * WORDS.length)]);
  words[0] = words[0][0].toUpperCase() + words[0].slice(1);
  return `${words.join(" ")} ${Math.floor(r() * 10_000)}.`;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function otherEvent(r: () => number, agent: string, i: number, ts: number): EventEnvelope {
  const session = `agent:${agent}:telegram:direct:u${i % 40}`;
  const kind = i % 4;
  if (kind === 0) return buildEnvelope({ agent, session, type: "msg.in", visibility: "public", payload: { from: `telegram:u${i % 40}`, content: sentence(r, 12) } }, newEventId(), ts);
  if (kind === 1) return buildEnvelope({ agent, session, type: "turn.reply", payload: { trigger: "user", success: true, content: sentence(r, 16) } }, newEventId(), ts);
  if (kind === 2) return buildEnvelope({ agent, session, type: "tool.call", payload: { tool: "exec", params: { command: "ls -la" } } }, newEventId(), ts);
  return buildEnvelope({ agent, session, type: "llm.input", payload: { provider: "fake", model: "echo", promptLength: 812, historyCount: 14 } }, newEventId(), ts);
}

export interface Population {
  stream: string;
  prefix: string;
  total: number;
  /** Stream time when the recent phase started: the JetStream-direct read seeks here. */
  recentFrom: number;
  /** Conversation events with text (what the projection holds after replay). */
  conversationRows: number;
  publishMs: number;
}

/** Publishes with a window of PubAcks outstanding (the plugin's own technique), resolving when all are acked. */
function publishAll(nc: NatsConnection, items: Iterable<{ subject: string; data: string; id: string }>, window = 1024): Promise<number> {
  const it = items[Symbol.iterator]();
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let done = false;
    let acked = 0;
    let token = 0;
    const pump = (): void => {
      while (!done && inFlight < window) {
        const next = it.next();
        if (next.done) {
          done = true;
          break;
        }
        inFlight++;
        publisher.publish(nc, next.value.subject, next.value.data, next.value.id, String(token++));
      }
      if (done && inFlight === 0) {
        publisher.close();
        resolve(acked);
      }
    };
    const publisher = new AckPublisher((_t, result) => {
      if (!result.ok) {
        publisher.close();
        reject(new Error(result.error));
        return;
      }
      inFlight--;
      acked++;
      pump();
    });
    pump();
  });
}

export async function populate(nc: NatsConnection, total: number, name: string, now: number): Promise<Population> {
  const stream = `mem-bench-${name}`;
  const prefix = `membench${name}.events`;
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  const r = rng(total);
  const others = Math.max(0, total - RECENT);
  const perOther = Math.floor(others / AGENTS);
  let conversationRows = 0;
  const item = (e: EventEnvelope) => {
    if (e.type === "msg.in" || e.type === "turn.reply") conversationRows++;
    return { subject: eventSubject(prefix, e.agent, e.type), data: JSON.stringify(e), id: e.id };
  };
  const t0 = performance.now();
  // Old phase: every agent's events older than the lookback (the target's too), oldest first.
  function* old() {
    const oldCount = Math.max(0, perOther - OTHER_RECENT);
    for (let i = 0; i < oldCount; i++) {
      for (let a = 0; a < AGENTS; a++) {
        const ts = now - LOOKBACK_MS - DAY - Math.floor(((oldCount - i) / Math.max(1, oldCount)) * 300 * DAY);
        yield item(otherEvent(r, `a${String(a).padStart(2, "0")}`, i, ts));
      }
    }
  }
  await publishAll(nc, old());
  const recentFrom = Date.now();
  // Recent phase: the target's 1,000 conversation events among everyone else's recent traffic.
  const otherRecent = Math.min(perOther, OTHER_RECENT);
  const slots = RECENT + otherRecent * (AGENTS - 1);
  function* recent() {
    let target = 0;
    let other = 0;
    for (let s = 0; s < slots; s++) {
      const ts = now - LOOKBACK_MS + Math.floor((s / slots) * (LOOKBACK_MS - 60_000));
      const targetTurn = target < RECENT && (other >= otherRecent * (AGENTS - 1) || (s * RECENT) / slots >= target);
      if (targetTurn) {
        const type = target % 2 === 0 ? "msg.in" : "turn.reply";
        const payload = type === "msg.in" ? { from: "telegram:u0", content: sentence(r, 12) } : { trigger: "user", success: true, content: sentence(r, 16) };
        yield item(buildEnvelope({ agent: TARGET, session: TARGET_SESSION, type, visibility: "public", payload }, newEventId(), ts));
        target++;
      } else {
        const a = 1 + (other % (AGENTS - 1));
        yield item(otherEvent(r, `a${String(a).padStart(2, "0")}`, perOther - otherRecent + Math.floor(other / (AGENTS - 1)), ts));
        other++;
      }
    }
  }
  await publishAll(nc, recent());
  const info = await jsm.streams.info(stream);
  return { stream, prefix, total: info.state.messages, recentFrom, conversationRows, publishMs: performance.now() - t0 };
}
