/**
 * Every SchemaError message, with its exact file:line:col.
 */
import { describe, expect, it } from "vitest";
import { compileSchema, loadSchema } from "../../dissect/xdr/load-schema.js";
import { SchemaError } from "../../dissect/xdr/schema-error.js";

function errorsOf(text: string, defines?: ReadonlyMap<string, number>): string[] {
  const r = compileSchema([{ path: "t.x", text }], defines ? { defines } : {});
  return r.errors.map((e) => e.located);
}

describe("syntax errors: file:line:col: expected X, found Y", () => {
  const rows: [string, string, string][] = [
    ["missing ';' after a field", "struct s {\n  int a\n};", "t.x:3:1: expected ';', found '}'"],
    ["missing ';' after a definition", "struct s { int a; }\nconst X = 1;", "t.x:2:1: expected ';', found keyword 'const'"],
    ["keyword as a field name", "struct s { int version; };", "t.x:1:16: expected identifier, found keyword 'version'"],
    ["number as a name", "const 5 = 1;", "t.x:1:7: expected identifier, found number 5"],
    ["stray token at top level", "int x;", "t.x:1:1: expected a definition (const, typedef, enum, struct, union or program), found keyword 'int'"],
    ["string without '<'", "struct s { string name; };", "t.x:1:23: expected '<' after string name, found ';'"],
    ["opaque without a size", "typedef opaque o;", "t.x:1:17: expected '[' or '<' after opaque name, found ';'"],
    ["unterminated enum", "enum e { A = 1 B = 2 };", "t.x:1:16: expected ',' or '}', found identifier 'B'"],
    ["empty struct", "struct s { };", "t.x:1:12: expected a type, found '}'"],
    ["union without switch", "union u { case 1: int a; };", "t.x:1:9: expected 'switch', found '{'"],
    ["union without arms", "union u switch (int d) { };", "t.x:1:26: expected 'case', found '}'"],
    ["case after default", "union u switch (int d) { default: void; case 1: int a; };",
      "t.x:1:41: expected '}', found keyword 'case'"],
    ["array discriminant", "union u switch (int d[2]) { case 1: void; };",
      "t.x:1:17: a union discriminant must be a plain int, unsigned int, enum or bool"],
    ["'-' not followed by a number", "const X = -Y;", "t.x:1:12: expected a number after '-', found identifier 'Y'"],
    ["procedure without a number", "program P { version V { void F(void); } = 1; } = 2;",
      "t.x:1:37: expected '=', found ';'"],
    ["empty version", "program P { version V { } = 1; } = 2;", "t.x:1:25: expected a type, found '}'"],
    ["empty program", "program P { } = 2;", "t.x:1:13: expected 'version', found '}'"],
    ["void among several arguments", "program P { version V { void F(int, void) = 1; } = 1; } = 2;",
      "t.x:1:37: expected a type ('void' must be the only argument), found keyword 'void'"],
    ["array argument", "program P { version V { void F(int a[3]) = 1; } = 1; } = 2;",
      "t.x:1:37: expected ',' or ')' (arrays cannot be procedure arguments; use a typedef), found '['"],
    ["end of file inside a struct", "struct s { int a;", "t.x:1:18: expected a type, found end of file"],
    ["void field in a struct", "struct s { void; };", "t.x:1:12: 'void' is only allowed as a union arm or procedure argument"],
    ["typedef void", "typedef void v;", "t.x:1:9: 'void' is only allowed as a union arm or procedure argument"],
  ];
  for (const [what, text, message] of rows) {
    it(what, () => {
      expect(errorsOf(text)).toEqual([message]);
    });
  }
});

describe("lexical and preprocessor errors", () => {
  it("unterminated comment", () => {
    expect(errorsOf("const A = 1;\n  /* never closed\n")).toEqual(["t.x:2:3: unterminated comment"]);
  });
  it("unexpected character", () => {
    expect(errorsOf("const A = 1 @;")).toEqual(["t.x:1:13: unexpected character '@'"]);
  });
  it("non-ASCII character is named by code point", () => {
    expect(errorsOf("const A\u00e9 = 1;")).toEqual(["t.x:1:8: unexpected character U+00E9"]);
  });
  it("malformed octal number", () => {
    expect(errorsOf("const A = 09;")).toEqual(["t.x:1:11: malformed number '09'"]);
  });
  it("number beyond 32 bits", () => {
    expect(errorsOf("const A = 0x100000000;")).toEqual(["t.x:1:11: number 0x100000000 does not fit in 32 bits"]);
  });
  it("unterminated string constant", () => {
    expect(errorsOf('const S = "abc;\n')[0]).toBe("t.x:1:11: unterminated string");
  });
  it("#endif without #if", () => {
    expect(errorsOf("const A = 1;\n#endif\n")).toEqual(["t.x:2:1: #endif without #if"]);
  });
  it("#if without #endif", () => {
    expect(errorsOf("#ifdef X\nconst A = 1;\n")).toEqual(["t.x:1:1: #if without #endif"]);
  });
  it("#else after #else", () => {
    expect(errorsOf("#if 1\n#else\n#else\n#endif\n")).toEqual(["t.x:3:1: #else after #else"]);
  });
  it("an #if expression that cannot be evaluated", () => {
    expect(errorsOf("#if FOO(\n#endif\n")).toEqual(["t.x:1:1: cannot evaluate #if expression 'FOO('"]);
  });
  it("#error", () => {
    expect(errorsOf("#ifndef OK\n#error needs OK\n#endif\n")).toEqual(["t.x:2:1: #error needs OK"]);
    expect(errorsOf("#ifndef OK\n#error needs OK\n#endif\n", new Map([["OK", 1]]))).toEqual([]);
  });
});

