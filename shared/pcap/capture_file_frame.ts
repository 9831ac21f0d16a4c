/**
 * One frame as read from a capture file (pcap or pcapng); a frame captured
 * live is the agent's `LiveFrame`.
 *
 * @module
 */

/**
 * A captured frame with its metadata. `data` is a view into the reader's
 * buffer; it stays valid after iteration moves on (readers never reuse a
 * buffer a frame points into).
 */
export interface CaptureFileFrame {
  /** Capture time in epoch seconds with a fraction (a float: ~0.2 µs resolution today). */
  timestampSec: number;
  /** Capture time in epoch nanoseconds, exact for µs and ns sources (floored for finer or binary resolutions). */
  timestampNs: bigint;
  /** Captured bytes (`data.length`). */
  caplen: number;
  /** Bytes on the wire (pcap `orig_len`). */
  wireLength: number;
  /** LINKTYPE_ value of the frame's interface. */
  linkType: number;
  /** Interface index: 0 for pcap; for pcapng the file-wide order of the interface description blocks. */
  interfaceIndex: number;
  /** pcapng `if_name` of the interface, when the file gives one. */
  interfaceName: string | undefined;
  /** The captured bytes, starting at the link-layer header. */
  data: Uint8Array;
}
