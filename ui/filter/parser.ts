/**
 * Display-filter parser: recursive descent, one function per production,
 * with every check that can be made without a packet (field names, operator
 * and value types, regular expressions) done here, so a filter that parses
 * evaluates without errors.
 *
 *   or      := and  (('||' | 'or')  and)*
 *   and     := unary (('&&' | 'and') unary)*
 *   unary   := ('!' | 'not')* primary
 *   primary := '(' or ')' | test
 *   test    := field [ op value | 'in' '{' value (','? value)* '}' ]
 *   field   := NAME | args[.NAME…] | res[.NAME…] | 'len' '(' path ')'
 *   op      := == != < <= > >= ~ | contains matches eq ne lt le gt ge
 *
 * `&&`/`||` chains become one n-ary node (no deep trees from long chains) and
 * nesting through '(' and '!' is capped, so no filter text can exhaust the stack.
 */
import { escapeForTerminal } from "../text-safety.js";
import { builtinField, builtinFieldNames, type FieldType } from "./fields.js";
import { describeToken, FilterError, literalOf, tokenize, type Literal, type Token } from "./lexer.js";

export { FilterError } from "./lexer.js";
export type { Literal } from "./lexer.js";

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "matches";

export type FieldRef =
  | { readonly kind: "builtin"; readonly name: string; readonly type: FieldType; readonly column: number }
  | { readonly kind: "path"; readonly root: "args" | "res"; readonly path: readonly string[]; readonly column: number }
  | {
      readonly kind: "len"; readonly root: "args" | "res"; readonly path: readonly string[]; readonly column: number;
    };

export type Expr =
  | { readonly kind: "and" | "or"; readonly operands: readonly Expr[] }
  | { readonly kind: "not"; readonly operand: Expr; readonly column: number }
  | {
      readonly kind: "compare"; readonly field: FieldRef; readonly op: CompareOp; readonly value: Literal;
      /** Compiled once, for `matches`. */
      readonly regex: RegExp | null;
      readonly column: number;
    }
  | { readonly kind: "in"; readonly field: FieldRef; readonly values: readonly Literal[]; readonly column: number }
  | { readonly kind: "test"; readonly field: FieldRef };

/** Deepest nesting of '(' and '!' accepted. */
export const MAX_NESTING = 256;
/** Longest regular expression accepted after `matches`. */
export const MAX_REGEX_LENGTH = 1024;

const OPERATOR_WORDS: ReadonlyMap<string, CompareOp | "in"> = new Map<string, CompareOp | "in">([
  ["contains", "contains"], ["matches", "matches"], ["in", "in"],
  ["eq", "=="], ["ne", "!="], ["lt", "<"], ["le", "<="], ["gt", ">"], ["ge", ">="],
]);

