/**
 * The layers of lib/ (declared once, in lib/layers.json): walks the real import graph
 * of every module under lib/ (`import`, `import type`, `export ... from`, dynamic
 * `import()`) and fails naming the edge on any import from a layer to one above it, on
 * any loop between folders (a folder, or a file directly in lib/, is one package), and
 * on any loop between modules.
 */
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(dirname(new URL(import.meta.url).pathname), "..", ".."));

interface Layer {
  name: string;
  paths: string[];
}

/** Source without its comments; string and template literals are kept as they are. */
export function stripComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
      out += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The relative specifiers a module imports or re-exports, type-only ones included. */
export function importSpecifiers(src: string): string[] {
  const code = stripComments(src);
  const found = new Set<string>();
  const patterns = [
    /\b(?:import|export)\s[^;'"`]*?\bfrom\s*["'](\.[^"']+)["']/g,
    /\bimport\s*["'](\.[^"']+)["']/g,
    /\bimport\s*\(\s*["'](\.[^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) found.add(m[1]);
  }
  return [...found];
}

function modulesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...modulesUnder(path));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

const LAYERS: Layer[] = JSON.parse(Deno.readTextFileSync(join(ROOT, "lib/layers.json"))).layers;
const MODULES = modulesUnder("lib");

function layerOf(module: string): number[] {
  const found: number[] = [];
  LAYERS.forEach((layer, i) => {
    if (layer.paths.some((p) => p.endsWith("/") ? module.startsWith(p) : module === p)) {
      found.push(i);
    }
  });
  return found;
}

/** A folder of lib/ (lib/cli), or a file directly in it (lib/mod.ts). */
function packageOf(module: string): string {
  return module.split("/").slice(0, 2).join("/");
}

/** Every import edge between modules of lib/, as [from, to]. */
function importEdges(): [string, string][] {
  const edges: [string, string][] = [];
  for (const module of MODULES) {
    const src = Deno.readTextFileSync(join(ROOT, module));
    for (const spec of importSpecifiers(src)) {
      const to = relative(ROOT, join(ROOT, dirname(module), spec));
      if (to.startsWith("lib/")) edges.push([module, to]);
    }
  }
  return edges;
}

/** The loops of a graph (its strongly connected components of more than one node). */
function loops(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("the import parser sees every form of import and none in a comment", () => {
  const src = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    "import {\n  c,\n  type D,\n} from './c.ts';",
    'export { e } from "./e.ts";',
    'export type { F } from "./f.ts";',
    'export * from "./g.ts";',
    'import "./h.ts";',
    'const { i } = await import("./i.ts");',
    '// import { x } from "./commented.ts";',
    '/* export { y } from "./block.ts"; */',
    '/** import { z } from "./doc_example.ts"; */',
    'import { parseArgs } from "node:util";',
    'const s = "// not a comment"; import { j } from "./j.ts";',
  ].join("\n");
  assert.deepEqual(importSpecifiers(src).sort(), [
    "../b.ts",
    "./a.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./i.ts",
    "./j.ts",
  ]);
});

Deno.test("every module of lib/ is in exactly one layer, and every layer path exists", () => {
  assert.ok(MODULES.length > 100, `only ${MODULES.length} modules found under lib/`);
  const wrong = MODULES.flatMap((m) => {
    const n = layerOf(m).length;
    return n === 1 ? [] : [`${m} is in ${n} layers`];
  });
  for (const layer of LAYERS) {
    for (const p of layer.paths) {
      if (!MODULES.some((m) => p.endsWith("/") ? m.startsWith(p) : m === p)) {
        wrong.push(`${layer.name}: ${p} holds no module`);
      }
    }
  }
  assert.deepEqual(wrong, [], "lib/layers.json does not cover lib/ exactly");
});

Deno.test("no module of lib/ imports from a layer above its own", () => {
  const upward = importEdges().flatMap(([from, to]) => {
    const [a] = layerOf(from);
    const [b] = layerOf(to);
    return b > a ? [`${from} (${LAYERS[a].name}) -> ${to} (${LAYERS[b].name})`] : [];
  });
  assert.deepEqual(upward, [], `imports running upward:\n  ${upward.join("\n  ")}`);
});

Deno.test("no two folders of lib/ import each other, directly or around a loop", () => {
  const edges = importEdges().filter(([from, to]) => packageOf(from) !== packageOf(to));
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of edges) {
    const set = graph.get(packageOf(from)) ?? new Set();
    set.add(packageOf(to));
    graph.set(packageOf(from), set);
  }
  const found = loops(graph).map((loop) => {
    const pairs = new Map<string, string[]>();
    for (const [f, t] of edges) {
      if (!loop.includes(packageOf(f)) || !loop.includes(packageOf(t))) continue;
      const pair = `${packageOf(f)} -> ${packageOf(t)}`;
      pairs.set(pair, [...pairs.get(pair) ?? [], `${f} -> ${t}`]);
    }
    const why = [...pairs].map(([pair, e]) => `${pair} (${e.join(", ")})`);
    return `${loop.join(" <-> ")}:\n    ${why.join("\n    ")}`;
  });
  assert.deepEqual(found, [], `loops between folders:\n  ${found.join("\n  ")}`);
});

Deno.test("no two modules of lib/ import each other, directly or around a loop", () => {
  const graph = new Map<string, Set<string>>();
  for (const [from, to] of importEdges()) {
    graph.set(from, (graph.get(from) ?? new Set()).add(to));
  }
  const found = loops(graph).map((loop) => loop.join(" <-> "));
  assert.deepEqual(found, [], `loops between modules:\n  ${found.join("\n  ")}`);
});

Deno.test("docs/DESIGN.md lists the layers of lib/layers.json, in their order", () => {
  const design = Deno.readTextFileSync(join(ROOT, "docs/DESIGN.md"));
  const section = design.split("\n## Layout: the layers of lib/\n")[1]?.split("\n## ")[0] ?? "";
  const rows = section.split("\n").filter((l) =>
    /^\| [a-z]+ +\|/.test(l) && !l.startsWith("| layer ")
  ).map((l) => {
    const [name, folders] = l.split("|").slice(1, 3).map((c) => c.trim());
    return `${name}: ${[...folders.matchAll(/`([^`]+)`/g)].map((m) => m[1]).join(" ")}`;
  });
  const declared = LAYERS.map((l) =>
    `${l.name}: ${l.paths.map((p) => p.replace(/\/$/, "")).join(" ")}`
  );
  assert.deepEqual(rows, declared);
});
