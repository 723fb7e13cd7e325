// `npm run wake -- "text" [--to agent] [--priority urgent|normal|low]`: publish one wake message and print the receipt.
import { connect } from "@nats-io/transport-node";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { to: { type: "string", default: "main" }, priority: { type: "string", default: "urgent" }, from: { type: "string", default: "cli" } },
});
const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
const body = positionals.join(" ") || "hello from NATS";
const reply = await nc.request(`agent.${values.to}.inbox`, JSON.stringify({ from: values.from, body, priority: values.priority }), { timeout: 5000 });
console.log(reply.string());
await nc.close();
