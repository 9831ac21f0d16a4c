/**
 * The query of a page's filter form without its empty fields: a GET form
 * sends every field, filled or not, and a blank one means "any". The JSON
 * API stays strict and refuses an empty value.
 *
 * @module
 */

/** The query without its empty fields. */
export function filledQuery(query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== ""));
}
