/**
 * Display-filter tokens. Columns are 1-based positions in the filter text
 * (UTF-16 code units), used in every error message.
 */
import { escapeForTerminal } from "../text-safety.js";

export class FilterError extends Error {
  /** 1-based column where the problem is (text length + 1 for "end of expression"). */
  readonly column: number;
  /** What would have been acceptable there, in words ("a value", "')'"). */
  readonly expected: string;
  constructor(column: number, expected: string, detail: string) {
    super(`column ${column}: ${detail}`);
    this.name = "FilterError";
    this.column = column;
    this.expected = expected;
  }
}

export type TokenKind =
  | "word" // a field name, a bare value (nfs, 10.0.0.1:2049) or a number/duration/size
  | "string" // "quoted"
  | "==" | "!=" | "<" | "<=" | ">" | ">=" | "~"
  | "&&" | "||" | "!"
  | "(" | ")" | "{" | "}" | ","
  | "end";

export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token (for a string: with its quotes). */
  readonly text: string;
  /** For a string: its value after escapes. For other tokens: same as text. */
  readonly value: string;
  readonly column: number;
}

/** Longest filter text accepted; keeps the parser's work bounded. */
export const MAX_FILTER_LENGTH = 65_536;

function isWordStart(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x5f /* _ */ || c === 0x2e /* . */ || c === 0x3a /* : */ || c === 0x5b /* [ */
  );
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || c === 0x2d /* - */ || c === 0x2f /* / */ || c === 0x5d /* ] */ || c === 0x25 /* % */;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** How a token is shown in "found …" parts of messages. */
export function describeToken(t: Token): string {
  if (t.kind === "end") return "end of expression";
  const shown = t.text.length > 40 ? `${t.text.slice(0, 40)}…` : t.text;
  return `'${escapeForTerminal(shown)}'`;
}

export function tokenize(source: string): Token[] {
  if (source.length > MAX_FILTER_LENGTH) {
    throw new FilterError(MAX_FILTER_LENGTH + 1, "a shorter filter",
      `filter is too long (${source.length} characters, at most ${MAX_FILTER_LENGTH})`);
  }
  const tokens: Token[] = [];
  const n = source.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number): void => {
    const text = source.slice(start, end);
    tokens.push({ kind, text, value: text, column: start + 1 });
  };
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    const next = i + 1 < n ? source.charCodeAt(i + 1) : -1;
    switch (c) {
      case 0x3d: // =
        if (next === 0x3d) { push("==", i, i + 2); i += 2; continue; }
        throw new FilterError(i + 1, "'=='", "unexpected '=', use '==' to compare");
      case 0x21: // !
        if (next === 0x3d) { push("!=", i, i + 2); i += 2; continue; }
        push("!", i, i + 1); i++; continue;
      case 0x3c: // <
        if (next === 0x3d) { push("<=", i, i + 2); i += 2; continue; }
        push("<", i, i + 1); i++; continue;
      case 0x3e: // >
        if (next === 0x3d) { push(">=", i, i + 2); i += 2; continue; }
        push(">", i, i + 1); i++; continue;
      case 0x7e: push("~", i, i + 1); i++; continue;
      case 0x26: // &
        if (next === 0x26) { push("&&", i, i + 2); i += 2; continue; }
        throw new FilterError(i + 1, "'&&'", "unexpected '&', use '&&' (or 'and')");
      case 0x7c: // |
        if (next === 0x7c) { push("||", i, i + 2); i += 2; continue; }
        throw new FilterError(i + 1, "'||'", "unexpected '|', use '||' (or 'or')");
      case 0x28: push("(", i, i + 1); i++; continue;
      case 0x29: push(")", i, i + 1); i++; continue;
      case 0x7b: push("{", i, i + 1); i++; continue;
      case 0x7d: push("}", i, i + 1); i++; continue;
      case 0x2c: push(",", i, i + 1); i++; continue;
      case 0x22: i = readString(source, i, tokens); continue;
    }
    if (isWordStart(c) || (c === 0x2d && isDigit(next))) {
      const start = i;
      i++;
      while (i < n && isWordPart(source.charCodeAt(i))) i++;
      push("word", start, i);
      continue;
    }
    if (c === 0x27) {
      throw new FilterError(i + 1, "a value", "unexpected \"'\": strings use double quotes");
    }
    const cp = source.codePointAt(i) ?? c;
    throw new FilterError(i + 1, "a field, a value or an operator",
      `unexpected character '${escapeForTerminal(String.fromCodePoint(cp))}'`);
  }
  tokens.push({ kind: "end", text: "", value: "", column: n + 1 });
  return tokens;
}

