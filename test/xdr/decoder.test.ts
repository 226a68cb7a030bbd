/**
 * Decoder table tests: annotated hex in (one row per XDR word), field tree out
 * with names, type names as written, absolute offsets and lengths.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import { decodeXdr, type DecodeResult } from "../../dissect/xdr/decoder.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { hex } from "./hex.js";
import { render } from "./render.js";

function decode(
  schema: string, typeName: string, bytes: Uint8Array,
  opts: { start?: number; end?: number; limits?: Limits; truncatedAt?: number } = {},
): DecodeResult {
  const s = loadSchema([{ path: "t.x", text: schema }]);
  const t = s.types.get(typeName);
  if (!t) throw new Error(`no type ${typeName}`);
  return decodeXdr(t, bytes, opts.start ?? 0, opts.end ?? bytes.length, opts.limits ?? DEFAULT_LIMITS,
    opts.truncatedAt === undefined ? { name: "v" } : { name: "v", truncatedAt: opts.truncatedAt });
}

describe("integers, bools, enums, floating point", () => {
  it("int, unsigned int, hyper and unsigned hyper (exact)", () => {
    const r = decode("struct s { int a; unsigned int b; hyper c; unsigned hyper d; u_int e; };", "s", hex(`
      0xFFFFFFFE // a = -2
      0xFFFFFFFE // b = 4294967294
      0xFFFFFFFF 0xFFFFFFFF // c = -1
      0xFFFFFFFF 0xFFFFFFFF // d = 2^64 - 1
      0x00000007 // e
    `));
    expect(render(r.field)).toEqual([
      "v: s @0+28 = {",
      "  a: int @0+4 = -2",
      "  b: unsigned int @4+4 = 4294967294",
      "  c: hyper @8+8 = -1n",
      "  d: unsigned hyper @16+8 = 18446744073709551615n",
      "  e: u_int @24+4 = 7",
    ]);
    expect(r.end).toBe(28);
    expect(r.malformed).toBeNull();
  });

  it("bool: 0, 1, and 7 decoded with its raw value and flagged", () => {
    const r = decode("struct s { bool a; bool b; bool c; int after; };", "s", hex(`
      0x00000000 // FALSE
      0x00000001 // TRUE
      0x00000007 // neither
      0x0000002A // decoding goes on
    `));
    expect(render(r.field).slice(1)).toEqual([
      "  a: bool @0+4 = false",
      "  b: bool @4+4 = true",
      "  c: bool @8+4 = true (raw 7)",
      "  after: int @12+4 = 42",
    ]);
    expect(r.issues).toEqual([{ code: "malformed", offset: 8, detail: "invalid at +8 (v.c): bool is 7, not 0 or 1" }]);
    expect(r.malformed).toBeNull();
  });

  it("enum: known name and number, unknown value keeps its number", () => {
    const r = decode("enum color { RED = 1, GREEN = 2 };\nstruct s { color a; color b; };", "s", hex(`
      0x00000002 // GREEN
      0x0000002A // not a member
    `));
    expect(render(r.field).slice(1)).toEqual(["  a: color @0+4 = GREEN(2)", "  b: color @4+4 = UNKNOWN(42)"]);
  });

  it("float, double, quadruple", () => {
    const r = decode("struct s { float f; double d; quadruple q; };", "s", hex(`
      0x3FC00000 // 1.5f
      0x400921FB 0x54442D18 // pi
      0x00010203 0x04050607 0x08090A0B 0x0C0D0E0F // 16 raw bytes
    `));
    expect(render(r.field).slice(1)).toEqual([
      "  f: float @0+4 = 1.5",
      `  d: double @4+8 = ${Math.PI}`,
      "  q: quadruple @12+16 = 0x000102030405060708090a0b0c0d0e0f",
    ]);
  });

  it("char model[32] is 32 words", () => {
    const words = Array.from({ length: 32 }, (_, i) => `0x000000${(0x41 + i).toString(16)}`).join("\n");
    const r = decode("struct s { char model[32]; };", "s", hex(words));
    expect(r.end).toBe(128);
    expect(render(r.field)[1]).toBe("  model: char[32] @0+128 = [32]");
    expect(render(r.field)[2]).toBe("    [0]: char @0+4 = 65");
  });
});

describe("opaque and string", () => {
  it("fixed opaque with padding, variable opaque, bounded and unbounded strings", () => {
    const r = decode("struct s { opaque fx[5]; opaque var<8>; string name<16>; string any<>; };", "s", hex(`
      0x01020304 0x05000000 // fx: 5 bytes + 3 padding
      0x00000002 // var: length 2
      0xAABB0000 // 2 bytes + 2 padding
      0x00000003 // name: length 3
      6e 66 73 00 // "nfs" + 1 padding
      0x00000000 // any: empty
    `));
    expect(render(r.field)).toEqual([
      "v: s @0+28 = {",
      "  fx: opaque[5] @0+8 = 0x0102030405",
      "  var: opaque<8> @8+8 = 0xaabb",
      '  name: string<16> @16+8 = "nfs"',
      '  any: string<> @24+4 = ""',
    ]);
  });

  it("a string keeps its bytes; invalid UTF-8 becomes U+FFFD in text", () => {
    const r = decode("typedef string s<>;", "s", hex(`
      0x00000004 // length
      61 ff c3 28 // 'a', a lone 0xFF, a broken two-byte sequence
    `));
    const v = r.field.value;
    expect(v.kind === "string" && [...v.bytes]).toEqual([0x61, 0xff, 0xc3, 0x28]);
    expect(v.kind === "string" && v.text).toBe("a\ufffd\ufffd(");
  });

  it("UTF-8 text decodes", () => {
    const r = decode("typedef string s<>;", "s", hex(`
      0x00000006 // length
      c3 a9 e2 82 ac 21 00 00 // "é€!" + padding
    `));
    expect(r.field.value.kind === "string" && r.field.value.text).toBe("é€!");
  });

  it("a length beyond the declared maximum is invalid, at the length word", () => {
    const r = decode("struct s { int a; opaque o<4>; };", "s", hex(`
      0x00000001 // a
      0x00000005 // length 5 > 4
      0x01020304 0x05000000
    `));
    expect(render(r.field)).toEqual([
      "v: s @0+4 = {",
      "  a: int @0+4 = 1",
      "  o: opaque<4> @4+0 = MALFORMED invalid at +4 (v.o): length 5 exceeds the declared maximum of opaque<4>",
    ]);
    expect(r.malformed?.code).toBe("invalid");
    expect(r.malformed?.path).toEqual(["v", "o"]);
  });
});

describe("arrays and optional data", () => {
  it("fixed and variable arrays", () => {
    const r = decode("struct s { int f[2]; unsigned int v<3>; };", "s", hex(`
      0x00000001 0x00000002 // f
      0x00000002 // v: count 2
      0x0000000A 0x0000000B
    `));
    expect(render(r.field)).toEqual([
      "v: s @0+20 = {",
      "  f: int[2] @0+8 = [2]",
      "    [0]: int @0+4 = 1",
      "    [1]: int @4+4 = 2",
      "  v: unsigned int<3> @8+12 = [2]",
      "    [0]: unsigned int @12+4 = 10",
      "    [1]: unsigned int @16+4 = 11",
    ]);
  });

  it("optional data present and absent", () => {
    const r = decode("struct p { int x; };\nstruct s { p *a; p *b; };", "s", hex(`
      0x00000001 // a follows
      0x00000009 // a->x
      0x00000000 // b absent
    `));
    expect(render(r.field)).toEqual([
      "v: s @0+12 = {",
      "  a: p * @0+8 = present",
      "    *: p @4+4 = {",
      "      x: int @4+4 = 9",
      "  b: p * @8+4 = absent",
    ]);
  });

  it("a count beyond the declared maximum", () => {
    const r = decode("typedef int a<2>;", "a", hex("0x00000003 // count 3 > 2\n0x00000000 0x00000000 0x00000000"));
    expect(r.malformed?.message).toBe("invalid at +0 (v): count 3 exceeds the declared maximum of int<2>");
  });

  it("a self-referential list is decoded in a loop and shown as its elements", () => {
    const schema = "struct mapping { unsigned int prog; unsigned int port; };\n"
      + "struct pmap_entry { mapping map; pmap_entry *next; };\ntypedef pmap_entry *pmaplist;\n"
      + "struct dump { pmaplist list; };";
    const r = decode(schema, "dump", hex(`
      0x00000001 // value follows
      0x000186A0 0x0000006F // 100000 port 111
      0x00000001 // value follows
      0x000186A3 0x00000801 // 100003 port 2049
      0x00000000 // end of list
    `));
    expect(render(r.field)).toEqual([
      "v: dump @0+28 = {",
      "  list: pmaplist @0+28 = [2]",
      "    [0]: pmap_entry @0+12 = {",
      "      map: mapping @4+8 = {",
      "        prog: unsigned int @4+4 = 100000",
      "        port: unsigned int @8+4 = 111",
      "    [1]: pmap_entry @12+12 = {",
      "      map: mapping @16+8 = {",
      "        prog: unsigned int @16+4 = 100003",
      "        port: unsigned int @20+4 = 2049",
    ]);
    expect(r.end).toBe(28);
  });

  it("an empty list is one FALSE word", () => {
    const r = decode("struct e { int v; e *next; };\nstruct s { e *list; int after; };", "s", hex("0x00000000 // no entries\n0x00000005"));
    expect(render(r.field)).toEqual(["v: s @0+8 = {", "  list: e * @0+4 = [0]", "  after: int @4+4 = 5"]);
  });

  it("a plain struct whose last field continues the list", () => {
    const r = decode("struct e { int v; e *next; };", "e", hex("0x00000001 // v\n0x00000001 0x00000002 // next: v=2\n0x00000000"));
    expect(render(r.field)).toEqual([
      "v: e @0+16 = {",
      "  v: int @0+4 = 1",
      "  next: e * @4+12 = [1]",
      "    [0]: e @4+8 = {",
      "      v: int @8+4 = 2",
    ]);
  });

  it("an optional-data flag that is neither 0 nor 1 is invalid", () => {
    const r = decode("struct p { int x; };\nstruct s { p *a; };", "s", hex("0x00000002 // flag 2"));
    expect(r.malformed?.message).toBe("invalid at +0 (v.a): optional-data flag is 2, not 0 or 1");
  });
});

describe("unions", () => {
  const schema = `
    enum kind { K_INT = 1, K_STR = 2, K_NONE = 3, K_ALSO_INT = 4 };
    union u switch (kind k) {
      case K_INT: case K_ALSO_INT: int i;
      case K_STR: string s<>;
      case K_NONE: void;
    };
    union d switch (int x) { case 0: int zero; default: hyper other; };
    union b switch (bool more) { case TRUE: int v; case FALSE: void; };
  `;
  it("several case labels share an arm", () => {
    for (const [disc, name] of [["00000001", "K_INT(1)"], ["00000004", "K_ALSO_INT(4)"]] as const) {
      const r = decode(schema, "u", hex(`0x${disc} // disc\n0x00000007 // i`));
      expect(render(r.field)).toEqual(["v: u @0+8 = union", `  k: kind @0+4 = ${name}`, "  i: int @4+4 = 7"]);
    }
  });
  it("a void arm", () => {
    const r = decode(schema, "u", hex("0x00000003 // K_NONE"));
    expect(render(r.field)).toEqual(["v: u @0+4 = union", "  k: kind @0+4 = K_NONE(3)"]);
    expect(r.field.value.kind === "union" && r.field.value.arm).toBeNull();
  });
  it("default arm", () => {
    const r = decode(schema, "d", hex("0xFFFFFFFF // x = -1\n0x00000000 0x00000010 // other"));
    expect(render(r.field)).toEqual(["v: d @0+12 = union", "  x: int @0+4 = -1", "  other: hyper @4+8 = 16n"]);
  });
  it("bool discriminant", () => {
    const r = decode(schema, "b", hex("0x00000001 // TRUE\n0x00000003"));
    expect(render(r.field)).toEqual(["v: b @0+8 = union", "  more: bool @0+4 = true", "  v: int @4+4 = 3"]);
  });
  it("an unknown discriminant with no default is invalid, at the discriminant", () => {
    const r = decode(schema, "u", hex("0x00000063 // 99: no arm\n0x00000000"));
    expect(render(r.field)).toEqual([
      "v: u @0+4 = union",
      "  k: kind @0+4 = UNKNOWN(99)",
      "  arm: u @0+0 = MALFORMED invalid at +0 (v.arm): no arm of u for discriminant 99 and no default",
    ]);
    expect(r.end).toBe(4);
  });
});

describe("stopping at malformed data", () => {
  const schema = "struct inner { int a; string s<>; };\nstruct outer { int first; inner in; int last; };";
  it("short: past the end the message declares; everything before stays", () => {
    const r = decode(schema, "outer", hex(`
      0x00000001 // first
      0x00000002 // in.a
      0x00000010 // in.s length 16, only 4 bytes follow
      61 62 63 64
    `));
    expect(render(r.field)).toEqual([
      "v: outer @0+12 = {",
      "  first: int @0+4 = 1",
      "  in: inner @4+8 = {",
      "    a: int @4+4 = 2",
      "    s: string<> @12+0 = MALFORMED short at +12 (v.in.s): string<> needs 16 bytes, the message has 4 left",
    ]);
    expect(r.malformed).toMatchObject({ code: "short", offset: 12, path: ["v", "in", "s"] });
    expect(r.end).toBe(12);
  });
  it("truncated: past what was captured, when the message goes on", () => {
    const bytes = hex("0x00000001\n0x00000002\n0x00000004\n61 62 63 64\n0x00000005");
    const r = decode(schema, "outer", bytes.subarray(0, 14), { end: 20 });
    expect(r.malformed).toMatchObject({ code: "truncated", offset: 12, path: ["v", "in", "s"] });
    expect(r.malformed?.message).toBe("truncated at +12 (v.in.s): string<> needs 4 bytes, only 2 captured");
    const r2 = decode(schema, "outer", bytes, { truncatedAt: 16, end: 20 });
    expect(r2.malformed).toMatchObject({ code: "truncated", offset: 16, path: ["v", "last"] });
  });
  it("decodes from a start offset inside a larger record and returns the end", () => {
    const bytes = hex("0xDEADBEEF // header, not ours\n0x00000001 0x00000002 0x00000000 0x00000003\n0xCAFEBABE // trailing");
    const r = decode(schema, "outer", bytes, { start: 4 });
    expect(r.malformed).toBeNull();
    expect([r.field.offset, r.field.length, r.end]).toEqual([4, 16, 20]);
  });
  it("over-limit: an opaque beyond maxXdrOpaqueBytes", () => {
    const r = decode("typedef opaque o<>;", "o", hex("0x00000100 // 256 bytes"), { limits: withLimits({ maxXdrOpaqueBytes: 64 }) });
    expect(r.malformed?.message).toBe("over-limit at +0 (v): length 256 is more than 64 (maxXdrOpaqueBytes)");
  });
});
