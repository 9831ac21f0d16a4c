/** A program the lab runs and the Debian package that provides it. */
export interface ToolRequirement {
  /** Program name as looked up on the search path. */
  tool: string;
  /** Debian package to install for it. */
  debianPackage: string;
}

/** Every program the lab runs, with its Debian package. */
export const LAB_TOOLS: readonly ToolRequirement[] = Object.freeze([
  { tool: "ip", debianPackage: "iproute2" },
  { tool: "ss", debianPackage: "iproute2" },
  { tool: "sysctl", debianPackage: "procps" },
  { tool: "ethtool", debianPackage: "ethtool" },
  { tool: "kill", debianPackage: "procps" },
  { tool: "tcpdump", debianPackage: "tcpdump" },
  { tool: "curl", debianPackage: "curl" },
  { tool: "dig", debianPackage: "dnsutils" },
  { tool: "dnsmasq", debianPackage: "dnsmasq-base" },
  { tool: "iperf3", debianPackage: "iperf3" },
  { tool: "sshd", debianPackage: "openssh-server" },
  { tool: "ssh", debianPackage: "openssh-client" },
  { tool: "ssh-keygen", debianPackage: "openssh-client" },
  { tool: "nmap", debianPackage: "nmap" },
  { tool: "hping3", debianPackage: "hping3" },
  { tool: "hydra", debianPackage: "hydra" },
  { tool: "slowhttptest", debianPackage: "slowhttptest" },
  { tool: "busybox", debianPackage: "busybox" },
  { tool: "python3", debianPackage: "python3" },
  { tool: "dpkg-query", debianPackage: "dpkg" },
  { tool: "bash", debianPackage: "bash" },
  { tool: "head", debianPackage: "coreutils" },
  { tool: "chmod", debianPackage: "coreutils" },
  { tool: "mkdir", debianPackage: "coreutils" },
  { tool: "ssh-keyscan", debianPackage: "openssh-client" },
  { tool: "masscan", debianPackage: "masscan" },
  { tool: "vsftpd", debianPackage: "vsftpd" },
  { tool: "openssl", debianPackage: "openssl" },
  { tool: "chronyd", debianPackage: "chrony" },
  { tool: "socat", debianPackage: "socat" },
]);

/** Directories searched by default: root's usual search path on Debian. */
export const DEFAULT_TOOL_DIRS: readonly string[] = Object.freeze([
  "/usr/local/sbin",
  "/usr/local/bin",
  "/usr/sbin",
  "/usr/bin",
  "/sbin",
  "/bin",
]);

/** Options for {@link findMissingTools}. */
export interface FindMissingToolsOptions {
  /**
   * Programs to look for.
   * @default {LAB_TOOLS}
   */
  tools?: readonly ToolRequirement[];
  /**
   * Directories to look in.
   * @default {DEFAULT_TOOL_DIRS}
   */
  dirs?: readonly string[];
  /**
   * Tells whether a path is an existing executable file; injected by tests.
   * @default {a Deno.stat check for a file with an execute bit}
   */
  isExecutable?: (path: string) => Promise<boolean>;
}

/** The outcome of the tool check. */
export interface MissingTools {
  /** Programs not found. */
  missing: ToolRequirement[];
  /** One line to fix it, e.g. `apt-get install -y hping3 nmap`, or null when nothing is missing. */
  installCommand: string | null;
}

/**
 * Checks up front that every program the lab runs is installed, so a run
 * fails in one clear line naming the packages to install instead of halfway
 * through with a missing binary.
 *
 * @example
 * ```ts
 * const { installCommand } = await findMissingTools();
 * if (installCommand) console.error(`missing tools; run: ${installCommand}`);
 * ```
 */
export async function findMissingTools(
  options: FindMissingToolsOptions = {},
): Promise<MissingTools> {
  const tools = options.tools ?? LAB_TOOLS;
  const dirs = options.dirs ?? DEFAULT_TOOL_DIRS;
  const isExecutable = options.isExecutable ?? defaultIsExecutable;
  const missing: ToolRequirement[] = [];
  for (const t of tools) {
    let found = false;
    for (const d of dirs) {
      if (await isExecutable(`${d}/${t.tool}`)) {
        found = true;
        break;
      }
    }
    if (!found) missing.push(t);
  }
  const packages = [...new Set(missing.map((m) => m.debianPackage))].sort();
  return {
    missing,
    installCommand: packages.length === 0 ? null : `apt-get install -y ${packages.join(" ")}`,
  };
}

async function defaultIsExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}
