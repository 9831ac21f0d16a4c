/**
 * The capture the file benchmarks read: real traffic, at least a given
 * number of packets. It is made from the lab captures in `models/captures/`
 * by Wireshark's own tools: `mergecap -a` puts the runs one after another,
 * and `editcap -t` shifts each further copy in time to start after the
 * previous one ends, so the file is one long, time-ordered capture in which
 * every flow of a copy has ended before its twin in the next copy begins.
 * The result is cached under `data/bench/` with a manifest of its inputs and
 * rebuilt when they change.
 *
 * Needs `mergecap`, `editcap` and `capinfos` (Debian: wireshark-common).
 *
 * @module
 */
import { detectCaptureFormat } from "@traffic-analyzer/shared/pcap";

/** Options for {@linkcode ensureBenchCapture}. */
export interface BenchCaptureOptions {
  /** Fewest packets the capture must hold. */
  minPackets: number;
  /**
   * Captures to build it from, taken in order.
   * @default {the lab runs models/captures/run_s*.pcap, by name}
   */
  sources?: string[];
  /**
   * Where the capture and its manifest are kept.
   * @default {"<repo>/data/bench"}
   */
  cacheDir?: string;
  /**
   * Seconds between the end of one copy and the start of the next: more than
   * every flow timeout, so no flow spans two copies.
   * @default {3600}
   */
  gapSec?: number;
}

/** A capture ready for the file benchmarks, with the cut used to time start-up. */
export interface BenchCapture {
  /** Path of the capture. */
  path: string;
  /** Packets in it. */
  packets: number;
  /** The first packets of it (same format), for start-up runs. */
  tinyPath: string;
  /** Packets in the tiny cut. */
  tinyPackets: number;
  /** What it was made from. */
  description: string;
  /** True when built in this call, false when taken from the cache or given. */
  built: boolean;
}

/** Raised when a capture cannot be built or read; carries the tool's error. */
export class BenchCaptureError extends Error {
  /** @param message what failed */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "BenchCaptureError";
  }
}

const REPO_ROOT = new URL("../", import.meta.url).pathname;
const CAPTURES_DIR = `${REPO_ROOT}models/captures`;
const DEFAULT_CACHE_DIR = `${REPO_ROOT}data/bench`;
const TINY_PACKETS = 1000;
const MANIFEST_VERSION = 1;

interface Manifest {
  version: number;
  sources: { path: string; size: number; mtimeMs: number | null }[];
  minPackets: number;
  gapSec: number;
  packets: number;
  bytes: number;
  tinyPackets: number;
  description: string;
}

async function run(command: string, args: string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (cause) {
    throw new BenchCaptureError(
      `Cannot run ${command} (Debian package wireshark-common): ${(cause as Error).message}`,
      { cause },
    );
  }
  const text = new TextDecoder();
  if (!output.success) {
    throw new BenchCaptureError(
      `${command} ${args.join(" ")} failed: ${text.decode(output.stderr).trim()}`,
    );
  }
  return text.decode(output.stdout);
}

/** Packets and duration (seconds) of a capture, as capinfos counts them. */
export async function captureInfo(path: string): Promise<{ packets: number; durationSec: number }> {
  // -T -r: one tab-separated row without header; -M: exact numbers, no "k".
  const row = (await run("capinfos", ["-T", "-r", "-M", "-c", "-u", path])).trim().split("\t");
  const packets = Number(row.at(-2));
  const durationSec = Number(row.at(-1));
  if (!Number.isInteger(packets) || !Number.isFinite(durationSec)) {
    throw new BenchCaptureError(`Cannot read capinfos' answer for ${path}: ${row.join(" | ")}`);
  }
  return { packets, durationSec };
}

async function editcapFormat(path: string): Promise<"pcap" | "pcapng"> {
  using file = await Deno.open(path, { read: true });
  const head = new Uint8Array(4);
  const read = await file.read(head);
  const format = detectCaptureFormat(head.subarray(0, read ?? 0));
  if (format === null) throw new BenchCaptureError(`${path} is neither pcap nor pcapng`);
  return format;
}

/** Packets in the tiny cut of a capture: at most a tenth of it, so its own work stays small. */
export function tinyPacketsFor(packets: number): number {
  return Math.max(1, Math.min(TINY_PACKETS, Math.floor(packets / 10)));
}

/** Cuts the first packets of `path` into `tinyPath`, keeping its format. */
async function cutTiny(path: string, tinyPath: string, packets: number): Promise<number> {
  const format = await editcapFormat(path);
  await run("editcap", [
    "-F",
    format,
    "-r",
    path,
    tinyPath,
    `1-${tinyPacketsFor(packets)}`,
  ]);
  return (await captureInfo(tinyPath)).packets;
}

async function labSources(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(CAPTURES_DIR)) {
    if (entry.isFile && /^run_s\d+\.pcap$/.test(entry.name)) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new BenchCaptureError(`No lab captures (run_s*.pcap) in ${CAPTURES_DIR}`);
  }
  return names.sort().map((name) => `${CAPTURES_DIR}/${name}`);
}

