/**
 * A JSON batch of packet records read from the body's bytes straight into
 * columns, without `JSON.parse` and the 68-property object it makes of every
 * record: the fast path of JSON ingest, for the one form agents send
 * (`JSON.stringify` of an array of records with every field, in field
 * order). Each value is read as its field's kind wants it (a number, a
 * boolean, a text, base64) and checked as `checkValue` checks it, into one
 * reused row, which `ColumnarBatchBuilder.appendScannedRow` appends (checking
 * each text new to the batch with `checkValue` itself).
 *
 * It answers null for anything else (whitespace inside the array, a key
 * missing, unknown, escaped or out of order, a nested value, a value the
 * checks refuse, too many records, invalid JSON anywhere), and the caller
 * then reads the body the general way (`JSON.parse`, then `readJsonBatch`),
 * whose answer or refusal stands. So it accepts only bodies that path
 * accepts, and its values are those `JSON.parse` makes of the same text
 * (numbers by the exact fast path below or by `Number`, escaped strings by
 * `JSON.parse` itself); a property test holds the two to the same batch.
 * The body must be valid UTF-8, unless `checkUtf8` asks the scan to check.
 *
 * @module
 */
import { isUtf8 } from "node:buffer";
import { concatBytes } from "../concat_bytes.ts";
import type { ColumnarBatch } from "./columnar_batch.ts";
import { ColumnarBatchBuilder, type ScannedJsonRow } from "./columnar_batch_builder.ts";
import { PACKET_COLUMNS } from "./packet_column_layout.ts";
import { STAGED_COUNT } from "./_row_staging.ts";

/** Options for {@link scanJsonBatch}. */
export interface ScanJsonBatchOptions {
  /** Most records taken; a longer batch answers null (the general path answers 413). */
  maxRecords: number;
  /**
   * The builder to read into (emptied first), so that a server reuses its
   * arrays from batch to batch; the batch returned is then a view of it,
   * valid until it is next emptied. @default a new builder
   */
  builder?: ColumnarBatchBuilder;
  /**
   * Whether the body may be invalid UTF-8: the scan then answers null for
   * invalid UTF-8 (the general path refuses it) and checks with `isUtf8`
   * only a body it found a byte above 0x7f in (inside a text: anywhere else
   * such a byte is not the fast form), so the caller need not check an ASCII
   * body first. @default false (the caller checked the body)
   */
  checkUtf8?: boolean;
}

const FIELD_COUNT = PACKET_COLUMNS.length;
const ENCODER = new TextEncoder();
/**
 * UTF-8 without the check (the caller checked the body with `isUtf8`), and
 * keeping a leading U+FEFF: a value's text is decoded on its own, and a
 * default decoder would drop that character from its start as a byte order mark.
 */
const UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The bytes before each field's value: `{"timestamp":` for the first,
 * `,"interface":` and so on for the others (`JSON.stringify` writes no space).
 */
const KEY_PARTS: readonly Uint8Array[] = PACKET_COLUMNS.map(({ name }, c) =>
  ENCODER.encode(`${c === 0 ? "{" : ","}${JSON.stringify(name)}:`)
);
/** {@link KEY_PARTS} one after another. */
const KEY_BYTES: Uint8Array = concatBytes(KEY_PARTS);
/** Where field `c`'s bytes start in {@link KEY_BYTES} (and end, at `c + 1`). */
const KEY_AT = new Int32Array(FIELD_COUNT + 1);
for (let c = 0; c < FIELD_COUNT; c++) KEY_AT[c + 1] = KEY_AT[c] + KEY_PARTS[c].length;
/** How a column's value is read and checked. */
const enum Read {
  /** A number from `MIN` to `MAX` (an integer where `INTEGER`). */
  Number,
  /** 4 or 6 (`ipVersion`). */
  IpVersion,
  /** true or false. */
  Bool,
  /** A string (checked by the builder when new to the batch). */
  Text,
  /** base64, decoded into the row's bytes. */
  Base64,
}
const READ: readonly Read[] = PACKET_COLUMNS.map(({ field: { kind } }) => {
  switch (kind.type) {
    case "int":
    case "number":
      return Read.Number;
    case "ipVersion":
      return Read.IpVersion;
    case "bool":
      return Read.Bool;
    case "base64":
      return Read.Base64;
    default:
      return Read.Text;
  }
});
const numberBound = (bound: "min" | "max") =>
  Float64Array.from(
    PACKET_COLUMNS,
    ({ field: { kind } }) => kind.type === "int" || kind.type === "number" ? kind[bound] : 0,
  );
