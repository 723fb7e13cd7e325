import { Type, type Static } from "typebox";
import { errors, headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import type { NatsPluginConfig } from "../config/schema.ts";
import { PrioritySchema } from "../wake/message.ts";
import { continueTrace, setTraceHeaders, type Trace } from "../trace/context.ts";
import { HOPS_HEADER } from "../wake/hops.ts";
import { resolveTarget } from "../wake/route.ts";
import { checkToolSubject, resolveToolSubject } from "./subject-policy.ts";

export const NatsToolParameters = Type.Object(
  {
    action: Type.Union([Type.Literal("publish"), Type.Literal("request")], { description: "publish (fire and forget) or request (wait for one reply)" }),
    subject: Type.Optional(Type.String({ description: "NATS subject; must be in tool.allowedSubjects" })),
    to: Type.Optional(Type.String({ description: "agent id; shorthand for subject agent.<to>.inbox" })),
    message: Type.String({ description: "message body" }),
    priority: Type.Optional({ ...PrioritySchema, description: "urgent wakes the target now; default normal" }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: "request timeout, default 5000" })),
  },
  { additionalProperties: false },
);
export type NatsToolParams = Static<typeof NatsToolParameters>;

/** A request to an agent's inbox asks for the agent's answer (the relay runs a turn and replies with it). */
const AGENT_INBOX = /^agent\.[a-z0-9][a-z0-9_-]{0,63}\.inbox$/;
/** Extra wait on the NATS request so the relay's own "did not answer within …" reply arrives first. */
const ANSWER_GRACE_MS = 2000;

export class NatsToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NatsToolError";
  }
}

export interface ToolResult {
  content: Array<{ type: "text"; text: string }>;
  details: Record<string, unknown>;
}

/** `from`: the calling agent, else agentName, else defaultAgent, else "unknown". */
export function toolSender(cfg: Pick<NatsPluginConfig, "agentName" | "defaultAgent">, callerAgentId: string | undefined): string {
  return callerAgentId || cfg.agentName || cfg.defaultAgent || "unknown";
}

/** Headers authenticating one publish (the Agent-Sender signature over these exact bytes); undefined: publish unsigned. */
export type ToolSigner = (subject: string, payload: Uint8Array, into: MsgHdrs) => void;

/** Who is calling: the session the tool runs in and the hops of what it is acting on (src/wake/hops.ts). */
export interface ToolCaller {
  sessionKey?: string;
  /** Hops of the message the calling session is acting on; this send is hop + 1. */
  hops?: number;
  /** This send's span (src/trace/sessions.ts outgoing()); absent: a new trace. */
  trace?: Trace;
}

/** Publish or request on behalf of an agent. Errors are NatsToolError with a sentence the model can act on. */
export async function runNatsTool(
  nc: NatsConnection | undefined,
  cfg: NatsPluginConfig,
  from: string,
  params: NatsToolParams,
  sign?: ToolSigner,
  caller: ToolCaller = {},
): Promise<ToolResult> {
  let subject: string;
  try {
    subject = resolveToolSubject(params);
    checkToolSubject(subject, cfg.tool.allowedSubjects);
  } catch (err) {
    throw new NatsToolError(err instanceof Error ? err.message : String(err));
  }
  const askAgent = params.action === "request" && AGENT_INBOX.test(subject);
  // Waiting for one's own answer deadlocks: the reply needs a turn of the very session that is waiting.
  if (askAgent && caller.sessionKey && resolveTarget({ to: params.to }, cfg.defaultAgent, subject).sessionKey === caller.sessionKey) {
    throw new NatsToolError(`a request to ${subject} would wait for your own session (${caller.sessionKey}) to answer; publish instead, or ask another agent`);
  }
  const hops = (caller.hops ?? 0) + 1;
  if (hops > cfg.wake.maxHops) {
    throw new NatsToolError(
      `refused: this would be hop ${hops} of a chain of agent messages (maxHops ${cfg.wake.maxHops}); the agents may be messaging each other in a loop — stop and report instead`,
    );
  }
  if (!nc || nc.isClosed()) throw new NatsToolError("NATS is not connected; try again later");
  const priority = params.priority ?? "normal";
  const timeout = params.timeoutMs ?? (askAgent ? cfg.relay.timeoutMs : cfg.tool.defaultTimeoutMs);
  const json = JSON.stringify({
    from,
    to: params.to,
    body: params.message,
    priority,
    ...(askAgent ? { expectReply: true, timeoutMs: timeout } : {}),
    metadata: { timestamp: new Date().toISOString(), source: "nats-tool" },
  });
  const payload = new TextEncoder().encode(json);
  const headers = natsHeaders();
  headers.set(HOPS_HEADER, String(hops));
  setTraceHeaders(headers, caller.trace ?? continueTrace(undefined)); // the receiver's turn joins the caller's trace
  sign?.(subject, payload, headers);
  if (params.action === "publish") {
    nc.publish(subject, payload, { headers });
    await nc.flush();
    return { content: [{ type: "text", text: `published to ${subject}` }], details: { ok: true, action: "publish", subject, hops } };
  }
  try {
    const reply = await nc.request(subject, payload, { timeout: askAgent ? timeout + ANSWER_GRACE_MS : timeout, headers });
    const text = reply.string();
    return { content: [{ type: "text", text }], details: { ok: true, action: "request", subject, reply: text } };
  } catch (err) {
    if (err instanceof errors.TimeoutError) throw new NatsToolError(`request to ${subject} timed out after ${timeout} ms`);
    if (err instanceof errors.RequestError && err.isNoResponders()) throw new NatsToolError(`no responders on ${subject}: nobody is listening there`);
    if (err instanceof errors.NoRespondersError) throw new NatsToolError(`no responders on ${subject}: nobody is listening there`);
    throw new NatsToolError(`request to ${subject} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