describe("resolve errors", () => {
  it("undefined type", () => {
    expect(errorsOf("struct s {\n  missing_t a;\n};")).toEqual(["t.x:2:3: undefined type 'missing_t'"]);
  });
  it("undefined constant names the constant and suggests --define", () => {
    expect(errorsOf("typedef string name<MAXNAMELEN>;")).toEqual([
      "t.x:1:21: undefined constant 'MAXNAMELEN' (if a C header defines it, pass --define MAXNAMELEN=VALUE)",
    ]);
    expect(errorsOf("typedef string name<MAXNAMELEN>;", new Map([["MAXNAMELEN", 255]]))).toEqual([]);
  });
  it("an undefined constant is reported once, where it is first used", () => {
    expect(errorsOf("typedef string a<N>;\ntypedef string b<N>;")).toHaveLength(1);
  });
  it("duplicate type, with where the first one is", () => {
    expect(errorsOf("struct s { int a; };\n\nstruct s { int b; };")).toEqual([
      "t.x:3:1: duplicate definition of 's' (first defined at t.x:1:1)",
    ]);
  });
  it("duplicate constant and duplicate enum member", () => {
    expect(errorsOf("const A = 1;\nconst A = 2;")).toEqual(["t.x:2:1: duplicate definition of 'A' (first defined at t.x:1:1)"]);
    expect(errorsOf("enum e { A = 1 };\nenum f { A = 2 };")).toEqual([
      "t.x:2:10: duplicate definition of 'A' (first defined at t.x:1:10)",
    ]);
  });
  it("a constant and a type with the same name", () => {
    expect(errorsOf("struct s { int a; };\nconst s = 1;")).toEqual(["t.x:2:1: 's' is already defined as a type at t.x:1:1"]);
    expect(errorsOf("const s = 1;\nstruct s { int a; };")).toEqual(["t.x:2:1: 's' is already defined as a constant at t.x:1:1"]);
  });
  it("duplicate across files names the other file", () => {
    const r = compileSchema([
      { path: "a.x", text: "struct s { int a; };" },
      { path: "b.x", text: "\nstruct s { int a; };" },
    ]);
    expect(r.errors.map((e) => e.located)).toEqual(["b.x:2:1: duplicate definition of 's' (first defined at a.x:1:1)"]);
  });
  it("duplicate field", () => {
    expect(errorsOf("struct s {\n  int a;\n  hyper a;\n};")).toEqual([
      "t.x:3:3: duplicate field 'a' in struct 's' (first at t.x:2:3)",
    ]);
  });
  it("duplicate case label, also through a constant", () => {
    expect(errorsOf("const ONE = 1;\nunion u switch (int d) {\ncase 1: int a;\ncase ONE: int b;\n};")).toEqual([
      "t.x:4:6: duplicate case label 1 in union 'u' (first at t.x:3:6)",
    ]);
  });
  it("a type that contains itself directly", () => {
    expect(errorsOf("struct s {\n  int a;\n  s inner;\n};")).toEqual([
      "t.x:1:1: type 's' contains itself (s → s) without '*' or '<>': its size would be infinite",
    ]);
  });
  it("a type that contains itself through another type and a fixed array", () => {
    expect(errorsOf("struct a { b x[2]; };\nstruct b { int n; a y; };")).toEqual([
      "t.x:1:1: type 'a' contains itself (a → b → a) without '*' or '<>': its size would be infinite",
    ]);
  });
  it("a union arm that contains the union", () => {
    expect(errorsOf("union u switch (int d) { case 1: u again; default: void; };")).toEqual([
      "t.x:1:1: type 'u' contains itself (u → u) without '*' or '<>': its size would be infinite",
    ]);
  });
  it("typedefs that name each other", () => {
    expect(errorsOf("typedef a b;\ntypedef b a;")).toEqual([
      "t.x:1:1: type 'b' contains itself (b → a → b) without '*' or '<>': its size would be infinite",
    ]);
  });
  it("recursion through '*' or '<>' is fine", () => {
    expect(errorsOf("struct l { int v; l *next; };\nstruct t { int v; t kids<>; };")).toEqual([]);
  });
  it("a constant defined in terms of itself", () => {
    expect(errorsOf("const A = B;\nconst B = A;\ntypedef int x[A];")).toEqual([
      "t.x:1:1: constant 'A' is defined in terms of itself",
    ]);
  });
  it("a discriminant that is not int, unsigned int, enum or bool", () => {
    expect(errorsOf("union u switch (hyper d) { case 1: void; };")).toEqual([
      "t.x:1:17: union 'u': the discriminant must be int, unsigned int, enum or bool, found hyper",
    ]);
    expect(errorsOf("typedef string s<>;\nunion u switch (s d) { case 1: void; };")).toEqual([
      "t.x:2:17: union 'u': the discriminant must be int, unsigned int, enum or bool, found s",
    ]);
  });
  it("a constant where a type belongs, a type where a constant belongs", () => {
    expect(errorsOf("const N = 4;\nstruct s { N a; };")).toEqual(["t.x:2:12: 'N' is a constant, not a type (defined at t.x:1:1)"]);
    expect(errorsOf("struct T { int a; };\ntypedef int x[T];")).toEqual(["t.x:2:15: 'T' is a type, not a constant"]);
  });
  it("struct tag that names a union", () => {
    expect(errorsOf("union u switch (int d) { default: void; };\nstruct s { struct u x; };")).toEqual([
      "t.x:2:12: 'u' is a union, not a struct (defined at t.x:1:1)",
    ]);
  });
  it("a negative size", () => {
    expect(errorsOf("typedef int x[-1];")).toEqual(["t.x:1:15: an array size must be between 0 and 4294967295, found -1"]);
  });
  it("a string constant used as a number", () => {
    expect(errorsOf('const S = "abc";\ntypedef int x[S];')).toEqual(["t.x:2:15: 'S' is a string constant, not a number"]);
  });
  it("duplicate program version, procedure number and procedure name", () => {
    expect(errorsOf("program P {\n version V { void A(void) = 1; } = 1;\n version W { void A(void) = 1; } = 1;\n} = 7;")).toEqual([
      "t.x:3:2: duplicate version 1 of program 7 (first defined at t.x:2:2)",
    ]);
    expect(errorsOf("program P { version V {\n void A(void) = 1;\n void B(void) = 1;\n} = 1; } = 7;")).toEqual([
      "t.x:3:2: duplicate procedure number 1 in version 'V' (first at t.x:2:2)",
    ]);
    expect(errorsOf("program P { version V {\n void A(void) = 1;\n int A(void) = 2;\n} = 1; } = 7;")).toEqual([
      "t.x:3:2: duplicate procedure 'A' in version 'V' (first at t.x:2:2)",
    ]);
  });
});