const MIN = numberBound("min");
const MAX = numberBound("max");
const INTEGER = Uint8Array.from(PACKET_COLUMNS, ({ field }) => field.kind.type === "int" ? 1 : 0);
const NULLABLE = Uint8Array.from(PACKET_COLUMNS, ({ nullable }) => nullable ? 1 : 0);
/** Longest base64 text of each base64 column (0 for the others). */
const BASE64_MAX_LENGTH = Int32Array.from(
  PACKET_COLUMNS,
  ({ field: { kind } }) => kind.type === "base64" ? kind.maxLength : 0,
);
/** Each base64 character's six bits, by byte; -1 for any other byte. */
const BASE64_VALUE = Int8Array.from(
  { length: 256 },
  (_, byte) =>
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".indexOf(
      String.fromCharCode(byte),
    ),
);
const EQUALS = 0x3d;

/** Each key's whole four-byte words (little-endian), all keys one after another. */
const KEY_WORDS: Int32Array = Int32Array.from(KEY_PARTS.flatMap((key) => {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return Array.from({ length: key.length >> 2 }, (_, w) => view.getInt32(w * 4, true));
}));
/** Where field `c`'s words start in {@link KEY_WORDS} (and end, at `c + 1`). */
const KEY_WORD_AT = new Int32Array(FIELD_COUNT + 1);
for (let c = 0; c < FIELD_COUNT; c++) {
  KEY_WORD_AT[c + 1] = KEY_WORD_AT[c] + (KEY_PARTS[c].length >> 2);
}
/**
 * Each key's last four bytes as one word, for the bytes its whole words leave
 * over: one compare (overlapping the last whole word) instead of a loop of
 * one to three byte compares, which took as long as the words before it.
 * Every key is at least four bytes (`,"ttl":` is seven).
 */
const KEY_TAIL: Int32Array = Int32Array.from(KEY_PARTS, (key) => {
  if (key.length < 4) throw new Error(`json_batch_scanner: key ${key} is under four bytes`);
  return new DataView(key.buffer, key.byteOffset, key.byteLength).getInt32(key.length - 4, true);
});
/** `null` as a little-endian word. */
const NULL_WORD = 0x6c6c756e;
/**
 * The app-layer fields of a record that has none (most packets: no DNS, TLS,
 * HTTP... metadata), as `JSON.stringify` writes them: `,"app_protocol":null`
 * and so on to the last. Compared as one run of words, since those fields
 * then write nothing (`appendScannedRow` stops at the staged columns).
 */
const NO_APP_BYTES: Uint8Array = concatBytes(
  KEY_PARTS.slice(STAGED_COUNT).flatMap((key) => [key, ENCODER.encode("null")]),
);
const NO_APP_WORDS: Int32Array = Int32Array.from(
  { length: NO_APP_BYTES.length >> 2 },
  (_, w) => new DataView(NO_APP_BYTES.buffer).getInt32(w * 4, true),
);
/** Its last four bytes (what its whole words leave over, overlapping the last). */
const NO_APP_TAIL = new DataView(NO_APP_BYTES.buffer).getInt32(NO_APP_BYTES.length - 4, true);

/** The shortest record: every key, a one-byte value each, the closing brace and a comma. */
const MIN_RECORD_BYTES = KEY_BYTES.length + FIELD_COUNT + 2;

