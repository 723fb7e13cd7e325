import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { relayText } from "../relay/relay.ts";
import type { TurnSlots } from "../relay/limits.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import type { RateLimitedLog } from "../shared/rate-limited-log.ts";
import type { Reservoir } from "../shared/reservoir.ts";
import { agentOfSessionKey, natsCallerSessionKey, restOfSessionKey } from "../shared/session-key.ts";
import type { Caller } from "../trust/caller.ts";
import { AssistantText } from "./assistant-text.ts";
import { callerKey, describeCaller, inboxOwner, type ProtocolTrust } from "./caller.ts";
import type { ErrorCode } from "./chunks.ts";
import { EXTENSION_FIELD, parseEnvelope } from "./envelope.ts";
import type { MicroService } from "./micro.ts";
import type { Trace } from "../trace/context.ts";
import { headerGetter } from "../trace/nats.ts";
import { inboundTrace, processTraces } from "../trace/sessions.ts";
import { ReplyStream } from "./reply.ts";
import { replyProblem } from "../shared/reply-safety.ts";
import type { AgentAddress } from "./subjects.ts";
import type { StreamingTurns } from "./turns.ts";

/** Everything one agent's prompt endpoint needs; shared by all its requests. */
export interface PromptEndpoint {
  address: AgentAddress;
  service: MicroService;
  turns: StreamingTurns;
  trust: ProtocolTrust;
  /** `signed`: only verified senders are served (§13.9). */
  minSenderTrust: "any" | "signed";
  /** The relay's turn slots (relay.maxConcurrent, relay.maxConcurrentPerSession). */
  slots: TurnSlots;
  /** relay.timeoutMs: how long the caller's stream waits for the turn. */
  timeoutMs: number;
  /** relay.maxTimeoutMs: how long a turn that outlasted timeoutMs keeps its slot. */
  maxTimeoutMs: number;
  keepAliveMs: number;
  /** The advertised `max_payload` (§2.1), enforced here too (§5.4). */
  maxPayloadBytes: number;
  /** Streams still open, so a stopping gateway can end them properly. */
  open: Set<ReplyStream>;
  /** Request arrival → ack handed to the socket, in µs (the plugin's share of the caller's ack latency). */
  ackMicros: Reservoir;
  /** Told how each prompt ended and how long it took from arrival (metrics). */
  onOutcome?: (outcome: PromptOutcome, micros: number) => void;
  /** 401s: one line a minute with a count, so a flood of unauthenticated prompts cannot flood the log. */
  authFailures: RateLimitedLog;
  log: Logger;
}

/** Resolves after the event loop's next I/O poll phase (setImmediate from the check phase lands one iteration later). */
function afterNextPoll(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

/** Suggested wait in a 429's JSON body (§9.1). */
const RETRY_AFTER_S = 5;

class Refusal {
  readonly code: ErrorCode;
  readonly message: string;
  readonly extra?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, extra?: Record<string, unknown>) {
    this.code = code;
    this.message = message;
    this.extra = extra;
  }
}

/**
 * Which session the turn runs in: the caller's own, or (extension) an existing one it names. Either way
 * the relay's decision applies (authenticated unless relay.trustUnsignedCallers, and relay.allowedTargets).
 * Another NATS caller's own session is never pickable, whatever the patterns say.
 */
function targetSession(ep: PromptEndpoint, caller: Caller, key: string, picked: string | undefined): { sessionKey: string; picked: boolean } | Refusal {
  const agentId = ep.address.agentId;
  const own = natsCallerSessionKey(agentId, key);
  const sessionKey = picked ?? own;
  if (picked !== undefined && picked !== own) {
    if (agentOfSessionKey(picked) !== agentId) return new Refusal(400, `${EXTENSION_FIELD}.sessionKey ${picked} is not a session of agent ${agentId}`);
    if (restOfSessionKey(picked)?.startsWith("nats:")) return new Refusal(403, `${picked} is another NATS caller's session`);
  }
  const decision = ep.trust.mayTakeTurn(caller, sessionKey);
  if (!decision.ok) return new Refusal(decision.code, decision.reason);
  if (sessionKey !== own && !ep.turns.exists(sessionKey)) return new Refusal(404, `no session ${sessionKey}`);
  return { sessionKey, picked: sessionKey !== own };
}

