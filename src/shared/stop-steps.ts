import { errorMessage, type Logger } from "./logger.ts";

/** One named step of a stop: sync or async. */
export type StopStep = readonly [name: string, run: () => unknown];

/**
 * Run every step of a stop in order, each to its end, whatever an earlier one did: a step that throws
 * (or rejects) is logged with its name and the next step still runs, so one broken part never leaves
 * the connection open, a file locked or a timer running. Resolves with the names of the failed steps.
 */
export async function runStopSteps(what: string, steps: readonly StopStep[], log: Logger): Promise<string[]> {
  const failed: string[] = [];
  for (const [name, run] of steps) {
    try {
      await run();
    } catch (err) {
      failed.push(name);
      log.warn(`nats: ${what}: stopping ${name} failed (${errorMessage(err)}); the other steps run on`);
    }
  }
  return failed;
}
