import { promptText, type RecordedRequest } from "../harness/model-server.ts";

// Helpers for the relay e2e model scripts: read a chat request the way the agent sees it.

const INTERNAL_CONTEXT = /<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>[\s\S]*?<<<END_OPENCLAW_INTERNAL_CONTEXT>>>/g;

/** The text a user message carries itself: without the host's internal-context block, timestamp prefix and (first turn) runtime line. */
function ownText(req: RecordedRequest, index: number): string {
  const m = req.body.messages[index];
  if (!m) return "";
  const text = promptText({ ...req, body: { ...req.body, messages: [m] } });
  return text
    .replace(INTERNAL_CONTEXT, "")
    .replace(/\n+Runtime: agent=[\s\S]*$/, "")
    .trim()
    .replace(/^\[[^\]]*\d\d:\d\d[^\]]*\]\s*/, "");
}

/** Index of the last user message with text of its own (the host adds a context-only user message after it). */
function lastUserIndex(req: RecordedRequest): number {
  for (let i = req.body.messages.length - 1; i >= 0; i--) if (req.body.messages[i]?.role === "user" && ownText(req, i)) return i;
  return -1;
}

/** What the user last said in this request. */
export const lastUserText = (req: RecordedRequest): string => ownText(req, lastUserIndex(req));

/** The agent the request is for (from the prompt's `Runtime: agent=<id>` line). */
export const agentOf = (req: RecordedRequest): string | undefined => /agent=([a-z0-9_-]+)/.exec(promptText(req))?.[1];

/** This turn already called a tool: a tool result follows the user's last message. */
export const hasToolResult = (req: RecordedRequest): boolean => req.body.messages.slice(lastUserIndex(req)).some((m) => m.role === "tool");

/** The content of the request's last tool result. */
export const toolResultText = (req: RecordedRequest): string => {
  const m = req.body.messages.filter((x) => x.role === "tool").at(-1);
  return typeof m?.content === "string" ? m.content : JSON.stringify(m?.content ?? "");
};
