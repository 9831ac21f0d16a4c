/**
 * The libc functions live capture calls through FFI, loaded once a process.
 * Private to this folder.
 *
 * @module
 */

const LIBC_SYMBOLS = {
  // Runs on Deno's blocking thread pool and resolves a promise, so waiting
  // for packets never blocks the event loop.
  poll: {
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  // The address as a u64 BigInt and the length as a u32 keep the call on
  // V8's fast path: 40 ns a 154-byte packet here, against 170 ns for
  // `UnsafePointer.create` and `UnsafePointerView.copyInto` (a pointer
  // object and an op per packet), and 120 ns for a number address.
  memcpy: { parameters: ["buffer", "u64", "u32"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libc's functions as FFI symbols. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

/** libc, or null where it cannot be loaded (not Linux, or no libc by these names). */
export function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      libc = Deno.dlopen(name, LIBC_SYMBOLS).symbols;
      break;
    } catch {
      // try the next name
    }
  }
  return libc;
}
