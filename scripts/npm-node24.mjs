// Preloaded into every Node process an npm script starts (.npmrc `node-options`, generated from
// this file by scripts/npmrc.mjs). Why: openclaw's preinstall refuses the machine's Node 20, and
// during a fresh install npm links node_modules/.bin/node only after every preinstall ran, so
// `node` on PATH is still Node 20 there. This re-runs such a process under the Node 24 of the
// `node` devDependency. It finds the repository from npm's own `npm_config_local_prefix`, never
// from the working directory, so `npm --prefix <repo> …` and npm started from any directory work.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
const major = Number(process.versions.node.split(".")[0]);
const root = process.env.npm_config_local_prefix;
if (major < 24 && root) {
  const n24 = root + "/node_modules/node/bin/node";
  // npm runs preinstalls in parallel: the `node` package may still be unpacking its binary. Only
  // openclaw's preinstall needs to wait for it (the `node` package's own script makes it: never wait there).
  const waits = process.env.npm_package_name === "openclaw" && process.env.npm_lifecycle_event === "preinstall";
  for (let i = 0; waits && i < 600 && !existsSync(n24); i++) await new Promise((r) => setTimeout(r, 200));
  if (existsSync(n24)) {
    const r = spawnSync(n24, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
}
