/**
 * The XDR language front end: every construct of RFC 4506 §6 / RFC 5531 §12 and
 * rpcgen's dialect parses and resolves into the expected descriptors.
 */
import { describe, expect, it } from "vitest";
import type { XdrType } from "../../dissect/xdr-types.js";
import { derefType, minWireSize, xdrTypeName } from "../../dissect/xdr/decoder.js";
import { evaluatePreprocessorExpression, lex } from "../../dissect/xdr/lexer.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { parseSpecFile } from "../../dissect/xdr/parser.js";
import type { Schema } from "../../dissect/xdr/schema.js";
import type { SchemaError } from "../../dissect/xdr/schema-error.js";

function load(text: string, defines?: ReadonlyMap<string, number>): Schema {
  return loadSchema([{ path: "t.x", text }], defines ? { defines } : {});
}

function type(schema: Schema, name: string): XdrType {
  const t = schema.types.get(name);
  if (!t) throw new Error(`no type ${name}`);
  return t;
}

function struct(schema: Schema, name: string): Extract<XdrType, { kind: "struct" }> {
  const t = derefType(type(schema, name));
  if (t.kind !== "struct") throw new Error(`${name} is ${t.kind}`);
  return t;
}

function fieldType(schema: Schema, s: string, field: string): XdrType {
  const f = struct(schema, s).fields.find((x) => x.name === field);
  if (!f) throw new Error(`no field ${field}`);
  return f.type;
}

describe("lexer", () => {
  it("gives every token its line and column, skipping comments, % and # lines", () => {
    const errors: SchemaError[] = [];
    const text = [
      "/* block",
      "   comment */ const A = 0x1F; // trailing",
      "%#include <libvirt/libvirt.h>",
      "% passthrough \\",
      "  continued line",
      "#include \"other.x\"",
      "\tstruct s { int a; };",
    ].join("\n");
    const r = lex("f.x", text, new Map(), errors);
    expect(errors).toEqual([]);
    expect(r.tokens.map((t) => `${t.pos.line}:${t.pos.col}:${t.text}`)).toEqual([
      "2:15:const", "2:21:A", "2:23:=", "2:25:0x1F", "2:29:;",
      "7:2:struct", "7:9:s", "7:11:{", "7:13:int", "7:17:a", "7:18:;", "7:20:}", "7:21:;", "7:22:",
    ]);
    expect(r.tokens[3]!.value).toBe(31);
    expect(r.includes).toEqual([{ path: "other.x", pos: { file: "f.x", line: 6, col: 1 } }]);
  });

  it("reads decimal, hex and octal numbers", () => {
    const r = lex("f.x", "10 0x10 010 0 0xFFFFFFFF", new Map(), []);
    expect(r.tokens.filter((t) => t.kind === "number").map((t) => t.value)).toEqual([10, 16, 8, 0, 0xffffffff]);
  });

  it("honours #ifdef/#ifndef/#if/#elif/#else with rpcgen -D macros", () => {
    const text = [
      "#ifdef A", "const IN_A = 1;", "#else", "const NOT_A = 1;", "#endif",
      "#if defined(B) && B > 2", "const B_BIG = 1;", "#elif defined B", "const B_SMALL = 1;", "#else", "const NO_B = 1;", "#endif",
      "#ifndef C", "/* #else inside a comment is not a directive */", "const NO_C = 1;", "#endif",
      "#if 0", "this is not XDR at all '", "#endif",
    ].join("\n");
    const names = (defines: [string, number][]): string[] =>
      lex("f.x", text, new Map(defines), []).tokens.filter((t) => t.kind === "identifier").map((t) => t.text);
    expect(names([])).toEqual(["NOT_A", "NO_B", "NO_C"]);
    expect(names([["A", 1], ["B", 1], ["C", 1]])).toEqual(["IN_A", "B_SMALL"]);
    expect(names([["B", 3]])).toEqual(["NOT_A", "B_BIG", "NO_C"]);
  });

  it("records numeric #define and %#define as constants", () => {
    const r = lex("f.x", "#define MAXLEN 255\n%#define LM_MAX 1024\n%#define LM_MAX1 LM_MAX+1\n%#define opaque char\n", new Map(), []);
    expect(r.macros.map((m) => [m.name, m.value, m.passThrough])).toEqual([
      ["MAXLEN", 255, false], ["LM_MAX", 1024, true], ["LM_MAX1", 1025, true],
    ]);
  });

  it("evaluates cpp expressions", () => {
    const m = new Map([["X", 4]]);
    expect(evaluatePreprocessorExpression("X * 2 + 1 == 9 && !defined(Y)", m)).toBe(1);
    expect(evaluatePreprocessorExpression("(X << 2) | 1", m)).toBe(17);
    expect(evaluatePreprocessorExpression("UNKNOWN", m)).toBe(0);
    expect(evaluatePreprocessorExpression("UNKNOWN", m, true)).toBeUndefined();
    expect(evaluatePreprocessorExpression("X ? 7 : 8", m)).toBe(7);
    expect(evaluatePreprocessorExpression("1 / 0", m)).toBeUndefined();
  });
});

