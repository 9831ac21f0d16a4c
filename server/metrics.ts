/**
 * A small Prometheus text-format registry: counters, gauges and histograms
 * with labels. One instance per app (no global state), so tests see only
 * their own counts.
 *
 * @module
 */

/** Label names and values of one series (e.g. `{ status: "200" }`). */
export type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "";
  const escape = (v: string) =>
    v.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
  return "{" + keys.map((k) => `${k}="${escape(labels[k])}"`).join(",") + "}";
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

/** A monotonically increasing count. */
export class Counter {
  readonly #values = new Map<string, number>();
  /** Adds `by` (default 1) to the series with these labels. */
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }
  /** The current value for these labels. */
  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  /** @internal */
  lines(name: string): string[] {
    return [...this.#values].map(([k, v]) => `${name}${k} ${v}`);
  }
}

/** A value read when metrics are scraped. */
export class Gauge {
  readonly #values = new Map<string, number>();
  /** Sets the series with these labels. */
  set(value: number, labels: Labels = {}): void {
    this.#values.set(labelKey(labels), value);
  }
  /** @internal */
  lines(name: string): string[] {
    return [...this.#values].map(([k, v]) => `${name}${k} ${v}`);
  }
}

/** A histogram with fixed upper bounds. */
export class Histogram {
  readonly #bounds: number[];
  readonly #series = new Map<
    string,
    { buckets: number[]; sum: number; count: number }
  >();
  /** Creates a histogram with these bucket upper bounds (ascending). */
  constructor(bounds: number[]) {
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }
  /** Records one observation. */
  observe(value: number, labels: Labels = {}): void {
    const key = labelKey(labels);
    let s = this.#series.get(key);
    if (!s) {
      this.#series.set(
        key,
        s = { buckets: this.#bounds.map(() => 0), sum: 0, count: 0 },
      );
    }
    for (let i = 0; i < this.#bounds.length; i++) {
      if (value <= this.#bounds[i]) s.buckets[i]++;
    }
    s.sum += value;
    s.count++;
  }
  /** @internal */
  lines(name: string): string[] {
    const out: string[] = [];
    for (const [key, s] of this.#series) {
      const inner = key ? key.slice(1, -1) + "," : "";
      this.#bounds.forEach((b, i) => out.push(`${name}_bucket{${inner}le="${b}"} ${s.buckets[i]}`));
      out.push(`${name}_bucket{${inner}le="+Inf"} ${s.count}`);
      out.push(`${name}_sum${key} ${s.sum}`);
      out.push(`${name}_count${key} ${s.count}`);
    }
    return out;
  }
}

/** Holds metric families and renders them in the Prometheus text format. */
export class MetricsRegistry {
  readonly #families: Family[] = [];
  readonly #collectors: (() => void | Promise<void>)[] = [];

  #add<T extends Counter | Gauge | Histogram>(
    name: string,
    help: string,
    type: Family["type"],
    metric: T,
  ): T {
    this.#families.push({ name, help, type, render: () => metric.lines(name) });
    return metric;
  }
  /** Registers a counter. */
  counter(name: string, help: string): Counter {
    return this.#add(name, help, "counter", new Counter());
  }
  /** Registers a gauge. */
  gauge(name: string, help: string): Gauge {
    return this.#add(name, help, "gauge", new Gauge());
  }
  /** Registers a histogram with the given bucket upper bounds. */
  histogram(name: string, help: string, bounds: number[]): Histogram {
    return this.#add(name, help, "histogram", new Histogram(bounds));
  }
  /** Runs before each render, to refresh gauges from live state. */
  onCollect(collector: () => void | Promise<void>): void {
    this.#collectors.push(collector);
  }
  /** The whole registry in Prometheus text exposition format 0.0.4. */
  async render(): Promise<string> {
    for (const collect of this.#collectors) await collect();
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(
        `# HELP ${f.name} ${f.help}`,
        `# TYPE ${f.name} ${f.type}`,
        ...f.render(),
      );
    }
    return out.join("\n") + "\n";
  }
}
