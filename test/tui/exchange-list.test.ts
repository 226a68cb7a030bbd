import { afterEach, describe, expect, it } from "vitest";
import { DemoDataSource, demoRow } from "../../ui/tui/demo-source.js";
import { ExchangeListPanel } from "../../ui/tui/exchange-list.js";
import { key } from "../../ui/tui/panel.js";
import { STYLES, lineText } from "../../ui/tui/styled-line.js";
import { ArraySource, rowsOf } from "./fixtures.js";

const sources: DemoDataSource[] = [];
function million(): DemoDataSource {
  const s = new DemoDataSource({ rows: 1_000_000 });
  sources.push(s);
  return s;
}
afterEach(() => { for (const s of sources.splice(0)) s.stop(); });

describe("ExchangeListPanel virtualisation (1,000,000 rows)", () => {
  it("draws the first screen reading only the rows on it", () => {
    const source = million();
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(120, 40);
    source.rowCalls = 0;
    const lines = list.draw(true);
    expect(lines.length).toBe(40);
    expect(source.rowCalls).toBe(39); // one header line, 39 rows
    expect(lineText(lines[1] ?? [])).toMatch(/^>\s+1\s/);
  });

  it("jumps to the end and pages without reading the rows in between", () => {
    const source = million();
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(120, 40);
    source.rowCalls = 0;
    list.handleKey(key("G"));
    const lines = list.draw(true).map(lineText);
    expect(lines.at(-1)).toMatch(/^>\s*1000000\s/);
    list.handleKey(key("pageup"));
    list.handleKey(key("pageup"));
    list.draw(true);
    expect(source.rowCalls).toBeLessThanOrEqual(2 * 39);
    expect(list.selectedPosition).toBe(999_999 - 2 * 38);
  });

  it("shows the selected row inverted when focused, and coloured rows by kind", () => {
    const source = million();
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(160, 30);
    const focused = list.draw(true);
    expect(focused[1]?.every((s) => s.style.reverse === true)).toBe(true);
    const blurred = list.draw(false);
    expect(blurred[1]?.every((s) => s.style.bg === STYLES.selectedBlurred.bg)).toBe(true);
    // Row 2 of the demo is an NFS error.
    expect(demoRow(2).isError).toBe(true);
    expect(focused[2]?.[1]?.style.fg).toBe("red");
  });

  it("escapes the hostile row (7) on screen", () => {
    const source = million();
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(200, 20);
    const row7 = lineText(list.draw(true)[7] ?? []);
    expect(row7).toContain("\\x1b]0;pwned\\x07evil\\x1b[2J.txt");
    expect(row7).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe("ExchangeListPanel keys and mouse", () => {
  function setup(count = 100) {
    const source = new ArraySource(rowsOf(count));
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(100, 11); // 10 rows on screen
    return { source, list };
  }

  it("moves with arrows, j/k, PgUp/PgDn, g/G", () => {
    const { list } = setup();
    list.handleKey(key("j"));
    list.handleKey(key("down"));
    expect(list.selectedPosition).toBe(2);
    list.handleKey(key("k"));
    expect(list.selectedPosition).toBe(1);
    list.handleKey(key("pagedown"));
    expect(list.selectedPosition).toBe(10);
    list.handleKey(key("G"));
    expect(list.selectedPosition).toBe(99);
    list.handleKey(key("g"));
    expect(list.selectedPosition).toBe(0);
    expect(list.handleKey(key("z"))).toBe("not-handled");
  });

  it("selects the clicked row; a click on the header or below the rows does nothing", () => {
    const { list } = setup(5);
    expect(list.handleClick(10, 3)).toBe("handled");
    expect(list.selectedPosition).toBe(2);
    expect(list.handleClick(10, 0)).toBe("not-handled");
    expect(list.handleClick(10, 9)).toBe("not-handled");
    expect(list.selectedPosition).toBe(2);
  });

  it("keeps the selection on the same exchange when the view changes", () => {
    const { source, list } = setup();
    list.jumpTo(49); // exchange 50
    source.setFilter("LOOK"); // every row matches: same positions
    list.reselect(50);
    expect(list.selectedRow()?.index).toBe(50);
    source.setFilter("nothing");
    list.reselect(50);
    expect(list.selectedPosition).toBeNull();
    expect(lineText(list.draw(true)[1] ?? [])).toContain("(no exchanges)");
  });

  it("follows the tail of a live capture until the user moves up, and again after G", () => {
    const source = new ArraySource(rowsOf(20));
    source.live = true;
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(100, 11);
    list.refresh();
    expect(list.selectedPosition).toBe(19);
    expect(list.following).toBe(true);
    source.append(rowsOf(5).map((r) => ({ ...r, index: r.index + 20 })));
    list.refresh();
    expect(list.selectedPosition).toBe(24);
    list.handleKey(key("k"));
    expect(list.following).toBe(false);
    source.append(rowsOf(5).map((r) => ({ ...r, index: r.index + 25 })));
    list.refresh();
    expect(list.selectedPosition).toBe(23);
    list.handleKey(key("G"));
    expect(list.following).toBe(true);
    expect(list.selectedPosition).toBe(29);
  });

  it("a file being loaded does not follow", () => {
    const source = new ArraySource(rowsOf(5));
    const list = new ExchangeListPanel(source, { slowRttSeconds: 0.2 });
    list.resize(100, 11);
    source.append(rowsOf(5).map((r) => ({ ...r, index: r.index + 5 })));
    list.refresh();
    expect(list.selectedPosition).toBe(0);
  });
});
