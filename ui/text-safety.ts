/**
 * Terminal safety: nothing that came from a packet (names, strings, opaque data,
 * .x identifiers) may reach the terminal or an NDJSON line as a raw control
 * character, or an attacker-crafted capture could retitle the window
 * (`ESC ] 0 ;`), clear the screen (`ESC [ 2 J`), ring the bell, or reorder what
 * is shown with a bidi override (the "Trojan Source" trick, CVE-2021-42574).
 *
 * One notation everywhere, readable and unambiguous:
 *   \\          a literal backslash (so every other escape below is unambiguous)
 *   \t \n \r    tab, line feed, carriage return
 *   \xNN        any other C0 control (U+0000–U+001F) and DEL (U+007F): a byte value
 *               below 0x80; in bytesToDisplayString also a byte that is not valid UTF-8
 *   \u{XXXX}    a code point at or above U+0080 that is unsafe to show: the C1 controls
 *               (U+0080–U+009F, which include the 8-bit CSI U+009B), the bidi and
 *               direction marks (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069),
 *               the line/paragraph separators U+2028/U+2029, and lone surrogates
 *
 * So `\xNN` always stands for a single byte and `\u{…}` always for a code point.
 */

const HEX_DIGITS = "0123456789abcdef";

/** Any code unit that needs the slow path: C0, backslash, DEL, C1, marks, separators, surrogates. */
const NEEDS_ESCAPE = /[\u0000-\u001f\\\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/;

function byteEscape(code: number): string {
  return `\\x${HEX_DIGITS[code >> 4]}${HEX_DIGITS[code & 15]}`;
}

function codePointEscape(code: number): string {
  return `\\u{${code.toString(16)}}`;
}

/** True for the code points escapeForTerminal writes as `\u{…}` (surrogates are handled apart). */
function isUnsafeNonAscii(code: number): boolean {
  return (
    (code >= 0x80 && code <= 0x9f) ||
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** Escape of one code unit below 0x80 that needs one, or null. */
function asciiEscape(code: number): string | null {
  if (code === 0x5c) return "\\\\";
  if (code === 0x09) return "\\t";
  if (code === 0x0a) return "\\n";
  if (code === 0x0d) return "\\r";
  if (code < 0x20 || code === 0x7f) return byteEscape(code);
  return null;
}

/**
 * The string with every control character, bidi control, line separator,
 * lone surrogate and backslash written in the notation above. Returns the same
 * string (no allocation) when nothing needs escaping, which is the common case.
 */
export function escapeForTerminal(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = "";
  let runStart = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const code = s.charCodeAt(i);
    let replacement: string | null = null;
    if (code < 0x80) {
      replacement = asciiEscape(code);
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a proper pair (an emoji, say): keep it
        continue;
      }
      replacement = codePointEscape(code);
    } else if (isUnsafeNonAscii(code)) {
      replacement = codePointEscape(code);
    }
    if (replacement !== null) {
      out += s.slice(runStart, i) + replacement;
      runStart = i + 1;
    }
  }
  return out + s.slice(runStart);
}

/**
 * The string for a JSON value: the same escapes as escapeForTerminal, so a
 * consumer that decodes our NDJSON and prints a value (`jq -r`) is as safe as
 * our own terminal output. (JSON.stringify alone escapes C0 but leaves C1
 * controls and bidi overrides raw.) Use jsonSafeStringify for the line itself.
 */
export function jsonSafeString(s: string): string {
  return escapeForTerminal(s);
}

const JSON_RAW_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

function jsonUnicodeEscape(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * JSON.stringify whose output never holds a raw DEL, C1 control, bidi control
 * or U+2028/U+2029: those are written as `\uXXXX` JSON escapes, which decode to
 * the same value (they can only occur inside string literals, where the escape
 * is valid). C0 controls and lone surrogates are already escaped by
 * JSON.stringify. BigInt values become decimal strings.
 */
export function jsonSafeStringify(value: unknown, space?: number): string {
  const text = JSON.stringify(value, bigintToString, space);
  if (text === undefined) return "null";
  return text.replace(JSON_RAW_UNSAFE, jsonUnicodeEscape);
}

function bigintToString(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

/** Lookup table: printable ASCII as itself, every other byte as '.'. */
const PRINTABLE: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : ".",
);

/** The side column of a hex dump: printable ASCII (0x20–0x7E) as itself, anything else as '.'. */
export function printableAscii(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let out = "";
  const stop = Math.min(end, bytes.length);
  for (let i = Math.max(0, start); i < stop; i++) out += PRINTABLE[bytes[i]!]!;
  return out;
}

/**
 * Bytes as text for display: UTF-8 decoded leniently (each byte that does not
 * belong to a well-formed sequence is shown as `\xNN`; overlong forms, surrogate
 * code points and values above U+10FFFF are not well formed), then escaped as by
 * escapeForTerminal. At most `max` bytes are shown; when there are more, the
 * result ends with `…` (U+2026). A sequence cut by `max` is shown as bytes.
 */
export function bytesToDisplayString(bytes: Uint8Array, max = Infinity): string {
  const n = Math.min(bytes.length, Math.max(0, Math.floor(max)));
  let out = "";
  let i = 0;
  while (i < n) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      const esc = asciiEscape(b0);
      out += esc ?? PRINTABLE[b0]!;
      i++;
      continue;
    }
    const decoded = decodeUtf8At(bytes, i, n);
    if (decoded < 0) {
      out += byteEscape(b0);
      i++;
      continue;
    }
    const cp = decoded >>> 3;
    const len = decoded & 7;
    out += isUnsafeNonAscii(cp) ? codePointEscape(cp) : String.fromCodePoint(cp);
    i += len;
  }
  return n < bytes.length ? `${out}…` : out;
}

/**
 * The code point of the well-formed UTF-8 sequence (RFC 3629 §4) starting at
 * `i` (its first byte is ≥ 0x80), packed as `cp << 3 | length`, or -1.
 */
function decodeUtf8At(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!;
  let len: number;
  let cp: number;
  let min: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2; cp = b0 & 0x1f; min = 0x80;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3; cp = b0 & 0x0f; min = 0x800;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4; cp = b0 & 0x07; min = 0x10000;
  } else {
    return -1;
  }
  if (i + len > end) return -1;
  for (let k = 1; k < len; k++) {
    const b = bytes[i + k]!;
    if ((b & 0xc0) !== 0x80) return -1;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  return cp * 8 + len;
}
