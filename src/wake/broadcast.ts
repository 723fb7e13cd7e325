import type { Msg } from "@nats-io/transport-node";
import { mainSessionKey } from "../shared/session-key.ts";
import type { DispatchOutcome, WakeDispatcher } from "./dispatcher.ts";

/** The queue group of one agent's broadcast subscription: every gateway hosting that agent joins it, so the agent gets each broadcast once. */
export function broadcastQueue(queueGroup: string, agentId: string): string {
  return `${queueGroup}-broadcast-${agentId}`;
}

/**
 * A broadcast goes to the main session of every hosted agent: each gateway subscribes once per agent it
 * hosts (see broadcastQueue), and this injects it for that agent. `to` and `sessionKey` would contradict
 * that, and the relay (deliver / expectReply) takes one agent's turn: all three are refused.
 */
export async function dispatchBroadcast(dispatcher: WakeDispatcher, agentId: string, msg: Pick<Msg, "data" | "subject" | "headers">, arrivedAt: number): Promise<DispatchOutcome> {
  const parsed = dispatcher.parse(msg.data, msg.subject);
  if (parsed.ok) {
    const m = parsed.message;
    if (m.to !== undefined || m.sessionKey !== undefined) return { kind: "rejected", reason: `a broadcast on ${msg.subject} reaches every hosted agent's main session; drop to / sessionKey` };
    if (m.deliver || m.expectReply) return { kind: "rejected", reason: `a broadcast on ${msg.subject} cannot use deliver / expectReply (the relay takes one agent's turn)` };
  }
  const outcome = await dispatcher.dispatch(msg.data, msg.subject, arrivedAt, { headers: msg.headers, target: { agentId, sessionKey: mainSessionKey(agentId) }, parsed });
  return outcome.kind === "handled" && outcome.receipt.ok ? { kind: "handled", receipt: { ...outcome.receipt, broadcast: true } } : outcome;
}
