/**
 * Recursive-descent parser for the XDR language (RFC 4506 §6.3) and the RPC
 * language's program definitions (RFC 5531 §12.2). One method per grammar
 * production, named after it. rpcgen's extensions are accepted too:
 * `char`/`short`/`long` and their `unsigned` forms, `unsigned` alone,
 * `struct foo`/`union foo`/`enum foo` as type specifiers, enum members without
 * a value (C numbering), string constants, several (optionally named) procedure
 * arguments, and `string`/`opaque<>`/`T *` as procedure arguments.
 *
 * Errors are collected: after a syntax error the parser skips to the end of the
 * definition (the `;` that closes it at brace depth 0) and goes on, up to
 * `maxErrors`. Recursion here follows the nesting of the `.x` text (inline
 * struct in inline union …), never packet data; `maxNesting` bounds it.
 */
import type {
  CaseArm, Declaration, DeclShape, Definition, EnumBody, EnumMember, PrimitiveName, ProcedureArg,
  ProcedureDefNode, SourcePos, SpecFile, StructBody, TypeSpec, UnionBody, Value, VersionDefNode,
} from "./ast.js";
import { lex, type Token } from "./lexer.js";
import { SchemaError } from "./schema-error.js";

export interface ParseOptions {
  /** rpcgen -D macros: visible to `#if`/`#ifdef`. */
  readonly defines?: ReadonlyMap<string, number>;
  /** Shipped header values: visible to `#if` when neither `defines` nor the file defines the name. */
  readonly headerConstants?: ReadonlyMap<string, number>;
  /** Stop after this many errors (default 20). */
  readonly maxErrors?: number;
  /** Deepest nesting of inline struct/union/enum bodies (default 64). */
  readonly maxNesting?: number;
}

/** Thrown inside the parser to unwind to the definition being parsed. */
class SyntaxFailure {
  constructor(readonly error: SchemaError) {}
}

/** Parses one `.x` file; syntax errors go to `errors` (the returned tree holds what parsed). */
export function parseSpecFile(
  path: string,
  text: string,
  errors: SchemaError[],
  options: ParseOptions = {},
): SpecFile {
  const lexed = lex(path, text, options.defines ?? new Map(), errors, options.headerConstants);
  const parser = new Parser(lexed.tokens, errors, options.maxErrors ?? 20, options.maxNesting ?? 64);
  const definitions = parser.specification();
  return { path, definitions, includes: lexed.includes, macros: lexed.macros };
}

export function describeToken(t: Token): string {
  switch (t.kind) {
    case "eof": return "end of file";
    case "identifier": return `identifier '${t.text}'`;
    case "keyword": return `keyword '${t.text}'`;
    case "number": return `number ${t.text}`;
    case "string": return `string "${t.text}"`;
    case "punct": return `'${t.text}'`;
  }
}

const DEFINITION_STARTS: ReadonlySet<string> = new Set(["const", "typedef", "enum", "struct", "union", "program"]);

class Parser {
  private k = 0;
  private nesting = 0;

  constructor(
    private readonly tokens: readonly Token[],
    private readonly errors: SchemaError[],
    private readonly maxErrors: number,
    private readonly maxNesting: number,
  ) {}

  // --- token helpers ---------------------------------------------------------

  private get tok(): Token {
    return this.tokens[this.k]!;
  }

  private peekAt(offset: number): Token {
    return this.tokens[Math.min(this.k + offset, this.tokens.length - 1)]!;
  }

  private advance(): Token {
    const t = this.tok;
    if (t.kind !== "eof") this.k++;
    return t;
  }

  private isPunct(ch: string): boolean {
    return this.tok.kind === "punct" && this.tok.text === ch;
  }

  private isKeyword(word: string): boolean {
    return this.tok.kind === "keyword" && this.tok.text === word;
  }

  private fail(expected: string): never {
    throw new SyntaxFailure(SchemaError.at(this.tok.pos, `expected ${expected}, found ${describeToken(this.tok)}`));
  }

