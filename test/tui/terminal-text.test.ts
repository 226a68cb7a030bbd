import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  escapeForTerminal, isTerminalSafe, padLeft, padRight, truncateEnd, truncateMiddle, truncateStart,
} from "../../ui/tui/terminal-text.js";
import { lineText, toSgr } from "../../ui/tui/styled-line.js";

describe("escapeForTerminal", () => {
  it.each([
    ["plain", "LOOKUP file-1.dat", "LOOKUP file-1.dat"],
    ["OSC title", "\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"],
    ["clear screen", "\x1b[2J", "\\x1b[2J"],
    ["C1 CSI", "a\u009b31mb", "a\\u{9b}31mb"],
    ["DEL", "\x7f", "\\x7f"],
    ["tab, newline, CR", "a\tb\nc\rd", "a\\tb\\nc\\rd"],
    ["backslash is doubled", "C:\\dir", "C:\\\\dir"],
    ["Latin-1 letters kept", "café Ångström", "café Ångström"],
    ["soft hyphen", "a\u00adb", "a\\u{ad}b"],
    ["no-break space", "a\u00a0b", "a\\u{a0}b"],
    ["combining accent", "e\u0301", "e\\u{301}"],
    ["bidi override", "abc\u202etxt.exe", "abc\\u{202e}txt.exe"],
    ["zero width space", "a\u200bb", "a\\u{200b}b"],
    ["wide CJK", "文件", "\\u{6587}\\u{4ef6}"],
    ["astral emoji", "x\u{1f600}y", "x\\u{1f600}y"],
    ["lone surrogate", "a\ud800b", "a\\u{d800}b"],
    ["NUL", "a\u0000b", "a\\x00b"],
  ])("%s", (_name, input, expected) => {
    expect(escapeForTerminal(input)).toBe(expected);
  });

  it("never lets a control, bidi, wide or combining character through (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => {
      const out = escapeForTerminal(text);
      for (const ch of out) {
        const code = ch.codePointAt(0) ?? 0;
        const ok = (code >= 0x20 && code <= 0x7e) || (code >= 0xa1 && code <= 0x24f && code !== 0xad);
        if (!ok) return false;
      }
      return isTerminalSafe(out);
    }), { numRuns: 2000 });
  });

  it("is one column per UTF-16 unit: no surrogate survives (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => !/[\ud800-\udfff]/.test(escapeForTerminal(text))));
  });

  it("keeps distinct inputs distinct (escapes are unambiguous)", () => {
    // "\x1b" typed as four characters must not look like an escaped ESC.
    expect(escapeForTerminal("\\x1b")).not.toBe(escapeForTerminal("\x1b"));
    fc.assert(fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) =>
      a === b || escapeForTerminal(a) !== escapeForTerminal(b)), { numRuns: 2000 });
  });
});

describe("truncation and padding", () => {
  it("cuts at the end with a one-column mark", () => {
    expect(truncateEnd("abcdef", 4)).toBe("abc~");
    expect(truncateEnd("abc", 4)).toBe("abc");
    expect(truncateEnd("abc", 1)).toBe("~");
    expect(truncateEnd("abc", 0)).toBe("");
  });
  it("cuts at the start keeping the end (ports)", () => {
    expect(truncateStart("192.168.100.200:1023", 10)).toBe("~.200:1023");
    expect(truncateStart("1.2.3.4:1", 20)).toBe("1.2.3.4:1");
  });
  it("cuts in the middle keeping both ends", () => {
    expect(truncateMiddle("abcdefghij", 7)).toBe("abc~hij");
    expect(truncateMiddle("abcdefghij", 8)).toBe("abcd~hij");
  });
  it("pads to an exact width either side", () => {
    expect(padRight("ab", 5)).toBe("ab   ");
    expect(padLeft("ab", 5)).toBe("   ab");
    expect(padLeft("abcdefg", 5)).toBe("abcd~");
    fc.assert(fc.property(fc.string(), fc.integer({ min: 0, max: 50 }), (s, w) =>
      padRight(s, w).length === w && padLeft(s, w).length === w));
  });
});

describe("toSgr", () => {
  it("emits only SGR sequences, even if raw text slipped into a segment", () => {
    const out = toSgr([{ text: "ok\x1b]0;pwned\x07\x1b[2J\u009b", style: { fg: "red", bold: true } }]);
    const withoutSgr = out.replace(/\x1b\[[0-9;]*m/g, "");
    expect(withoutSgr).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(out.startsWith("\x1b[0;1;31m")).toBe(true);
    expect(out.endsWith("\x1b[0m")).toBe(true);
  });
  it("keeps text order", () => {
    expect(lineText([{ text: "a", style: {} }, { text: "b", style: { reverse: true } }])).toBe("ab");
  });
});