describe("parser: AST with source positions", () => {
  it("keeps positions on definitions, declarations and values", () => {
    const errors: SchemaError[] = [];
    const f = parseSpecFile("p.x", "const A = -5;\nstruct s {\n  opaque data<A>;\n};", errors);
    expect(errors).toEqual([]);
    expect(f.definitions[0]).toEqual({
      kind: "const", name: "A", value: { kind: "number", value: -5, pos: { file: "p.x", line: 1, col: 11 } },
      pos: { file: "p.x", line: 1, col: 1 },
    });
    const s = f.definitions[1]!;
    expect(s.kind).toBe("struct");
    if (s.kind !== "struct") return;
    expect(s.body.fields[0]).toMatchObject({
      kind: "declaration", name: "data", pos: { line: 3, col: 3 },
      type: { kind: "primitive", name: "opaque" },
      shape: { kind: "variable", max: { kind: "name", name: "A", pos: { line: 3, col: 15 } } },
    });
  });
});

describe("constants", () => {
  const s = load(`
    const DEC = 42;
    const HEX = 0x2A;
    const OCT = 052;
    const NEG = -7;
    const NEGHEX = -0x10;
    const ALIAS = DEC;
    const CHAIN = ALIAS;
    const BIG = 0xFFFFFFFF;
    const STR = "a string constant";
    enum color { RED = 1, GREEN = HEX, BLUE = NEG };
    const FROM_ENUM = GREEN;
  `);
  it("evaluates decimal, hex, octal, negative and chained constants", () => {
    expect(Object.fromEntries(s.constants)).toMatchObject({
      DEC: 42, HEX: 42, OCT: 42, NEG: -7, NEGHEX: -16, ALIAS: 42, CHAIN: 42, BIG: 0xffffffff,
      RED: 1, GREEN: 42, BLUE: -7, FROM_ENUM: 42,
    });
    expect(s.constants.has("STR")).toBe(false);
  });
  it("uses constants and enum members as sizes and case labels", () => {
    const t = load(`
      const N = 3;
      enum kind { K_A = 10, K_B = N };
      typedef int triple[N];
      typedef opaque buf<K_A>;
      union u switch (kind k) { case K_A: int a; case K_B: case 99: hyper b; default: void; };
    `);
    expect(type(t, "triple")).toMatchObject({ kind: "array", fixed: 3, max: 3, of: { kind: "int" } });
    expect(type(t, "buf")).toEqual({ kind: "opaque", max: 10 });
    const u = type(t, "u");
    if (u.kind !== "union") throw new Error("not a union");
    expect([...u.arms.keys()].sort((a, b) => a - b)).toEqual([3, 10, 99]);
    expect(u.arms.get(3)).toBe(u.arms.get(99));
    expect(u.fallback).toEqual({ name: "void", type: { kind: "void" } });
  });
  it("numbers enum members without '=' as C does", () => {
    const t = load("enum e { A, B, C = 10, D };");
    expect(Object.fromEntries(t.constants)).toEqual({ A: 0, B: 1, C: 10, D: 11 });
    const e = type(t, "e");
    expect(e.kind === "enum" && [...e.names]).toEqual([[0, "A"], [1, "B"], [10, "C"], [11, "D"]]);
  });
  it("takes missing constants from defines, and TRUE/FALSE are built in", () => {
    const t = load("typedef string name<MAXNAMELEN>;\nunion b switch (bool x) { case TRUE: int v; case FALSE: void; };",
      new Map([["MAXNAMELEN", 255]]));
    expect(type(t, "name")).toEqual({ kind: "string", max: 255 });
    const b = type(t, "b");
    expect(b.kind === "union" && [...b.arms.keys()].sort()).toEqual([0, 1]);
  });
  it("unsigned discriminants normalise labels as unsigned, signed ones as signed", () => {
    const t = load(`
      union a switch (unsigned int d) { case 0xFFFFFFFF: int x; case -1: hyper y; };
    `.replace("case -1: hyper y;", "case 5: hyper y;"));
    const a = type(t, "a");
    expect(a.kind === "union" && [...a.arms.keys()]).toEqual([0xffffffff, 5]);
    const b = type(load("union b switch (int d) { case 0xFFFFFFFF: int x; };"), "b");
    expect(b.kind === "union" && [...b.arms.keys()]).toEqual([-1]);
  });
});