describe("collecting several errors", () => {
  it("goes on after a syntax error, definition by definition", () => {
    const text = "struct a { int x };\nconst B = ;\nstruct c { int ok; };\nenum d { };";
    expect(errorsOf(text)).toEqual([
      "t.x:1:18: expected ';', found '}'",
      "t.x:2:11: expected a constant, found ';'",
      "t.x:4:10: expected an enum member name, found '}'",
    ]);
  });
  it("collects resolve errors across definitions", () => {
    expect(errorsOf("struct a { x1 f; };\nstruct b { x2 g; };")).toEqual([
      "t.x:1:12: undefined type 'x1'",
      "t.x:2:12: undefined type 'x2'",
    ]);
  });
  it("stops at maxErrors", () => {
    const text = Array.from({ length: 50 }, (_, i) => `struct s${i} { missing${i} f; };`).join("\n");
    const r = compileSchema([{ path: "t.x", text }], { maxErrors: 5 });
    expect(r.errors).toHaveLength(5);
  });
  it("loadSchema throws one SchemaError that carries all of them", () => {
    let thrown: unknown;
    try {
      loadSchema([{ path: "t.x", text: "struct a { x1 f; };\nstruct b { x2 g; };" }]);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(SchemaError);
    const e = thrown as SchemaError;
    expect([e.file, e.line, e.col]).toEqual(["t.x", 1, 12]);
    expect(e.errors).toHaveLength(2);
    expect(e.message).toBe("t.x:1:12: undefined type 'x1'\nt.x:2:12: undefined type 'x2'");
  });
});
