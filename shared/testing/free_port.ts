/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for starting a server
 * subprocess on a known port in tests and benchmarks.
 *
 * @module
 */

/** Returns a port the kernel just handed out and released. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
