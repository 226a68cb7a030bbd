/**
 * Property: random schemas (generated over the XdrType grammar) and random values
 * encode and decode back to the same values and the same byte ranges.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, withLimits } from "../../capture/limits.js";
import type { Field, XdrType } from "../../dissect/xdr-types.js";
import { decodeXdr, derefType, validateXdr } from "../../dissect/xdr/decoder.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { decodedSpans, decodedToValue, encodeXdr, type XdrValue } from "./xdr-encoder.js";

const UNBOUNDED = 0xffffffff;
const PRIMITIVES: XdrType[] = ["int", "uint", "hyper", "uhyper", "bool", "float", "double", "quadruple"].map(
  (kind) => ({ kind }) as XdrType,
);

let nameCounter = 0;
const freshName = (prefix: string): string => `${prefix}${nameCounter++}`;

const enumArb: fc.Arbitrary<XdrType> = fc
  .uniqueArray(fc.integer({ min: -5, max: 20 }), { minLength: 1, maxLength: 4 })
  .map((values) => ({ kind: "enum", name: freshName("e"), names: new Map(values.map((v, i) => [v, `E${i}`])) }));

const leafArb: fc.Arbitrary<XdrType> = fc.oneof(
  fc.constantFrom(...PRIMITIVES),
  enumArb,
  fc.nat(9).map((n): XdrType => ({ kind: "opaque", fixed: n, max: n })),
  fc.oneof(fc.nat(12), fc.constant(UNBOUNDED)).map((max): XdrType => ({ kind: "opaque", max })),
  fc.oneof(fc.nat(12), fc.constant(UNBOUNDED)).map((max): XdrType => ({ kind: "string", max })),
);

function unionArb(depth: number): fc.Arbitrary<XdrType> {
  const armType = fc.oneof(fc.constant<XdrType>({ kind: "void" }), typeArb(depth - 1));
  return fc
    .record({
      discKind: fc.constantFrom("int", "uint", "enum", "bool"),
      keys: fc.uniqueArray(fc.integer({ min: -3, max: 6 }), { minLength: 1, maxLength: 3 }),
      armTypes: fc.array(armType, { minLength: 3, maxLength: 3 }),
      fallback: fc.option(armType, { nil: undefined }),
    })
    .map(({ discKind, keys, armTypes, fallback }): XdrType => {
      const usable = discKind === "bool" ? [...new Set(keys.map((k) => Math.abs(k) % 2))]
        : discKind === "uint" ? [...new Set(keys.map((k) => k >>> 0))] : keys;
      const disc: Field = {
        name: "d",
        type: discKind === "enum"
          ? { kind: "enum", name: freshName("de"), names: new Map(usable.map((k, i) => [k, `D${i}`])) }
          : ({ kind: discKind } as XdrType),
      };
      const arms = new Map<number, Field>(usable.map((k, i) => [k, { name: `a${i}`, type: armTypes[i]! }]));
      const name = freshName("u");
      return fallback ? { kind: "union", name, disc, arms, fallback: { name: "dflt", type: fallback } }
        : { kind: "union", name, disc, arms };
    });
}

function typeArb(depth: number): fc.Arbitrary<XdrType> {
  if (depth <= 0) return leafArb;
  const inner = typeArb(depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leafArb },
    { weight: 1, arbitrary: fc.tuple(inner, fc.nat(3)).map(([of, n]): XdrType => ({ kind: "array", of, fixed: n, max: n })) },
    { weight: 1, arbitrary: fc.tuple(inner, fc.oneof(fc.nat(4), fc.constant(UNBOUNDED))).map(([of, max]): XdrType => ({ kind: "array", of, max })) },
    { weight: 1, arbitrary: inner.map((of): XdrType => ({ kind: "optional", of })) },
    {
      weight: 2,
      arbitrary: fc.array(inner, { minLength: 1, maxLength: 4 }).map((types): XdrType => ({
        kind: "struct", name: freshName("s"), fields: types.map((type, i) => ({ name: `f${i}`, type })),
      })),
    },
    { weight: 1, arbitrary: unionArb(depth) },
    { weight: 1, arbitrary: inner.map((target): XdrType => ({ kind: "ref", name: freshName("r"), target: () => target })) },
  );
}

function bytesArb(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: min, maxLength: max });
}

function valueArb(type: XdrType): fc.Arbitrary<XdrValue> {
  const t = derefType(type);
  switch (t.kind) {
    case "int": return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case "uint": return fc.integer({ min: 0, max: 0xffffffff });
    case "enum": return fc.oneof(fc.constantFrom(...t.names.keys()), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    case "hyper": return fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
    case "uhyper": return fc.bigInt(0n, 2n ** 64n - 1n);
    case "bool": return fc.boolean();
    case "float": return fc.float({ noNaN: true });
    case "double": return fc.double({ noNaN: true });
    case "quadruple": return bytesArb(16, 16);
    case "void": return fc.constant(null);
    case "opaque": case "string":
      return t.fixed !== undefined ? bytesArb(t.fixed, t.fixed) : bytesArb(0, Math.min(t.max, 12));
    case "array": {
      const n = t.fixed;
      return n !== undefined ? fc.array(valueArb(t.of), { minLength: n, maxLength: n })
        : fc.array(valueArb(t.of), { maxLength: Math.min(t.max, 4) });
    }
    case "optional": return fc.option(valueArb(t.of), { nil: null });
    case "struct": {
      const rec: Record<string, fc.Arbitrary<XdrValue>> = {};
      for (const f of t.fields) rec[f.name] = valueArb(f.type);
      return fc.record(rec);
    }
    case "union": {
      const choices: fc.Arbitrary<XdrValue>[] = [...t.arms].map(([k, f]) =>
        valueArb(f.type).map((arm) => ({ disc: k, arm })));
      if (t.fallback) {
        const fb = t.fallback;
        const discKind = derefType(t.disc.type).kind;
        const free = discKind === "bool" ? [0, 1].filter((k) => !t.arms.has(k)) : (discKind === "uint" ? [1000, 0x80000000] : [1000, -1000]).filter((k) => !t.arms.has(k));
        if (free.length) choices.push(fc.tuple(fc.constantFrom(...free), valueArb(fb.type)).map(([disc, arm]) => ({ disc, arm })));
      }
      return fc.oneof(...choices);
    }
    case "ref": throw new Error("unreachable");
  }
}

const typeAndValue = typeArb(3).chain((type) => valueArb(type).map((value) => ({ type, value })));

describe("encode → decode round trip", () => {
  it("random schemas and values come back with the same values and byte ranges", () => {
    fc.assert(
      fc.property(typeAndValue, fc.nat(3), ({ type, value }, pad) => {
        const enc = encodeXdr(type, value);
        // Place the body after some header bytes: offsets must be absolute.
        const start = pad * 4;
        const record = new Uint8Array(start + enc.bytes.length);
        record.set(enc.bytes, start);
        const r = decodeXdr(type, record, start, record.length, DEFAULT_LIMITS);
        expect(r.malformed).toBeNull();
        expect(r.issues).toEqual([]);
        expect(r.end).toBe(record.length);
        expect(decodedToValue(r.field)).toEqual(value);
        expect(decodedSpans(r.field)).toEqual(enc.spans.map(([o, l]) => [o + start, l]));
      }),
      { numRuns: 1500 },
    );
  });

  it("linked lists: the flattened elements carry the values and tile the bytes", () => {
    const schema = loadSchema([{
      path: "l.x",
      text: "struct entry { unsigned hyper cookie; string name<>; entry *next; };\nstruct dirlist { entry *entries; bool eof; };",
    }]);
    const dirlist = schema.types.get("dirlist")!;
    const entryArb = fc.record({ cookie: fc.bigInt(0n, 2n ** 64n - 1n), name: bytesArb(0, 9) });
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 30 }), fc.boolean(), (entries, eof) => {
        let chain: XdrValue = null;
        for (let i = entries.length - 1; i >= 0; i--) chain = { ...entries[i]!, next: chain };
        const enc = encodeXdr(dirlist, { entries: chain, eof });
        const r = decodeXdr(dirlist, enc.bytes, 0, enc.bytes.length, DEFAULT_LIMITS);
        expect(r.malformed).toBeNull();
        const v = r.field.value;
        if (v.kind !== "struct") throw new Error("not a struct");
        const list = v.fields[0]!;
        if (list.value.kind !== "array") throw new Error("list not flattened");
        expect(list.value.elements.map((e) => decodedToValue(e))).toEqual(entries);
        let at = list.offset;
        for (const e of list.value.elements) {
          expect(e.offset).toBe(at);
          at += e.length;
        }
        expect(at + 4).toBe(list.offset + list.length); // the final FALSE word
        expect(decodedToValue(v.fields[1]!)).toBe(eof);
      }),
      { numRuns: 300 },
    );
  });
});

describe("validateXdr (the fast path) agrees with decodeXdr", () => {
  const limitsArb = fc.record({
    maxXdrDepth: fc.integer({ min: 0, max: 8 }),
    maxXdrFieldsPerBody: fc.integer({ min: 0, max: 200 }),
    maxXdrArrayElements: fc.integer({ min: 0, max: 5 }),
    maxXdrOpaqueBytes: fc.integer({ min: 0, max: 12 }),
  }).map((l) => withLimits(l));

  it("on valid encodings, their prefixes and random mutations, under tight limits", () => {
    fc.assert(
      fc.property(typeAndValue, limitsArb, fc.nat(), fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { nil: null }), fc.boolean(),
        ({ type, value }, limits, cutSeed, mutation, truncate) => {
          const full = encodeXdr(type, value).bytes;
          const bytes = full.slice(0, full.length === 0 ? 0 : cutSeed % (full.length + 1));
          if (mutation && bytes.length) bytes[mutation[0] % bytes.length] = mutation[1];
          const end = truncate ? full.length : bytes.length;
          const d = decodeXdr(type, bytes, 0, end, limits);
          const v = validateXdr(type, bytes, 0, end, limits);
          expect(v.ok).toBe(d.malformed === null);
          if (v.ok) expect(v.end).toBe(d.end);
        }),
      { numRuns: 3000 },
    );
  });

  it("with default limits on complete encodings", () => {
    fc.assert(
      fc.property(typeAndValue, ({ type, value }) => {
        const bytes = encodeXdr(type, value).bytes;
        expect(validateXdr(type, bytes, 0, bytes.length, DEFAULT_LIMITS)).toEqual({ ok: true, end: bytes.length });
      }),
      { numRuns: 500 },
    );
  });
});
