import { AGENT_KIND } from "./subjects.ts";

/** The §8.3 payload, also the `status` endpoint's reply (§8.7): one builder keeps the two in step. */
export interface HeartbeatPayload {
  agent: string;
  owner: string;
  instance_id: string;
  ts: string;
  interval_s: number;
}

export function heartbeatPayload(owner: string, instanceId: string, intervalS: number, now = new Date()): HeartbeatPayload {
  return { agent: AGENT_KIND, owner, instance_id: instanceId, ts: now.toISOString(), interval_s: intervalS };
}

export function encodeHeartbeat(payload: HeartbeatPayload): string {
  return JSON.stringify(payload);
}
