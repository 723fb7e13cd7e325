import { natsSecurityAudit, type AuditFinding } from "../../trust/audit.ts";
import type { CliCommand, NatsCli, OutputFlags } from "../context.ts";

const ORDER: Record<AuditFinding["severity"], number> = { critical: 0, warn: 1, info: 2 };

export function formatFindings(findings: AuditFinding[]): string {
  if (findings.length === 0) return "nats security audit: no risky settings found";
  const lines = [`nats security audit: ${findings.length} finding(s)`];
  for (const f of [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity])) {
    lines.push(`${f.severity.toUpperCase()} ${f.checkId}: ${f.title}`, `  ${f.detail}`);
    if (f.remediation) lines.push(`  fix: ${f.remediation}`);
  }
  return lines.join("\n");
}

/**
 * `openclaw nats audit`: the risky settings of plugins.entries.nats (src/trust/audit.ts). The plugin also
 * declares the same collector for `openclaw security audit`, but OpenClaw 2026.9.6's CLI audit does not
 * run collectors of a plugin loaded from plugins.load.paths (checked: no plugins.nats.* finding, also with
 * --deep), so this command is the way to see them. Exit 1 on a critical finding; warnings alone exit 0.
 */
export function registerAudit(nats: CliCommand, cli: NatsCli): void {
  nats
    .command("audit")
    .description("Risky settings: relay open to unsigned callers, no allowedTargets, short tokens, plain nats:// off loopback, a readable seed")
    .option("--json", "the findings as JSON")
    .action(
      cli.action(async (flags: OutputFlags) => {
        const { root } = await cli.stateDirs();
        const findings = natsSecurityAudit({ config: cli.host.config, stateDir: root });
        cli.print(flags, formatFindings(findings), { ok: !findings.some((f) => f.severity === "critical"), findings });
        if (findings.some((f) => f.severity === "critical")) {
          if (!flags.json) cli.err("next: fix the critical settings above (docs/security.md)");
          cli.fail(1);
        }
      }),
    );
}
