/**
 * Lexer for the XDR / RPC language (RFC 4506 §6.2, RFC 5531 §12) as rpcgen sees it.
 *
 * rpcgen runs the C preprocessor first, so a `.x` file may contain:
 * - `%` lines: passed through to the generated C untouched (libvirt writes
 *   `%#include <…>` this way). Skipped here, with backslash-newline continuations.
 * - `#` directives. Conditionals (`#if/#ifdef/#ifndef/#elif/#else/#endif`) are
 *   honoured because real files depend on them (glibc's yp.x keeps two field
 *   orders under `#ifdef STUPID_SUN_BUG`); macros given as `defines` (rpcgen's -D)
 *   count as defined, and so do `headerConstants` (values shipped for C headers)
 *   until the file defines the name itself. `#define NAME <number>` is recorded
 *   as a constant, `#include "file"` is recorded for the loader to resolve; any
 *   other directive is ignored.
 * - C and C++ comments.
 *
 * Positions are 1-based line and column; a tab counts as one column.
 */
import type { IncludeDirective, MacroDefinition, SourcePos } from "./ast.js";
import { SchemaError } from "./schema-error.js";

export type TokenKind = "identifier" | "keyword" | "number" | "string" | "punct" | "eof";

export interface Token {
  readonly kind: TokenKind;
  /** The text as written (for a string: its contents). */
  readonly text: string;
  /** For numbers: the value (0 ≤ value ≤ 2^32−1; signs are the parser's job). */
  readonly value: number;
  readonly pos: SourcePos;
}

/** Reserved words: RFC 4506 §6.4, RFC 5531 §12.2, and rpcgen's `char`, `short`, `long`. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "bool", "case", "const", "default", "double", "quadruple", "enum", "float", "hyper", "int",
  "opaque", "string", "struct", "switch", "typedef", "union", "unsigned", "void",
  "program", "version", "char", "short", "long",
]);

export interface LexResult {
  readonly tokens: readonly Token[];
  readonly includes: readonly IncludeDirective[];
  readonly macros: readonly MacroDefinition[];
}

const PUNCT = "{}()[]<>;,=:*-";

const CH_NL = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_TAB = 9;
const CH_SLASH = 47;
const CH_STAR = 42;
const CH_BACKSLASH = 92;
const CH_HASH = 35;
const CH_PERCENT = 37;
const CH_QUOTE = 34;

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

interface Conditional {
  /** This branch is being compiled. */
  active: boolean;
  /** Some branch of this #if chain was already taken. */
  taken: boolean;
  /** Everything around the #if was active. */
  readonly outerActive: boolean;
  sawElse: boolean;
  readonly pos: SourcePos;
}