/**
 * One prompt request (spec §5, §6, §9): validate, classify the sender, choose the session, take a turn
 * slot, ack, then run the agent's real turn and stream its assistant output; every path ends with the
 * terminator, refusals with an error frame first and no ack.
 */
/** How a prompt ended, as a fixed set (a metrics label). */
export const PROMPT_OUTCOMES = ["answered", "failed", "bad_request", "unauthorized", "forbidden", "busy", "refused", "error", "ignored"] as const;
export type PromptOutcome = (typeof PROMPT_OUTCOMES)[number];

function refusalOutcome(code: number): PromptOutcome {
  return code === 400 ? "bad_request" : code === 401 ? "unauthorized" : code === 403 ? "forbidden" : code === 429 ? "busy" : "refused";
}

export async function handlePrompt(ep: PromptEndpoint, nc: NatsConnection, msg: Msg, arrivedAt = performance.now()): Promise<void> {
  const begun = ep.service.begin("prompt");
  let outcome: PromptOutcome = "ignored";
  const done: typeof begun = (...args) => {
    ep.onOutcome?.(outcome, (performance.now() - arrivedAt) * 1000);
    return begun(...args);
  };
  const agentId = ep.address.agentId;
  if (!msg.reply) {
    ep.log.warn(`nats: agent protocol: prompt for ${agentId} on ${msg.subject} has no reply subject; ignored (there is nobody to answer)`);
    done("no reply subject");
    return;
  }
  const unsafe = replyProblem(msg.reply);
  if (unsafe) {
    ep.log.warn(`nats: agent protocol: prompt for ${agentId} ignored: its reply subject ${msg.reply} is ${unsafe}, which this gateway does not publish to`);
    done(`reply subject is ${unsafe}`);
    return;
  }
  const trace = inboundTrace(headerGetter(msg.headers), msg.subject, ep.log);
  const out = new ReplyStream(nc, msg.reply, trace);
  ep.open.add(out);
  // `who` is refined once the sender is classified; until then the inbox is all we know.
  const state: RequestState = { who: `inbox ${inboxOwner(msg.reply)}`, arrivedAt, trace };
  try {
    const served = await serve(ep, msg, out, state);
    if (served instanceof Refusal) {
      out.error(served.code, served.message, served.extra);
      const line = `nats: agent protocol: prompt for ${agentId} from ${state.who} refused (${served.code}): ${served.message}`;
      if (served.code === 401) ep.authFailures.report(line);
      else ep.log.warn(line);
      outcome = refusalOutcome(served.code);
      done(`${served.code}: ${served.message}`);
    } else {
      outcome = served === undefined ? "answered" : "failed";
      done(served);
    }
  } catch (err) {
    outcome = "error";
    const error = `internal error: ${errorMessage(err)}`;
    out.error(500, error);
    ep.log.error(`nats: agent protocol: prompt for ${agentId} from ${state.who}: ${error}`);
    done(error);
  } finally {
    out.end();
    ep.open.delete(out);
    state.release?.();
  }
}

/** What one request's handling has established so far, for its log lines and its clean-up. */
interface RequestState {
  who: string;
  arrivedAt: number;
  /** This hop's span of the prompt's trace; the turn's events are recorded under it. */
  trace: Trace;
  /** Gives the turn slot back. */
  release?: () => void;
}

