import { CaptureError } from "./capture_error.ts";

/** Looks up the addresses of a name; `Deno.resolveDns` by default. */
export type ResolveAddresses = (
  hostname: string,
  recordType: "A" | "AAAA",
) => Promise<string[]>;

/** Options of {@linkcode buildCaptureFilter}. */
export interface BuildCaptureFilterOptions {
  /**
   * The user's BPF filter (`--filter`); empty or absent captures everything.
   * @default {""}
   */
  userFilter?: string | null;
  /**
   * URL the agent uploads to; TCP traffic to and from its host and port is
   * left out of capture. Absent or null leaves nothing out.
   * @default {null}
   */
  excludeUrl?: string | URL | null;
  /**
   * Resolver for a host name in `excludeUrl` (not called for IP literals
   * or `localhost`). Passed in so tests need no DNS.
   * @default {Deno.resolveDns}
   */
  resolveAddresses?: ResolveAddresses;
}

const IPV4_LITERAL = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };
const LOOPBACK_ADDRESSES = ["127.0.0.1", "::1"];

/** True for a name RFC 6761 reserves for loopback, which DNS need not know. */
function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/** BPF has no quoting, so a parenthesis always groups; an unbalanced one would escape `(user)`. */
function checkBalancedParentheses(filter: string): void {
  let depth = 0;
  for (const char of filter) {
    if (char === "(") depth++;
    else if (char === ")" && --depth < 0) break;
  }
  if (depth !== 0) {
    throw new RangeError(
      `Cannot build capture filter as 'userFilter' has unbalanced parentheses: current value is ${
        JSON.stringify(filter)
      }`,
    );
  }
}

function defaultResolve(
  hostname: string,
  recordType: "A" | "AAAA",
): Promise<string[]> {
  return Deno.resolveDns(hostname, recordType);
}

/** The addresses `url`'s host stands for: itself when a literal, else what the resolver says. */
async function resolveHost(
  url: URL,
  resolveAddresses: ResolveAddresses,
): Promise<string[]> {
  // URL keeps IPv6 literals in brackets and normalises IPv4 forms like 127.1.
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (IPV4_LITERAL.test(hostname) || hostname.includes(":")) return [hostname];
  if (isLocalhostName(hostname)) return LOOPBACK_ADDRESSES;
  const results = await Promise.allSettled([
    resolveAddresses(hostname, "A"),
    resolveAddresses(hostname, "AAAA"),
  ]);
  const addresses = results.flatMap((r) => r.status === "fulfilled" ? r.value : []);
  if (addresses.length === 0) {
    const reasons = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
    throw new CaptureError(
      `cannot leave uploads to ${url.host} out of capture: "${hostname}" resolves to no address${
        reasons.length > 0 ? ` (${String(reasons[0])})` : ""
      }`,
      { code: "RESOLVE_FAILED", cause: new AggregateError(reasons) },
    );
  }
  return [...new Set(addresses)];
}

/**
 * Builds the BPF filter the agent captures with: the user's filter, minus
 * the agent's own uploads to the server, so the agent does not capture
 * (and upload, and capture again) its own traffic. The result is
 * `(user) and not (excluded)`, either part alone when the other is absent,
 * or `""` (everything) when both are.
 *
 * The exclusion matches TCP packets going to the server's address and port
 * or coming from them, for every address its name resolves to (`localhost`
 * stands for 127.0.0.1 and ::1). It does not see through VLAN tags or
 * tunnels, as tcpdump's `tcp` does not either.
 *
 * @example
 * ```ts
 * await buildCaptureFilter({ userFilter: "tcp", excludeUrl: "http://127.0.0.1:8000/ingest_packets" });
 * // "(tcp) and not (tcp and ((dst port 8000 and (dst host 127.0.0.1)) or (src port 8000 and (src host 127.0.0.1))))"
 * ```
 */
export async function buildCaptureFilter(
  options: BuildCaptureFilterOptions,
): Promise<string> {
  const userFilter = (options.userFilter ?? "").trim();
  checkBalancedParentheses(userFilter);
  if (options.excludeUrl === undefined || options.excludeUrl === null) {
    return userFilter;
  }
  let url: URL;
  try {
    url = new URL(options.excludeUrl);
  } catch (error) {
    throw new RangeError(
      `Cannot build capture filter as 'excludeUrl' is not a URL: current value is ${
        JSON.stringify(String(options.excludeUrl))
      }`,
      { cause: error },
    );
  }
  const port = url.port !== "" ? Number(url.port) : DEFAULT_PORTS[url.protocol];
  if (port === undefined) {
    throw new RangeError(
      `Cannot build capture filter as 'excludeUrl' must be http or https: current value is ${
        JSON.stringify(url.href)
      }`,
    );
  }
  const addresses = await resolveHost(
    url,
    options.resolveAddresses ?? defaultResolve,
  );
  const hosts = (direction: "src" | "dst") =>
    addresses.map((address) => `${direction} host ${address}`).join(" or ");
  const excluded = `tcp and ((dst port ${port} and (${hosts("dst")})) or ` +
    `(src port ${port} and (${hosts("src")})))`;
  return userFilter === "" ? `not (${excluded})` : `(${userFilter}) and not (${excluded})`;
}
