import type { NatsConnection } from "@nats-io/transport-node";
import { promptText, type ScriptedModel } from "../../harness/model-server.ts";

/**
 * Every reply to one request: the first may take long on a loaded machine (the receipt follows the
 * host's commit), then any further one (a doubled subscription) within `stallMs`; [] for "no responders".
 */
export async function replies(nc: NatsConnection, subject: string, body: Record<string, unknown>, stallMs = 5000): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  try {
    for await (const m of await nc.requestMany(subject, JSON.stringify(body), { strategy: "stall", stall: stallMs, maxWait: 180_000 })) {
      if (m.data.length === 0) break;
      out.push(m.json());
    }
  } catch (err) {
    if (!/no responders/i.test(String(err))) throw err;
  }
  return out;
}

export const occurrences = (text: string, part: string): number => text.split(part).length - 1;
export const seen = (model: ScriptedModel, text: string): number => model.countMatching((r) => promptText(r).includes(text));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