/** Powers of ten a double holds exactly (10^22 is the last). */
const EXACT_POWERS_OF_TEN = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Most records the builder starts with room for (it doubles from there). */
const MAX_START_CAPACITY = 1024;
/** 2^53: every integer below it is a double. */
const EXACT_INTEGER_LIMIT = 2 ** 53;

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, MINUS = 0x2d, DOT = 0x2e;
const ZERO = 0x30, NINE = 0x39, OPEN_BRACKET = 0x5b, CLOSE_BRACKET = 0x5d, CLOSE_BRACE = 0x7d;

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** Slots a column has in {@link TEXT_CACHE} (a power of two). */
const TEXT_CACHE_SLOTS = 64;
/** Longest text kept in {@link TEXT_CACHE}. */
const MAX_CACHED_TEXT = 64;
/**
 * Short ASCII texts the scanner made, by column and by a hash of their bytes
 * ({@link TEXT_CACHE_SLOTS} a column, one string a slot, the last one made
 * there), kept from body to body. Addresses alternate within a batch (a
 * client's packets and the server's answers), so the last value of the
 * column alone missed most of them: each miss made a new string, and the
 * batch's dictionary then hashed it again to find it. A string found here is
 * the one made before (its hash kept), taken only when every byte is the
 * same. Bounded: {@link MAX_CACHED_TEXT} characters a slot.
 */
const TEXT_CACHE: string[] = new Array<string>(FIELD_COUNT * TEXT_CACHE_SLOTS).fill("");

/** Scans one body; `at` is where the next byte is read, -1 once the body is not the fast form. */
class Scanner {
  readonly #body: Uint8Array;
  readonly #view: DataView;
  /**
   * Per column: where the last text value's bytes were in the body, and the
   * string made of them. Most packets repeat the last packet's interface,
   * protocol, addresses: those bytes are compared, and the same string
   * reused, instead of a new string made and hashed again.
   */
  readonly #lastFrom = new Int32Array(FIELD_COUNT);
  readonly #lastTo = new Int32Array(FIELD_COUNT);
  readonly #lastText: string[] = new Array<string>(FIELD_COUNT).fill("");
  at = 0;
  /** Whether a text had a byte above 0x7f (or an escape), so the body may not be ASCII. */
  nonAscii = false;
  /** The record being read. */
  readonly row: ScannedJsonRow = {
    numbers: new Float64Array(FIELD_COUNT),
    nulls: new Uint8Array(FIELD_COUNT),
    strings: new Array<string | null>(FIELD_COUNT).fill(null),
    bytes: new Uint8Array(256),
    byteLength: 0,
    appPresent: false,
  };

  constructor(body: Uint8Array) {
    this.#body = body;
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  /** The text of bytes `from..to` (no escape in them); `ascii`: each byte is below 0x80. */
  #string(from: number, to: number, ascii: boolean): string {
    const bytes = this.#body.subarray(from, to);
    // Short ASCII text as char codes: a few times quicker than a TextDecoder call.
    return ascii && to - from <= 64
      ? String.fromCharCode.apply(null, bytes as unknown as number[])
      : UTF8.decode(bytes);
  }

