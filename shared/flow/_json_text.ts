/**
 * JSON text in pieces, for state too large to build as one object tree and
 * one string (issue 15: the flow table's saved state).
 *
 * @module
 */

/** Items per piece unless told otherwise: a few hundred kB of text. */
export const JSON_TEXT_ITEMS = 4096;

/**
 * The text of `JSON.stringify([...items].map(toValue))`, in pieces of at most
 * `per` items: only one piece's values exist at a time.
 */
export function* jsonArrayText<T>(
  items: Iterable<T>,
  toValue: (item: T) => unknown,
  per: number = JSON_TEXT_ITEMS,
): Generator<string> {
  yield "[";
  let batch: unknown[] = [];
  let first = true;
  for (const item of items) {
    batch.push(toValue(item));
    if (batch.length >= per) {
      if (!first) yield ",";
      // An array's text is its elements' joined by commas in brackets, an
      // undefined element or function as null, as in the whole array's.
      yield JSON.stringify(batch).slice(1, -1);
      first = false;
      batch = [];
    }
  }
  if (batch.length > 0) {
    if (!first) yield ",";
    yield JSON.stringify(batch).slice(1, -1);
  }
  yield "]";
}