export function lex(
  path: string,
  text: string,
  defines: ReadonlyMap<string, number>,
  errors: SchemaError[],
  headerConstants: ReadonlyMap<string, number> = new Map(),
): LexResult {
  const tokens: Token[] = [];
  const includes: IncludeDirective[] = [];
  const macros: MacroDefinition[] = [];
  // One map for `#if` and `%#define` expressions; `fromHeader` marks the values any
  // definition in the file may still replace (a -D only yields to a `#define`, as in cpp).
  const macroValues = new Map<string, number>(headerConstants);
  for (const [name, value] of defines) macroValues.set(name, value);
  const fromHeader = new Set<string>();
  for (const name of headerConstants.keys()) if (!defines.has(name)) fromHeader.add(name);
  const conditionals: Conditional[] = [];
  let active = true;

  let i = 0;
  let line = 1;
  let lineStart = 0;
  let atLineStart = true;
  const n = text.length;

  const posAt = (index: number): SourcePos => ({ file: path, line, col: index - lineStart + 1 });
  const error = (pos: SourcePos, detail: string): void => {
    errors.push(SchemaError.at(pos, detail));
  };
  const newline = (index: number): void => {
    line++;
    lineStart = index + 1;
    atLineStart = true;
  };

  /** Reads to the end of a logical line (honouring backslash-newline), returns its text. */
  const readLogicalLine = (): string => {
    let out = "";
    let from = i;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === CH_BACKSLASH && (text.charCodeAt(i + 1) === CH_NL ||
          (text.charCodeAt(i + 1) === CH_CR && text.charCodeAt(i + 2) === CH_NL))) {
        out += text.slice(from, i) + " ";
        i += text.charCodeAt(i + 1) === CH_CR ? 2 : 1;
        newline(i);
        i++;
        from = i;
        continue;
      }
      if (c === CH_NL) break;
      i++;
    }
    return out + text.slice(from, i);
  };

  /** Skips a block comment starting at i ("/*"); reports an unterminated one. */
  const skipBlockComment = (): void => {
    const start = posAt(i);
    i += 2;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === CH_STAR && text.charCodeAt(i + 1) === CH_SLASH) {
        i += 2;
        return;
      }
      if (c === CH_NL) {
        const keep = atLineStart;
        newline(i);
        atLineStart = keep; // a comment does not start a new line for `#` purposes
      }
      i++;
    }
    error(start, "unterminated comment");
  };

  const directive = (hashPos: SourcePos): void => {
    i++; // '#'
    const raw = stripComments(readLogicalLine()).trim();
    const m = /^([A-Za-z_]+)\s*(.*)$/s.exec(raw);
    if (!m) return; // a lone '#' is a null directive
    const name = m[1]!;
    const rest = m[2]!.trim();
    switch (name) {
      case "ifdef":
      case "ifndef": {
        const id = /^[A-Za-z_]\w*/.exec(rest)?.[0];
        if (!id) error(hashPos, `expected a macro name after #${name}`);
        const defined = id !== undefined && macroValues.has(id);
        const cond = name === "ifdef" ? defined : !defined;
        conditionals.push({ active: active && cond, taken: cond, outerActive: active, sawElse: false, pos: hashPos });
        active = active && cond;
        return;
      }
      case "if": {
        const cond = active ? evalCondition(rest, hashPos) : false;
        conditionals.push({ active: active && cond, taken: cond, outerActive: active, sawElse: false, pos: hashPos });
        active = active && cond;
        return;
      }
      case "elif":
      case "else": {
        const top = conditionals[conditionals.length - 1];
        if (!top) {
          error(hashPos, `#${name} without #if`);
          return;
        }
        if (top.sawElse) error(hashPos, `#${name} after #else`);
        let cond: boolean;
        if (name === "else") {
          top.sawElse = true;
          cond = !top.taken;
        } else {
          cond = !top.taken && top.outerActive ? evalCondition(rest, hashPos) : false;
        }
        top.active = top.outerActive && cond;
        if (cond) top.taken = true;
        active = top.active;
        return;
      }
      case "endif": {
        const top = conditionals.pop();
        if (!top) error(hashPos, "#endif without #if");
        else active = top.outerActive;
        return;
      }
      default:
        break;
    }
    if (!active) return;
    if (name === "define") {
      const d = /^([A-Za-z_]\w*)(\()?\s*(.*)$/s.exec(rest);
      if (!d) {
        error(hashPos, "expected a macro name after #define");
        return;
      }
      const macro = d[1]!;
      const body = d[3]!.trim();
      const value = d[2] ? undefined : parseCNumber(body) ?? macroValues.get(body);
      macroValues.set(macro, value ?? 1);
      fromHeader.delete(macro);
      if (value !== undefined && parseCNumber(body) !== undefined) {
        macros.push({ name: macro, value, pos: hashPos, passThrough: false });
      }
    } else if (name === "undef") {
      const id = /^[A-Za-z_]\w*/.exec(rest)?.[0];
      if (id) {
        macroValues.delete(id);
        fromHeader.delete(id);
      }
    } else if (name === "include") {
      const inc = /^"([^"]+)"/.exec(rest);
      if (inc) includes.push({ path: inc[1]!, pos: hashPos });
    } else if (name === "error") {
      error(hashPos, `#error ${rest}`);
    }
    // #pragma, #line, #ident, #warning and anything else: nothing to do for XDR.
  };

  /**
   * `%#define NAME <expr>` goes to the generated C header, where the C compiler gives
   * the name a value the `.x` may use as a size (glibc's nlm_prot.x does this for
   * LM_MAXSTRLEN). Numeric ones are kept as low-priority constants whatever the
   * surrounding `#ifdef RPC_HDR` says, since the generated code sees them.
   */
  const passThroughDefine = (lineText: string, pos: SourcePos): void => {
    const d = /^%\s*#\s*define\s+([A-Za-z_]\w*)\s+(.+)$/s.exec(stripComments(lineText).trim());
    if (!d) return;
    const value = evaluatePreprocessorExpression(d[2]!, macroValues, true);
    if (value === undefined) return;
    if (!macroValues.has(d[1]!) || fromHeader.has(d[1]!)) {
      macroValues.set(d[1]!, value);
      fromHeader.delete(d[1]!);
    }
    macros.push({ name: d[1]!, value, pos, passThrough: true });
  };

  const evalCondition = (expr: string, pos: SourcePos): boolean => {
    const result = evaluatePreprocessorExpression(expr, macroValues);
    if (result === undefined) {
      error(pos, `cannot evaluate #if expression '${expr}'`);
      return false;
    }
    return result !== 0;
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_NL) {
      newline(i);
      i++;
      continue;
    }
    if (c === CH_SPACE || c === CH_TAB || c === CH_CR || c === 12 || c === 11) {
      i++;
      continue;
    }
    if (c === CH_SLASH && text.charCodeAt(i + 1) === CH_STAR) {
      skipBlockComment();
      continue;
    }
    if (c === CH_SLASH && text.charCodeAt(i + 1) === CH_SLASH) {
      while (i < n && text.charCodeAt(i) !== CH_NL) i++;
      continue;
    }
    if (atLineStart && c === CH_HASH) {
      directive(posAt(i));
      continue;
    }
    if (atLineStart && c === CH_PERCENT) {
      const pos = posAt(i);
      passThroughDefine(readLogicalLine(), pos);
      continue;
    }
    atLineStart = false;
    if (!active) {
      // Inside a false conditional: skip everything up to the next line, but still
      // see comments, so a `#else` inside a comment is not taken for a directive.
      i++;
      continue;
    }
    const pos = posAt(i);
    if (isIdentStart(c)) {
      const start = i;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      const word = text.slice(start, i);
      tokens.push({ kind: KEYWORDS.has(word) ? "keyword" : "identifier", text: word, value: 0, pos });
      continue;
    }
    if (isDigit(c)) {
      const start = i;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      const word = text.slice(start, i);
      const value = parseXdrNumber(word);
      if (value === undefined) error(pos, `malformed number '${word}'`);
      else if (value > 0xffffffff) error(pos, `number ${word} does not fit in 32 bits`);
      tokens.push({ kind: "number", text: word, value: value ?? 0, pos });
      continue;
    }
    if (c === CH_QUOTE) {
      const start = ++i;
      let closed = false;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === CH_BACKSLASH) {
          i += 2;
          continue;
        }
        if (d === CH_QUOTE) {
          closed = true;
          break;
        }
        if (d === CH_NL) break;
        i++;
      }
      if (!closed) error(pos, "unterminated string");
      tokens.push({ kind: "string", text: text.slice(start, Math.min(i, n)), value: 0, pos });
      if (closed) i++;
      continue;
    }
    const ch = text[i]!;
    if (PUNCT.includes(ch)) {
      tokens.push({ kind: "punct", text: ch, value: 0, pos });
      i++;
      continue;
    }
    error(pos, `unexpected character ${describeChar(ch)}`);
    i++;
  }
  for (const open of conditionals) error(open.pos, "#if without #endif");
  tokens.push({ kind: "eof", text: "", value: 0, pos: posAt(i) });
  return { tokens, includes, macros };
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  return code >= 0x20 && code < 0x7f ? `'${ch}'` : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Decimal, 0x hexadecimal or leading-0 octal (RFC 4506 §6.2); undefined when malformed. */
export function parseXdrNumber(word: string): number | undefined {
  let digits: string;
  let radix: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(word)) {
    digits = word.slice(2);
    radix = 16;
  } else if (/^0[0-7]*$/.test(word)) {
    digits = word;
    radix = 8;
  } else if (/^[1-9][0-9]*$/.test(word)) {
    digits = word;
    radix = 10;
  } else {
    return undefined;
  }
  // Parse through BigInt so huge literals are reported as too large, not rounded.
  const big = BigInt(radix === 16 ? `0x${digits}` : radix === 8 ? `0o${digits}` : digits);
  return big > 0xffffffffffffn ? Number.MAX_SAFE_INTEGER : Number(big);
}

