import { isAgentId } from "../shared/session-key.ts";
import { agentInboxSubject, isPublishableSubject, subjectMatches } from "../shared/subjects.ts";

const RESERVED_PREFIXES = ["$JS", "$SYS", "$KV", "_INBOX"];

export class SubjectRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubjectRefused";
  }
}

/** `subject`, or `to` as the shorthand agent.<to>.inbox; exactly one of the two. */
export function resolveToolSubject(params: { subject?: string; to?: string }): string {
  if (params.subject && params.to) throw new SubjectRefused("give either subject or to, not both");
  if (params.to !== undefined) {
    if (!isAgentId(params.to)) throw new SubjectRefused(`to "${params.to}" is not an agent id (lowercase letters, digits, _ or -)`);
    return agentInboxSubject(params.to);
  }
  if (params.subject === undefined) throw new SubjectRefused("subject or to is required");
  return params.subject;
}

/**
 * The tool may publish only to `allowedSubjects`. System subjects ($JS, $SYS, $KV, _INBOX) are refused
 * unless an allowed pattern itself starts with that prefix: a catch-all `>` does not open them.
 */
export function checkToolSubject(subject: string, allowed: string[]): void {
  if (!isPublishableSubject(subject)) throw new SubjectRefused(`"${subject}" is not a publishable subject (no wildcards, spaces or empty tokens)`);
  const first = subject.split(".")[0] ?? "";
  const reserved = RESERVED_PREFIXES.includes(first);
  const ok = allowed.some((p) => subjectMatches(p, subject) && (!reserved || p.split(".")[0] === first));
  if (!ok) throw new SubjectRefused(`subject "${subject}" is not allowed (tool.allowedSubjects: ${allowed.join(", ")})`);
}