const AUTH_FLAVORS = new Set([
  "none", "null", "auth_none", "auth_null", "sys", "unix", "auth_sys", "auth_unix", "short", "auth_short",
  "dh", "des", "auth_dh", "auth_des", "gss", "rpcsec_gss", "tls", "auth_tls", "opaque",
]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const TYPE_NOUN: Readonly<Record<FieldType, string>> = {
  number: "a number", duration: "a duration", name: "a name", keyword: "a keyword", text: "a text field",
  address: "an address", flag: "a flag", decoded: "a decoded field",
};

/** Parses and checks a filter; throws FilterError (and nothing else) on bad input. */
export function parseFilter(source: string): Expr {
  return new Parser(tokenize(source)).parseFilter();
}

function isWord(t: Token, word: string): boolean {
  return t.kind === "word" && t.text.toLowerCase() === word;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private advance(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== "end") this.pos++;
    return t;
  }

  parseFilter(): Expr {
    const expr = this.parseOr(0);
    const t = this.peek();
    if (t.kind !== "end") {
      throw new FilterError(t.column, "'&&', '||' or end of expression",
        `expected '&&', '||' or end of expression, found ${describeToken(t)}`);
    }
    return expr;
  }

  private parseOr(depth: number): Expr {
    const first = this.parseAnd(depth);
    if (this.peek().kind !== "||" && !isWord(this.peek(), "or")) return first;
    const operands: Expr[] = [];
    pushFlat(operands, first, "or");
    while (this.peek().kind === "||" || isWord(this.peek(), "or")) {
      this.advance();
      pushFlat(operands, this.parseAnd(depth), "or");
    }
    return { kind: "or", operands };
  }

  private parseAnd(depth: number): Expr {
    const first = this.parseUnary(depth);
    if (this.peek().kind !== "&&" && !isWord(this.peek(), "and")) return first;
    const operands: Expr[] = [];
    pushFlat(operands, first, "and");
    while (this.peek().kind === "&&" || isWord(this.peek(), "and")) {
      this.advance();
      pushFlat(operands, this.parseUnary(depth), "and");
    }
    return { kind: "and", operands };
  }

  private parseUnary(depth: number): Expr {
    const nots: number[] = [];
    while (this.peek().kind === "!" || isWord(this.peek(), "not")) {
      const t = this.advance();
      if (depth + nots.length + 1 > MAX_NESTING) this.tooDeep(t);
      nots.push(t.column);
    }
    let expr = this.parsePrimary(depth + nots.length);
    for (let k = nots.length - 1; k >= 0; k--) expr = { kind: "not", operand: expr, column: nots[k]! };
    return expr;
  }

  private tooDeep(t: Token): never {
    throw new FilterError(t.column, "less nesting", `expression nested too deeply (more than ${MAX_NESTING} levels)`);
  }

  private parsePrimary(depth: number): Expr {
    const t = this.peek();
    if (t.kind === "(") {
      if (depth + 1 > MAX_NESTING) this.tooDeep(t);
      this.advance();
      const inner = this.parseOr(depth + 1);
      const close = this.peek();
      if (close.kind !== ")") {
        throw new FilterError(close.column, "')'",
          `expected ')' to close '(' at column ${t.column}, found ${describeToken(close)}`);
      }
      this.advance();
      return inner;
    }
    if (t.kind === "word" && !isWord(t, "and") && !isWord(t, "or") && !isWord(t, "not")) return this.parseTest();
    throw new FilterError(t.column, "a field name", `expected a field name, found ${describeToken(t)}`);
  }

  private parseTest(): Expr {
    const field = this.parseField();
    const opTok = this.peek();
    const op = operatorOf(opTok);
    if (op === null) {
      if (field.kind === "builtin" && field.type !== "flag") {
        throw new FilterError(opTok.column, "an operator",
          `expected an operator after '${field.name}' (==, !=, <, <=, >, >=, contains, matches, in), found ${describeToken(opTok)}`);
      }
      if (field.kind === "len") {
        throw new FilterError(opTok.column, "an operator",
          `expected an operator after 'len(…)', found ${describeToken(opTok)}`);
      }
      return { kind: "test", field };
    }
    if (field.kind === "builtin" && field.type === "flag") {
      throw new FilterError(opTok.column, "'&&', '||' or end of expression",
        `'${field.name}' is a flag: use it alone ('${field.name}' or '!${field.name}'), found ${describeToken(opTok)}`);
    }
    this.advance();
    if (op === "in") {
      const open = this.peek();
      if (open.kind !== "{") {
        throw new FilterError(open.column, "'{'", `expected '{' after 'in', found ${describeToken(open)}`);
      }
      this.advance();
      const values: Literal[] = [];
      for (;;) {
        const v = this.peek();
        if (v.kind !== "word" && v.kind !== "string") {
          throw new FilterError(v.column, "a value", `expected a value in '{…}', found ${describeToken(v)}`);
        }
        this.advance();
        const lit = literalOf(v);
        checkComparison(field, "==", lit, opTok.column);
        values.push(lit);
        if (this.peek().kind === ",") {
          this.advance();
          continue;
        }
        const after = this.peek();
        if (after.kind === "}") {
          this.advance();
          return { kind: "in", field, values, column: opTok.column };
        }
        if (after.kind !== "word" && after.kind !== "string") {
          throw new FilterError(after.column, "',' or '}'",
            `expected ',' or '}' to close '{' at column ${open.column}, found ${describeToken(after)}`);
        }
      }
    }
    const v = this.peek();
    if (v.kind !== "word" && v.kind !== "string") {
      throw new FilterError(v.column, "a value", `expected a value after '${opTok.text}', found ${describeToken(v)}`);
    }
    if (isWord(v, "and") || isWord(v, "or") || isWord(v, "not")) {
      throw new FilterError(v.column, "a value",
        `expected a value after '${opTok.text}', found ${describeToken(v)} (quote it to compare with the word)`);
    }
    this.advance();
    const lit = literalOf(v);
    checkComparison(field, op, lit, opTok.column);
    return { kind: "compare", field, op, value: lit, regex: op === "matches" ? compileRegex(lit) : null, column: opTok.column };
  }

  private parseField(): FieldRef {
    const t = this.advance();
    const text = t.text;
    if (text.toLowerCase() === "len") {
      const open = this.peek();
      if (open.kind !== "(") {
        throw new FilterError(open.column, "'('", `expected '(' after 'len', found ${describeToken(open)}`);
      }
      this.advance();
      const p = this.peek();
      if (p.kind !== "word") {
        throw new FilterError(p.column, "an args. or res. path", `expected an args. or res. path in len(…), found ${describeToken(p)}`);
      }
      this.advance();
      const path = pathOf(p);
      if (!path) {
        throw new FilterError(p.column, "an args. or res. path",
          `len(…) takes an args. or res. path, found ${describeToken(p)}`);
      }
      const close = this.peek();
      if (close.kind !== ")") {
        throw new FilterError(close.column, "')'", `expected ')' after len(${escapeForTerminal(p.text)}, found ${describeToken(close)}`);
      }
      this.advance();
      return { kind: "len", root: path.root, path: path.path, column: t.column };
    }
    const info = builtinField(text);
    if (info) return { kind: "builtin", name: info.name, type: info.type, column: t.column };
    const path = pathOf(t);
    if (path) return { kind: "path", root: path.root, path: path.path, column: t.column };
    throw unknownField(t);
  }
}

