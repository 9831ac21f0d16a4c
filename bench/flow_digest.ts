/**
 * SHA-256 digests of flow assembly outputs, to show that a change to the flow
 * table leaves them byte-identical: every changed and ended record's JSON of
 * each `merge()`, the drained records, every feature vector (of changed and
 * ended records), and the state saved after the first merge.
 *
 * `deno run -A bench/flow_digest.ts [--root DIR] [--batch N] [--max N] [--restore] FILE...`
 * `--root` is the checkout whose `shared/flow/` is measured (default: this
 * one), so one decoder serves both sides of a comparison. `--restore` saves
 * the table after every merge (`toJSONText`), digests that state and goes on
 * with the table restored from it (`fromJSON`), as passes do.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { decodeCapture } from "../aggregator/bench/aggregator_bench.ts";

const { values: args, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    root: { type: "string" },
    batch: { type: "string" },
    max: { type: "string" },
    payload: { type: "string" },
    restore: { type: "boolean" },
  },
});
const root = args.root ?? new URL("..", import.meta.url).pathname;
const { FlowTable } = await import(`${root}/shared/flow/flow_table.ts`);
const { flowFeatureVector } = await import(`${root}/shared/flow/feature_vector.ts`);
const batch = Number(args.batch ?? 10_000);
const maxPackets = args.max === undefined ? undefined : Number(args.max);
const payloadCapture = (args.payload ?? "full") as "full" | "none";

/** Running SHA-256 (node:crypto streams; WebCrypto would hold every record). */
class Digest {
  #hash = createHash("sha256");
  add(text: string): void {
    this.#hash.update(text);
    this.#hash.update("\n");
  }
  addBytes(bytes: Uint8Array): void {
    this.#hash.update(bytes);
  }
  hex(): string {
    return this.#hash.digest("hex");
  }
}

for (const file of positionals) {
  const records = new Digest();
  const vectors = new Digest();
  const state = new Digest();
  let table = new FlowTable();
  let first = true;
  let count = 0;
  // deno-lint-ignore no-explicit-any
  const take = (label: string, list: any[]) => {
    for (const r of list) {
      records.add(label + JSON.stringify(r));
      const v: Float32Array = flowFeatureVector(r);
      vectors.addBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      count++;
    }
  };
  const packets = [];
  for await (const chunk of decodeCapture(file, { maxPackets, payloadCapture })) {
    for (const p of chunk) packets.push(p);
  }
  for (let i = 0; i < packets.length; i += batch) {
    const result = table.merge(packets.slice(i, i + batch));
    take("c", result.changed);
    take("e", result.ended);
    if (args.restore) {
      const saved = [...table.toJSONText()].join("");
      state.add(saved);
      table = FlowTable.fromJSON(JSON.parse(saved));
    } else if (first) {
      state.add(JSON.stringify(table.toJSON()));
      first = false;
    }
  }
  take("d", table.drain());
  console.log(
    `${records.hex()} ${vectors.hex()} ${state.hex()} ${count} ${file.split("/").pop()}`,
  );
}
