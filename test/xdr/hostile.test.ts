/**
 * Hostile input: huge counts and lengths, depth bombs, unknown discriminants and
 * random bytes give malformed fields with offsets — never an exception — and finish fast.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import type { XdrType } from "../../dissect/xdr-types.js";
import { decodeXdr, HARD_MAX_DEPTH, validateXdr, type DecodeResult } from "../../dissect/xdr/decoder.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { findMalformed } from "./xdr-encoder.js";

const SCHEMA = loadSchema([{
  path: "hostile.x",
  text: `
    typedef int ints<>;
    typedef opaque blob<>;
    typedef string text<>;
    struct only_next { only_next *next; };
    struct entry { unsigned hyper cookie; string name<>; entry *next; };
    struct node { node *child; int value; };
    struct tree { tree kids<>; };
    enum color { RED = 0, GREEN = 1 };
    union pick switch (color c) { case RED: int r; case GREEN: tree g; };
    struct everything { ints a; blob b; text t; entry *list; node n; tree tr; pick p; bool flag; hyper h; double d; };
  `,
}]);

function t(name: string): XdrType {
  return SCHEMA.types.get(name)!;
}

function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0));
  return out;
}

function timed(fn: () => DecodeResult): { r: DecodeResult; ms: number } {
  const t0 = performance.now();
  const r = fn();
  return { r, ms: performance.now() - t0 };
}

function run(type: string, bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): DecodeResult {
  return decodeXdr(t(type), bytes, 0, bytes.length, limits, { name: "v" });
}

describe("huge counts and lengths", () => {
  it("count 0xFFFFFFFF is over the element limit, at the count word", () => {
    const r = run("ints", words(0xffffffff, 1, 2));
    expect(r.malformed).toMatchObject({ code: "over-limit", offset: 0 });
    expect(r.malformed?.message).toBe("over-limit at +0 (v): 4294967295 elements, more than 1000000 (maxXdrArrayElements)");
  });
  it("a count the bytes left cannot hold is short before any element is decoded", () => {
    const r = run("ints", words(500_000, 1, 2));
    expect(r.malformed?.message).toBe("short at +0 (v): 500000 elements need at least 2000000 bytes, the message has 8 left");
    expect(r.field.value.kind).toBe("malformed");
  });
  it("count 0xFFFFFFFF with the element limit raised is still short at once", () => {
    const { r, ms } = timed(() => run("ints", words(0xffffffff, 1), withLimits({ maxXdrArrayElements: 2 ** 33 })));
    expect(r.malformed).toMatchObject({ code: "short", offset: 0 });
    expect(ms).toBeLessThan(50);
  });
  it("length 0x7FFFFFFF is over the opaque limit; raised, it is short", () => {
    expect(run("blob", words(0x7fffffff, 0)).malformed).toMatchObject({ code: "over-limit", offset: 0 });
    const r = run("blob", words(0x7fffffff, 0), withLimits({ maxXdrOpaqueBytes: 2 ** 32 }));
    expect(r.malformed?.message).toBe("short at +4 (v): opaque<> needs 2147483648 bytes, the message has 4 left");
  });
  it("a string length of 0xFFFFFFFF", () => {
    expect(run("text", words(0xffffffff)).malformed).toMatchObject({ code: "over-limit", offset: 0 });
  });
});

describe("depth bombs", () => {
  it("a self-referential list of 1e6 elements is decoded in a loop until the field limit", () => {
    const n = 1_000_000;
    const bytes = new Uint8Array((n + 1) * 4);
    for (let i = 0; i < n; i++) bytes[i * 4 + 3] = 1; // value follows … then a final FALSE
    const { r, ms } = timed(() => run("only_next", bytes));
    // only_next itself is one field, its list the next; each element one more.
    expect(r.malformed).toMatchObject({ code: "over-limit" });
    expect(r.malformed?.detail).toBe("more than 200000 fields in one body (maxXdrFieldsPerBody)");
    expect(r.malformed!.offset).toBe((200_000 - 2) * 4);
    expect(ms).toBeLessThan(2000);
  });
  it("validateXdr walks the 1e6 list in a loop too, and agrees", () => {
    const n = 1_000_000;
    const bytes = new Uint8Array((n + 1) * 4);
    for (let i = 0; i < n; i++) bytes[i * 4 + 3] = 1;
    expect(validateXdr(t("only_next"), bytes, 0, bytes.length, DEFAULT_LIMITS).ok).toBe(false);
    const roomy = withLimits({ maxXdrFieldsPerBody: 2_000_000, maxXdrArrayElements: 2_000_000 });
    expect(validateXdr(t("only_next"), bytes, 0, bytes.length, roomy)).toEqual({ ok: true, end: bytes.length });
  });
  it("the same list within the field limit decodes completely", () => {
    const n = 100_000;
    const bytes = new Uint8Array((n + 1) * 4);
    for (let i = 0; i < n; i++) bytes[i * 4 + 3] = 1;
    const r = run("only_next", bytes);
    expect(r.malformed).toBeNull();
    expect(r.end).toBe(bytes.length);
    const list = r.field.value.kind === "struct" ? r.field.value.fields[0]! : null;
    expect(list?.value.kind === "array" && list.value.count).toBe(n);
  });
  it("a list longer than maxXdrArrayElements", () => {
    const bytes = new Uint8Array(11 * 4);
    for (let i = 0; i < 10; i++) bytes[i * 4 + 3] = 1;
    const r = run("only_next", bytes, withLimits({ maxXdrArrayElements: 5 }));
    expect(r.malformed?.message).toMatch(/^over-limit at \+20 \(v\.next\[5\]\): list longer than 5 elements/);
  });
  it("recursion through a non-last pointer stops at maxXdrDepth", () => {
    const n = 1_000_000;
    const bytes = new Uint8Array(n * 4); // every word 1: "child follows"
    for (let i = 0; i < n; i++) bytes[i * 4 + 3] = 1;
    const { r, ms } = timed(() => run("node", bytes));
    expect(r.malformed).toMatchObject({ code: "over-limit" });
    expect(r.malformed?.detail).toBe("nesting deeper than 64 levels (maxXdrDepth)");
    expect(r.malformed!.offset).toBeGreaterThan(0);
    expect(ms).toBeLessThan(200);
  });
  it("a tree through variable arrays stops at maxXdrDepth", () => {
    const bytes = words(...Array.from({ length: 10_000 }, () => 1));
    const r = run("tree", bytes);
    expect(r.malformed).toMatchObject({ code: "over-limit" });
  });
  it("a huge maxXdrDepth is capped so the JS stack is safe", () => {
    const bytes = words(...Array.from({ length: 100_000 }, () => 1));
    const r = run("tree", bytes, withLimits({ maxXdrDepth: 1e9 }));
    expect(r.malformed?.detail).toBe(`nesting deeper than ${HARD_MAX_DEPTH} levels (maxXdrDepth)`);
  });
});

describe("unknown discriminants and bad flags", () => {
  it("an enum discriminant outside the enum and without an arm is invalid at its offset", () => {
    const r = decodeXdr(t("pick"), words(0, 0, 7, 1), 8, 16, DEFAULT_LIMITS, { name: "p" });
    expect(r.malformed).toMatchObject({ code: "invalid", offset: 8, path: ["p", "arm"] });
  });
  it("a negative discriminant", () => {
    expect(run("pick", words(0xffffffff)).malformed).toMatchObject({ code: "invalid", offset: 0 });
  });
});

describe("any bytes, any prefix: no exception", () => {
  const types = ["everything", "entry", "pick", "tree", "node", "ints", "text"];
  it("random bytes through every type", () => {
    fc.assert(
      fc.property(fc.constantFrom(...types), fc.uint8Array({ maxLength: 512 }), fc.nat(16), (name, bytes, start) => {
        const s = Math.min(start, bytes.length);
        const limits = withLimits({ maxXdrFieldsPerBody: 5000 });
        const r = decodeXdr(t(name), bytes, s, bytes.length, limits);
        const v = validateXdr(t(name), bytes, s, bytes.length, limits);
        expect(v.ok).toBe(r.malformed === null);
        if (v.ok) expect(v.end).toBe(r.end);
        expect(r.end).toBeGreaterThanOrEqual(s);
        expect(r.end).toBeLessThanOrEqual(bytes.length);
        expect(findMalformed(r.field) !== null).toBe(r.malformed !== null);
      }),
      { numRuns: 2000 },
    );
  });
  it("every prefix of a valid body is short or truncated, at or before the cut", () => {
    const full = words(
      2, 1, 2, // a: ints
      3, 0x61626300, // b: blob "abc"
      2, 0x68690000, // t: "hi"
      1, 0, 5, 1, 0x78000000, 1, 0, 6, 0, 0, // list: two entries
      0, 9, // n: node without child, value 9
      1, 0, // tr: one kid with no kids
      1, 1, 0, // p: GREEN, tree with one empty kid
      1, // flag
      0, 42, // h
      0x3ff00000, 0, // d = 1.0
    );
    expect(run("everything", full).malformed).toBeNull();
    expect(validateXdr(t("everything"), full, 0, full.length, DEFAULT_LIMITS)).toEqual({ ok: true, end: full.length });
    for (let cut = 0; cut < full.length; cut++) {
      const prefix = full.subarray(0, cut);
      const short = run("everything", prefix);
      expect(short.malformed?.code).toBe("short");
      expect(short.malformed!.offset).toBeLessThanOrEqual(cut);
      const truncated = decodeXdr(t("everything"), prefix, 0, full.length, DEFAULT_LIMITS);
      expect(truncated.malformed?.code).toBe("truncated");
      expect(validateXdr(t("everything"), prefix, 0, full.length, DEFAULT_LIMITS).ok).toBe(false);
    }
  });
});
