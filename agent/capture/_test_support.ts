/**
 * Helpers for this folder's tests: what the machine can do (so tests skip
 * with a reason instead of failing), bounded loopback traffic, tcpdump as
 * the oracle, and a minimal pcap reader for its output. Private to this
 * folder.
 *
 * @module
 */

import dgram from "node:dgram";
import { CaptureError } from "./capture_error.ts";
import type { LiveFrame } from "./live_capture.ts";
import { LiveCapture } from "./live_capture.ts";
import { isLibpcapAvailable } from "./libpcap.ts";
import {
  firstSkipReason,
  missingLibraryReason,
  missingToolsReason,
  needs,
  TCPDUMP,
} from "@traffic-analyzer/shared/testing/test_tools";

export { needs };

/** Why live capture tests cannot run here, or null when they can. */
export function captureSkipReason(): string | null {
  const noLibpcap = libpcapSkipReason();
  if (noLibpcap !== null) return noLibpcap;
  try {
    LiveCapture.open({ interfaceName: "lo" }).close();
    return null;
  } catch (error) {
    if (error instanceof CaptureError && error.code === "PERM_DENIED") {
      return "capture needs root or CAP_NET_RAW";
    }
    return `cannot capture on lo: ${String(error)}`;
  }
}

/** Why tests comparing with tcpdump cannot run here, or null when they can. */
export function tcpdumpSkipReason(): string | null {
  return firstSkipReason(captureSkipReason(), missingToolsReason([TCPDUMP]));
}

/** Waits until `check()` is true, polling every `intervalMs`; false at the deadline. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return await check();
}

/** A TCP echo server on 127.0.0.1 at a free port. */
export interface EchoServer {
  /** Port it listens on. */
  port: number;
  /** Stops listening and closes open connections; safe to call twice. */
  close(): Promise<void>;
}

/** Starts a TCP echo server on 127.0.0.1. */
export function startEchoServer(): EchoServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        connections.add(conn);
        tasks.push((async () => {
          const buffer = new Uint8Array(65536);
          try {
            for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
              await conn.write(buffer.subarray(0, n));
            }
          } catch {
            // the client went away; nothing to echo
          } finally {
            connections.delete(conn);
            try {
              conn.close();
            } catch { /* already closed */ }
          }
        })());
      }
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      try {
        listener.close();
      } catch { /* already closed */ }
      for (const conn of connections) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await accepting;
      await Promise.all(tasks);
    },
  };
}

/** A UDP socket bound on 127.0.0.1 at a free port that discards what it gets. */
export interface UdpSink {
  /** Port it is bound to. */
  port: number;
  /** Closes the socket; safe to call twice. */
  close(): Promise<void>;
}

