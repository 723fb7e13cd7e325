import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { replyProblem } from "../shared/reply-safety.ts";
import type { NatsPluginConfig } from "../config/schema.ts";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { broadcastQueue, dispatchBroadcast } from "./broadcast.ts";
import { deadLetter, refusedReplies } from "./dead-letter.ts";
import type { WakeDispatcher } from "./dispatcher.ts";
import type { Hosting } from "./hosting.ts";
import { isBroadcastSubject, wakeLayout } from "./layout.ts";
import { answerHeaders } from "../trace/nats.ts";
import { subjectMatches } from "../shared/subjects.ts";

type WakeSubscriptionConfig = Pick<NatsPluginConfig, "subjects" | "broadcastSubjects" | "queueGroup" | "deadLetterSubject" | "defaultAgent"> & { wake: Pick<NatsPluginConfig["wake"], "maxInFlight"> };

/**
 * Core-NATS subscriptions: the configured subjects, `agent.*.…` expanded to the hosted agents, in the
 * queue group (gateways hosting the same agent share its messages; a request for an agent nobody hosts
 * gets "no responders"); broadcast subjects without a queue group (every gateway, every hosted agent).
 * nats.js re-subscribes after every reconnect, so this runs once per connection object.
 */
export function subscribeWake(nc: NatsConnection, cfg: WakeSubscriptionConfig, dispatcher: WakeDispatcher, hosting: Hosting, log: Logger, opts: { broadcastOnly?: boolean } = {}): Subscription[] {
  const layout = wakeLayout(cfg, hosting.agents);
  if (!opts.broadcastOnly) for (const s of layout.notHosted) log.info(`nats: not subscribing to ${s}: this gateway does not host that agent (hosted: ${hosting.describe()})`);
  // With the durable inbox the work subjects come from JetStream; broadcasts stay core (every gateway takes them).
  const work = opts.broadcastOnly ? [] : [...new Set([...[...layout.byAgent.values()].flat(), ...layout.shared])];
  const subs: Subscription[] = [];
  // Core NATS pushes as fast as senders publish; each handled message holds memory until its hand-off.
  // Past wake.maxInFlight a message is refused at once (error reply, dead letter) instead of queued.
  let inFlight = 0;
  const subscribe = (subject: string, queue: string | undefined, onMsg: (msg: Msg, arrivedAt: number) => Promise<void>): void => {
    subs.push(
      nc.subscribe(subject, {
        ...(queue ? { queue } : {}),
        callback: (err, msg) => {
          if (err) {
            log.warn(`nats: subscription ${subject} error: ${errorMessage(err)}`);
            return;
          }
          if (inFlight >= cfg.wake.maxInFlight) {
            busy.count++;
            void guarded(nc, msg, cfg.deadLetterSubject, log, async () => ({ kind: "rejected", reason: `gateway busy: ${inFlight} wake messages in flight (wake.maxInFlight ${cfg.wake.maxInFlight}); not handled` }));
            return;
          }
          inFlight++;
          void onMsg(msg, performance.now()).finally(() => inFlight--);
        },
      }),
    );
  };
  const onWork = async (msg: Msg, arrivedAt: number): Promise<void> => {
    if (isBroadcastSubject(cfg, msg.subject)) return; // the broadcast subscription takes it
    await guarded(nc, msg, cfg.deadLetterSubject, log, async () => {
      const { away, parsed } = hosting.check(dispatcher, msg.data, msg.subject);
      if (away) return { kind: "rejected", reason: `agent "${away}" is not hosted by this gateway (hosted: ${hosting.describe()})` };
      return dispatcher.dispatch(msg.data, msg.subject, arrivedAt, { headers: msg.headers, ...(parsed ? { parsed } : {}) });
    });
  };
  const done = new Set<string>();
  // "subscribed" is said once the server has the subscriptions (after a flush): senders and tests take
  // the line as "ready", and a request sent before the SUB arrived would get "no responders".
  const said: string[] = [];
  // One log line per configured subject, naming what it was expanded to for the hosted agents.
  for (const configured of cfg.subjects) {
    const mine = work.filter((w) => !done.has(w) && subjectMatches(configured, w));
    if (mine.length === 0) continue;
    for (const w of mine) {
      done.add(w);
      subscribe(w, cfg.queueGroup, onWork);
    }
    const shown = mine.length === 1 && mine[0] === configured ? "" : ` as ${mine.join(", ")}`;
    said.push(`nats: subscribed to ${configured}${shown} (queue group ${cfg.queueGroup})`);
  }
  // One subscription per hosted agent, in that agent's broadcast queue group: every agent of the
  // deployment gets a broadcast once, also an agent that two gateways host.
  const agents = hosting.agents ?? [cfg.defaultAgent];
  for (const pattern of layout.broadcast) {
    for (const agentId of agents) {
      subscribe(pattern, broadcastQueue(cfg.queueGroup, agentId), (msg, arrivedAt) => guarded(nc, msg, cfg.deadLetterSubject, log, () => dispatchBroadcast(dispatcher, agentId, msg, arrivedAt)));
    }
    said.push(`nats: subscribed to broadcast ${pattern} for ${agents.join(", ")}`);
  }
  const say = (): void => {
    for (const line of said) log.info(line);
  };
  nc.flush().then(say, say);
  return subs;
}

/** Core messages refused because wake.maxInFlight were being handled, process-wide. */
export const busy = { count: 0 };

type Outcome = Awaited<ReturnType<WakeDispatcher["dispatch"]>>;

/** Reply-subject check, dispatch, receipt or dead letter; nothing thrown escapes. */
async function guarded(nc: NatsConnection, msg: Msg, dlqSubject: string, log: Logger, run: () => Promise<Outcome>): Promise<void> {
  const unsafe = msg.reply ? replyProblem(msg.reply) : undefined;
  if (unsafe) {
    // The gateway answers with its own permissions: a `$KV.…` / `$JS.API.…` reply would act on the sender's behalf.
    refusedReplies.count++;
    deadLetter(nc, dlqSubject, { subject: msg.subject, data: msg.data, headers: msg.headers, reason: `reply subject ${msg.reply!.slice(0, 120)} is ${unsafe}; not handled, not answered` }, log);
    return;
  }
  try {
    const outcome = await run();
    if (outcome.kind === "rejected") {
      deadLetter(nc, dlqSubject, { subject: msg.subject, data: msg.data, headers: msg.headers, reply: msg.reply, reason: outcome.reason }, log);
      return;
    }
    if (msg.reply) msg.respond(JSON.stringify(outcome.receipt), { headers: answerHeaders(msg.headers) });
  } catch (err) {
    deadLetter(nc, dlqSubject, { subject: msg.subject, data: msg.data, headers: msg.headers, reply: msg.reply, reason: `internal error: ${errorMessage(err)}` }, log);
  }
}