describe("types", () => {
  const s = load(`
    struct all {
      int i; unsigned int ui; unsigned u; hyper h; unsigned hyper uh;
      float f; double d; quadruple q; bool b;
      opaque fixedop[5]; opaque varop<10>; opaque anyop<>;
      string bounded<32>; string unbounded<>;
      int fixedarr[3]; int vararr<4>; int anyarr<>;
      all_list *opt;
      char c; short sh; long l; unsigned char uc; unsigned short us; unsigned long ul;
      u_char xc; u_short xs; u_int xi; u_long xl; int32_t i32; uint32_t u32;
      int64_t i64; uint64_t u64; quad_t qt; u_quad_t uqt; bool_t bt;
      struct other so; union un uu; enum en ee;
    };
    struct all_list { int v; all_list *next; };
    struct other { int x; };
    union un switch (en e) { case E1: int a; case E2: void; };
    enum en { E1 = 1, E2 = 2 };
  `);
  const expectField = (name: string, expected: unknown): void => {
    expect(fieldType(s, "all", name)).toMatchObject(expected as object);
  };
  it("maps every built-in type specifier", () => {
    expectField("i", { kind: "int" });
    expectField("ui", { kind: "uint" });
    expectField("u", { kind: "uint" });
    expectField("h", { kind: "hyper" });
    expectField("uh", { kind: "uhyper" });
    expectField("f", { kind: "float" });
    expectField("d", { kind: "double" });
    expectField("q", { kind: "quadruple" });
    expectField("b", { kind: "bool" });
  });
  it("maps opaque, string and arrays with and without bounds", () => {
    expect(fieldType(s, "all", "fixedop")).toEqual({ kind: "opaque", fixed: 5, max: 5 });
    expect(fieldType(s, "all", "varop")).toEqual({ kind: "opaque", max: 10 });
    expect(fieldType(s, "all", "anyop")).toEqual({ kind: "opaque", max: 0xffffffff });
    expect(fieldType(s, "all", "bounded")).toEqual({ kind: "string", max: 32 });
    expect(fieldType(s, "all", "unbounded")).toEqual({ kind: "string", max: 0xffffffff });
    expectField("fixedarr", { kind: "array", fixed: 3, max: 3, of: { kind: "int" } });
    expect(fieldType(s, "all", "vararr")).toEqual({ kind: "array", max: 4, of: { kind: "int" } });
    expectField("anyarr", { kind: "array", max: 0xffffffff });
    expectField("opt", { kind: "optional", of: { kind: "ref", name: "all_list" } });
  });
  it("maps rpcgen's C type names to 4- and 8-byte XDR integers, keeping the written name", () => {
    const cases: [string, string, string][] = [
      ["c", "char", "int"], ["sh", "short", "int"], ["l", "long", "int"],
      ["uc", "unsigned char", "uint"], ["us", "unsigned short", "uint"], ["ul", "unsigned long", "uint"],
      ["xc", "u_char", "uint"], ["xs", "u_short", "uint"], ["xi", "u_int", "uint"], ["xl", "u_long", "uint"],
      ["i32", "int32_t", "int"], ["u32", "uint32_t", "uint"], ["i64", "int64_t", "hyper"], ["u64", "uint64_t", "uhyper"],
      ["qt", "quad_t", "hyper"], ["uqt", "u_quad_t", "uhyper"], ["bt", "bool_t", "bool"],
    ];
    for (const [field, name, kind] of cases) {
      const t = fieldType(s, "all", field);
      expect(t).toMatchObject({ kind: "ref", name });
      expect(derefType(t).kind).toBe(kind);
      expect(xdrTypeName(t)).toBe(name);
    }
  });
  it("char model[32] is 32 four-byte integers (128 bytes)", () => {
    const t = load("struct m { char model[32]; };");
    expect(minWireSize(type(t, "m"))).toBe(128);
  });
  it("resolves `struct foo`, `union foo`, `enum foo` and forward references", () => {
    expectField("so", { kind: "ref", name: "other" });
    expect(derefType(fieldType(s, "all", "so"))).toBe(type(s, "other"));
    expect(derefType(fieldType(s, "all", "uu"))).toBe(type(s, "un"));
    expect(derefType(fieldType(s, "all", "ee"))).toBe(type(s, "en"));
    const un = type(s, "un");
    expect(un.kind === "union" && derefType(un.disc.type)).toBe(type(s, "en"));
  });
  it("represents a linked list through a ref back to itself", () => {
    const list = struct(s, "all_list");
    const next = list.fields[1]!.type;
    expect(next.kind === "optional" && derefType(next.of)).toBe(list);
  });
  it("accepts typedef struct X Y and the C restatement typedef struct X X", () => {
    const t = load("struct X { int a; };\ntypedef struct X Y;\ntypedef struct X X;\ntypedef X *Xp;");
    expect(type(t, "Y")).toMatchObject({ kind: "ref", name: "X" });
    expect(type(t, "X")).toMatchObject({ kind: "struct", name: "X" });
    expect(type(t, "Xp")).toMatchObject({ kind: "optional", of: { kind: "ref", name: "X" } });
    expect(t.types.size).toBe(3);
  });
  it("accepts RFC 4506 inline enum, struct and union bodies", () => {
    const t = load(`
      struct outer {
        enum { IN_A = 1, IN_B = 2 } e;
        struct { int x; hyper y; } pair;
        union switch (int d) { case 1: int one; default: void; } u;
      };
    `);
    const o = struct(t, "outer");
    expect(o.fields.map((f) => [f.name, f.type.kind])).toEqual([["e", "enum"], ["pair", "struct"], ["u", "union"]]);
    expect(t.constants.get("IN_B")).toBe(2);
  });
  it("records where each type was defined", () => {
    expect(s.typeSources.get("other")).toEqual({ file: "t.x", line: 15, col: 5 });
  });
});

