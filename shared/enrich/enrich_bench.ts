/**
 * Bench script of the `enrich` case: loads the shipped databases, then looks
 * up a fixed mix of addresses (60 % public IPv4, 20 % public IPv6, 20 %
 * private, as flow endpoints seen from inside a network are) and prints the
 * rates as a `BENCH_METRICS` line for `bench/_enrich_case.ts`.
 *
 * ```sh
 * deno run --allow-read shared/enrich/enrich_bench.ts [--lookups N]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultEnrichmentData } from "./enrichment_data.ts";
import { enrichAddress } from "./enrichment_database.ts";
import { loadEnrichmentDatabase } from "./load_enrichment_database.ts";
// A seeded generator, so every run looks up the same addresses.
import { mulberry32 } from "../random/mulberry32.ts";

/** `count` addresses of the mix, as text (what the aggregator has). */
export function benchAddresses(count: number, seed = 1): string[] {
  const random = mulberry32(seed);
  const byte = () => Math.floor(random() * 256);
  const group = () => Math.floor(random() * 0x10000).toString(16);
  const out: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = random();
    if (kind < 0.6) out[i] = `${1 + Math.floor(random() * 222)}.${byte()}.${byte()}.${byte()}`;
    else if (kind < 0.8) {
      out[i] = `2${
        Math.floor(random() * 0x1000).toString(16).padStart(3, "0")
      }:${group()}:${group()}::${group()}`;
    } else out[i] = `10.${byte()}.${byte()}.${byte()}`;
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { lookups: { type: "string" } } });
  const lookups = Number(values.lookups ?? 1_000_000);
  if (!Number.isInteger(lookups) || lookups < 1000) {
    console.error(
      `enrich_bench: '--lookups' must be an integer >= 1000: current value is ${values.lookups}`,
    );
    Deno.exit(2);
  }
  const loadStarted = performance.now();
  const db = await loadEnrichmentDatabase(defaultEnrichmentData());
  const loadMs = performance.now() - loadStarted;
  console.log(`loaded ${db.asnIpv4.size + db.asnIpv6.size} AS ranges in ${loadMs.toFixed(0)} ms`);
  const addresses = benchAddresses(lookups);
  // A warm-up pass lets the JIT settle; the second pass is measured.
  let found = 0;
  for (let pass = 0; pass < 2; pass++) {
    found = 0;
    const started = performance.now();
    for (const address of addresses) if (enrichAddress(db, address).asn !== null) found++;
    const seconds = (performance.now() - started) / 1000;
    if (pass === 1) {
      console.log(`${lookups} lookups in ${seconds.toFixed(2)} s, ${found} with an AS`);
      console.log(
        `BENCH_METRICS ${
          JSON.stringify({
            lookups,
            found,
            lookups_per_sec: lookups / seconds,
            load_ms: loadMs,
          })
        }`,
      );
    }
  }
}