  /**
   * The value of text column `c`, bytes `from..to` (`hash` of them, see
   * {@link TEXT_CACHE}): the last one's string when they are the same, else
   * a string the column made of the same bytes before, else a new one.
   */
  #columnText(c: number, from: number, to: number, ascii: boolean, hash: number): string {
    const lastFrom = this.#lastFrom[c];
    const length = to - from;
    const body = this.#body;
    if (this.#lastTo[c] - lastFrom === length) {
      let i = 0;
      while (i < length && body[from + i] === body[lastFrom + i]) i++;
      if (i === length) return this.#lastText[c];
    }
    let text: string;
    if (ascii && length <= MAX_CACHED_TEXT) {
      const slot = c * TEXT_CACHE_SLOTS + ((hash ^ (hash >>> 9)) & (TEXT_CACHE_SLOTS - 1));
      const cached = TEXT_CACHE[slot];
      let i = 0;
      if (cached.length === length) {
        // A cached string is ASCII, one character a byte: equal codes are equal bytes.
        while (i < length && body[from + i] === cached.charCodeAt(i)) i++;
      }
      if (cached.length === length && i === length) text = cached;
      else TEXT_CACHE[slot] = text = this.#string(from, to, true);
    } else text = this.#string(from, to, ascii);
    this.#lastFrom[c] = from;
    this.#lastTo[c] = to;
    this.#lastText[c] = text;
    return text;
  }

  /**
   * Reads one record into {@link row}, checking each value against its
   * field's kind as `checkValue` does (texts apart, see
   * `appendScannedRow`); false when it is not the fast form or a value is wrong.
   */
  record(): boolean {
    const body = this.#body;
    const length = body.length;
    const { numbers, nulls, strings } = this.row;
    this.row.appPresent = false;
    const view = this.#view;
    let at = this.at;
    let word = 0;
    for (let c = 0; c < FIELD_COUNT; c++) {
      // Every app-layer field null: the rest of the record as one run. (The
      // row's app-layer nulls are then left as they were: nothing reads them
      // while `appPresent` is false.) Otherwise field by field, as before it.
      if (c === STAGED_COUNT && this.#noApp(at)) {
        at += NO_APP_BYTES.length;
        break;
      }
      // The key, four bytes at a time, then its last four bytes (when its
      // length is not a multiple of four).
      const keyLength = KEY_AT[c + 1] - KEY_AT[c];
      if (at + keyLength > length) return false;
      const keyEnd = at + keyLength;
      for (const wordEnd = KEY_WORD_AT[c + 1]; word < wordEnd; word++, at += 4) {
        if (view.getInt32(at, true) !== KEY_WORDS[word]) return false;
      }
      if (at !== keyEnd) {
        if (view.getInt32(keyEnd - 4, true) !== KEY_TAIL[c]) return false;
        at = keyEnd;
      }
      const first = body[at];
      if (first === 0x6e) {
        // null
        if (NULLABLE[c] === 0 || at + 4 > length || view.getInt32(at, true) !== NULL_WORD) {
          return false;
        }
        at += 4;
        numbers[c] = 0;
        nulls[c] = 1;
        strings[c] = null;
        continue;
      }
      nulls[c] = 0;
      if (c >= STAGED_COUNT) this.row.appPresent = true;
      this.at = at;
      switch (READ[c]) {
        case Read.Number: {
          const value = this.#number();
          if (
            this.at < 0 || !(value >= MIN[c] && value <= MAX[c]) ||
            (INTEGER[c] === 1 && !Number.isInteger(value))
          ) return false;
          numbers[c] = value;
          break;
        }
        case Read.IpVersion: {
          const value = this.#number();
          if (this.at < 0 || !(value === 4 || value === 6)) return false;
          numbers[c] = value;
          break;
        }
        case Read.Bool:
          if (first === 0x74) {
            if (body[at + 1] !== 0x72 || body[at + 2] !== 0x75 || body[at + 3] !== 0x65) {
              return false;
            }
            numbers[c] = 1;
            this.at = at + 4;
          } else if (first === 0x66) {
            if (
              body[at + 1] !== 0x61 || body[at + 2] !== 0x6c || body[at + 3] !== 0x73 ||
              body[at + 4] !== 0x65
            ) return false;
            numbers[c] = 0;
            this.at = at + 5;
          } else return false;
          break;
        case Read.Text: {
          if (first !== QUOTE) return false;
          const value = this.#stringValue(c);
          if (value === null) return false;
          strings[c] = value;
          break;
        }
        default:
          if (first !== QUOTE || !this.#base64(BASE64_MAX_LENGTH[c])) return false;
      }
      at = this.at;
    }
    if (body[at] !== CLOSE_BRACE) return false;
    this.at = at + 1;
    return true;
  }

  /** Whether the bytes at `at` are {@link NO_APP_BYTES}. */
  #noApp(at: number): boolean {
    const end = at + NO_APP_BYTES.length;
    if (end > this.#body.length) return false;
    const view = this.#view;
    for (let w = 0; w < NO_APP_WORDS.length; w++, at += 4) {
      if (view.getInt32(at, true) !== NO_APP_WORDS[w]) return false;
    }
    return view.getInt32(end - 4, true) === NO_APP_TAIL;
  }

  #stringValue(c: number): string | null {
    const body = this.#body;
    const end = body.length;
    const from = this.at + 1;
    let i = from;
    let high = 0;
    let hash = 0;
    while (i < end) {
      const byte = body[i];
      if (byte === QUOTE) {
        this.at = i + 1;
        if (high >= 0x80) this.nonAscii = true;
        return this.#columnText(c, from, i, high < 0x80, hash);
      }
      high |= byte;
      hash = (Math.imul(hash, 31) + byte) | 0;
      if (byte === BACKSLASH) return this.#escapedString(from);
      // A control character must be escaped in JSON.
      if (byte < 0x20) break;
      i++;
    }
    this.at = -1;
    return null;
  }

  /** A string with an escape: JSON.parse of its text, so the escapes mean what they mean there. */
  #escapedString(from: number): string | null {
    // Its bytes are not looked at one by one: counted as not ASCII.
    this.nonAscii = true;
    const body = this.#body;
    const end = body.length;
    let i = from;
    while (i < end) {
      const byte = body[i];
      if (byte === QUOTE) {
        try {
          const value = JSON.parse(UTF8.decode(body.subarray(from - 1, i + 1)));
          this.at = i + 1;
          return value;
        } catch {
          break;
        }
      }
      if (byte < 0x20) break;
      i += byte === BACKSLASH ? 2 : 1;
    }
    this.at = -1;
    return null;
  }

  /**
   * A base64 string at `at` (at most `maxLength` characters, in the grammar
   * `checkValue` holds it to: whole groups of four, the last maybe padded
   * with one or two `=`), decoded into the row's bytes as
   * `Uint8Array.fromBase64` decodes it (the bits a padded group leaves over
   * are dropped). An escape is not base64 either: false.
   */
  #base64(maxLength: number): boolean {
    const body = this.#body;
    const from = this.at + 1;
    let to = from;
    while (to < body.length && BASE64_VALUE[body[to]] >= 0) to++;
    let end = to;
    if (body[end] === EQUALS) {
      end++;
      if (body[end] === EQUALS) end++;
    }
    const length = end - from;
    if (body[end] !== QUOTE || length % 4 !== 0 || length > maxLength) return false;
    // Padding: "xx==" or "xxx=" only.
    const padding = end - to;
    if (padding !== 0 && (to - from) % 4 !== 4 - padding) return false;
    const row = this.row;
    const need = Math.floor((to - from) * 3 / 4);
    if (row.bytes.length < need) row.bytes = new Uint8Array(Math.max(need, row.bytes.length * 2));
    const out = row.bytes;
    let o = 0;
    let i = from;
    for (const whole = to - ((to - from) % 4); i < whole; i += 4) {
      const bits = BASE64_VALUE[body[i]] << 18 | BASE64_VALUE[body[i + 1]] << 12 |
        BASE64_VALUE[body[i + 2]] << 6 | BASE64_VALUE[body[i + 3]];
      out[o++] = bits >> 16;
      out[o++] = (bits >> 8) & 0xff;
      out[o++] = bits & 0xff;
    }
    if (to - i === 2) {
      out[o++] = (BASE64_VALUE[body[i]] << 2 | BASE64_VALUE[body[i + 1]] >> 4) & 0xff;
    } else if (to - i === 3) {
      const bits = BASE64_VALUE[body[i]] << 12 | BASE64_VALUE[body[i + 1]] << 6 |
        BASE64_VALUE[body[i + 2]];
      out[o++] = bits >> 10;
      out[o++] = (bits >> 2) & 0xff;
    }
    row.byteLength = o;
    this.at = end + 1;
    return true;
  }

  /**
   * A number in JSON's grammar. Without an exponent, and its digits as one
   * integer below 2^53, that integer is exact, and so is it divided by an
   * exact power of ten (one correctly rounded division: the double nearest the
   * decimal, as JSON.parse's conversion gives); any other number goes through
   * `Number`, which converts as JSON.parse does.
   */
  #number(): number {
    const body = this.#body;
    const start = this.at;
    let i = start;
    const negative = body[i] === MINUS;
    if (negative) i++;
    let byte = body[i];
    let mantissa = 0;
    if (byte === ZERO) {
      i++;
    } else if (byte > ZERO && byte <= NINE) {
      // The first nine digits as a small integer (below 2^31, integer
      // arithmetic), any more as a double: most values here are ports, lengths
      // and flags of a few digits.
      let small = 0;
      const smallEnd = i + 9;
      do {
        small = small * 10 + (byte - ZERO);
        byte = body[++i];
      } while (byte >= ZERO && byte <= NINE && i < smallEnd);
      mantissa = small;
      while (byte >= ZERO && byte <= NINE) {
        mantissa = mantissa * 10 + (byte - ZERO);
        byte = body[++i];
      }
    } else {
      this.at = -1;
      return 0;
    }
    let fractionDigits = 0;
    if (body[i] === DOT) {
      byte = body[++i];
      if (!(byte >= ZERO && byte <= NINE)) {
        this.at = -1;
        return 0;
      }
      do {
        mantissa = mantissa * 10 + (byte - ZERO);
        fractionDigits++;
        byte = body[++i];
      } while (byte >= ZERO && byte <= NINE);
    }
    byte = body[i];
    if (byte === 0x65 || byte === 0x45) {
      byte = body[++i];
      if (byte === 0x2b || byte === MINUS) byte = body[++i];
      if (!(byte >= ZERO && byte <= NINE)) {
        this.at = -1;
        return 0;
      }
      do byte = body[++i]; while (byte >= ZERO && byte <= NINE);
      this.at = i;
      return Number(this.#string(start, i, true));
    }
    this.at = i;
    // Below 2^53 the digits summed exactly (a sum that went past it ends past
    // it, rounding being monotonic), and 10^22 is the last exact power of ten.
    if (!(mantissa < EXACT_INTEGER_LIMIT) || fractionDigits >= EXACT_POWERS_OF_TEN.length) {
      return Number(this.#string(start, i, true));
    }
    const value = fractionDigits === 0 ? mantissa : mantissa / EXACT_POWERS_OF_TEN[fractionDigits];
    return negative ? -value : value;
  }
}