/** `(a && b) && c` is the same as `a && b && c`: keep chains flat. */
function pushFlat(operands: Expr[], e: Expr, kind: "and" | "or"): void {
  if (e.kind === kind) operands.push(...e.operands);
  else operands.push(e);
}

function operatorOf(t: Token): CompareOp | "in" | null {
  switch (t.kind) {
    case "==": case "!=": case "<": case "<=": case ">": case ">=":
      return t.kind;
    case "~":
      return "matches";
    case "word":
      return OPERATOR_WORDS.get(t.text.toLowerCase()) ?? null;
    default:
      return null;
  }
}

/** `args`, `res`, `args.a.b` …; null when the word does not start with args/res. */
function pathOf(t: Token): { root: "args" | "res"; path: string[] } | null {
  const text = t.text;
  const dot = text.indexOf(".");
  const head = dot < 0 ? text : text.slice(0, dot);
  if (head !== "args" && head !== "res") return null;
  if (dot < 0) return { root: head, path: [] };
  const parts = text.slice(dot + 1).split(".");
  let col = t.column + dot + 1;
  for (const part of parts) {
    if (part === "") {
      throw new FilterError(col, "a field name", `expected a field name after '.' in '${escapeForTerminal(text)}'`);
    }
    if (!IDENTIFIER.test(part)) {
      const why = part.includes("[") ? " (indexes are not supported: an array matches if any element matches)" : "";
      throw new FilterError(col, "a field name",
        `invalid name '${escapeForTerminal(part)}' in path '${escapeForTerminal(text)}'${why}`);
    }
    col += part.length + 1;
  }
  return { root: head, path: parts };
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function closest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = w.length <= 3 ? 1 : 2;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance || (d === bestDistance && best === null)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function unknownField(t: Token): FilterError {
  const text = t.text;
  const shown = escapeForTerminal(text.length > 40 ? `${text.slice(0, 40)}…` : text);
  let suggestion: string | null = null;
  const dot = text.indexOf(".");
  if (dot < 0) {
    suggestion = closest(text, [...builtinFieldNames(), "args", "res"]);
  } else {
    const head = text.slice(0, dot);
    const rest = text.slice(dot + 1);
    if (head.toLowerCase() === "rpc" && builtinField(rest.toLowerCase())) suggestion = rest.toLowerCase();
    else if (head.toLowerCase() === "libvirt") {
      const fields = builtinFieldNames().filter((n) => n.startsWith("libvirt."));
      suggestion = closest(`libvirt.${rest}`, fields) ??
        (builtinField(rest.toLowerCase()) ? `libvirt && ${rest.toLowerCase()}` : null);
    } else {
      const root = closest(head, ["args", "res"]);
      if (root) suggestion = `${root}${text.slice(dot)}`;
    }
  }
  const hint = suggestion !== null
    ? ` (did you mean '${escapeForTerminal(suggestion)}'?)`
    : dot >= 0 ? " (body fields are args.NAME or res.NAME)" : "";
  return new FilterError(t.column, "a field name", `unknown field '${shown}'${hint}`);
}

function fieldLabel(f: FieldRef): string {
  switch (f.kind) {
    case "builtin": return f.name;
    case "path": return [f.root, ...f.path].join(".");
    case "len": return `len(${[f.root, ...f.path].join(".")})`;
  }
}

function fieldTypeOf(f: FieldRef): FieldType {
  return f.kind === "builtin" ? f.type : f.kind === "len" ? "number" : "decoded";
}

/** The text a literal stands for: a string's value, else what was written. */
export function literalText(lit: Literal): string {
  return lit.kind === "string" ? lit.value : lit.text;
}

function literalShown(lit: Literal): string {
  const t = lit.text.length > 40 ? `${lit.text.slice(0, 40)}…` : lit.text;
  return `'${escapeForTerminal(t)}'`;
}

const ORDERING: ReadonlySet<CompareOp> = new Set(["<", "<=", ">", ">="]);

/** Checks that `field op lit` makes sense; throws FilterError at the operator or the value. */
function checkComparison(field: FieldRef, op: CompareOp, lit: Literal, opColumn: number): void {
  const type = fieldTypeOf(field);
  const label = fieldLabel(field);
  const textual = op === "contains" || op === "matches";
  if (textual && (type === "number" || type === "duration")) {
    throw new FilterError(opColumn, "==, !=, <, <=, > or >=",
      `operator '${op}' cannot be used with '${label}' (${TYPE_NOUN[type]})`);
  }
  if (ORDERING.has(op) && (type === "text" || type === "address" || type === "keyword")) {
    throw new FilterError(opColumn, "==, !=, contains or matches",
      `operator '${op}' cannot be used with '${label}' (${TYPE_NOUN[type]})`);
  }
  if (op === "matches" && lit.kind !== "string") {
    throw new FilterError(lit.column, "a quoted regular expression",
      `expected a quoted regular expression after 'matches', found ${literalShown(lit)}`);
  }
  if (textual) return;
  switch (type) {
    case "number":
      if (lit.kind !== "number" && lit.kind !== "size") {
        throw new FilterError(lit.column, "a number", `expected a number for '${label}', found ${literalShown(lit)}`);
      }
      return;
    case "duration":
      if (lit.kind !== "number" && lit.kind !== "duration") {
        throw new FilterError(lit.column, "a duration",
          `expected a duration (like 5ms, 250us, 1.5s) or a number of seconds for '${label}', found ${literalShown(lit)}`);
      }
      return;
    case "name":
    case "decoded":
      if (ORDERING.has(op) && (lit.kind === "word" || lit.kind === "string")) {
        throw new FilterError(lit.column, "a number", `operator '${op}' needs a number, found ${literalShown(lit)}`);
      }
      if (type === "name" && (lit.kind === "duration" || lit.kind === "size")) {
        throw new FilterError(lit.column, "a name or a number",
          `expected a name or a number for '${label}', found ${literalShown(lit)}`);
      }
      if (field.kind === "builtin" && field.name === "auth" && lit.kind !== "number" && !AUTH_FLAVORS.has(literalText(lit).toLowerCase())) {
        throw new FilterError(lit.column, "an auth flavor",
          `unknown auth flavor ${literalShown(lit)} (expected none, sys, short, dh, gss, tls or a number)`);
      }
      return;
    case "keyword": {
      const allowed = field.kind === "builtin" && field.name === "kind" ? ["call", "reply", "message", "event", "stream"]
        : field.kind === "builtin" && field.name === "transport" ? ["tcp", "udp"] : null;
      if (allowed && !allowed.includes(literalText(lit).toLowerCase())) {
        const words = `${allowed.slice(0, -1).join(", ")} or ${allowed[allowed.length - 1]}`;
        throw new FilterError(lit.column, words, `unknown ${label} ${literalShown(lit)} (expected ${words})`);
      }
      return;
    }
    case "text":
    case "address":
    case "flag":
      return;
  }
}

function compileRegex(lit: Literal): RegExp {
  const source = literalText(lit);
  if (source.length > MAX_REGEX_LENGTH) {
    throw new FilterError(lit.column, "a shorter regular expression",
      `regular expression is too long (${source.length} characters, at most ${MAX_REGEX_LENGTH})`);
  }
  const ignoreCase = source.startsWith("(?i)");
  try {
    return new RegExp(ignoreCase ? source.slice(4) : source, ignoreCase ? "i" : "");
  } catch (e: unknown) {
    const message = e instanceof Error ? e.message : String(e);
    const reason = message.slice(message.lastIndexOf(": ") + 2);
    throw new FilterError(lit.column, "a valid regular expression",
      `invalid regular expression: ${escapeForTerminal(reason)}`);
  }
}

// ---------------------------------------------------------------------------
// Printing back, canonically: symbolic operators, minimal parentheses.

function quote(s: string): string {
  let out = "\"";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === "\"") out += "\\\"";
    else if (ch === "\\") out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0d) out += "\\r";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else {
      const escaped = escapeForTerminal(ch);
      out += escaped === ch ? ch : `\\u{${c.toString(16)}}`;
    }
  }
  return `${out}"`;
}

