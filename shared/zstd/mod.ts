/**
 * zstd compression through the system's libzstd (Deno FFI), for the agent's
 * bodies and the stored packet column blocks, through `node:zlib` where it
 * is not at hand.
 *
 * @module
 */

export { libzstdProblem, libzstdVersion } from "./libzstd.ts";
export { compressWithLibzstd } from "./libzstd_codec.ts";
export { compressWithNodeZlib, zstdCompress } from "./zstd_compress.ts";
