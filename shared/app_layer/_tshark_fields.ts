/**
 * Test support: tshark's dissection of a capture as one row per frame, with
 * every occurrence of each field kept apart. Values are split on a control
 * character, not a comma, because JA3 strings and user agents hold commas.
 *
 * @module
 */

/** One frame of tshark output: each field's occurrences, outermost first. */
export type TsharkFrame = ReadonlyMap<string, readonly string[]>;

const AGGREGATOR = "\x1f";

/**
 * Runs tshark over a capture and returns its rows keyed by frame number
 * (1-based). With `TSHARK_CACHE_DIR` set, tshark's output is kept there per
 * capture, size, time and field list, so repeated runs while developing skip
 * the minutes tshark takes over the whole kit.
 */
export async function tsharkFields(
  path: string,
  fields: readonly string[],
  preferences: readonly string[] = [],
): Promise<Map<number, TsharkFrame>> {
  const cacheDir = Deno.env.get("TSHARK_CACHE_DIR");
  let cachePath: string | null = null;
  if (cacheDir) {
    const stat = await Deno.stat(path);
    const key = JSON.stringify([path, stat.size, stat.mtime?.getTime(), fields, preferences]);
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
    cachePath = `${cacheDir}/${new Uint8Array(digest).toHex().slice(0, 24)}.tsv`;
    try {
      return parseRows(await Deno.readTextFile(cachePath), fields);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const text = await runTshark(path, fields, preferences);
  if (cachePath !== null) {
    await Deno.mkdir(cacheDir!, { recursive: true });
    await Deno.writeTextFile(cachePath, text);
  }
  return parseRows(text, fields);
}

async function runTshark(
  path: string,
  fields: readonly string[],
  preferences: readonly string[],
): Promise<string> {
  const output = await new Deno.Command("tshark", {
    args: [
      "-n",
      "-r",
      path,
      "-T",
      "fields",
      "-E",
      "header=n",
      "-E",
      "separator=/t",
      "-E",
      "occurrence=a",
      "-E",
      `aggregator=${AGGREGATOR}`,
      ...preferences.flatMap((preference) => ["-o", preference]),
      "-e",
      "frame.number",
      ...fields.flatMap((field) => ["-e", field]),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`tshark failed on ${path}: ${new TextDecoder().decode(output.stderr)}`);
  }
  return new TextDecoder().decode(output.stdout);
}

function parseRows(text: string, fields: readonly string[]): Map<number, TsharkFrame> {
  const rows = new Map<number, TsharkFrame>();
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    const cells = line.split("\t");
    const row = new Map<string, string[]>();
    fields.forEach((field, i) => {
      const cell = cells[i + 1] ?? "";
      row.set(field, cell === "" ? [] : cell.split(AGGREGATOR));
    });
    rows.set(Number(cells[0]), row);
  }
  return rows;
}
