/**
 * The warning a server prints when it listens beyond this machine with reads
 * open: without `READ_TOKEN`, anyone who can reach the port sees the traffic.
 *
 * @module
 */
import { isIP } from "node:net";

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || bare === "0:0:0:0:0:0:0:1";
  return false;
}

/** The warning for binding to `host` with `readToken`, or null when there is nothing to warn of. */
export function openReadsWarning(host: string, readToken: string | null): string | null {
  if (readToken !== null || isLoopbackHost(host)) return null;
  return `Listening on ${host} with reads open: anyone who can reach this port sees the ` +
    "captured traffic and flows. Set READ_TOKEN to require a token, or HOST=127.0.0.1 to " +
    "listen on this machine only.";
}
