/**
 * Reads the repository's own import graph from source text, without running
 * `deno info` (a subprocess), so that the checks built on it stay fast unit
 * tests. It follows relative imports, the workspace's `@traffic-analyzer/*`
 * members (through each member's `deno.json` exports) and
 * `new URL("./x.ts", import.meta.url)` (workers); npm, `node:` and other bare
 * specifiers are outside the repository and are left out.
 *
 * @module
 */
import { dirname, join, relative, resolve } from "node:path";

/** One import found in a file: its specifier and, when local, the file it names. */
export interface LocalImport {
  /** The specifier as written in the source. */
  readonly specifier: string;
  /** The repository-relative path it resolves to (always with `/`), or `null` when outside the repository. */
  readonly path: string | null;
}

/** The repository root (the folder of the root `deno.json`). */
export const REPO_ROOT: string = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Folders that are not the project's own source. */
const SKIPPED_FOLDERS = new Set(["vendor", "data", "logs", "node_modules", ".git", "dist"]);

/** What comes just before a string that is a specifier. */
const SPECIFIER_PLACE = /(?:\bfrom|\bimport|\bimport\s*\(|\bURL\s*\()\s*$/;

/**
 * Removes comments and the text of strings that are not specifiers, so that
 * an `import("x")` in a JSDoc example or in a string is not taken for an
 * import.
 */
export function stripNonCode(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && next === "*") {
      i += 2;
      while (i < source.length && !(source[i] === "*" && source[i + 1] === "/")) {
        if (source[i] === "\n") out += "\n";
        i++;
      }
      i += 2;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      const start = i++;
      while (i < source.length && source[i] !== c) {
        if (source[i] === "\\") i++;
        i++;
      }
      i++;
      // A string in a specifier's place is kept; any other is emptied, so
      // that code quoted in a string is not taken for an import either.
      out += SPECIFIER_PLACE.test(out.slice(-40)) ? source.slice(start, i) : c + c;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

const STATIC_FROM = /(?:^|[;\n}])\s*(?:import|export)\s[^;"'`]*?\bfrom\s*["']([^"']+)["']/g;
const BARE_IMPORT = /(?:^|[;\n}])\s*import\s*["']([^"']+)["']/g;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*[,)]/g;
const URL_IMPORT =
  /new URL\(\s*["'](\.{1,2}\/[^"']+\.(?:ts|tsx|js|mjs))["']\s*,\s*import\.meta\.url/g;

/** The specifiers a TypeScript source imports, in order of appearance (duplicates removed). */
export function importSpecifiers(source: string): string[] {
  const code = stripNonCode(source);
  const found = new Set<string>();
  for (const pattern of [STATIC_FROM, BARE_IMPORT, DYNAMIC_IMPORT, URL_IMPORT]) {
    for (const match of code.matchAll(pattern)) found.add(match[1]);
  }
  return [...found];
}

/** The workspace members' export maps: `@traffic-analyzer/shared/db` -> `shared/db/mod.ts`. */
export function workspaceExports(root: string = REPO_ROOT): Map<string, string> {
  const config = JSON.parse(Deno.readTextFileSync(join(root, "deno.json")));
  const exports = new Map<string, string>();
  for (const member of config.workspace as string[]) {
    const memberDir = member.replace(/^\.\//, "").replace(/\/$/, "");
    const memberConfig = JSON.parse(Deno.readTextFileSync(join(root, memberDir, "deno.json")));
    const map: Record<string, string> = typeof memberConfig.exports === "string"
      ? { ".": memberConfig.exports }
      : memberConfig.exports;
    for (const [key, target] of Object.entries(map)) {
      const name = key === "." ? memberConfig.name : `${memberConfig.name}/${key.slice(2)}`;
      exports.set(name, join(memberDir, target).replaceAll("\\", "/"));
    }
  }
  return exports;
}

/** Reads a file's imports and resolves the local ones to repository-relative paths. */
export function localImports(
  path: string,
  options: { root?: string; exports?: Map<string, string> } = {},
): LocalImport[] {
  const root = options.root ?? REPO_ROOT;
  const exports = options.exports ?? workspaceExports(root);
  const source = Deno.readTextFileSync(join(root, path));
  return importSpecifiers(source).map((specifier) => {
    if (specifier.startsWith("./") || specifier.startsWith("../")) {
      const target = relative(root, resolve(root, dirname(path), specifier)).replaceAll("\\", "/");
      return { specifier, path: target.startsWith("..") ? null : target };
    }
    return { specifier, path: exports.get(specifier) ?? null };
  });
}

/**
 * Every repository-relative path in `paths` plus everything they import
 * locally, transitively. `cache` keeps each file's imports between calls.
 */
export function localClosure(
  paths: readonly string[],
  options: { root?: string; exports?: Map<string, string>; cache?: Map<string, LocalImport[]> } =
    {},
): Set<string> {
  const root = options.root ?? REPO_ROOT;
  const exports = options.exports ?? workspaceExports(root);
  const imports = options.cache ?? new Map<string, LocalImport[]>();
  const seen = new Set<string>();
  const pending = [...paths];
  while (pending.length > 0) {
    const path = pending.pop()!;
    if (seen.has(path)) continue;
    seen.add(path);
    if (!/\.(ts|tsx|js|mjs)$/.test(path)) continue;
    let found = imports.get(path);
    if (found === undefined) {
      found = localImports(path, { root, exports });
      imports.set(path, found);
    }
    for (const { path: target } of found) {
      if (target !== null && !seen.has(target)) pending.push(target);
    }
  }
  return seen;
}

/** Every `.ts`/`.tsx` file of the project (repository-relative, sorted), vendored code and data left out. */
export function sourceFiles(root: string = REPO_ROOT): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(join(root, dir))) {
      const path = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        if (!SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith(".")) walk(path);
      } else if (entry.isFile && /\.tsx?$/.test(entry.name)) {
        files.push(path);
      }
    }
  };
  walk("");
  return files.sort();
}
