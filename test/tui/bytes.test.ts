import { describe, expect, it } from "vitest";
import { BytesPanel, describeFrames } from "../../ui/tui/bytes-pane.js";
import { formatHexLine, hexGeometry, hexLineCount, hexLineWidth } from "../../ui/tui/hex-layout.js";
import { key } from "../../ui/tui/panel.js";
import { STYLES, lineText } from "../../ui/tui/styled-line.js";

const bytes = Uint8Array.from({ length: 40 }, (_, i) => (i === 5 ? 0x1b : 0x41 + (i % 26)));

describe("hex layout", () => {
  it("chooses 16, 8 or 4 bytes a line by width", () => {
    expect(hexGeometry(80, 100)).toEqual({ bytesPerLine: 16, offsetDigits: 4 });
    expect(hexGeometry(60, 100)).toEqual({ bytesPerLine: 8, offsetDigits: 4 });
    expect(hexGeometry(30, 100)).toEqual({ bytesPerLine: 4, offsetDigits: 4 });
    expect(hexGeometry(200, 0x20000)).toEqual({ bytesPerLine: 16, offsetDigits: 8 });
    expect(hexLineWidth({ bytesPerLine: 16, offsetDigits: 4 })).toBe(72);
    expect(hexLineCount(40, { bytesPerLine: 16, offsetDigits: 4 })).toBe(3);
  });

  it("writes offset, two groups of hex, and ASCII with dots for the rest", () => {
    const g = { bytesPerLine: 16, offsetDigits: 4 };
    expect(lineText(formatHexLine(bytes, 0, g, null))).toBe(
      "0000  41 42 43 44 45 1b 47 48  49 4a 4b 4c 4d 4e 4f 50  ABCDE.GHIJKLMNOP");
    const last = lineText(formatHexLine(bytes, 2, g, null));
    expect(last).toBe("0020  47 48 49 4a 4b 4c 4d 4e                           GHIJKLMN");
    expect(last.length).toBe(hexLineWidth(g) - 8); // ASCII column only as long as the bytes
  });

  it("highlights a range in hex and ASCII, gaps between lit bytes included", () => {
    const g = { bytesPerLine: 16, offsetDigits: 4 };
    const line = formatHexLine(bytes, 0, g, { start: 6, end: 10 });
    const lit = line.filter((s) => s.style === STYLES.highlight).map((s) => s.text);
    expect(lit).toEqual(["47 48  49 4a", "GHIJ"]);
    const none = formatHexLine(bytes, 1, g, { start: 6, end: 10 });
    expect(none.some((s) => s.style === STYLES.highlight)).toBe(false);
  });

  it("a range across lines lights the end of one and the start of the next", () => {
    const g = { bytesPerLine: 8, offsetDigits: 4 };
    const first = formatHexLine(bytes, 0, g, { start: 6, end: 10 });
    const second = formatHexLine(bytes, 1, g, { start: 6, end: 10 });
    expect(first.filter((s) => s.style === STYLES.highlight).map((s) => s.text)).toEqual(["47 48", "GH"]);
    expect(second.filter((s) => s.style === STYLES.highlight).map((s) => s.text)).toEqual(["49 4a", "IJ"]);
  });
});

describe("BytesPanel", () => {
  const big = new Uint8Array(4000);
  function panel(): BytesPanel {
    const p = new BytesPanel();
    p.resize(80, 8);
    p.setBytes([
      { message: "call", bytes: big, frames: [3, 5, 7] },
      { message: "reply", bytes: bytes, frames: [9] },
    ]);
    return p;
  }

  it("heads each record with its size and frames", () => {
    const lines = panel().draw(true).map(lineText);
    expect(lines[0]?.trim()).toBe("Bytes");
    expect(lines[1]).toContain("Call: 4000 bytes, 3 frames: 3, 5, 7");
    expect(lines[2]).toContain("0000  00 00");
    expect(lines.every((l) => l.length === 80)).toBe(true);
  });

  it("scrolls a highlighted range into view, in the right record", () => {
    const p = panel();
    p.setHighlight({ message: "reply", offset: 16, length: 4 });
    const lines = p.draw(true).map(lineText);
    const lit = lines.findIndex((l) => l.includes("0010  51 52"));
    expect(lit).toBeGreaterThan(0);
    const styled = p.draw(true)[lit];
    expect(styled?.some((s) => s.style === STYLES.highlight && s.text.startsWith("51 52 53 54"))).toBe(true);
  });

  it("draws only the visible lines of a large record", () => {
    const p = panel();
    expect(p.lineCount).toBe(1 + 250 + 1 + 1 + 3);
    p.handleKey(key("G"));
    const lines = p.draw(true).map(lineText);
    expect(lines.at(-1)).toContain("0020  47 48 49 4a");
    p.handleKey(key("g"));
    expect(p.scrollTop).toBe(0);
  });

  it("lists many frames briefly", () => {
    const frames = Array.from({ length: 500 }, (_, i) => i + 1);
    const text = describeFrames(frames, 40);
    expect(text.length).toBeLessThanOrEqual(40);
    expect(text).toMatch(/^500 frames: 1, 2, .*\(\+\d+ more\)$/);
    expect(describeFrames([12], 40)).toBe("frame 12");
  });
});
