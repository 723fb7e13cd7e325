/** One doctor finding: what was checked, how it went, and in plain words what to do about it. */
export interface CheckResult {
  id: string;
  title: string;
  status: "ok" | "warn" | "fail" | "skip";
  detail: string;
  /** What to do, for warn and fail. */
  fix?: string;
}

export const ok = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "ok", detail });
export const warn = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: "warn", detail, fix });
export const fail = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: "fail", detail, fix });
export const skip = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: "skip", detail });

const TAG: Record<CheckResult["status"], string> = { ok: "[ok]  ", warn: "[warn]", fail: "[FAIL]", skip: "[skip]" };

export function formatChecks(results: CheckResult[], header: string): string {
  const width = Math.max(...results.map((r) => r.title.length));
  const lines = [header];
  for (const r of results) {
    lines.push(`${TAG[r.status]} ${r.title.padEnd(width)}  ${r.detail}`);
    if (r.fix) lines.push(`       ${" ".repeat(width)}  fix: ${r.fix}`);
  }
  const count = (s: CheckResult["status"]): number => results.filter((r) => r.status === s).length;
  lines.push(`${count("fail")} failed, ${count("warn")} warning(s), ${count("ok")} ok, ${count("skip")} skipped`);
  return lines.join("\n");
}