async function readManifest(path: string): Promise<Manifest | null> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Manifest;
  } catch {
    return null;
  }
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return null;
  }
}

function sameInputs(a: Manifest, b: Manifest): boolean {
  return a.version === b.version && a.minPackets === b.minPackets && a.gapSec === b.gapSec &&
    JSON.stringify(a.sources) === JSON.stringify(b.sources);
}

/**
 * Returns the cached capture of real traffic with at least `minPackets`
 * packets, building it first when it is missing or its inputs changed.
 *
 * @throws {BenchCaptureError} when a Wireshark tool is missing or fails.
 *
 * @example
 * ```ts
 * const capture = await ensureBenchCapture({ minPackets: 1_500_000 });
 * console.log(capture.path, capture.packets);
 * ```
 */
export async function ensureBenchCapture(options: BenchCaptureOptions): Promise<BenchCapture> {
  const { minPackets } = options;
  const gapSec = options.gapSec ?? 3600;
  if (!(Number.isInteger(minPackets) && minPackets >= 1)) {
    throw new RangeError(
      `Cannot build a bench capture as 'minPackets' must be an integer >= 1: current value is ${minPackets}`,
    );
  }
  if (!(gapSec >= 0)) {
    throw new RangeError(
      `Cannot build a bench capture as 'gapSec' must be >= 0: current value is ${gapSec}`,
    );
  }
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const sources = options.sources ?? await labSources();
  await Deno.mkdir(cacheDir, { recursive: true });
  const base = `${cacheDir}/traffic_${minPackets}`;
  const path = `${base}.pcap`;
  const tinyPath = `${base}_tiny.pcap`;
  const manifestPath = `${base}.json`;

  const wanted: Manifest = {
    version: MANIFEST_VERSION,
    sources: await Promise.all(sources.map(async (source) => {
      const info = await Deno.stat(source);
      return { path: source, size: info.size, mtimeMs: info.mtime?.getTime() ?? null };
    })),
    minPackets,
    gapSec,
    packets: 0,
    bytes: 0,
    tinyPackets: 0,
    description: "",
  };
  const cached = await readManifest(manifestPath);
  if (
    cached !== null && sameInputs(cached, wanted) && await fileSize(path) === cached.bytes &&
    await fileSize(tinyPath) !== null
  ) {
    return {
      path,
      packets: cached.packets,
      tinyPath,
      tinyPackets: cached.tinyPackets,
      description: cached.description,
      built: false,
    };
  }

  const work = await Deno.makeTempDir({ dir: cacheDir, prefix: "build-" });
  try {
    // One pass of every source, back to back, as plain pcap.
    const once = `${work}/once.pcap`;
    await run("mergecap", ["-a", "-F", "pcap", "-w", once, ...sources]);
    const { packets: perCopy, durationSec } = await captureInfo(once);
    if (perCopy === 0) {
      throw new BenchCaptureError(`The sources hold no packets: ${sources.join(" ")}`);
    }
    const copies = Math.ceil(minPackets / perCopy);
    const shiftSec = Math.ceil(durationSec + gapSec);
    const parts = [once];
    for (let copy = 1; copy < copies; copy++) {
      const part = `${work}/copy_${copy}.pcap`;
      await run("editcap", ["-F", "pcap", "-t", String(copy * shiftSec), once, part]);
      parts.push(part);
    }
    const building = `${work}/all.pcap`;
    await run("mergecap", ["-a", "-F", "pcap", "-w", building, ...parts]);
    const { packets } = await captureInfo(building);
    await Deno.rename(building, path);
    const tinyPackets = await cutTiny(path, tinyPath, packets);
    const manifest: Manifest = {
      ...wanted,
      packets,
      bytes: (await Deno.stat(path)).size,
      tinyPackets,
      description: `${sources.length} lab captures (${perCopy} packets) x ${copies}, ` +
        `copies ${shiftSec} s apart`,
    };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    return { path, packets, tinyPath, tinyPackets, description: manifest.description, built: true };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/**
 * Describes a capture given with `--file` and cuts its tiny copy into the
 * cache folder.
 *
 * @throws {BenchCaptureError} when it cannot be read.
 */
export async function describeGivenCapture(
  path: string,
  cacheDir: string = DEFAULT_CACHE_DIR,
): Promise<BenchCapture> {
  const { packets } = await captureInfo(path);
  if (packets === 0) throw new BenchCaptureError(`${path} holds no packets`);
  await Deno.mkdir(cacheDir, { recursive: true });
  const format = await editcapFormat(path);
  const tinyPath = `${cacheDir}/given_tiny.${format}`;
  const tinyPackets = await cutTiny(path, tinyPath, packets);
  return {
    path,
    packets,
    tinyPath,
    tinyPackets,
    description: `${path} as given`,
    built: false,
  };
}