/** Reads the string starting at the quote at `start`; returns the index after the closing quote. */
function readString(source: string, start: number, tokens: Token[]): number {
  const n = source.length;
  let value = "";
  let i = start + 1;
  let runStart = i;
  while (i < n) {
    const c = source.charCodeAt(i);
    if (c === 0x22) {
      value += source.slice(runStart, i);
      tokens.push({ kind: "string", text: source.slice(start, i + 1), value, column: start + 1 });
      return i + 1;
    }
    if (c !== 0x5c) {
      i++;
      continue;
    }
    value += source.slice(runStart, i);
    const e = i + 1 < n ? source.charCodeAt(i + 1) : -1;
    switch (e) {
      case 0x22: value += "\""; i += 2; break;
      case 0x5c: value += "\\"; i += 2; break;
      case 0x6e: value += "\n"; i += 2; break;
      case 0x74: value += "\t"; i += 2; break;
      case 0x72: value += "\r"; i += 2; break;
      case 0x78: { // \xNN
        if (i + 3 < n && isHex(source.charCodeAt(i + 2)) && isHex(source.charCodeAt(i + 3))) {
          value += String.fromCharCode(parseInt(source.slice(i + 2, i + 4), 16));
          i += 4;
          break;
        }
        throw new FilterError(i + 1, "two hex digits after '\\x'", "invalid escape in string: '\\x' needs two hex digits");
      }
      case 0x75: { // \u{X…}
        const close = source.indexOf("}", i + 3);
        const digits = source.charCodeAt(i + 2) === 0x7b && close > i + 3 ? source.slice(i + 3, close) : "";
        if (/^[0-9a-fA-F]{1,6}$/.test(digits)) {
          const cp = parseInt(digits, 16);
          if (cp <= 0x10ffff) {
            value += String.fromCodePoint(cp);
            i = close + 1;
            break;
          }
        }
        throw new FilterError(i + 1, "'\\u{' hex digits '}'", "invalid escape in string: '\\u' needs {hex digits} up to 10FFFF");
      }
      case -1:
        throw new FilterError(start + 1, "'\"'", "unterminated string: expected '\"' before end of expression");
      default:
        // Any other escape is kept as written, so regular expressions such as
        // "\d+\.txt" need no doubled backslashes.
        value += "\\";
        i += 1;
        runStart = i;
        i += 1;
        continue;
    }
    runStart = i;
  }
  throw new FilterError(start + 1, "'\"'", "unterminated string: expected '\"' before end of expression");
}

// ---------------------------------------------------------------------------
// Literal values (the right-hand side of a comparison).

export type Literal =
  | { readonly kind: "number"; readonly value: number; readonly big: bigint | null; readonly text: string; readonly column: number }
  | { readonly kind: "duration"; readonly seconds: number; readonly text: string; readonly column: number }
  | { readonly kind: "size"; readonly bytes: number; readonly text: string; readonly column: number }
  | { readonly kind: "string"; readonly value: string; readonly text: string; readonly column: number }
  | { readonly kind: "word"; readonly value: string; readonly text: string; readonly column: number };

const NUMBER = /^-?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d+)?)$/;
const DURATION = /^(\d+(?:\.\d+)?)(ns|us|ms|s)$/;
const SIZE = /^(\d+(?:\.\d+)?)([kKmMgG])$/;
const DURATION_SCALE: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };
const SIZE_SCALE: Readonly<Record<string, number>> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Classifies a value token: numbers, durations and sizes are words of a known shape. */
export function literalOf(t: Token): Literal {
  if (t.kind === "string") return { kind: "string", value: t.value, text: t.text, column: t.column };
  const text = t.text;
  if (NUMBER.test(text)) {
    const negative = text.startsWith("-");
    const body = negative ? text.slice(1) : text;
    const isHexNum = body.length > 1 && (body[1] === "x" || body[1] === "X");
    const magnitude = isHexNum ? parseInt(body.slice(2), 16) : Number(body);
    const value = negative ? -magnitude : magnitude;
    let big: bigint | null = null;
    if (isHexNum || !body.includes(".")) {
      const b = BigInt(isHexNum ? `0x${body.slice(2)}` : body);
      big = negative ? -b : b;
    }
    return { kind: "number", value, big, text, column: t.column };
  }
  const d = DURATION.exec(text);
  if (d) return { kind: "duration", seconds: Number(d[1]) * DURATION_SCALE[d[2]!]!, text, column: t.column };
  const s = SIZE.exec(text);
  if (s) return { kind: "size", bytes: Number(s[1]) * SIZE_SCALE[s[2]!.toLowerCase()]!, text, column: t.column };
  return { kind: "word", value: text, text, column: t.column };
}
