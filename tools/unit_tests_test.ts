/**
 * Keeps `deno task test:unit` fast without upkeep: every test file that the
 * task's `--ignore` list does not name is a unit test, and a unit test may not
 * reach (itself or through anything it imports from the repository) code
 * that spawns a process or loads a native library. So a new test that runs
 * tshark, a server subprocess, `ip netns` or live capture fails here until it
 * is added to the list, instead of slowing the unit loop down unnoticed.
 */
import assert from "node:assert/strict";
import {
  localClosure,
  type LocalImport,
  REPO_ROOT,
  sourceFiles,
  workspaceExports,
} from "./import_graph.ts";

/** Code that starts a process (tshark, tcpdump, `ip netns`, a server) or loads libpcap (live capture). */
const SPAWNS = /\bDeno\.(?:Command|run|dlopen)\b|["']node:child_process["']/;
/** Code that starts a process. */
const STARTS_PROCESS = /\bDeno\.(?:Command|run)\b|["']node:child_process["']/;

/**
 * Modules whose native library every machine of ours has and loads in a
 * few milliseconds, and whose callers do without it: a unit test may reach
 * them (they are still held to starting no process). libzstd: Debian's
 * `libzstd1`, which dpkg itself needs; 7-9 ms to load, once a process.
 */
const QUICK_NATIVE_LOADERS: ReadonlySet<string> = new Set(["shared/zstd/libzstd.ts"]);

/** What `deno test` takes for a test file (its default pattern). */
const TEST_FILE = /(?:^|\/)(?:[^/]*[_.])?test\.(?:ts|tsx|mts|js|mjs|jsx)$/;

function unitTaskIgnores(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`));
  const task: string = config.tasks["test:unit"];
  const match = task.match(/--ignore=(\S+)/);
  assert.ok(match, `test:unit has no --ignore list: ${task}`);
  return match[1].split(",");
}

function isIgnored(path: string, ignores: readonly string[]): boolean {
  return ignores.some((entry) => entry.endsWith("/") ? path.startsWith(entry) : path === entry);
}

Deno.test("test:unit runs every test but the listed slow ones, and `test` runs them all", () => {
  const config = JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}/deno.json`));
  assert.doesNotMatch(config.tasks.test, /--ignore/);
  const tests = sourceFiles().filter((path) => TEST_FILE.test(path));
  for (const entry of unitTaskIgnores()) {
    assert.ok(
      entry.endsWith("/") ? tests.some((path) => path.startsWith(entry)) : tests.includes(entry),
      `test:unit ignores ${entry}, which holds no test: remove it from the list in deno.json`,
    );
  }
});

Deno.test("no unit test spawns a process or loads a native library", () => {
  const ignores = unitTaskIgnores();
  const exports = workspaceExports();
  const units = sourceFiles().filter((path) => TEST_FILE.test(path) && !isIgnored(path, ignores));
  assert.ok(units.length > 50, `only ${units.length} unit tests found`);
  const cache = new Map<string, LocalImport[]>();
  const spawning = new Map<string, boolean>();
  const spawns = (path: string) => {
    let found = spawning.get(path);
    if (found === undefined) {
      found = /\.(ts|tsx|js|mjs)$/.test(path) &&
        (QUICK_NATIVE_LOADERS.has(path) ? STARTS_PROCESS : SPAWNS).test(
          Deno.readTextFileSync(`${REPO_ROOT}/${path}`),
        );
      spawning.set(path, found);
    }
    return found;
  };
  const offenders = units.flatMap((test) => {
    const reached = [...localClosure([test], { exports, cache })].filter(spawns);
    return reached.length === 0 ? [] : [`${test} (through ${reached.join(", ")})`];
  });
  assert.deepEqual(
    offenders,
    [],
    "these tests reach code that spawns processes or loads libpcap: add them to test:unit's " +
      "--ignore list in deno.json, or move the spawning helper to a module of its own",
  );
});

Deno.test("the native libraries unit tests may load are in modules that exist and start no process", () => {
  for (const path of QUICK_NATIVE_LOADERS) {
    const text = Deno.readTextFileSync(`${REPO_ROOT}/${path}`);
    assert.match(text, /\bDeno\.dlopen\b/, `${path} loads no native library: take it off the list`);
    assert.doesNotMatch(text, STARTS_PROCESS, `${path} starts a process`);
  }
});

Deno.test("the spawn check sees the ways a test can start a process", () => {
  // Spelled in pieces so that this file does not count as spawning.
  const deno = "Deno";
  assert.match(`await new ${deno}.Command("tshark", { args }).output();`, SPAWNS);
  assert.match(`${deno}.dlopen("libpcap.so.0.8", symbols);`, SPAWNS);
  assert.match(`import { spawn } from "node:${"child"}_process";`, SPAWNS);
  assert.doesNotMatch("const command = parseCommand(args);", SPAWNS);
  assert.ok(TEST_FILE.test("shared/flow/flow_table_test.ts"));
  assert.ok(TEST_FILE.test("start_test.ts"));
  assert.ok(!TEST_FILE.test("faults/pipeline_faults.ts"));
});