/** Returns a Refusal (nothing ran), an error text (the turn went wrong, already told to the caller) or undefined. */
async function serve(ep: PromptEndpoint, msg: Msg, out: ReplyStream, state: RequestState): Promise<Refusal | string | undefined> {
  const agentId = ep.address.agentId;
  if (msg.data.length > ep.maxPayloadBytes) return new Refusal(400, `the request is ${msg.data.length} bytes; this endpoint's max_payload is ${ep.maxPayloadBytes}`);
  const parsed = parseEnvelope(msg.data);
  if (!parsed.ok) return new Refusal(400, parsed.error);
  const check = ep.trust.verify({ subject: msg.subject, data: msg.data, headers: msg.headers }, "live");
  if (check.trust === "rejected") return new Refusal(check.code, check.reason);
  if (ep.minSenderTrust === "signed" && check.trust !== "verified") {
    return new Refusal(401, `this agent only serves signed requests (min_sender_trust signed); ${check.trust === "claimed" ? "its Agent-Sender header is not signed" : "it has no Agent-Sender header"}`);
  }
  const identified = ep.trust.identify(check, parsed.envelope.from, "agent-protocol");
  if (!identified.ok) return new Refusal(identified.code, identified.reason);
  const caller = identified.caller;
  const key = callerKey(check, caller, msg.reply as string);
  state.who = describeCaller(caller, key);

  const target = targetSession(ep, caller, key, parsed.envelope.sessionKey);
  if (target instanceof Refusal) return target;
  const slot = ep.slots.take(target.sessionKey);
  if (!slot.ok) return new Refusal(429, slot.reason, { retry_after_s: RETRY_AFTER_S });
  state.release = slot.release;
  processTraces().set(target.sessionKey, state.trace);

  // §6.4: the ack goes out before anything that waits on the model. nats.js writes its buffer in a
  // microtask; yielding once lets that happen before the host's synchronous turn set-up runs. Then one
  // more pass of the event loop's I/O phase, so prompts already waiting in the socket get their acks
  // before this turn's set-up holds the loop (a burst of prompts is acked at once, not one set-up apart).
  out.ack(ep.keepAliveMs);
  await Promise.resolve();
  ep.ackMicros.add((performance.now() - state.arrivedAt) * 1000);
  await afterNextPoll();
  const text = new AssistantText();
  let runId = "";
  const result = await ep.turns.run({
    sessionKey: target.sessionKey,
    // in the caller's own session the prompt is the user's message; in a picked one it says who spoke
    message: target.picked ? relayText(caller, parsed.envelope.prompt) : parsed.envelope.prompt,
    timeoutMs: ep.timeoutMs,
    onStarted: (id) => (runId = id),
    onAssistant: (data) => out.response(text.push(data)),
  });
  const where = `${agentId} from ${state.who} in ${target.sessionKey}`;
  switch (result.kind) {
    case "finished": {
      out.response(text.finish(result.answer));
      if (text.diverged) ep.log.warn(`nats: agent protocol: prompt for ${where}: run ${runId} rewrote text it had already streamed; the caller got the streamed version`);
      ep.log.info(`nats: agent protocol: prompt for ${where}: run ${runId} answered (${out.chunks} chunks, ${out.responseBytes} response bytes${out.publishError ? `, publish failed: ${out.publishError}` : ""})`);
      return undefined;
    }
    case "timeout": {
      const error = `no answer within ${ep.timeoutMs} ms (relay.timeoutMs); run ${result.runId} goes on in ${target.sessionKey}`;
      out.error(500, error);
      // As in the relay, the run keeps its slot until it ends (at most relay.maxTimeoutMs): callers that
      // give up early cannot pile up runs past the limits.
      const release = state.release;
      state.release = undefined;
      void ep.turns.settle(result.runId, ep.maxTimeoutMs).finally(release);
      ep.log.warn(`nats: agent protocol: prompt for ${where}: ${error}`);
      return error;
    }
    case "failed":
    case "not-started": {
      const error = result.kind === "failed" ? `run ${result.runId} failed: ${result.error}` : `could not start a turn: ${result.error}`;
      out.error(500, error);
      ep.log.warn(`nats: agent protocol: prompt for ${where}: ${error}`);
      return error;
    }
  }
}
