import assert from "node:assert/strict";
import { docEntryPoints, namesLibraryType, parseDocLint } from "./doc_lint.ts";

const OUTPUT = `error[missing-jsdoc]: exported symbol is missing JSDoc documentation
  --> /repo/shared/db/migrate.ts:22:3
   |
22 |   version: number;

error[private-type-ref]: public type 'Database["pglite"]' references private type 'PGlite'
  --> /repo/shared/db/open_database.ts:28:3

error[private-type-ref]: public type 'X' references private type 'Labels'
  --> /repo/server/metrics.ts:30:3
`;

Deno.test("parseDocLint() reads rule, message, file and line of each problem", () => {
  assert.deepEqual(parseDocLint(OUTPUT, "/repo").map((p) => [p.rule, p.file, p.line]), [
    ["missing-jsdoc", "shared/db/migrate.ts", 22],
    ["private-type-ref", "shared/db/open_database.ts", 28],
    ["private-type-ref", "server/metrics.ts", 30],
  ]);
});

Deno.test("namesLibraryType() lets through a package's type and nothing else", () => {
  const [jsdoc, pglite, labels] = parseDocLint(OUTPUT, "/repo");
  const fromPackage = 'import { PGlite } from "@electric-sql/pglite";\n';
  assert.equal(namesLibraryType(pglite, fromPackage), true);
  assert.equal(namesLibraryType(pglite, 'import { PGlite } from "./pglite.ts";\n'), false);
  assert.equal(
    namesLibraryType(pglite, 'import type { PGlite } from "@traffic-analyzer/x";\n'),
    false,
  );
  assert.equal(namesLibraryType(labels, "type Labels = Record<string, string>;\n"), false);
  assert.equal(namesLibraryType(jsdoc, fromPackage), false);
});

Deno.test("docEntryPoints() takes the members' exports and programs", () => {
  const entries = docEntryPoints();
  for (const path of ["shared/mod.ts", "shared/db/mod.ts", "agent/main.ts", "server/mod.ts"]) {
    assert.ok(entries.includes(path), path);
  }
  assert.ok(!entries.some((path) => path.endsWith("_test.ts")));
});
