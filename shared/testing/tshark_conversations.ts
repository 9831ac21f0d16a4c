/**
 * tshark's conversation tables (`tshark -q -z conv,tcp -z conv,udp`) as
 * data: the oracle that flow tests compare per-direction frame and byte
 * counts with.
 *
 * @module
 */
import { toolInstalled, TSHARK } from "./test_tools.ts";

/** One row of a tshark conversation table. */
export interface ConvRow {
  /** Which table the row came from. */
  protocol: "TCP" | "UDP";
  /** Address of endpoint A (the left column). */
  a: string;
  /** Port of endpoint A. */
  aPort: number;
  /** Address of endpoint B (the right column). */
  b: string;
  /** Port of endpoint B. */
  bPort: number;
  /** Frames and bytes B -> A (tshark's "<-" columns). */
  toA: { frames: number; bytes: number; exact: boolean };
  /** Frames and bytes A -> B ("->"). */
  toB: { frames: number; bytes: number; exact: boolean };
}

function splitEndpoint(text: string): [string, number] {
  const colon = text.lastIndexOf(":");
  return [text.slice(0, colon), Number(text.slice(colon + 1))];
}

/** tshark prints small sizes as "N bytes" and larger ones rounded, as "N kB" / "N MB". */
function parseSize(value: string, unit: string): { bytes: number; exact: boolean } {
  const n = Number(value.replaceAll(",", ""));
  if (unit === "bytes") return { bytes: n, exact: true };
  return { bytes: n * (unit === "kB" ? 1e3 : unit === "MB" ? 1e6 : 1e9), exact: false };
}

/** Parses the TCP and UDP sections of `tshark -q -z conv,tcp -z conv,udp`. */
export function parseConversations(text: string): ConvRow[] {
  const rows: ConvRow[] = [];
  let protocol: "TCP" | "UDP" | null = null;
  const rowPattern =
    /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,.]+)\s+(bytes|kB|MB|GB)\s+(\d+)\s+([\d,.]+)\s+(bytes|kB|MB|GB)\s+/;
  for (const line of text.split("\n")) {
    if (line.startsWith("TCP Conversations")) protocol = "TCP";
    else if (line.startsWith("UDP Conversations")) protocol = "UDP";
    const m = rowPattern.exec(line);
    if (m === null || protocol === null) continue;
    const [a, aPort] = splitEndpoint(m[1]);
    const [b, bPort] = splitEndpoint(m[2]);
    rows.push({
      protocol,
      a,
      aPort,
      b,
      bPort,
      toA: { frames: Number(m[3]), ...parseSize(m[4], m[5]) },
      toB: { frames: Number(m[6]), ...parseSize(m[7], m[8]) },
    });
  }
  return rows;
}

/** Whether `tshark` runs on this machine (asked once a process, as the tests' skips ask). */
export function tsharkAvailable(): Promise<boolean> {
  return Promise.resolve(toolInstalled(TSHARK));
}

/**
 * The conversation tables of a capture: from tshark when it is installed,
 * else from `saved` (a file of tshark's output kept beside the capture), else
 * null.
 */
export async function tsharkConversations(
  pcap: URL | string,
  saved: URL | null = null,
): Promise<string | null> {
  if (await tsharkAvailable()) {
    const { stdout } = await new Deno.Command("tshark", {
      args: [
        "-q",
        "-z",
        "conv,tcp",
        "-z",
        "conv,udp",
        "-r",
        pcap instanceof URL ? pcap.pathname : pcap,
      ],
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(stdout);
  }
  return saved === null ? null : await Deno.readTextFile(saved);
}
