import { describe, expect, it } from "vitest";
import type { ExchangeRow } from "../../ui/tui/data-source.js";
import { sampleRow } from "./fixtures.js";
import {
  formatBytes, formatDuration, formatEndpoints, formatHeader, formatRow, formatTime, formatXid, layoutColumns,
} from "../../ui/tui/exchange-columns.js";
import { STYLES, lineText } from "../../ui/tui/styled-line.js";
import { padLeft, padRight } from "../../ui/tui/terminal-text.js";

describe("value formatting", () => {
  it.each([
    [0.000087, "87us"], [0.00325, "3.25ms"], [0.0417, "41.7ms"], [1.2041, "1.204s"], [512, "512s"],
  ])("duration %s -> %s", (seconds, text) => expect(formatDuration(seconds)).toBe(text));

  it("formats xids as 8 hex digits and nothing for no xid", () => {
    expect(formatXid(0xabc)).toBe("0x00000abc");
    expect(formatXid(0xffffffff)).toBe("0xffffffff");
    expect(formatXid(null)).toBe("");
  });

  it("writes byte counts exactly when short, with units when long", () => {
    expect(formatBytes(99_999)).toBe("99999");
    expect(formatBytes(1_048_576)).toBe("1024k");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200.0M");
  });

  it("gives time fewer decimals rather than cutting it", () => {
    expect(formatTime(1.5, 10)).toBe("1.500000");
    expect(formatTime(12345.123456, 10)).toBe("12345.1235");
    expect(formatTime(123456789.5, 6)).toBe("123456790");
  });
});

describe("layoutColumns", () => {
  const ids = (width: number): string[] => layoutColumns(width).columns.map((c) => c.id);

  it("shows every column on a wide terminal", () => {
    expect(ids(200)).toEqual(["no", "time", "endpoints", "transport", "xid", "program", "procedure", "status", "rtt", "sizes"]);
  });

  it("drops transport, then sizes, before squeezing addresses at 120 columns", () => {
    expect(ids(120)).toEqual(["no", "time", "endpoints", "xid", "program", "procedure", "status", "rtt"]);
  });

  it("keeps number, addresses and procedure on a tiny terminal", () => {
    expect(ids(40)).toEqual(["no", "endpoints", "procedure"]);
  });

  it("fills exactly the width whenever the kept columns fit", () => {
    for (const width of [60, 80, 100, 120, 133, 160, 250]) {
      const layout = layoutColumns(width);
      const used = layout.gutter + layout.columns.reduce((s, c) => s + c.width, 0) + layout.columns.length - 1;
      expect(used, `width ${width}`).toBe(width);
    }
  });

  it("header and rows line up at every width", () => {
    for (const width of [50, 80, 120, 200]) {
      const layout = layoutColumns(width);
      const header = lineText(formatHeader(layout, STYLES.title));
      const row = lineText(formatRow(sampleRow(), layout, null));
      expect(header.length).toBe(width);
      expect(row.length).toBe(width);
      // Each title sits exactly in its column, aligned as the cells are; separators are blank.
      let x = layout.gutter;
      for (const col of layout.columns) {
        const cell = header.slice(x, x + col.width);
        expect(cell).toBe(col.align === "left" ? padRight(col.title, col.width) : padLeft(col.title, col.width));
        if (x + col.width < width) expect(row[x + col.width]).toBe(" ");
        x += col.width + 1;
      }
    }
  });
});

describe("formatRow", () => {
  const layout = layoutColumns(200);
  const text = (row: ExchangeRow, slow: number | null = null): string => lineText(formatRow(row, layout, slow));

  it("writes every field of an exchange", () => {
    const t = text(sampleRow());
    for (const piece of ["42", "1.500000", "192.168.1.10:801 -> 192.168.1.2:2049", "tcp", "0x1234abcd", "NFS v3",
      "LOOKUP file-1.dat", "NFS3_OK", "3.21ms", "180/33000"]) expect(t).toContain(piece);
  });

  it("colours rows by what they are", () => {
    const styleOf = (row: ExchangeRow) => formatRow(row, layout, null)[1]?.style;
    expect(styleOf(sampleRow({ isError: true, status: "NFS3ERR_NOENT" }))).toEqual(STYLES.error);
    expect(styleOf(sampleRow({ kind: "malformed", isError: true }))).toEqual(STYLES.malformed);
    expect(styleOf(sampleRow({ kind: "gap" }))).toEqual(STYLES.gap);
    expect(styleOf(sampleRow({ kind: "unmatched-call", rtt: null }))).toEqual(STYLES.unmatched);
    expect(styleOf(sampleRow())).toEqual(STYLES.normal);
  });

  it("marks a slow exchange in its RTT cell", () => {
    const row = sampleRow({ rtt: 0.5 });
    expect(text(row, 0.1)).toContain("500.0ms!");
    expect(text(row, 1)).not.toContain("500.0ms!");
    const slowCell = formatRow(row, layout, 0.1).find((s) => s.text.includes("500.0ms!"));
    expect(slowCell?.style.bold).toBe(true);
    expect(slowCell?.style.fg).toBe(STYLES.slow.fg);
  });

  it("shows a gap as a gap, and retransmissions", () => {
    expect(text(sampleRow({ kind: "gap", info: "1448 bytes missing", xid: null }))).toContain("--- gap: 1448 bytes missing ---");
    expect(text(sampleRow({ retransmits: 3 }))).toContain("[3 retrans]");
  });

  it("escapes every string that comes from a packet", () => {
    const hostile = "\x1b]0;pwned\x07\x1b[2J";
    const row = sampleRow({
      client: hostile, server: hostile, program: hostile, procedure: hostile, info: hostile, status: hostile,
    });
    const t = text(row);
    expect(t).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(t).toContain("\\x1b]0;pwned\\x07");
  });

  it("cuts long addresses keeping the ports", () => {
    const shown = formatEndpoints("[fe80::1234:5678:9abc:def0]:1023", "[fe80::aaaa:bbbb:cccc:dddd]:2049", 30);
    expect(shown.length).toBeLessThanOrEqual(30);
    expect(shown).toMatch(/:1023 -> .*:2049$/);
  });
});
