/**
 * The system's libzstd through Deno FFI (Debian's `libzstd1`, which dpkg
 * itself depends on, so every Debian system has it), for the one-shot
 * compression call of zstd's stable API.
 *
 * Why not `node:zlib` alone: at level 1 its zstd took 1.6-1.7 times the CPU
 * of libzstd 1.5.4 through FFI to compress the stored column blocks of the
 * bench capture (403-427 ms against 244-245 ms, 5 December 2026), and the
 * agent's `--read --dry-run` took 3.4-3.5 s of CPU with it against
 * 3.2-3.3 s with libzstd. Every packet is compressed twice: by the agent
 * into its body, and by the server into its stored column block.
 *
 * @module
 */

/** The libzstd functions used: the one-shot API, stable since zstd 1.3. */
const LIBZSTD_SYMBOLS = {
  ZSTD_compress: { parameters: ["buffer", "usize", "buffer", "usize", "i32"], result: "usize" },
  ZSTD_compressBound: { parameters: ["usize"], result: "usize" },
  ZSTD_isError: { parameters: ["usize"], result: "u32" },
  ZSTD_getErrorName: { parameters: ["usize"], result: "pointer" },
  ZSTD_versionString: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded libzstd symbols. */
export type Libzstd = Deno.DynamicLibrary<typeof LIBZSTD_SYMBOLS>["symbols"];

/** Sonames tried in order: Debian's (`libzstd1`), then a development link. */
const LIBZSTD_CANDIDATES: Record<string, readonly string[]> = {
  linux: ["libzstd.so.1", "libzstd.so"],
  darwin: ["libzstd.1.dylib", "libzstd.dylib"],
};

let loaded: Libzstd | null | undefined;
let problem: string | null = null;

/**
 * Opens libzstd once per thread (each worker has its own), or returns null
 * when it cannot: no `--allow-ffi` (checked first, so that Deno never
 * prompts for it), or no library of a known name. The callers then use
 * `node:zlib`, which writes the same frames.
 */
export function loadLibzstd(): Libzstd | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    problem = "no --allow-ffi";
    return loaded;
  }
  const candidates = LIBZSTD_CANDIDATES[Deno.build.os] ?? LIBZSTD_CANDIDATES.linux;
  const failures: string[] = [];
  for (const name of candidates) {
    try {
      loaded = Deno.dlopen(name, LIBZSTD_SYMBOLS).symbols;
      return loaded;
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  problem = `libzstd not found (install libzstd1; ${failures.join("; ")})`;
  return loaded;
}

/** Why {@linkcode loadLibzstd} returned null, or null when it loaded (or was not tried). */
export function libzstdProblem(): string | null {
  return problem;
}

/** The loaded library's version, e.g. `1.5.4`, or null when it is not loaded. */
export function libzstdVersion(): string | null {
  const lib = loadLibzstd();
  const version = lib?.ZSTD_versionString();
  return version ? Deno.UnsafePointerView.getCString(version) : null;
}
