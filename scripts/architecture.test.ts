import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

// The import direction docs/architecture.md declares, held against the code: every non-test .ts file
// under src/ (and index.ts) may import its own folder or a folder on a LOWER layer, never a higher or
// an equal one; no folder cycle, no file cycle. The layer list is read from the doc's ```layers block,
// so the picture and the check cannot drift apart.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export function declaredLayers(doc: string): Map<string, number> {
  const block = /```layers\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error("docs/architecture.md has no ```layers block");
  const layers = new Map<string, number>();
  for (const line of block.split("\n")) {
    const m = /^\s*(\d+)\s+(.+)$/.exec(line);
    if (!m) continue;
    for (const folder of (m[2] ?? "").split(/\s+/)) if (folder) layers.set(folder.replace(/\/$/, ""), Number(m[1]));
  }
  return layers;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** Relative imports of one file (static, re-exports, dynamic `import("…")`), resolved to repo paths. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)|(?:^|\n)\s*import\s+"([^"]+)"/g)]
    .map((m) => m[1] ?? m[2] ?? m[3] ?? "")
    .filter((s) => s.startsWith("."));
  return specs.map((s) => relative(ROOT, resolve(dirname(file), s)));
}

/** `src/wake/x.ts` → `wake`; `index.ts` → `index.ts` (the wiring list on top of everything). */
const folderOf = (path: string): string => (path.startsWith("src/") ? (path.split("/")[1] ?? path) : path);

function graph(): Map<string, string[]> {
  const files = [join(ROOT, "index.ts"), ...sourceFiles(join(ROOT, "src"))];
  return new Map(files.map((f) => [relative(ROOT, f), importsOf(f, readFileSync(f, "utf8"))]));
}

/** One cycle of `edges`, as the list of nodes, or undefined. */
export function findCycle(edges: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (!state.has(m)) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of [...edges.keys()].sort()) if (!state.has(n)) { const c = visit(n); if (c) return c; }
  return undefined;
}

const doc = readFileSync(join(ROOT, "docs/architecture.md"), "utf8");

test("every src/ folder has a declared layer", () => {
  const layers = declaredLayers(doc);
  const folders = readdirSync(join(ROOT, "src")).filter((n) => statSync(join(ROOT, "src", n)).isDirectory());
  assert.deepEqual(folders.filter((f) => !layers.has(f)), [], "add these folders to the ```layers block of docs/architecture.md");
});

test("imports point down the declared layers only", () => {
  const layers = declaredLayers(doc);
  const bad: string[] = [];
  for (const [file, deps] of graph()) {
    const from = folderOf(file);
    const own = layers.get(from) ?? Number.POSITIVE_INFINITY; // index.ts: above every folder
    for (const dep of deps) {
      const to = folderOf(dep);
      if (to === from) continue;
      const theirs = layers.get(to);
      if (theirs === undefined || theirs >= own) bad.push(`${file} → ${dep} (${from} layer ${own}, ${to} layer ${theirs ?? "undeclared"})`);
    }
  }
  assert.deepEqual(bad, [], "imports against the layer order of docs/architecture.md");
});

test("no import cycle between folders or between files", () => {
  const files = graph();
  const fileEdges = new Map([...files].map(([f, deps]) => [f, new Set(deps)]));
  assert.equal(findCycle(fileEdges)?.join(" → "), undefined, "file import cycle");
  const folderEdges = new Map<string, Set<string>>();
  for (const [f, deps] of files) {
    const set = folderEdges.get(folderOf(f)) ?? new Set<string>();
    for (const d of deps) if (folderOf(d) !== folderOf(f)) set.add(folderOf(d));
    folderEdges.set(folderOf(f), set);
  }
  assert.equal(findCycle(folderEdges)?.join(" → "), undefined, "folder import cycle");
});

test("the checker sees what it must: a back-arrow and a cycle are caught", () => {
  const layers = declaredLayers("```layers\n1 shared\n2 wake\n```");
  assert.equal(layers.get("wake"), 2);
  assert.deepEqual(importsOf(join(ROOT, "src/shared/x.ts"), 'import { a } from "../wake/y.ts";\nexport { b } from "./z.ts";\nconst m = await import("../cli/c.ts");'), ["src/wake/y.ts", "src/shared/z.ts", "src/cli/c.ts"]);
  assert.deepEqual(findCycle(new Map([["a", new Set(["b"])], ["b", new Set(["a"])]])), ["a", "b", "a"]);
  assert.equal(findCycle(new Map([["a", new Set(["b"])], ["b", new Set<string>()]])), undefined);
});

// One runtime model (docs/architecture.md, "Runtime model"): state shared by the host's module copies is an
// entry of the one process object; a module that keeps a globalThis slot of its own is a second singleton.
const GLOBAL_ALLOWED = new Map([
  ["src/shared/process-state.ts", "the one process object"],
  ["src/events/custom.ts", "the events handle published for other plugins (docs/events.md)"],
]);

export function globalThisUsers(files: Map<string, string>): string[] {
  return [...files].filter(([f, text]) => /\bglobalThis\b/.test(text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")) && !GLOBAL_ALLOWED.has(f)).map(([f]) => f);
}

test("only the process object (and the published events handle) touch globalThis", () => {
  const files = new Map([join(ROOT, "index.ts"), ...sourceFiles(join(ROOT, "src"))].map((f) => [relative(ROOT, f), readFileSync(f, "utf8")]));
  assert.deepEqual(globalThisUsers(files), [], "keep per-process state as a processEntry in src/shared/process-state.ts");
  assert.deepEqual(globalThisUsers(new Map([["src/wake/x.ts", "const s = globalThis as Slot;"], ["src/wake/y.ts", "// globalThis in a comment"]])), ["src/wake/x.ts"], "the check sees a slot");
});
