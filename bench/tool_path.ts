/**
 * Where a reference tool is: on PATH, or else in the system folders that
 * Debian leaves off a user's PATH (`argus` installs into /usr/sbin), so a
 * bench run by a user other than root still finds the tools root installed.
 *
 * @module
 */

/** Options for {@linkcode toolPath}. */
export interface ToolPathOptions {
  /** The search path. @default {Deno.env.get("PATH")} */
  path?: string;
  /** Folders tried after PATH. @default {["/usr/sbin", "/sbin"]} */
  systemDirs?: readonly string[];
}

function isExecutableFile(file: string): boolean {
  try {
    const info = Deno.statSync(file);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The command to run for `name`: `name` itself when it is on PATH (or
 * nowhere, so the caller reports it as not installed), else its full path
 * in the first system folder that holds it.
 *
 * @example
 * ```ts
 * toolPath("argus"); // "argus" as root, "/usr/sbin/argus" for a user without /usr/sbin on PATH
 * ```
 */
export function toolPath(name: string, options: ToolPathOptions = {}): string {
  const path = options.path ?? Deno.env.get("PATH") ?? "";
  for (const dir of path.split(":")) {
    if (dir !== "" && isExecutableFile(`${dir}/${name}`)) return name;
  }
  for (const dir of options.systemDirs ?? ["/usr/sbin", "/sbin"]) {
    if (isExecutableFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return name;
}
