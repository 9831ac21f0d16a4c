/**
 * `deno task doc:lint`: runs `deno doc --lint` over the entry points and fails
 * on every problem but a library's type in a public signature (see
 * doc_lint.ts).
 *
 * @module
 */
import { join } from "node:path";
import { REPO_ROOT } from "./import_graph.ts";
import { docEntryPoints, namesLibraryType, parseDocLint } from "./doc_lint.ts";

const entries = docEntryPoints();
const output = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...entries],
  cwd: REPO_ROOT,
  env: { NO_COLOR: "1" },
  stdout: "piped",
  stderr: "piped",
}).output();
const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
const problems = parseDocLint(text);
const sources = new Map<string, string>();
const read = (file: string) => {
  if (!sources.has(file)) sources.set(file, Deno.readTextFileSync(join(REPO_ROOT, file)));
  return sources.get(file)!;
};
const left = problems.filter((p) => !namesLibraryType(p, read(p.file)));
for (const p of left) console.error(`${p.file}:${p.line}: ${p.rule}: ${p.message}`);
console.log(
  `deno doc --lint over ${entries.length} entry points: ${problems.length} reported, ` +
    `${problems.length - left.length} name a library's type, ${left.length} to fix`,
);
if (!output.success && problems.length === 0) {
  console.error(text);
  Deno.exit(1);
}
Deno.exit(left.length === 0 ? 0 : 1);
