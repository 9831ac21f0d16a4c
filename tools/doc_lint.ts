/**
 * What `deno task doc:lint` (tools/doc_lint_main.ts) checks: `deno doc --lint` over the workspace's entry points
 * (every export of a member's `deno.json`, and the `main.ts`/`*_main.ts`
 * programs), failing on any problem except one kind: a public signature that
 * names a type of a library we build on (postgres.js's `Sql`, PGlite,
 * OpenAPIHono, Arrow's `Schema`). Those types are the library's to document;
 * re-exporting them would pull the library's whole API into our docs and its
 * own gaps into this check.
 *
 * @module
 */
import { REPO_ROOT, sourceFiles, workspaceExports } from "./import_graph.ts";

/** The entry points: members' exports and their programs, repository-relative. */
export function docEntryPoints(root: string = REPO_ROOT): string[] {
  const exported = [...workspaceExports(root).values()];
  const members = new Set(exported.map((path) => path.split("/")[0]));
  const programs = sourceFiles(root).filter((path) =>
    members.has(path.split("/")[0]) && /(^|\/)(main|[a-z0-9_]+_main)\.ts$/.test(path)
  );
  return [...new Set([...exported, ...programs])].sort();
}

/** One problem `deno doc --lint` reported. */
export interface DocProblem {
  /** The rule, e.g. `missing-jsdoc`. */
  rule: string;
  /** The message, e.g. `public type 'X' references private type 'Y'`. */
  message: string;
  /** Repository-relative file of the public symbol. */
  file: string;
  /** Its line. */
  line: number;
}

/** The problems in `deno doc --lint` output (colours off). */
export function parseDocLint(output: string, root: string = REPO_ROOT): DocProblem[] {
  const problems: DocProblem[] = [];
  const pattern = /^error\[([\w-]+)\]: (.*)\n\s*--> (.+):(\d+):\d+$/gm;
  for (const match of output.matchAll(pattern)) {
    const file = match[3].startsWith(root + "/") ? match[3].slice(root.length + 1) : match[3];
    problems.push({ rule: match[1], message: match[2], file, line: Number(match[4]) });
  }
  return problems;
}

/**
 * Whether a problem is a public signature naming a library's type: a
 * `private-type-ref` whose type (its first dotted part) the file imports from
 * a package, not from this repository.
 */
export function namesLibraryType(problem: DocProblem, source: string): boolean {
  if (problem.rule !== "private-type-ref") return false;
  const referenced = problem.message.match(/references private type '([\w$]+)/)?.[1];
  if (referenced === undefined) return false;
  for (const match of source.matchAll(/^import\s+(?:type\s+)?([^;]*?)\s+from\s+"([^"]+)";/gm)) {
    const names = match[1].replace(/[{}]/g, " ").split(/[\s,]+/).filter((n) => n !== "type");
    const specifier = match[2];
    if (!names.includes(referenced)) continue;
    return !specifier.startsWith(".") && !specifier.startsWith("@traffic-analyzer/");
  }
  return false;
}
