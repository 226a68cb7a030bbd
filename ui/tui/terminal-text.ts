/**
 * Making untrusted text safe to put on a terminal, and fitting it into columns.
 *
 * The escaping notation is the project's (ui/text-safety.ts: `\\`, `\t`, `\xNN`
 * for C0 and DEL, `\u{…}` for C1, bidi marks, separators and lone surrogates).
 * The TUI adds one rule on top, because it lays text out in columns: every
 * character left raw must be exactly one terminal column wide. So besides what
 * text-safety escapes, code points outside printable ASCII and the Latin-1 /
 * Latin Extended letters (U+00A1 … U+024F, without the soft hyphen) are written
 * as `\u{…}` too: wide CJK, emoji, combining and zero-width characters, NBSP.
 *
 * Guarantees of `escapeForTerminal` here:
 *  1. No control character (C0, DEL, C1), bidi control, zero-width or combining
 *     character survives: a packet can never drive the terminal (ESC sequences,
 *     OSC titles, cursor moves) nor hide or reorder what is shown.
 *  2. Every UTF-16 unit of the result is one terminal column, so `.length` is
 *     the display width and slicing never splits a character.
 *  3. Distinct inputs give distinct outputs (the backslash is always escaped).
 */
import { escapeForTerminal as escapeControls } from "../text-safety.js";

function isKept(code: number): boolean {
  if (code >= 0x20 && code <= 0x7e) return code !== 0x5c; // backslash is escaped
  return code >= 0xa1 && code <= 0x24f && code !== 0xad;
}

/** Escape untrusted text for display in the TUI (see the module comment). */
export function escapeForTerminal(text: string): string {
  // Fast path: most strings (addresses, procedure names) need nothing.
  let i = 0;
  for (; i < text.length; i++) {
    if (!isKept(text.charCodeAt(i))) break;
  }
  if (i === text.length) return text;
  const safe = escapeControls(text);
  // Second pass: what text-safety keeps but is not one column wide. Backslashes
  // here all belong to escapes written by the first pass, so they stay.
  let out = "";
  for (let k = 0; k < safe.length; ) {
    const code = safe.codePointAt(k) ?? 0;
    const units = code > 0xffff ? 2 : 1;
    out += isKept(code) || code === 0x5c ? safe.slice(k, k + units) : `\\u{${code.toString(16)}}`;
    k += units;
  }
  return out;
}

/** True when `text` needs no escaping (used by tests and by a defensive final pass). */
export function isTerminalSafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!isKept(text.charCodeAt(i)) && text.charCodeAt(i) !== 0x5c) return false;
  }
  return true;
}

/** The mark shown where text was cut. ASCII so that any terminal shows it in one column. */
export const ELLIPSIS = "~";

/**
 * Cut safe text to at most `width` columns, marking the cut at the end.
 * `text` must already be escaped (one column per UTF-16 unit).
 */
export function truncateEnd(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  if (width === 1) return ELLIPSIS;
  return text.slice(0, width - 1) + ELLIPSIS;
}

/**
 * Cut safe text to at most `width` columns in the middle, keeping both ends
 * (an address keeps its first octets and its port).
 */
export function truncateMiddle(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  if (width < 4) return truncateEnd(text, width);
  const tail = Math.floor((width - 1) / 2);
  const head = width - 1 - tail;
  return text.slice(0, head) + ELLIPSIS + text.slice(text.length - tail);
}

/**
 * Cut safe text to at most `width` columns at its start, keeping the end (an
 * address keeps its last octets and its port).
 */
export function truncateStart(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  if (width === 1) return ELLIPSIS;
  return ELLIPSIS + text.slice(text.length - (width - 1));
}

/** Exactly `width` columns: cut at the end or padded with spaces on the right. */
export function padRight(text: string, width: number): string {
  if (width <= 0) return "";
  const cut = truncateEnd(text, width);
  return cut.length === width ? cut : cut + " ".repeat(width - cut.length);
}

/** Exactly `width` columns: cut at the end or padded with spaces on the left. */
export function padLeft(text: string, width: number): string {
  if (width <= 0) return "";
  const cut = truncateEnd(text, width);
  return cut.length === width ? cut : " ".repeat(width - cut.length) + cut;
}
