import type { DispatchOutcome, RelayHandler } from "../wake/dispatcher.ts";
import type { Trust } from "../trust/trust.ts";
import { isRefusal, type AskResult, type NotifyResult, type Relay } from "./relay.ts";

/** Refused requests (bad input, unauthenticated, not allowed, no such session, busy) are dead-lettered; the rest answer the sender. */
function outcome(result: NotifyResult | AskResult): DispatchOutcome {
  if (result.ok) return { kind: "handled", receipt: result };
  if (isRefusal(result.kind)) return { kind: "rejected", reason: result.error };
  return { kind: "handled", receipt: { ok: false, error: result.error } };
}

/**
 * Wake messages with `expectReply` run a turn and reply with the agent's answer; `deliver` alone runs a
 * turn whose reply goes to the session's channel. The caller is who the Agent-Sender signature says
 * (src/trust); an unsigned `from` is only a claim, and the relay refuses it unless
 * relay.trustUnsignedCallers is on.
 */
export function natsRelayHandler(relay: Pick<Relay, "notify" | "ask">, trust: Pick<Trust, "identify">): RelayHandler {
  return async (message, target, sender) => {
    const who = trust.identify(sender, message.from, "nats");
    if (!who.ok) return { kind: "rejected", reason: who.reason };
    const caller = who.caller;
    if (message.expectReply) {
      return outcome(await relay.ask(caller, { sessionKey: target.sessionKey, message: message.body, deliver: message.deliver, timeoutMs: message.timeoutMs }));
    }
    return outcome(await relay.notify(caller, { sessionKey: target.sessionKey, message: message.body, channel: message.channel, timeoutMs: message.timeoutMs }));
  };
}
