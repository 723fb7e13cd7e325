import type { DispatchOutcome, RelayHandler } from "../wake/dispatcher.ts";
import type { AskResult, Caller, NotifyResult, Relay } from "./relay.ts";

/** Refused requests (bad input, not allowed, no such session) go to the dead-letter subject; the rest answer the sender. */
function outcome(result: NotifyResult | AskResult): DispatchOutcome {
  if (result.ok) return { kind: "handled", receipt: result };
  if (result.kind === "invalid" || result.kind === "forbidden" || result.kind === "not-found") return { kind: "rejected", reason: result.error };
  return { kind: "handled", receipt: { ok: false, error: result.error } };
}

/**
 * Wake messages with `expectReply` run a turn and reply with the agent's answer; `deliver` alone runs a
 * turn whose reply goes to the session's channel. The caller checked against allowedTargets is `from`.
 */
export function natsRelayHandler(relay: Pick<Relay, "notify" | "ask">): RelayHandler {
  return async (message, target) => {
    const caller: Caller = { id: message.from, via: "nats" };
    if (message.expectReply) {
      return outcome(await relay.ask(caller, { sessionKey: target.sessionKey, message: message.body, deliver: message.deliver, timeoutMs: message.timeoutMs }));
    }
    return outcome(await relay.notify(caller, { sessionKey: target.sessionKey, message: message.body, channel: message.channel, timeoutMs: message.timeoutMs }));
  };
}
