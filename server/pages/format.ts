/**
 * Number formatting the pages share (the browser script formats the same way).
 *
 * @module
 */

const UNITS = ["", "k", "M", "G", "T", "P"];

/** `1234567` → `1.23 M`: three significant digits and an SI prefix. */
export function siNumber(value: number, unit = ""): string {
  if (!Number.isFinite(value)) return "–";
  let n = Math.abs(value);
  let i = 0;
  while (n >= 1000 && i < UNITS.length - 1) {
    n /= 1000;
    i++;
  }
  const digits = n >= 100 || i === 0 && Number.isInteger(n) ? 0 : n >= 10 ? 1 : 2;
  const text = `${value < 0 ? "-" : ""}${n.toFixed(digits)}`;
  const suffix = `${UNITS[i]}${unit}`;
  return suffix === "" ? text : `${text} ${suffix}`;
}

/** `65` → `1 min 5 s`: a duration for a person. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
