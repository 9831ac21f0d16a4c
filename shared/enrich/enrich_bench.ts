/**
 * Bench script of the `enrich` case: loads the shipped databases, then looks
 * up a fixed mix of addresses (60 % public IPv4, 20 % public IPv6, 20 %
 * private, as flow endpoints seen from inside a network are) and prints the
 * rate, in lookups per CPU second, as a `BENCH_METRICS` line for
 * `bench/_enrich_case.ts`, with the country database's path: the case hands
 * that file and the same addresses to libmaxminddb (`mmdblookup`) as its
 * reference.
 *
 * ```sh
 * deno run --allow-read shared/enrich/enrich_bench.ts [--lookups N]
 * ```
 *
 * @module
 */

import { cpuUsage } from "node:process";
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
  const files = defaultEnrichmentData();
  const db = await loadEnrichmentDatabase(files);
  const loadMs = performance.now() - loadStarted;
  console.log(`loaded ${db.asnIpv4.size + db.asnIpv6.size} AS ranges in ${loadMs.toFixed(0)} ms`);
  const addresses = benchAddresses(lookups);
  // A warm-up pass lets the JIT settle; the best of the next two is kept. CPU
  // time, as the reference (libmaxminddb's own clock()) is rated.
  let found = 0;
  let bestSec = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    found = 0;
    const started = cpuUsage();
    for (const address of addresses) if (enrichAddress(db, address).asn !== null) found++;
    const { user, system } = cpuUsage(started);
    if (pass > 0) bestSec = Math.min(bestSec, (user + system) / 1e6);
  }
  console.log(`${lookups} lookups in ${bestSec.toFixed(2)} s CPU, ${found} with an AS`);
  console.log(
    `BENCH_METRICS ${
      JSON.stringify({
        lookups,
        found,
        lookups_per_sec: lookups / bestSec,
        load_ms: loadMs,
        country_mmdb: files.countryMmdbPath,
      })
    }`,
  );
}