/** A C integer literal with optional U/L suffixes, as in `#define X 0x10UL`. */
function parseCNumber(body: string): number | undefined {
  const m = /^(-)?\s*(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*$/.exec(body.replace(/^\((.*)\)$/, "$1").trim());
  if (!m) return undefined;
  const v = parseXdrNumber(m[2]!);
  if (v === undefined) return undefined;
  return m[1] ? -v : v;
}

function stripComments(s: string): string {
  return s.replace(/\/\*.*?\*\//gs, " ").replace(/\/\*.*$/s, "").replace(/\/\/.*$/s, "");
}

/**
 * Evaluates a `#if` expression the way cpp does for the forms found in `.x` files:
 * integers, macro names (undefined ones are 0), `defined(X)`, and C's unary and
 * binary operators. Returns undefined when the expression cannot be parsed.
 */
export function evaluatePreprocessorExpression(
  expr: string,
  macros: ReadonlyMap<string, number>,
  /** Fail on a name that is not a macro (instead of cpp's 0). */
  strictNames = false,
): number | undefined {
  const toks = expr.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%<>!~&|^()?:]|\S/g) ?? [];
  let k = 0;
  let failed = false;
  const peek = (): string | undefined => toks[k];
  const take = (): string | undefined => toks[k++];

  const BINARY: readonly (readonly string[])[] = [
    ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="], ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
  ];
  const apply = (op: string, a: number, b: number): number => {
    switch (op) {
      case "||": return a || b ? 1 : 0;
      case "&&": return a && b ? 1 : 0;
      case "|": return a | b;
      case "^": return a ^ b;
      case "&": return a & b;
      case "==": return a === b ? 1 : 0;
      case "!=": return a !== b ? 1 : 0;
      case "<": return a < b ? 1 : 0;
      case ">": return a > b ? 1 : 0;
      case "<=": return a <= b ? 1 : 0;
      case ">=": return a >= b ? 1 : 0;
      case "<<": return a << b;
      case ">>": return a >> b;
      case "+": return a + b;
      case "-": return a - b;
      case "*": return a * b;
      case "/": if (b === 0) { failed = true; return 0; } return Math.trunc(a / b);
      default: if (b === 0) { failed = true; return 0; } return a % b;
    }
  };
  const unary = (): number => {
    const t = take();
    if (t === undefined) { failed = true; return 0; }
    if (t === "!") return unary() ? 0 : 1;
    if (t === "-") return -unary();
    if (t === "+") return unary();
    if (t === "~") return ~unary();
    if (t === "(") {
      const v = conditional();
      if (take() !== ")") failed = true;
      return v;
    }
    if (t === "defined") {
      const paren = peek() === "(";
      if (paren) take();
      const id = take();
      if (id === undefined || !/^[A-Za-z_]\w*$/.test(id)) { failed = true; return 0; }
      if (paren && take() !== ")") failed = true;
      return macros.has(id) ? 1 : 0;
    }
    if (/^\d/.test(t)) {
      const v = parseCNumber(t);
      if (v === undefined) failed = true;
      return v ?? 0;
    }
    if (/^[A-Za-z_]\w*$/.test(t)) {
      const v = macros.get(t);
      if (v === undefined && strictNames) failed = true;
      return v ?? 0;
    }
    failed = true;
    return 0;
  };
  const binary = (level: number): number => {
    if (level >= BINARY.length) return unary();
    let left = binary(level + 1);
    for (;;) {
      const op = peek();
      if (op === undefined || !BINARY[level]!.includes(op)) return left;
      take();
      const right = binary(level + 1);
      left = apply(op, left, right);
    }
  };
  const conditional = (): number => {
    const c = binary(0);
    if (peek() !== "?") return c;
    take();
    const a = conditional();
    if (take() !== ":") failed = true;
    const b = conditional();
    return c ? a : b;
  };
  if (toks.length === 0) return undefined;
  const v = conditional();
  if (failed || k !== toks.length) return undefined;
  return v;
}
