/**
 * zstd compression through the system's libzstd (Deno FFI), for the agent's
 * bodies and the stored packet column blocks; callers fall back to
 * `node:zlib` where it is not at hand.
 *
 * @module
 */

export { libzstdProblem, libzstdVersion } from "./libzstd.ts";
export { compressWithLibzstd } from "./libzstd_codec.ts";
