/**
 * The table `deno task bench` ends with: case, ours, reference, ratio,
 * target, met or not.
 *
 * @module
 */
import { benchRatio, type BenchRow, benchTargetMet } from "./bench_row.ts";

/** Formats a rate for people: thousands separators, no decimals (two below 100). */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) < 100 ? 2 : 0;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function targetText(row: BenchRow): string {
  const target = row.target;
  if (target === null) return "-";
  if (target.text !== undefined) return target.text;
  return target.kind === "atLeast"
    ? `>= ${formatRate(target.value)} ${row.unit}`
    : `>= ${target.value} x reference`;
}

function resultText(row: BenchRow): string {
  if (row.status === "skipped") return `skipped${row.note ? `: ${row.note}` : ""}`;
  if (row.status === "failed") return `FAILED${row.note ? `: ${row.note}` : ""}`;
  const met = benchTargetMet(row);
  if (met === null) return row.target === null ? "-" : "no reference to compare with";
  return met ? "met" : "NOT MET";
}

const HEADER = ["case", "ours", "reference", "ratio", "target", "result"] as const;

/**
 * Formats rows as an aligned text table. A measured row's note goes on an
 * indented line below it; a skipped or failed row's reason is its result.
 *
 * @example
 * ```ts
 * console.log(formatBenchSummary(rows));
 * ```
 */
export function formatBenchSummary(rows: readonly BenchRow[]): string {
  const cells = rows.map((row) => {
    const ratio = benchRatio(row);
    return [
      `${row.caseName}: ${row.label}`,
      row.ours === null ? "-" : `${formatRate(row.ours)} ${row.unit}`,
      row.reference === null
        ? "-"
        : `${formatRate(row.reference.value)} ${row.unit} (${row.reference.name})`,
      ratio === null ? "-" : ratio.toFixed(ratio < 10 ? 2 : 1),
      targetText(row),
      resultText(row),
    ];
  });
  // Numbers align right, text left; the result column is last and not padded,
  // so a long reason does not widen the table.
  const rightAligned = [false, true, false, true, false, false];
  const widths = HEADER.map((title, i) =>
    i === HEADER.length - 1 ? 0 : Math.max(title.length, ...cells.map((cell) => cell[i].length))
  );
  const line = (values: readonly string[]) =>
    values.map((value, i) => rightAligned[i] ? value.padStart(widths[i]) : value.padEnd(widths[i]))
      .join("  ").trimEnd();
  const out = [line(HEADER), line(widths.map((w, i) => "-".repeat(w || HEADER[i].length)))];
  rows.forEach((row, i) => {
    out.push(line(cells[i]));
    if (row.status === "measured" && row.note) out.push(`    ${row.note}`);
  });
  return out.join("\n");
}
