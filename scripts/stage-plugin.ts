import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { copyUi } from "./copy-ui.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Lay the plugin out as an installed package would be: package.json, manifest, freshly compiled
 * dist/ and only its runtime dependencies. The repo itself can't be loaded as a plugin path because
 * the host (openclaw) sits inside its node_modules, and the host's module capture refuses that.
 */
export function stagePlugin(into = mkdtempSync(join(tmpdir(), "openclaw-nats-plugin-"))): string {
  cpSync(join(REPO_ROOT, "package.json"), join(into, "package.json"));
  cpSync(join(REPO_ROOT, "openclaw.plugin.json"), join(into, "openclaw.plugin.json"));
  const tsc = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(REPO_ROOT, "tsconfig.build.json"), "--outDir", join(into, "dist"), "--noCheck"], { stdio: "inherit" });
  copyUi(join(into, "dist"));
  const deps = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], { cwd: REPO_ROOT, encoding: "utf8" })
    .split("\n")
    .filter((p) => p.startsWith(join(REPO_ROOT, "node_modules")));
  for (const dep of deps) cpSync(dep, join(into, relative(REPO_ROOT, dep)), { recursive: true, dereference: true, filter: runtimeFile });
  return into;
}

/**
 * Files a dependency needs at run time. TypeScript (declarations and sources: Node never strips types
 * under node_modules), source maps and docs are never loaded, yet the host copies every file of a
 * plugin's package into its generation artifact at each gateway start (plugin-generation-artifact:
 * copyPackage). Leaving them out of the staged copy takes most of its files off every test boot;
 * `npm pack` (package.e2e) still ships and loads the full package.
 */
function runtimeFile(path: string): boolean {
  return !/\.([cm]?ts|map|md)$/i.test(path) && !CJS_TWIN.test(path);
}

/**
 * chrono-node ships a CommonJS build beside its ES one (269 files each); the plugin is ES modules, so
 * Node resolves its `import` condition (dist/esm) and never loads dist/cjs.
 */
const CJS_TWIN = /[\\/]node_modules[\\/]chrono-node[\\/]dist[\\/]cjs([\\/]|$)/;

if (import.meta.url === `file://${process.argv[1]}`) console.log(stagePlugin(process.argv[2]));