/** Binds a UDP sink on `address` (default 127.0.0.1). */
export async function startUdpSink(address = "127.0.0.1"): Promise<UdpSink> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", () => {});
  await new Promise<void>((resolve) => socket.bind(0, address, resolve));
  let closed: Promise<void> | undefined;
  return {
    port: socket.address().port,
    close: () => closed ??= new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Sends `count` datagrams of `payloadBytes` to `address`:`port`, one after another. */
export async function sendDatagrams(
  address: string,
  port: number,
  count: number,
  payloadBytes: number,
): Promise<void> {
  const socket = dgram.createSocket("udp4");
  // Bind to loopback explicitly; the implicit bind would ask for 0.0.0.0.
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    for (let i = 0; i < count; i++) {
      const payload = new Uint8Array(payloadBytes).fill(i & 0xff);
      await new Promise<void>((resolve, reject) =>
        socket.send(payload, port, address, (error) => error ? reject(error) : resolve())
      );
    }
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

/** Opens `connections` TCP connections in turn and echoes `messages` messages on each. */
export async function echoTraffic(
  port: number,
  connections: number,
  messages: number,
  messageBytes: number,
): Promise<void> {
  const reply = new Uint8Array(messageBytes);
  for (let c = 0; c < connections; c++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      for (let m = 0; m < messages; m++) {
        await conn.write(new Uint8Array(messageBytes).fill(m & 0xff));
        let got = 0;
        while (got < messageBytes) {
          const n = await conn.read(reply.subarray(got));
          if (n === null) throw new Error("echo server closed early");
          got += n;
        }
      }
    } finally {
      conn.close();
    }
  }
}

/** Consumes a capture's bursts in the background into `frames` until it is closed. */
export function collectFrames(
  source: { bursts(): AsyncGenerator<LiveFrame[], void, undefined> },
): { frames: LiveFrame[]; done: Promise<void> } {
  const frames: LiveFrame[] = [];
  const done = (async () => {
    for await (const burst of source.bursts()) frames.push(...burst);
  })();
  return { frames, done };
}

/** A tcpdump process writing a pcap file. */
export interface TcpdumpRun {
  /** Path of the pcap file it writes. */
  path: string;
  /** Packets written so far (whole records only). */
  count(): number;
  /** Stops tcpdump and returns its stderr (which has its counters). */
  stop(): Promise<string>;
}

/**
 * Starts `tcpdump -i <interface> -w <file> <filter>` in immediate,
 * packet-buffered mode with nanosecond time stamps, and resolves once it
 * says it is listening, so traffic sent afterwards is seen by it.
 */
export async function startTcpdump(
  interfaceName: string,
  filter: string,
  extraArgs: string[] = [],
): Promise<TcpdumpRun> {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  const child = new Deno.Command("tcpdump", {
    args: [
      "-i",
      interfaceName,
      "-n",
      "-U",
      "--immediate-mode",
      "--time-stamp-precision=nano",
      // Immediate mode sizes ring slots for the snap length, so the default
      // 2 MiB holds only a few dozen frames and tcpdump drops under bursts.
      "-B",
      "65536",
      ...extraArgs,
      "-w",
      path,
      filter,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  let stderr = "";
  const deadline = Date.now() + 20000;
  while (!stderr.includes("listening on")) {
    if (Date.now() > deadline) throw new Error(`tcpdump did not start: ${stderr}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`tcpdump exited: ${stderr}`);
    stderr += decoder.decode(value, { stream: true });
  }
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      stderr += decoder.decode(value, { stream: true });
    }
  })();
  return {
    path,
    count: () => readPcapFile(path).length,
    async stop() {
      child.kill("SIGINT");
      await child.status;
      await rest;
      return stderr;
    },
  };
}

/** One record of a pcap file. */
export interface PcapRecord {
  /** Whole seconds. */
  wholeSec: number;
  /** Nanoseconds past `wholeSec`. */
  fracNs: number;
  /** Bytes captured. */
  caplen: number;
  /** Bytes on the wire. */
  wireLength: number;
  /** The captured bytes. */
  data: Uint8Array;
}

const PCAP_MAGIC_MICRO = 0xa1b2c3d4;
const PCAP_MAGIC_NANO = 0xa1b23c4d;
const PCAP_FILE_HEADER_BYTES = 24;
const PCAP_RECORD_HEADER_BYTES = 16;

/** Reads the whole records of a classic pcap file (a record still being written is left out). */
export function readPcapFile(path: string): PcapRecord[] {
  const bytes = Deno.readFileSync(path);
  if (bytes.length < PCAP_FILE_HEADER_BYTES) return [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  let magic = view.getUint32(0, true);
  if (magic !== PCAP_MAGIC_MICRO && magic !== PCAP_MAGIC_NANO) {
    le = false;
    magic = view.getUint32(0, false);
  }
  if (magic !== PCAP_MAGIC_MICRO && magic !== PCAP_MAGIC_NANO) {
    throw new Error(`${path} is not a pcap file (magic ${magic.toString(16)})`);
  }
  const nsPerUnit = magic === PCAP_MAGIC_NANO ? 1 : 1000;
  const records: PcapRecord[] = [];
  for (let offset = PCAP_FILE_HEADER_BYTES; offset + PCAP_RECORD_HEADER_BYTES <= bytes.length;) {
    const caplen = view.getUint32(offset + 8, le);
    const end = offset + PCAP_RECORD_HEADER_BYTES + caplen;
    if (end > bytes.length) break;
    records.push({
      wholeSec: view.getUint32(offset, le),
      fracNs: view.getUint32(offset + 4, le) * nsPerUnit,
      caplen,
      wireLength: view.getUint32(offset + 12, le),
      data: bytes.slice(offset + PCAP_RECORD_HEADER_BYTES, end),
    });
    offset = end;
  }
  return records;
}

/** Transport fields of an IPv4 frame, enough for tests to tell traffic apart. */
export interface FrameSummary {
  /** IP protocol number. */
  ipProto: number;
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
}

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_LINUX_SLL = 113;
const ETHERTYPE_IPV4 = 0x0800;

/** Reads protocol and ports of an IPv4 frame on Ethernet or Linux SLL; null for anything else. */
export function summarizeFrame(data: Uint8Array, linkType: number): FrameSummary | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let ipOffset: number;
  if (linkType === LINKTYPE_ETHERNET) {
    if (data.length < 14 || view.getUint16(12) !== ETHERTYPE_IPV4) return null;
    ipOffset = 14;
  } else if (linkType === LINKTYPE_LINUX_SLL) {
    if (data.length < 16 || view.getUint16(14) !== ETHERTYPE_IPV4) return null;
    ipOffset = 16;
  } else {
    return null;
  }
  if (data.length < ipOffset + 20) return null;
  const headerBytes = (view.getUint8(ipOffset) & 0x0f) * 4;
  const transport = ipOffset + headerBytes;
  if (data.length < transport + 4) return null;
  return {
    ipProto: view.getUint8(ipOffset + 9),
    srcPort: view.getUint16(transport),
    dstPort: view.getUint16(transport + 2),
  };
}

/** Hex of the bytes, to compare captures as multisets. */
export function toHex(data: Uint8Array): string {
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** True when this process runs as root (asks `id`, as Deno wants `--allow-all` to read /proc/self). */
export function isRoot(): boolean {
  try {
    const output = new Deno.Command("id", { args: ["-u"], stderr: "null" }).outputSync();
    return new TextDecoder().decode(output.stdout).trim() === "0";
  } catch {
    return false;
  }
}

/**
 * Why tests that only need libpcap cannot run here, or null when they can
 * (or must: `REQUIRE_TEST_TOOLS=1`, see shared/testing/test_tools.ts).
 */
export function libpcapSkipReason(): string | null {
  return missingLibraryReason(isLibpcapAvailable(), "libpcap", "libpcap0.8");
}
