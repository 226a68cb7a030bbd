/**
 * ui/diff-columns.ts: the per-exchange numbers of `diff`, mostly in blocks of a
 * temporary file. Checked against plain arrays under random pushes, reads and
 * changes, with blocks and a tail budget small enough that nearly everything goes
 * through the file and the block cache.
 */
import { describe, expect, it } from "vitest";
import { ColumnStore, HASH_A, HASH_B, PROC, type Columns } from "../../ui/diff-columns.js";

/** A small deterministic generator (tests must not depend on Math.random). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
}

describe("ColumnStore", () => {
  for (const [blockEntries, tailBudgetBytes] of [[2, 64], [3, 0], [16, 1024], [1024, 8 * 1024 * 1024]] as const) {
    it(`reads back what was pushed and changed (blocks of ${blockEntries}, tail budget ${tailBudgetBytes})`, () => {
      const store = new ColumnStore({ blockEntries, tailBudgetBytes });
      const next = lcg(blockEntries * 7 + tailBudgetBytes);
      const columns: Columns[] = [];
      const model: number[][][] = [];
      try {
        for (let step = 0; step < 20_000; step++) {
          const r = next() % 100;
          if (columns.length === 0 || r < 3) {
            columns.push(store.columns());
            model.push([]);
            continue;
          }
          const k = next() % columns.length;
          const c = columns[k]!;
          const m = model[k]!;
          if (r < 55 || m.length === 0) {
            const entry = [next() | 0, next() | 0, next() | 0];
            c.push(entry[0]!, entry[1]!, entry[2]!);
            m.push(entry);
          } else {
            // Mostly the newest entries (replies come soon after their calls), sometimes any.
            const i = r < 80 ? m.length - 1 - (next() % Math.min(m.length, 8)) : next() % m.length;
            const field = [PROC, HASH_A, HASH_B][next() % 3]!;
            if (r < 70) {
              const v = next() | 0;
              c.set(i, field, v);
              m[i]![field] = v;
            } else {
              expect(c.get(i, field), `column ${k} entry ${i} field ${field} at step ${step}`).toBe(m[i]![field]);
            }
          }
        }
        for (let k = 0; k < columns.length; k++) {
          expect(columns[k]!.length).toBe(model[k]!.length);
          for (let i = 0; i < model[k]!.length; i++) {
            for (const field of [PROC, HASH_A, HASH_B]) expect(columns[k]!.get(i, field)).toBe(model[k]![i]![field]);
          }
        }
        if (blockEntries < 1024) expect(store.bytesWritten).toBeGreaterThan(50_000);
        else expect(store.bytesWritten).toBe(0);
        // What the tails hold stays within the budget, but for the tails just made or grown.
        expect(store.tailBytes).toBeLessThanOrEqual(Math.max(tailBudgetBytes, 0) + columns.length * 96 + blockEntries * 12);
      } finally {
        store.close();
      }
    });
  }

  it("a value changed in a block that is cached reads back changed", () => {
    const store = new ColumnStore({ blockEntries: 2, tailBudgetBytes: 1 << 20 });
    try {
      const c = store.columns();
      for (let i = 0; i < 10; i++) c.push(i, 100 + i, 200 + i);
      expect(c.get(1, HASH_A)).toBe(101); // block 0 read into the cache
      c.set(1, HASH_A, -5);
      expect(c.get(1, HASH_A)).toBe(-5);
      expect(c.get(0, PROC)).toBe(0);
      expect(c.get(9, HASH_B)).toBe(209);
    } finally {
      store.close();
    }
  });
});
