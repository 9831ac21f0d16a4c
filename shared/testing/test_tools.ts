/**
 * The programs some tests use as oracles or drivers (tcpdump, tshark,
 * Chromium, libpcap), and how such a test is skipped where one is missing.
 *
 * A newcomer's `deno task test` on a machine with only Node.js and npm has
 * none of the Debian packages: there a test that needs one is skipped, and
 * its name says what to install (Deno prints no reason of its own). CI
 * (`.ci/run`) installs them and sets {@linkcode REQUIRE_TEST_TOOLS_ENV} to 1,
 * under which nothing is skipped for a missing tool: the test runs and fails,
 * so a package CI could not install cannot pass unseen as a skipped test.
 *
 * It spawns `tool --version` to find a tool, so it has an entry point of its
 * own (`@traffic-analyzer/shared/testing/test_tools`), apart from the
 * process-free `@traffic-analyzer/shared/testing`.
 *
 * @module
 */

/** The variable that makes a missing tool fail its tests rather than skip them ("1"). */
export const REQUIRE_TEST_TOOLS_ENV = "REQUIRE_TEST_TOOLS";

/** A program a test needs, and the Debian package that installs it. */
export interface TestTool {
  /** The command on PATH, or an absolute path (then only its presence is checked). */
  command: string;
  /** What `apt-get install` takes for it. */
  debianPackage: string;
}

/** tcpdump, the packet-count and decoding oracle. */
export const TCPDUMP: TestTool = { command: "tcpdump", debianPackage: "tcpdump" };
/** tshark, the dissection oracle. */
export const TSHARK: TestTool = { command: "tshark", debianPackage: "tshark" };
/** Debian's Chromium, for the browser tests (browsers cannot be downloaded here). */
export const CHROMIUM: TestTool = { command: "/usr/bin/chromium", debianPackage: "chromium" };

/** True when `REQUIRE_TEST_TOOLS=1`: a missing tool must fail, not skip. */
export function testToolsRequired(): boolean {
  try {
    return Deno.env.get(REQUIRE_TEST_TOOLS_ENV) === "1";
  } catch {
    // Without --allow-env nobody can have asked for it.
    return false;
  }
}

const installed = new Map<string, boolean>();

/** Whether `tool` runs here (`command --version` starts and exits 0), or its path exists. */
export function toolInstalled(tool: TestTool): boolean {
  let found = installed.get(tool.command);
  if (found === undefined) {
    found = tool.command.startsWith("/") ? pathExists(tool.command) : commandRuns(tool.command);
    installed.set(tool.command, found);
  }
  return found;
}

function pathExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function commandRuns(command: string): boolean {
  try {
    return new Deno.Command(command, { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Why a test that needs `tools` cannot run here (which are missing and the
 * `apt-get install` that adds them), or null when it can, or when
 * `REQUIRE_TEST_TOOLS=1` says it must run anyway.
 *
 * @example
 * ```ts
 * Deno.test({ ...needs(missingToolsReason([TCPDUMP]), "counts packets"), fn() {} });
 * ```
 */
export function missingToolsReason(tools: readonly TestTool[]): string | null {
  if (testToolsRequired()) return null;
  const missing = tools.filter((tool) => !toolInstalled(tool));
  if (missing.length === 0) return null;
  const names = missing.map((tool) => tool.command.split("/").pop()).join(" and ");
  const packages = [...new Set(missing.map((tool) => tool.debianPackage))].join(" ");
  return `${names} ${
    missing.length === 1 ? "is" : "are"
  } not installed (apt-get install ${packages})`;
}

/**
 * Why a test that needs a shared library (one found by `dlopen`, not on
 * PATH) cannot run here, or null when `loaded`, or when it must run anyway.
 *
 * @example
 * ```ts
 * missingLibraryReason(false, "libpcap", "libpcap0.8");
 * // "libpcap is not installed (apt-get install libpcap0.8)"
 * ```
 */
export function missingLibraryReason(
  loaded: boolean,
  library: string,
  debianPackage: string,
): string | null {
  if (loaded || testToolsRequired()) return null;
  return `${library} is not installed (apt-get install ${debianPackage})`;
}

/**
 * The first reason of `reasons` that is not null, so a test can list what it
 * needs (tools, root, libpcap) and report the first that is missing.
 */
export function firstSkipReason(...reasons: (string | null)[]): string | null {
  for (const reason of reasons) if (reason !== null) return reason;
  return null;
}

/**
 * `name` and `ignore` for `Deno.test` or a step: skipped when `skipReason`
 * is not null, with the reason in its name, since Deno prints none.
 */
export function needs(
  skipReason: string | null,
  name: string,
): { name: string; ignore: boolean } {
  return skipReason === null
    ? { name, ignore: false }
    : { name: `${name} (skipped: ${skipReason})`, ignore: true };
}

/**
 * Runs `fn` as a step of `t` named `name`, skipped (with the reason in its
 * name) when `skipReason` is not null: a step has no `(options, fn)` form.
 */
export function stepNeeding(
  t: Deno.TestContext,
  skipReason: string | null,
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): Promise<boolean> {
  return t.step({ ...needs(skipReason, name), fn });
}
