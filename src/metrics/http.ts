import type { IncomingMessage, ServerResponse } from "node:http";
import { errorMessage, type Logger } from "../shared/logger.ts";
import { collectMetrics, type MetricsSources } from "./collect.ts";
import { CONTENT_TYPE, render } from "./exposition.ts";

const HEADERS = { "x-content-type-options": "nosniff", "cache-control": "no-store" };

/**
 * GET/HEAD `<metrics.path>`: the exposition text, built from the live figures on each scrape. The host
 * checks gateway auth before this runs. A failed scrape answers 500; its reason goes to the gateway's
 * log (redacted there) and not into the answer, since an error text may quote a URL or a server's words.
 */
export function createMetricsHandler(path: string, sources: () => MetricsSources, log: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const text = (status: number, body: string, extra: Record<string, string> = {}): true => {
      res.writeHead(status, { ...HEADERS, "content-type": status === 200 ? CONTENT_TYPE : "text/plain; charset=utf-8", ...extra });
      res.end(req.method === "HEAD" ? undefined : body);
      return true;
    };
    if (url.pathname !== path) return text(404, `no such metrics path: ${url.pathname.slice(0, 200)}\n`);
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "metrics are read-only: GET or HEAD\n", { allow: "GET, HEAD" });
    try {
      const { text: body, dropped } = render(await collectMetrics(sources()));
      if (dropped > 0) log.warn(`nats: metrics: ${dropped} sample(s) had a label value outside their family's bounds and were left out`);
      return text(200, body);
    } catch (err) {
      log.warn(`nats: metrics scrape failed: ${errorMessage(err)}`);
      return text(500, "metrics scrape failed; the reason is in the gateway log\n");
    }
  };
}
