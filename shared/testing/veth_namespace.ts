/**
 * A network namespace of a test's own joined to the host by a veth pair, so
 * test traffic stays on this machine: the host end is where an agent
 * captures, the namespace end where traffic is made. Needs root and
 * `iproute2`; spawns `ip`, so only tests outside `deno task test:unit` may
 * import it.
 *
 * @module
 */

/** What {@linkcode createVethNamespace} makes. */
export interface VethNamespaceOptions {
  /** The namespace's name; unique to the caller (add the process id). */
  namespace: string;
  /** The host end's interface name (at most 15 characters). */
  hostInterface: string;
  /** The namespace end's interface name (at most 15 characters). */
  namespaceInterface: string;
  /** The host end's address. */
  hostIp: string;
  /** The namespace end's address. */
  namespaceIp: string;
  /** Prefix length of both addresses; a /30 keeps the pair to its two ends. @default 30 */
  prefixLength?: number;
}

/** A namespace and its veth pair, both up with their addresses. */
export interface VethNamespace extends Required<VethNamespaceOptions> {
  /** Deletes the pair and the namespace; safe to call twice. */
  remove(): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdin: "null", stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/**
 * Creates the namespace and the pair, or nothing: a failure part way
 * removes what was made before it is thrown.
 *
 * @example
 * ```ts
 * const net = await createVethNamespace({
 *   namespace: `mytest-${Deno.pid}`, hostInterface: `mth${Deno.pid}`,
 *   namespaceInterface: `mtn${Deno.pid}`, hostIp: "10.250.0.1", namespaceIp: "10.250.0.2",
 * });
 * try { ... } finally { await net.remove(); }
 * ```
 */
export async function createVethNamespace(options: VethNamespaceOptions): Promise<VethNamespace> {
  const { namespace, hostInterface, namespaceInterface, hostIp, namespaceIp } = options;
  const prefixLength = options.prefixLength ?? 30;
  await ip(["netns", "add", namespace]);
  const remove = async () => {
    // The host end goes with the namespace's end, but delete it too in case the move failed.
    await ip(["link", "del", hostInterface]).catch(() => {});
    await ip(["netns", "del", namespace]).catch(() => {});
  };
  try {
    await ip([
      "link",
      "add",
      hostInterface,
      "type",
      "veth",
      "peer",
      "name",
      namespaceInterface,
      "netns",
      namespace,
    ]);
    await ip(["addr", "add", `${hostIp}/${prefixLength}`, "dev", hostInterface]);
    await ip(["link", "set", hostInterface, "up"]);
    await ip([
      "-n",
      namespace,
      "addr",
      "add",
      `${namespaceIp}/${prefixLength}`,
      "dev",
      namespaceInterface,
    ]);
    await ip(["-n", namespace, "link", "set", namespaceInterface, "up"]);
    await ip(["-n", namespace, "link", "set", "lo", "up"]);
  } catch (error) {
    await remove();
    throw error;
  }
  return { ...options, prefixLength, remove };
}