describe("programs", () => {
  const s = load(`
    struct args { int a; };
    program DEMO_PROG {
      version DEMO_V1 {
        void DEMOPROC_NULL(void) = 0;
        args DEMOPROC_ECHO(args) = 1;
        int DEMOPROC_ADD(int, int) = 2;
        string DEMOPROC_NAME(string name, opaque blob<16>, args *maybe) = 3;
        unsigned hyper DEMOPROC_BIG(struct args) = 4;
      } = 1;
      version DEMO_V2 { void DEMOPROC_NULL(void) = 0; } = 2;
    } = 0x20000001;
  `);
  it("resolves program, version and procedure numbers and signatures", () => {
    expect(s.programs).toHaveLength(1);
    const p = s.programs[0]!;
    expect([p.name, p.number, p.versions.map((v) => [v.name, v.number])]).toEqual([
      "DEMO_PROG", 0x20000001, [["DEMO_V1", 1], ["DEMO_V2", 2]],
    ]);
    const procs = p.versions[0]!.procedures;
    expect(procs.map((x) => [x.name, x.number, x.args.length])).toEqual([
      ["DEMOPROC_NULL", 0, 0], ["DEMOPROC_ECHO", 1, 1], ["DEMOPROC_ADD", 2, 2], ["DEMOPROC_NAME", 3, 3], ["DEMOPROC_BIG", 4, 1],
    ]);
    expect(procs[0]!.result).toEqual({ kind: "void" });
    expect(procs[2]!.args).toEqual([{ kind: "int" }, { kind: "int" }]);
    expect(procs[3]!.argNames).toEqual(["name", "blob", "maybe"]);
    expect(procs[3]!.args).toMatchObject([
      { kind: "string", max: 0xffffffff }, { kind: "opaque", max: 16 }, { kind: "optional", of: { kind: "ref", name: "args" } },
    ]);
    expect(procs[3]!.result).toEqual({ kind: "string", max: 0xffffffff });
    expect(procs[4]!.result).toEqual({ kind: "uhyper" });
    expect(procs[1]!.source).toEqual({ file: "t.x", line: 6, col: 9 });
  });
});
