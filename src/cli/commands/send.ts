import { errors } from "@nats-io/transport-node";
import { PRIORITIES, type Priority } from "../../wake/message.ts";
import { agentOfSessionKey, isAgentId, isSessionKey } from "../../shared/session-key.ts";
import { agentInboxSubject } from "../../shared/subjects.ts";
import { CliError, withConnectionFlags, type CliCommand, type ConnectionFlags, type NatsCli, type OutputFlags } from "../context.ts";

interface SendFlags extends ConnectionFlags, OutputFlags {
  priority: string;
  to?: string;
  session?: string;
  from: string;
  subject?: string;
  request?: boolean;
  timeout: string;
}

/** `openclaw nats send <text…>`: publish one wake message (`--request` waits for and prints the receipt). */
export function registerSend(nats: CliCommand, cli: NatsCli): void {
  withConnectionFlags(
    nats
      .command("send")
      .description("Publish a wake message to an agent")
      .argument("<text...>", "message body")
      .option("--priority <p>", "urgent | normal | low", "normal")
      .option("--to <agentId>", "agent to wake (subject agent.<to>.inbox)")
      .option("--session <key>", "exact session key, e.g. agent:ops:telegram:direct:42")
      .option("--from <name>", "who is speaking", "cli")
      .option("--subject <subject>", "publish here instead of agent.<agent>.inbox")
      .option("--request", "wait for the plugin's receipt and print it")
      .option("--timeout <ms>", "how long --request waits", "5000")
      .option("--json", "machine-readable output"),
  ).action(
    cli.action(async (words: string[], flags: SendFlags) => {
      const cfg = cli.pluginConfig();
      if (!(PRIORITIES as readonly string[]).includes(flags.priority)) throw new CliError(`--priority must be one of ${PRIORITIES.join(", ")}`);
      if (flags.to !== undefined && !isAgentId(flags.to)) throw new CliError(`--to "${flags.to}" is not an agent id (lowercase letters, digits, _ or -)`);
      if (flags.session !== undefined && !isSessionKey(flags.session)) throw new CliError(`--session must look like agent:<agentId>:<rest>`);
      const timeout = Number(flags.timeout);
      if (!Number.isInteger(timeout) || timeout <= 0) throw new CliError("--timeout must be a positive number of milliseconds");
      const agent = flags.to ?? agentOfSessionKey(flags.session) ?? cfg.defaultAgent;
      const subject = flags.subject ?? agentInboxSubject(agent);
      const message = {
        from: flags.from,
        body: words.join(" "),
        priority: flags.priority as Priority,
        ...(flags.to ? { to: flags.to } : {}),
        ...(flags.session ? { sessionKey: flags.session } : {}),
      };
      const nc = await cli.connect(flags, "openclaw-nats-cli:send");
      try {
        if (!flags.request) {
          nc.publish(subject, JSON.stringify(message));
          await nc.flush();
          cli.print(flags, `published to ${subject}`, { ok: true, subject });
          return;
        }
        let receipt: unknown;
        try {
          receipt = (await nc.request(subject, JSON.stringify(message), { timeout })).json();
        } catch (err) {
          if (err instanceof errors.RequestError && err.isNoResponders()) {
            throw new CliError(`no responders on ${subject}`, { next: "is the gateway running with the nats plugin, and does it subscribe to this subject (plugins.entries.nats.config.subjects)?" });
          }
          if (err instanceof errors.TimeoutError) throw new CliError(`no receipt on ${subject} within ${timeout} ms`, { next: "check the gateway log (openclaw logs) and openclaw nats status" });
          throw err;
        }
        const ok = typeof receipt === "object" && receipt !== null && (receipt as { ok?: unknown }).ok === true;
        cli.print(flags, ok ? `accepted: ${JSON.stringify(receipt)}` : `refused: ${JSON.stringify(receipt)}`, receipt);
        if (!ok) cli.fail(1);
      } finally {
        await nc.close();
      }
    }),
  );
}
