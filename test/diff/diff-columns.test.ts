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
        // What the tails hold beyond their first size stays within the budget, but for one growth.
        expect(store.grownBytes).toBeLessThanOrEqual(tailBudgetBytes + blockEntries * 12);
      } finally {
        store.close();
      }
    });
  }

  it("many quiet conversations do not make a busy one write them all out at each growth", () => {
    // 90,000 first tails of 96 bytes hold more than the 8 MB budget: only growth counts
    // against it, so the busy conversation writes its own full blocks and nothing else.
    const store = new ColumnStore();
    try {
      const quiet: Columns[] = [];
      for (let i = 0; i < 90_000; i++) {
        const c = store.columns();
        c.push(i, i, i);
        quiet.push(c);
      }
      const busy = store.columns();
      for (let i = 0; i < 20_000; i++) busy.push(1, i, -i);
      expect(store.bytesWritten).toBe(Math.floor(20_000 / 1024) * 1024 * 12);
      expect(busy.get(12_345, HASH_B)).toBe(-12_345);
      expect(quiet[89_999]!.get(0, HASH_A)).toBe(89_999);
    } finally {
      store.close();
    }
  });

  it("without a temporary file (TMPDIR missing), keeps the blocks in memory and says why once", () => {
    const saved = process.env["TMPDIR"];
    process.env["TMPDIR"] = "/nonexistent-rpcscope-tmp";
    const reasons: string[] = [];
    const store = new ColumnStore({ blockEntries: 4, onFallback: (r) => reasons.push(r) });
    try {
      const c = store.columns();
      for (let i = 0; i < 100; i++) c.push(i, 2 * i, 3 * i);
      c.set(5, HASH_A, -1);
      expect(c.get(5, HASH_A)).toBe(-1);
      for (let i = 0; i < 100; i++) if (i !== 5) expect(c.get(i, HASH_A)).toBe(2 * i);
      expect(c.get(99, HASH_B)).toBe(297);
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toContain("ENOENT");
      expect(store.bytesWritten).toBe(0);
    } finally {
      store.close();
      if (saved === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = saved;
    }
  });

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
