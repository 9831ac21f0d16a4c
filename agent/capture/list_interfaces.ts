import { CaptureError } from "./capture_error.ts";
import {
  loadLibpcap,
  PCAP_ADDR_ADDR_OFFSET,
  PCAP_ADDR_NEXT_OFFSET,
  PCAP_ERRBUF_SIZE,
  PCAP_IF_ADDRESSES_OFFSET,
  PCAP_IF_DESCRIPTION_OFFSET,
  PCAP_IF_FLAGS_OFFSET,
  PCAP_IF_LOOPBACK,
  PCAP_IF_NAME_OFFSET,
  PCAP_IF_NEXT_OFFSET,
  PCAP_IF_RUNNING,
  PCAP_IF_UP,
  PCAP_IF_WIRELESS,
  readCString,
  readErrbuf,
  readPointerOut,
} from "./libpcap.ts";
// A relative import: tests load this folder from scripts outside the workspace.
import { formatIpv6 } from "../../shared/packet/address_format.ts";

/** One capture source as libpcap lists it. */
export interface CaptureInterface {
  /** The name to pass as `interfaceName`, e.g. `eth0`, `lo`, `any`. */
  name: string;
  /** libpcap's description, when it has one (e.g. "Pseudo-device that captures on all interfaces"). */
  description: string | null;
  /** A loopback interface. */
  loopback: boolean;
  /** The interface is administratively up. */
  up: boolean;
  /** The interface is running (has carrier). */
  running: boolean;
  /** A wireless interface. */
  wireless: boolean;
  /** The interface's IPv4 and IPv6 addresses as strings. */
  addresses: string[];
}

// Linux sockaddr: sa_family is a u16 at offset 0; BSDs put sa_len first.
const AF_INET = 2;
const AF_INET6_LINUX = 10;
const AF_INET6_DARWIN = 30;
const SIN_ADDR_OFFSET = 4;
const SIN6_ADDR_OFFSET = 8;

function readSockaddr(pointer: Deno.PointerValue): string | null {
  if (pointer === null) return null;
  const view = new Deno.UnsafePointerView(pointer);
  const family = Deno.build.os === "darwin" ? view.getUint8(1) : view.getUint16(0);
  if (family === AF_INET) {
    const bytes = new Uint8Array(4);
    Deno.UnsafePointerView.copyInto(pointer, bytes, SIN_ADDR_OFFSET);
    return bytes.join(".");
  }
  if (family === AF_INET6_LINUX || family === AF_INET6_DARWIN) {
    const bytes = new Uint8Array(16);
    Deno.UnsafePointerView.copyInto(pointer, bytes, SIN6_ADDR_OFFSET);
    return formatIpv6(bytes, 0);
  }
  return null;
}

/**
 * Lists the interfaces libpcap can capture on (`pcap_findalldevs`),
 * including the `any` pseudo-device on Linux. It needs no privileges, so
 * the agent uses it to reject a misspelt `--interface` with the list of
 * valid names before it tries to open anything.
 *
 * @example
 * ```ts
 * for (const iface of listInterfaces()) console.log(iface.name, iface.addresses);
 * ```
 */
export function listInterfaces(): CaptureInterface[] {
  const pcap = loadLibpcap();
  const errbuf = new Uint8Array(PCAP_ERRBUF_SIZE);
  const out = new BigUint64Array(1);
  if (pcap.pcap_findalldevs(out, errbuf) !== 0) {
    throw new CaptureError(
      `cannot list capture interfaces: ${readErrbuf(errbuf)}`,
      { code: "ACTIVATE_FAILED" },
    );
  }
  const head = readPointerOut(out);
  const result: CaptureInterface[] = [];
  try {
    for (let node = head; node !== null;) {
      const view = new Deno.UnsafePointerView(node);
      const flags = view.getUint32(PCAP_IF_FLAGS_OFFSET);
      const addresses: string[] = [];
      for (
        let addr = view.getPointer(PCAP_IF_ADDRESSES_OFFSET);
        addr !== null;
        addr = new Deno.UnsafePointerView(addr).getPointer(PCAP_ADDR_NEXT_OFFSET)
      ) {
        const text = readSockaddr(
          new Deno.UnsafePointerView(addr).getPointer(PCAP_ADDR_ADDR_OFFSET),
        );
        if (text !== null) addresses.push(text);
      }
      result.push({
        name: readCString(view.getPointer(PCAP_IF_NAME_OFFSET)) ?? "",
        description: readCString(view.getPointer(PCAP_IF_DESCRIPTION_OFFSET)),
        loopback: (flags & PCAP_IF_LOOPBACK) !== 0,
        up: (flags & PCAP_IF_UP) !== 0,
        running: (flags & PCAP_IF_RUNNING) !== 0,
        wireless: (flags & PCAP_IF_WIRELESS) !== 0,
        addresses,
      });
      node = view.getPointer(PCAP_IF_NEXT_OFFSET);
    }
  } finally {
    if (head !== null) pcap.pcap_freealldevs(head);
  }
  return result;
}