  private expectPunct(ch: string): Token {
    if (!this.isPunct(ch)) this.fail(`'${ch}'`);
    return this.advance();
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) this.fail(`'${word}'`);
    return this.advance();
  }

  private identifier(what = "identifier"): Token {
    if (this.tok.kind !== "identifier") this.fail(what);
    return this.advance();
  }

  private enter(pos: SourcePos): void {
    if (++this.nesting > this.maxNesting) {
      throw new SyntaxFailure(SchemaError.at(pos, `definitions nested deeper than ${this.maxNesting} levels`));
    }
  }

  // --- specification: definition* --------------------------------------------

  specification(): Definition[] {
    const out: Definition[] = [];
    while (this.tok.kind !== "eof") {
      if (this.errors.length >= this.maxErrors) break;
      const start = this.k;
      try {
        out.push(this.definition());
      } catch (e) {
        if (!(e instanceof SyntaxFailure)) throw e;
        this.errors.push(e.error);
        this.nesting = 0;
        this.recover(start);
      }
    }
    return out;
  }

  /** Skips to just after the `;` that ends the definition that began at token `start`. */
  private recover(start: number): void {
    let depth = 0;
    for (let j = start; j < this.k; j++) {
      const t = this.tokens[j]!;
      if (t.kind === "punct" && t.text === "{") depth++;
      else if (t.kind === "punct" && t.text === "}") depth--;
    }
    if (this.k === start) this.advance(); // make progress on a token no definition starts with
    while (this.tok.kind !== "eof") {
      const t = this.tok;
      if (depth <= 0 && t.kind === "keyword" && DEFINITION_STARTS.has(t.text) && this.k > start) return;
      this.advance();
      if (t.kind === "punct") {
        if (t.text === "{") depth++;
        else if (t.text === "}") depth--;
        else if (t.text === ";" && depth <= 0) return;
      }
    }
  }

  /** definition: type-def | constant-def | program-def (RFC 4506 §6.3, RFC 5531 §12.2). */
  private definition(): Definition {
    const t = this.tok;
    if (t.kind === "keyword") {
      switch (t.text) {
        case "const": return this.constantDef();
        case "program": return this.programDef();
        case "typedef":
        case "enum":
        case "struct":
        case "union":
          return this.typeDef();
      }
    }
    return this.fail("a definition (const, typedef, enum, struct, union or program)");
  }

  /** constant-def: "const" identifier "=" constant ";" */
  private constantDef(): Definition {
    const pos = this.expectKeyword("const").pos;
    const name = this.identifier().text;
    this.expectPunct("=");
    let value: Value;
    if (this.tok.kind === "string") {
      const s = this.advance();
      value = { kind: "string", text: s.text, pos: s.pos };
    } else {
      value = this.value("a constant");
    }
    this.expectPunct(";");
    return { kind: "const", name, value, pos };
  }

  /** type-def: "typedef" declaration ";" | "enum" identifier enum-body ";" | struct… | union… */
  private typeDef(): Definition {
    const t = this.advance();
    if (t.text === "typedef") {
      const decl = this.declaration("typedef");
      this.expectPunct(";");
      if (decl.kind === "void") {
        throw new SyntaxFailure(SchemaError.at(decl.pos, "'void' is only allowed as a union arm or procedure argument"));
      }
      return { kind: "typedef", decl, pos: t.pos };
    }
    const name = this.identifier().text;
    let def: Definition;
    if (t.text === "enum") def = { kind: "enum", name, body: this.enumBody(), pos: t.pos };
    else if (t.text === "struct") def = { kind: "struct", name, body: this.structBody(), pos: t.pos };
    else def = { kind: "union", name, body: this.unionBody(), pos: t.pos };
    this.expectPunct(";");
    return def;
  }

  /** value: constant | identifier; constants may be negative (RFC 4506 §6.3). */
  private value(expected = "a number or constant name"): Value {
    const t = this.tok;
    if (t.kind === "punct" && t.text === "-") {
      this.advance();
      if (this.tok.kind !== "number") this.fail("a number after '-'");
      const num = this.advance();
      return { kind: "number", value: -num.value, pos: t.pos };
    }
    if (t.kind === "number") {
      this.advance();
      return { kind: "number", value: t.value, pos: t.pos };
    }
    if (t.kind === "identifier") {
      this.advance();
      return { kind: "name", name: t.text, pos: t.pos };
    }
    return this.fail(expected);
  }

  /**
   * type-specifier: [unsigned] int | [unsigned] hyper | float | double | quadruple | bool
   *   | enum-type-spec | struct-type-spec | union-type-spec | identifier
   * plus rpcgen's char/short/long, `unsigned` alone and `struct name` references.
   */
  private typeSpecifier(): TypeSpec {
    const t = this.tok;
    if (t.kind === "identifier") {
      this.advance();
      return { kind: "named", name: t.text, pos: t.pos };
    }
    if (t.kind !== "keyword") return this.fail("a type");
    switch (t.text) {
      case "unsigned": {
        this.advance();
        const next = this.tok;
        if (next.kind === "keyword") {
          const map: Record<string, PrimitiveName> = {
            int: "unsigned int", hyper: "unsigned hyper", char: "unsigned char",
            short: "unsigned short", long: "unsigned long",
          };
          const name = map[next.text];
          if (name) {
            this.advance();
            return { kind: "primitive", name, pos: t.pos };
          }
        }
        return { kind: "primitive", name: "unsigned int", pos: t.pos };
      }
      case "int":
      case "hyper":
      case "float":
      case "double":
      case "quadruple":
      case "bool":
      case "char":
      case "short":
      case "long": {
        this.advance();
        // rpcgen accepts C's `long int` / `short int`; the `int` adds nothing.
        if ((t.text === "long" || t.text === "short") && this.isKeyword("int")) this.advance();
        return { kind: "primitive", name: t.text as PrimitiveName, pos: t.pos };
      }
      case "enum":
      case "struct":
      case "union": {
        this.advance();
        if (this.tok.kind === "identifier") {
          const name = this.advance().text;
          return { kind: "named", name, tag: t.text, pos: t.pos };
        }
        if (t.text === "enum") return { kind: "enum", body: this.enumBody(), pos: t.pos };
        if (t.text === "struct") return { kind: "struct", body: this.structBody(), pos: t.pos };
        return { kind: "union", body: this.unionBody(), pos: t.pos };
      }
      default:
        return this.fail("a type");
    }
  }

  /**
   * declaration: type-specifier identifier | … "[" value "]" | … "<" [value] ">"
   *   | "opaque" identifier ("[" value "]" | "<" [value] ">") | "string" identifier "<" [value] ">"
   *   | type-specifier "*" identifier | "void"
   */
  private declaration(context: "typedef" | "struct" | "union" | "discriminant"): Declaration {
    const t = this.tok;
    if (t.kind === "keyword" && t.text === "void") {
      this.advance();
      if (context !== "union") {
        throw new SyntaxFailure(SchemaError.at(t.pos, "'void' is only allowed as a union arm or procedure argument"));
      }
      return { kind: "void", pos: t.pos };
    }
    if (t.kind === "keyword" && (t.text === "opaque" || t.text === "string")) {
      this.advance();
      const name = this.identifier().text;
      let shape: DeclShape;
      if (t.text === "opaque" && this.isPunct("[")) shape = this.fixedSize();
      else if (this.isPunct("<")) shape = this.variableSize();
      else return this.fail(t.text === "opaque" ? "'[' or '<' after opaque name" : "'<' after string name");
      return { kind: "declaration", type: { kind: "primitive", name: t.text, pos: t.pos }, name, shape, pos: t.pos };
    }
    const type = this.typeSpecifier();
    if (this.isPunct("*")) {
      this.advance();
      const name = this.identifier().text;
      return { kind: "declaration", type, name, shape: { kind: "optional" }, pos: t.pos };
    }
    const name = this.identifier().text;
    let shape: DeclShape = { kind: "plain" };
    if (this.isPunct("[")) shape = this.fixedSize();
    else if (this.isPunct("<")) shape = this.variableSize();
    if (context === "discriminant" && shape.kind !== "plain") {
      throw new SyntaxFailure(SchemaError.at(t.pos, "a union discriminant must be a plain int, unsigned int, enum or bool"));
    }
    return { kind: "declaration", type, name, shape, pos: t.pos };
  }

  private fixedSize(): DeclShape {
    this.expectPunct("[");
    const size = this.value("an array size");
    this.expectPunct("]");
    return { kind: "fixed", size };
  }

  private variableSize(): DeclShape {
    this.expectPunct("<");
    if (this.isPunct(">")) {
      this.advance();
      return { kind: "variable" };
    }
    const max = this.value("a maximum size or '>'");
    this.expectPunct(">");
    return { kind: "variable", max };
  }

  /** enum-body: "{" identifier "=" value ("," identifier "=" value)* "}" (values optional, as rpcgen). */
  private enumBody(): EnumBody {
    const pos = this.expectPunct("{").pos;
    const members: EnumMember[] = [];
    for (;;) {
      const id = this.identifier("an enum member name");
      if (this.isPunct("=")) {
        this.advance();
        members.push({ name: id.text, value: this.value(), pos: id.pos });
      } else {
        members.push({ name: id.text, pos: id.pos });
      }
      if (this.isPunct(",")) {
        this.advance();
        // rpcgen (through the C compiler) tolerates a trailing comma.
        if (this.isPunct("}")) break;
        continue;
      }
      if (this.isPunct("}")) break;
      this.fail("',' or '}'");
    }
    this.advance();
    return { members, pos };
  }

  /** struct-body: "{" (declaration ";")+ "}" */
  private structBody(): StructBody {
    const pos = this.expectPunct("{").pos;
    this.enter(pos);
    const fields: Declaration[] = [];
    do {
      fields.push(this.declaration("struct"));
      this.expectPunct(";");
    } while (!this.isPunct("}"));
    this.advance();
    this.nesting--;
    return { fields, pos };
  }

  /** union-body: "switch" "(" declaration ")" "{" case-spec+ ["default" ":" declaration ";"] "}" */
  private unionBody(): UnionBody {
    const pos = this.expectKeyword("switch").pos;
    this.enter(pos);
    this.expectPunct("(");
    const discriminant = this.declaration("discriminant");
    this.expectPunct(")");
    this.expectPunct("{");
    const arms: CaseArm[] = [];
    let fallback: Declaration | undefined;
    do {
      if (this.isKeyword("default")) {
        this.advance();
        this.expectPunct(":");
        fallback = this.declaration("union");
        this.expectPunct(";");
        break; // default comes last (RFC 4506 §6.3, and rpcgen insists)
      }
      arms.push(this.caseSpec());
    } while (!this.isPunct("}"));
    if (arms.length === 0 && fallback === undefined) this.fail("'case'");
    this.expectPunct("}");
    this.nesting--;
    return fallback ? { discriminant, arms, fallback, pos } : { discriminant, arms, pos };
  }

  /** case-spec: ("case" value ":")+ declaration ";" */
  private caseSpec(): CaseArm {
    const pos = this.tok.pos;
    const labels: Value[] = [];
    do {
      this.expectKeyword("case");
      labels.push(this.value("a case label"));
      this.expectPunct(":");
    } while (this.isKeyword("case"));
    const decl = this.declaration("union");
    this.expectPunct(";");
    return { labels, decl, pos };
  }

  /** program-def: "program" identifier "{" version-def+ "}" "=" constant ";" */
  private programDef(): Definition {
    const pos = this.expectKeyword("program").pos;
    const name = this.identifier("a program name").text;
    this.expectPunct("{");
    const versions: VersionDefNode[] = [];
    do {
      versions.push(this.versionDef());
    } while (!this.isPunct("}"));
    this.advance();
    this.expectPunct("=");
    const number = this.value("a program number");
    this.expectPunct(";");
    return { kind: "program", name, number, versions, pos };
  }

  /** version-def: "version" identifier "{" procedure-def+ "}" "=" constant ";" */
  private versionDef(): VersionDefNode {
    const pos = this.expectKeyword("version").pos;
    const name = this.identifier("a version name").text;
    this.expectPunct("{");
    const procedures: ProcedureDefNode[] = [];
    do {
      procedures.push(this.procedureDef());
    } while (!this.isPunct("}"));
    this.advance();
    this.expectPunct("=");
    const number = this.value("a version number");
    this.expectPunct(";");
    return { kind: "version", name, number, procedures, pos };
  }

  /** procedure-def: proc-return identifier "(" proc-firstarg ("," type-specifier)* ")" "=" constant ";" */
  private procedureDef(): ProcedureDefNode {
    const pos = this.tok.pos;
    const result = this.procReturn();
    const name = this.identifier("a procedure name").text;
    this.expectPunct("(");
    const args: ProcedureArg[] = [];
    if (this.isKeyword("void") && this.peekAt(1).kind === "punct" && this.peekAt(1).text === ")") {
      this.advance();
    } else {
      args.push(this.procedureArg());
      while (this.isPunct(",")) {
        this.advance();
        args.push(this.procedureArg());
      }
    }
    this.expectPunct(")");
    this.expectPunct("=");
    const number = this.value("a procedure number");
    this.expectPunct(";");
    return { kind: "procedure", name, number, result, args, pos };
  }

  /** proc-return: "void" | type-specifier (rpcgen also takes `string`). */
  private procReturn(): ProcedureArg | null {
    const t = this.tok;
    if (t.kind === "keyword" && t.text === "void") {
      this.advance();
      return null;
    }
    if (t.kind === "keyword" && t.text === "string") {
      this.advance();
      return { type: { kind: "primitive", name: "string", pos: t.pos }, shape: { kind: "variable" }, pos: t.pos };
    }
    if (t.kind === "keyword" && t.text === "opaque") this.fail("a result type (use a typedef for opaque data)");
    return { type: this.typeSpecifier(), shape: { kind: "plain" }, pos: t.pos };
  }

  /** One argument: type-specifier, optionally `*`, a name and (string/opaque) `<N>`, as rpcgen -N allows. */
  private procedureArg(): ProcedureArg {
    const t = this.tok;
    let type: TypeSpec;
    if (t.kind === "keyword" && (t.text === "string" || t.text === "opaque")) {
      this.advance();
      type = { kind: "primitive", name: t.text, pos: t.pos };
    } else {
      if (t.kind === "keyword" && t.text === "void") this.fail("a type ('void' must be the only argument)");
      type = this.typeSpecifier();
    }
    let shape: DeclShape = { kind: "plain" };
    if (this.isPunct("*")) {
      this.advance();
      shape = { kind: "optional" };
    }
    let name: string | undefined;
    if (this.tok.kind === "identifier") name = this.advance().text;
    const bytes = type.kind === "primitive" && (type.name === "string" || type.name === "opaque");
    if (bytes) {
      if (this.isPunct("<")) shape = this.variableSize();
      else if (type.kind === "primitive" && type.name === "string") shape = { kind: "variable" };
      else this.fail("'<' after opaque");
    } else if (this.isPunct("[") ) {
      this.fail("',' or ')' (arrays cannot be procedure arguments; use a typedef)");
    }
    return name === undefined ? { type, shape, pos: t.pos } : { type, name, shape, pos: t.pos };
  }
}
