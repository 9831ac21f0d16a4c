/**
 * The walls between the parts of the repository, checked on every import of
 * every `.ts`/`.tsx` file (relative paths, workspace names, worker URLs):
 *
 * - `agent/`, `server/` and `aggregator/` do not import each other; what they
 *   share lives in `shared/`, and `start.ts` at the root composes them.
 * - `shared/` imports nothing outside itself.
 * - `aggregator/` imports no code from `models/` (the training code in
 *   `models/ml`, `models/train`, `models/lab`); it reads the committed model
 *   file only.
 */
import assert from "node:assert/strict";
import { importSpecifiers, localImports, sourceFiles, workspaceExports } from "./import_graph.ts";

const WINGS = ["agent", "server", "aggregator"];

/** Why an import from `from` of `to` (repository-relative paths) crosses a wall, or null. */
export function wallCrossed(from: string, to: string): string | null {
  const fromPart = from.split("/")[0];
  const toPart = to.split("/")[0];
  if (WINGS.includes(fromPart) && WINGS.includes(toPart) && fromPart !== toPart) {
    return `${fromPart}/ may not import ${toPart}/ (move what both need to shared/)`;
  }
  if (fromPart === "shared" && toPart !== "shared") {
    return `shared/ may not import from outside shared/`;
  }
  if (fromPart === "aggregator" && toPart === "models" && /\.(ts|tsx|js|mjs)$/.test(to)) {
    return "aggregator/ may not import models/ code (training); it loads the model file";
  }
  return null;
}

Deno.test("no import crosses a wall between agent, server, aggregator, shared and models", () => {
  const exports = workspaceExports();
  const files = sourceFiles();
  assert.ok(files.length > 200, `only ${files.length} source files found`);
  const crossings = files.flatMap((file) =>
    localImports(file, { exports }).flatMap(({ specifier, path }) => {
      const why = path === null ? null : wallCrossed(file, path);
      return why === null ? [] : [`${file} imports "${specifier}": ${why}`];
    })
  );
  assert.deepEqual(crossings, []);
});

Deno.test("every workspace import names an export of a member", () => {
  const exports = workspaceExports();
  const unknown = sourceFiles().flatMap((file) =>
    localImports(file, { exports })
      .filter(({ specifier, path }) => specifier.startsWith("@traffic-analyzer/") && path === null)
      .map(({ specifier }) => `${file}: ${specifier}`)
  );
  assert.deepEqual(unknown, []);
});

Deno.test("wallCrossed() names each forbidden direction and lets the allowed ones pass", () => {
  assert.match(wallCrossed("agent/main.ts", "server/app.ts")!, /agent\/ may not import server\//);
  assert.match(wallCrossed("server/app.ts", "aggregator/mod.ts")!, /server\/ may not import/);
  assert.match(wallCrossed("aggregator/pass.ts", "agent/mod.ts")!, /aggregator\/ may not/);
  assert.match(wallCrossed("shared/db/mod.ts", "agent/outbox.ts")!, /shared\/ may not/);
  assert.match(wallCrossed("shared/flow/mod.ts", "models/ml/mod.ts")!, /shared\/ may not/);
  assert.match(wallCrossed("aggregator/scorer/x_test.ts", "models/ml/mod.ts")!, /training/);
  assert.match(wallCrossed("aggregator/x.ts", "models/train/train_main.ts")!, /training/);
  assert.equal(wallCrossed("aggregator/x.ts", "models/flow_classifier.onnx"), null);
  assert.equal(wallCrossed("agent/main.ts", "shared/pcap/mod.ts"), null);
  assert.equal(wallCrossed("models/train/x.ts", "aggregator/scorer/mod.ts"), null);
  assert.equal(wallCrossed("start.ts", "server/mod.ts"), null);
  assert.equal(wallCrossed("bench/main.ts", "faults/veth.ts"), null);
});

Deno.test("importSpecifiers() finds every form of import and none in comments", () => {
  const source = [
    'import assert from "node:assert/strict";',
    "import {",
    "  a,",
    "  type B,",
    '} from "../server/app.ts";',
    'import type { C } from "@traffic-analyzer/agent";',
    'export { d } from "./d.ts";',
    'export * from "./e.ts";',
    'import "./side_effect.ts";',
    'const f = await import("./dynamic.ts");',
    'new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });',
    'const model = new URL("../models/flow_classifier.onnx", import.meta.url);',
    '// import { g } from "./commented.ts";',
    '/** {@link import("./in_jsdoc.ts")} */',
    "const text = \"import x from './in_a_string.ts'\";",
  ].join("\n");
  assert.deepEqual(importSpecifiers(source).sort(), [
    "../server/app.ts",
    "./d.ts",
    "./dynamic.ts",
    "./e.ts",
    "./side_effect.ts",
    "./worker.ts",
    "@traffic-analyzer/agent",
    "node:assert/strict",
  ]);
});