function formatLiteral(lit: Literal): string {
  return lit.kind === "string" ? quote(lit.value) : lit.text;
}

export function formatField(f: FieldRef): string {
  return fieldLabel(f);
}

/** The canonical text of an expression; parsing it gives the same tree. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case "or":
      return e.operands.map((o) => formatExpr(o)).join(" || ");
    case "and":
      return e.operands.map((o) => (o.kind === "or" ? `(${formatExpr(o)})` : formatExpr(o))).join(" && ");
    case "not": {
      const inner = e.operand;
      return inner.kind === "test" || inner.kind === "not" ? `!${formatExpr(inner)}` : `!(${formatExpr(inner)})`;
    }
    case "compare":
      return `${fieldLabel(e.field)} ${e.op} ${formatLiteral(e.value)}`;
    case "in":
      return `${fieldLabel(e.field)} in {${e.values.map(formatLiteral).join(", ")}}`;
    case "test":
      return fieldLabel(e.field);
  }
}

/**
 * Two lines showing where a FilterError is: the filter text (escaped, and cut
 * to a window of about `width` characters around the column) and a caret under
 * the column. For the CLI's error output and the TUI's filter prompt.
 */
export function filterErrorPointer(source: string, column: number, width = 80): [string, string] {
  const at = Math.max(0, Math.min(source.length, column - 1));
  const half = Math.max(10, Math.floor(width / 2));
  const from = Math.max(0, at - half);
  const to = Math.min(source.length, at + half);
  const lead = from > 0 ? "…" : "";
  const before = lead + escapeForTerminal(source.slice(from, at));
  const text = before + escapeForTerminal(source.slice(at, to)) + (to < source.length ? "…" : "");
  return [text, `${" ".repeat(before.length)}^`];
}
