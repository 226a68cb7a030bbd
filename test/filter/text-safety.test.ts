import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  bytesToDisplayString, escapeForTerminal, jsonSafeString, jsonSafeStringify, printableAscii,
} from "../../ui/text-safety.js";

/** Nothing a terminal would act on: C0, DEL, C1, bidi controls, separators, lone surrogates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe("escapeForTerminal", () => {
  const table: [string, string, string][] = [
    ["plain text is unchanged", "READ /export/home", "READ /export/home"],
    ["OSC window title", "\u001b]0;pwned\u0007", "\\x1b]0;pwned\\x07"],
    ["clear screen", "\u001b[2J", "\\x1b[2J"],
    ["bell", "a\u0007b", "a\\x07b"],
    ["backspace", "ab\bc", "ab\\x08c"],
    ["tab, newline, carriage return", "a\tb\nc\rd", "a\\tb\\nc\\rd"],
    ["NUL and DEL", "\u0000x\u007f", "\\x00x\\x7f"],
    ["C1 CSI (U+009B)", "\u009b31m", "\\u{9b}31m"],
    ["C1 NEL and APC", "\u0085\u009f", "\\u{85}\\u{9f}"],
    ["bidi override RLO", "abc\u202Etxt.exe", "abc\\u{202e}txt.exe"],
    ["bidi isolates", "\u2066x\u2069", "\\u{2066}x\\u{2069}"],
    ["LRM, RLM, ALM", "\u200e\u200f\u061c", "\\u{200e}\\u{200f}\\u{61c}"],
    ["line and paragraph separators", "a\u2028b\u2029", "a\\u{2028}b\\u{2029}"],
    ["backslash is escaped (so escapes are unambiguous)", "C:\\x1b", "C:\\\\x1b"],
    ["lone high surrogate", "a\ud800b", "a\\u{d800}b"],
    ["lone low surrogate", "\udc00", "\\u{dc00}"],
    ["surrogate pair (emoji) is kept", "ok \u{1F600}", "ok \u{1F600}"],
    ["Latin-1 letters are kept", "café ñ", "café ñ"],
    ["CJK is kept", "文件", "文件"],
  ];
  it.each(table)("%s", (_label, input, expected) => {
    expect(escapeForTerminal(input)).toBe(expected);
  });

  it("returns the same string object when nothing needs escaping", () => {
    const s = "x".repeat(1000);
    expect(escapeForTerminal(s)).toBe(s);
  });

  it("never leaves anything unsafe (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), (s) => {
      expect(UNSAFE.test(escapeForTerminal(s))).toBe(false);
    }), { numRuns: 2000 });
  });

  it("is injective on its input (distinct strings stay distinct)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 30 }), fc.string({ unit: "binary", maxLength: 30 }), (a, b) => {
      if (a !== b) expect(escapeForTerminal(a)).not.toBe(escapeForTerminal(b));
    }), { numRuns: 2000 });
  });
});

describe("printableAscii", () => {
  it("shows printable ASCII and dots for everything else", () => {
    const bytes = Uint8Array.from([0x41, 0x20, 0x7e, 0x1b, 0x7f, 0x9b, 0xff, 0x00, 0x5c]);
    expect(printableAscii(bytes)).toBe("A ~.....\\");
  });
  it("takes a range", () => {
    expect(printableAscii(Uint8Array.from([0x61, 0x62, 0x63, 0x64]), 1, 3)).toBe("bc");
    expect(printableAscii(Uint8Array.from([0x61]), 0, 99)).toBe("a");
  });
});

describe("bytesToDisplayString", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const table: [string, Uint8Array, number, string][] = [
    ["ASCII", enc("hello"), 100, "hello"],
    ["UTF-8 letters", enc("café"), 100, "café"],
    ["ESC ] 0 ; title BEL", enc("\u001b]0;x\u0007"), 100, "\\x1b]0;x\\x07"],
    ["ESC [ 2 J", enc("\u001b[2J"), 100, "\\x1b[2J"],
    ["UTF-8 encoded C1 CSI", Uint8Array.from([0xc2, 0x9b, 0x41]), 100, "\\u{9b}A"],
    ["raw 8-bit CSI byte (invalid UTF-8)", Uint8Array.from([0x9b, 0x41]), 100, "\\x9bA"],
    ["UTF-8 encoded RLO", enc("a\u202eb"), 100, "a\\u{202e}b"],
    ["invalid lead byte", Uint8Array.from([0xff, 0x61]), 100, "\\xffa"],
    ["overlong encoding of '/'", Uint8Array.from([0xc0, 0xaf]), 100, "\\xc0\\xaf"],
    ["encoded surrogate", Uint8Array.from([0xed, 0xa0, 0x80]), 100, "\\xed\\xa0\\x80"],
    ["above U+10FFFF", Uint8Array.from([0xf4, 0x90, 0x80, 0x80]), 100, "\\xf4\\x90\\x80\\x80"],
    ["truncated sequence", Uint8Array.from([0x61, 0xe6, 0x96]), 100, "a\\xe6\\x96"],
    ["4-byte emoji", enc("\u{1F600}"), 100, "\u{1F600}"],
    ["backslash", enc("a\\b"), 100, "a\\\\b"],
    ["cut at max", enc("abcdef"), 3, "abc…"],
    ["sequence cut by max is shown as bytes", enc("aé"), 2, "a\\xc3…"],
    ["empty", new Uint8Array(0), 10, ""],
  ];
  it.each(table)("%s", (_label, bytes, max, expected) => {
    expect(bytesToDisplayString(bytes, max)).toBe(expected);
  });

  it("never leaves anything unsafe (property)", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      expect(UNSAFE.test(bytesToDisplayString(bytes))).toBe(false);
    }), { numRuns: 2000 });
  });

  it("agrees with TextDecoder on valid UTF-8 without controls", () => {
    fc.assert(fc.property(fc.string({ unit: "grapheme", maxLength: 50 }), (s) => {
      const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\\]/g, "");
      expect(bytesToDisplayString(new TextEncoder().encode(clean))).toBe(clean);
    }), { numRuns: 500 });
  });
});

describe("JSON safety", () => {
  it("jsonSafeString uses the terminal notation", () => {
    expect(jsonSafeString("a\u001b[2J\u009b\u202e")).toBe("a\\x1b[2J\\u{9b}\\u{202e}");
  });

  it("jsonSafeStringify leaves no raw ESC, C1, DEL or bidi control and keeps the value", () => {
    const value = { name: "x\u001b]0;t\u0007\u009b\u0085\u007f\u202e\u2066\u2028", n: 5n, list: ["\u200f"] };
    const text = jsonSafeStringify(value);
    expect(UNSAFE.test(text)).toBe(false);
    expect(text).toContain("\\u009b");
    expect(text).toContain("\\u202e");
    expect(JSON.parse(text)).toEqual({ name: value.name, n: "5", list: ["\u200f"] });
  });

  it("jsonSafeStringify output is never unsafe (property)", () => {
    fc.assert(fc.property(fc.jsonValue(), fc.string({ unit: "binary" }), (v, s) => {
      const text = jsonSafeStringify({ v, s });
      expect(UNSAFE.test(text)).toBe(false);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify({ v, s })));
    }), { numRuns: 500 });
  });
});
