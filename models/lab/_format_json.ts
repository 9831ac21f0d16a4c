/**
 * JSON with two-space indentation, except that arrays holding only strings,
 * numbers, booleans or null stay on one line. Manifests list hundreds of
 * command lines; one token per line would triple their size for no reader's
 * benefit.
 */
export function formatJson(value: unknown): string {
  return format(value, "") + "\n";
}

function format(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      return `[${value.map((v) => JSON.stringify(v ?? null)).join(", ")}]`;
    }
    const inner = indent + "  ";
    return `[\n${value.map((v) => inner + format(v, inner)).join(",\n")}\n${indent}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    const inner = indent + "  ";
    return `{\n${
      entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`).join(",\n")
    }\n${indent}}`;
  }
  return JSON.stringify(value) ?? "null";
}
