/**
 * Reads a lab run's label manifest (`<run>.json`, written by
 * `models/lab/manifest.ts`) and checks the fields training relies on, so a
 * stray or truncated JSON file fails with a message naming the file and the
 * field instead of producing silently wrong labels.
 *
 * @module
 */

import { z } from "zod";
import { type LabManifest, MANIFEST_FORMAT, MANIFEST_VERSION } from "../lab/manifest.ts";
import { TRAFFIC_CLASSES } from "../lab/run_settings.ts";

/** Raised when a manifest cannot be read or is not a valid lab manifest. */
export class ManifestReadError extends Error {
  /** Path of the manifest. */
  path: string;
  /** Creates the error; `cause` carries the underlying error, if any. */
  constructor(message: string, options: { path: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = "ManifestReadError";
    this.path = options.path;
  }
}

const SegmentSchema = z.looseObject({
  id: z.number().int(),
  label: z.enum(TRAFFIC_CLASSES),
  scenario: z.string().min(1),
  host: z.string().min(1),
  sourceAddresses: z.array(z.string().min(1)).min(1),
  start: z.number(),
  end: z.number(),
});

// Only the fields training reads are checked; the rest is kept as it is.
// z.number() already refuses NaN and ±Infinity.
const ManifestSchema = z.looseObject({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  runId: z.string().min(1),
  seed: z.number().int(),
  pcap: z.string().min(1),
  graceSec: z.number().min(0),
  startedAt: z.number(),
  endedAt: z.number(),
  segments: z.array(SegmentSchema).min(1),
});

/**
 * Reads and checks a lab manifest.
 *
 * @throws {ManifestReadError} when the file is missing, is not JSON, or lacks
 * a field labelling needs.
 *
 * @example
 * ```ts
 * const manifest = await readLabManifest("models/captures/run_s001.json");
 * manifest.segments.length; // 13
 * ```
 */
export async function readLabManifest(path: string): Promise<LabManifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ManifestReadError(`Cannot read the lab manifest ${path}: ${(e as Error).message}`, {
      path,
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ManifestReadError(
      `Cannot read the lab manifest ${path} as it is not JSON: ${(e as Error).message}`,
      { path, cause: e },
    );
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((i) =>
      `${i.path.join(".") || "(root)"}: ${i.message}`
    );
    throw new ManifestReadError(
      `Cannot read the lab manifest ${path} as it is not a version ${MANIFEST_VERSION} lab manifest (${
        problems.join("; ")
      })`,
      { path, cause: parsed.error },
    );
  }
  return parsed.data as unknown as LabManifest;
}
