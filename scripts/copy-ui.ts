import { cpSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The dashboard's static files are not TypeScript: put them next to the compiled module that serves them. */
export function copyUi(outDir: string): void {
  cpSync(join(REPO_ROOT, "src", "dashboard", "ui"), join(outDir, "src", "dashboard", "ui"), { recursive: true });
}

if (import.meta.url === `file://${process.argv[1]}`) copyUi(resolve(process.argv[2] ?? join(REPO_ROOT, "dist")));
