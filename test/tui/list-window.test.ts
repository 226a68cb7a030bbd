import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ListWindow } from "../../ui/tui/list-window.js";

function windowOf(count: number, height: number): ListWindow {
  const w = new ListWindow();
  w.setHeight(height);
  w.setCount(count);
  return w;
}

describe("ListWindow", () => {
  it("starts at the top and shows one screenful", () => {
    const w = windowOf(1_000_000, 20);
    expect(w.visibleRange()).toEqual({ start: 0, end: 20 });
    expect(w.selected).toBe(0);
  });

  it("scrolls only when the selection leaves the screen", () => {
    const w = windowOf(100, 10);
    w.moveBy(9);
    expect(w.top).toBe(0);
    w.moveBy(1);
    expect([w.top, w.selected]).toEqual([1, 10]);
    w.moveBy(-1);
    expect([w.top, w.selected]).toEqual([1, 9]);
    w.moveBy(-100);
    expect([w.top, w.selected]).toEqual([0, 0]);
  });

  it("pages by a screen less one line, and clamps at both ends", () => {
    const w = windowOf(100, 10);
    w.pageDown();
    expect([w.top, w.selected]).toEqual([9, 9]);
    for (let i = 0; i < 20; i++) w.pageDown();
    expect([w.top, w.selected]).toEqual([90, 99]);
    w.pageUp();
    expect([w.top, w.selected]).toEqual([81, 90]);
    w.home();
    expect([w.top, w.selected]).toEqual([0, 0]);
    w.end();
    expect([w.top, w.selected, w.atEnd]).toEqual([90, 99, true]);
  });

  it("handles an empty list and a list shorter than the screen", () => {
    const empty = windowOf(0, 10);
    expect(empty.hasSelection).toBe(false);
    expect(empty.visibleRange()).toEqual({ start: 0, end: 0 });
    empty.pageDown();
    empty.end();
    expect([empty.top, empty.selected]).toEqual([0, 0]);
    const short = windowOf(3, 10);
    short.end();
    expect([short.top, short.selected]).toEqual([0, 2]);
    expect(short.rowAtLine(2)).toBe(2);
    expect(short.rowAtLine(3)).toBeNull();
  });

  it("centres a jump target that is off screen, and leaves a visible one alone", () => {
    const w = windowOf(1000, 10);
    w.center(500);
    expect([w.top, w.selected]).toEqual([495, 500]);
    w.center(497);
    expect([w.top, w.selected]).toEqual([495, 497]);
  });

  it("wheel scrolling drags the selection along only when it would leave the screen", () => {
    const w = windowOf(100, 10);
    w.select(5);
    w.scrollBy(3);
    expect([w.top, w.selected]).toEqual([3, 5]);
    w.scrollBy(10);
    expect([w.top, w.selected]).toEqual([13, 13]);
    w.scrollBy(-10);
    expect([w.top, w.selected]).toEqual([3, 12]);
  });

  it("keeps the selection visible when the height shrinks or rows disappear", () => {
    const w = windowOf(100, 20);
    w.select(19);
    w.setHeight(5);
    expect(w.selected).toBeGreaterThanOrEqual(w.top);
    expect(w.selected).toBeLessThan(w.top + 5);
    w.setCount(10);
    expect(w.selected).toBe(9);
    expect(w.top).toBe(5);
  });

  it("always keeps 0 <= top <= selected < top + height and selected < count (property)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("move"), n: fc.integer({ min: -50, max: 50 }) }),
      fc.record({ kind: fc.constant("page"), n: fc.constantFrom(-1, 1) }),
      fc.record({ kind: fc.constant("count"), n: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant("height"), n: fc.integer({ min: 1, max: 60 }) }),
      fc.record({ kind: fc.constant("wheel"), n: fc.integer({ min: -20, max: 20 }) }),
      fc.record({ kind: fc.constant("center"), n: fc.integer({ min: 0, max: 300 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const w = windowOf(120, 10);
      for (const o of ops) {
        if (o.kind === "move") w.moveBy(o.n);
        else if (o.kind === "page") (o.n > 0 ? w.pageDown() : w.pageUp());
        else if (o.kind === "count") w.setCount(o.n);
        else if (o.kind === "height") w.setHeight(o.n);
        else if (o.kind === "wheel") w.scrollBy(o.n);
        else w.center(o.n);
        if (w.top < 0) return false;
        if (w.count > 0) {
          if (w.selected < w.top || w.selected >= w.top + w.height || w.selected >= w.count) return false;
          if (w.top > Math.max(0, w.count - w.height)) return false;
        }
      }
      return true;
    }), { numRuns: 500 });
  });
});
