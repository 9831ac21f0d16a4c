/**
 * The one check of a whole number typed by a user, shared by the settings
 * (`shared/config.ts`) and the command lines (bench, lab, train), so `1e3`,
 * `0x10`, `1.5` or a number past 2⁵³ is refused the same way everywhere.
 *
 * @module
 */

/** The inclusive bounds a whole number must lie within. */
export interface IntegerRange {
  /** Smallest value accepted. */
  min: number;
  /** Largest value accepted. */
  max: number;
}

/**
 * The integer `text` spells in decimal (an optional minus sign, digits,
 * surrounding blanks ignored), or null when it spells none or lies outside
 * `range`. Callers word their own error, naming their flag or setting.
 *
 * @example
 * ```ts
 * integerInRange("50", { min: 1, max: 50 }); // 50
 * integerInRange("1e3", { min: 0, max: 5000 }); // null
 * ```
 */
export function integerInRange(text: string, range: IntegerRange): number | null {
  if (!/^\s*-?\d+\s*$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= range.min && n <= range.max ? n : null;
}
