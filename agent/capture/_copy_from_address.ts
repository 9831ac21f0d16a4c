/**
 * Copies bytes from a native address (a packet in libpcap's ring) into a
 * typed array. Private to this folder.
 *
 * @module
 */
import { loadLibc } from "./_libc.ts";

/** Copies `target.length` bytes from `address` into `target`. */
export type CopyFromAddress = (target: Uint8Array, address: bigint) => void;

function copyWithDeno(target: Uint8Array, address: bigint): void {
  if (target.length === 0) return;
  Deno.UnsafePointerView.copyInto(Deno.UnsafePointer.create(address)!, target);
}

/** The fastest copy at hand: libc's `memcpy` (see `_libc.ts`) where it loads, else Deno's `copyInto`. */
export function copyFromAddress(): CopyFromAddress {
  const memcpy = loadLibc()?.memcpy;
  return memcpy === undefined
    ? copyWithDeno
    : (target, address) => memcpy(target, address, target.length);
}