/**
 * Reads a JSON body of packet records into columns when it is in the form
 * agents send, checking every value as the general path does; null when it
 * is not in that form or anything in it is wrong (the caller then reads it
 * with `JSON.parse` and `readJsonBatch`, which answer for it). The body must
 * be valid UTF-8 (checked by the caller).
 */
export function scanJsonBatch(
  body: Uint8Array,
  options: ScanJsonBatchOptions,
): ColumnarBatch | null {
  const end = body.length;
  let at = 0;
  while (at < end && isJsonSpace(body[at])) at++;
  if (body[at] !== OPEN_BRACKET) return null;
  const scanner = new Scanner(body);
  scanner.at = at + 1;
  // The body cannot hold more records than this, so a batch of a few hundred
  // never grows the builder; past MAX_START_CAPACITY it grows as needed rather
  // than hold rows for every byte of large captured payloads.
  const capacity = Math.max(
    1,
    Math.min(options.maxRecords, Math.ceil(end / MIN_RECORD_BYTES), MAX_START_CAPACITY),
  );
  const builder = options.builder ?? new ColumnarBatchBuilder(capacity);
  if (options.builder !== undefined) builder.reset();
  let record = 0;
  while (true) {
    if (record === options.maxRecords) return null;
    if (!scanner.record()) return null;
    if (builder.appendScannedRow(scanner.row, record) !== null) return null;
    record++;
    const next = body[scanner.at++];
    if (next === COMMA) continue;
    if (next === CLOSE_BRACKET) break;
    return null;
  }
  at = scanner.at;
  while (at < end && isJsonSpace(body[at])) at++;
  if (at !== end) return null;
  // Every byte outside a text was read as ASCII: only a text can make it invalid.
  if (options.checkUtf8 === true && scanner.nonAscii && !isUtf8(body)) return null;
  return builder.build();
}
