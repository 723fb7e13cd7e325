import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { deadLetter } from "./dead-letter.ts";
import type { WakeDispatcher } from "./dispatcher.ts";

/**
 * Core-NATS subscriptions on the configured subjects. nats.js re-subscribes after every reconnect,
 * so this runs once per connection object.
 */
export function subscribeWake(nc: NatsConnection, subjects: string[], dispatcher: WakeDispatcher, dlqSubject: string, log: Logger): Subscription[] {
  return subjects.map((subject) => {
    const sub = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) {
          log.warn(`nats: subscription ${subject} error: ${errorMessage(err)}`);
          return;
        }
        void handle(nc, msg, dispatcher, dlqSubject, log, performance.now());
      },
    });
    log.info(`nats: subscribed to ${subject}`);
    return sub;
  });
}

async function handle(nc: NatsConnection, msg: Msg, dispatcher: WakeDispatcher, dlqSubject: string, log: Logger, arrivedAt: number): Promise<void> {
  try {
    const outcome = await dispatcher.dispatch(msg.data, msg.subject, arrivedAt, { headers: msg.headers });
    if (outcome.kind === "rejected") {
      deadLetter(nc, dlqSubject, { subject: msg.subject, data: msg.data, reply: msg.reply, reason: outcome.reason }, log);
      return;
    }
    if (msg.reply) msg.respond(JSON.stringify(outcome.receipt));
  } catch (err) {
    deadLetter(nc, dlqSubject, { subject: msg.subject, data: msg.data, reply: msg.reply, reason: `internal error: ${errorMessage(err)}` }, log);
  }
}
