/**
 * ui/paged-rows: rows in pages that are added, never copied; each number of each
 * row is its own, across page boundaries; page sizes must be powers of two.
 */
import { describe, expect, it } from "vitest";
import { PagedRows } from "../../ui/paged-rows.js";

describe("PagedRows", () => {
  it("adds a page when a row needs one, and keeps the pages it has (nothing copied)", () => {
    const rows = new PagedRows((n) => new Float64Array(n), 3, 8);
    expect(rows.capacity).toBe(0);
    rows.reserve(0);
    expect(rows.capacity).toBe(8);
    rows.set(7, 2, 1.5);
    rows.reserve(7);
    expect(rows.capacity).toBe(8);
    rows.reserve(8);
    expect(rows.capacity).toBe(16);
    // The first page is the same array: what was written before the growth is there.
    expect(rows.get(7, 2)).toBe(1.5);
    rows.reserve(40);
    expect(rows.capacity).toBe(48);
  });

  it("keeps each number of each row apart, across page boundaries", () => {
    const rows = new PagedRows((n) => new Uint32Array(n), 5, 16);
    const count = 1000;
    for (let r = 0; r < count; r++) {
      rows.reserve(r);
      for (let c = 0; c < 5; c++) rows.set(r, c, r * 5 + c);
    }
    for (let r = 0; r < count; r++) for (let c = 0; c < 5; c++) expect(rows.get(r, c)).toBe(r * 5 + c);
    // A Uint32Array page keeps the whole 32-bit range.
    rows.set(999, 4, 0xffff_ffff);
    expect(rows.get(999, 4)).toBe(0xffff_ffff);
    expect(rows.get(999, 3)).toBe(999 * 5 + 3);
  });

  it("refuses a page size that is not a power of two", () => {
    for (const bad of [0, 3, 1000, 1.5, -8, 2 ** 25]) expect(() => new PagedRows((n) => new Uint8Array(n), 1, bad)).toThrow(RangeError);
    expect(new PagedRows((n) => new Uint8Array(n), 1, 1).capacity).toBe(0);
  });
});
