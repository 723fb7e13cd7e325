import { DEFAULT_HOST, DEFAULT_PORT, INSTALL_HINT, LocalServerError, NatsServerMissingError, localServerPaths, localServerStatus, startLocalServer, stopLocalServer } from "../../server/local-server.ts";
import { CliError, type CliCommand, type NatsCli, type OutputFlags } from "../context.ts";

interface StartFlags extends OutputFlags {
  host: string;
  port: string;
}

/** Server failures as CLI errors with the next step (install hint when the binary is missing). */
function asCliError(err: unknown): unknown {
  if (err instanceof NatsServerMissingError) return new CliError(err.message, { next: INSTALL_HINT });
  if (err instanceof LocalServerError) return new CliError(err.message, { next: err.next });
  return err;
}

/** `openclaw nats server start|stop|status`: a local nats-server with JetStream in the OpenClaw state dir. */
export function registerServer(nats: CliCommand, cli: NatsCli): void {
  const server = nats.command("server").description("A local nats-server with JetStream in the OpenClaw state dir (pid-file managed)");

  server
    .command("start")
    .description("Start the local nats-server in the background (loopback only, JetStream on)")
    .option("--host <host>", "loopback address to listen on", DEFAULT_HOST)
    .option("--port <port>", "client port", String(DEFAULT_PORT))
    .option("--json", "machine-readable output")
    .action(
      cli.action(async (flags: StartFlags) => {
        const port = Number(flags.port);
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port must be a port number (got ${flags.port})`);
        const paths = localServerPaths((await cli.stateDirs()).plugin);
        let started;
        try {
          started = await startLocalServer(paths, { host: flags.host, port, detached: true });
        } catch (err) {
          throw asCliError(err);
        }
        const what = started.alreadyRunning ? "already running" : "started";
        cli.print(
          flags,
          `nats-server ${what}: ${started.url} (pid ${started.pid}, JetStream in ${paths.storeDir})\nnext: openclaw nats setup --url ${started.url}   (points the plugin at it and creates the streams)`,
          { ok: true, running: true, alreadyRunning: started.alreadyRunning, pid: started.pid, url: started.url, dir: paths.dir },
        );
      }),
    );

  server
    .command("stop")
    .description("Stop the local nats-server this command started")
    .option("--json", "machine-readable output")
    .action(
      cli.action(async (flags: OutputFlags) => {
        const paths = localServerPaths((await cli.stateDirs()).plugin);
        let result;
        try {
          result = await stopLocalServer(paths);
        } catch (err) {
          throw asCliError(err);
        }
        cli.print(flags, result.stopped ? `nats-server stopped (pid ${result.pid}); its data stays in ${paths.storeDir}` : "the local nats-server is not running; nothing to stop", { ok: true, stopped: result.stopped, pid: result.pid });
      }),
    );

  server
    .command("status")
    .description("Whether the local nats-server runs (exit code 1 when it does not)")
    .option("--json", "machine-readable output")
    .action(
      cli.action(async (flags: OutputFlags) => {
        const s = await localServerStatus(localServerPaths((await cli.stateDirs()).plugin));
        const human = s.running
          ? `running: ${s.url} (pid ${s.pid}${s.answering ? "" : ", not answering yet"}), files in ${s.dir}`
          : `not running${s.stalePidFile ? ` (stale pid file for pid ${s.pid}, removed at the next start)` : ""}${s.answering ? `; another NATS server answers at ${s.url}` : ""}\nnext: openclaw nats server start`;
        cli.print(flags, human, { ok: s.running, ...s });
        if (!s.running) cli.fail(1);
      }),
    );
}
