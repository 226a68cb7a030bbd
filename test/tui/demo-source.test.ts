import { describe, expect, it } from "vitest";
import type { TreeNode } from "../../ui/tui/data-source.js";
import { DemoDataSource, compileDemoFilter, demoDetail, demoRow } from "../../ui/tui/demo-source.js";

describe("demo source (the fake the demo and tests run on)", () => {
  it("its filter reports the column of an error", () => {
    expect(compileDemoFilter("proc == READ && bogus == 1")).toMatchObject({ ok: false, column: 16 });
    expect(compileDemoFilter("proc")).toMatchObject({ ok: false, column: 4 });
    expect(compileDemoFilter("rtt > fast")).toMatchObject({ ok: false, column: 6, message: "expected a number" });
    expect(compileDemoFilter("error xid")).toMatchObject({ ok: false, column: 6 });
    expect(compileDemoFilter("prog == NFS && rtt > 100ms").ok).toBe(true);
  });

  it("filters, restricts to a conversation, and finds positions by exchange index", () => {
    const s = new DemoDataSource({ rows: 5000 });
    expect(s.setFilter("proc == READ")).toEqual({ ok: true });
    const n = s.rowCount();
    expect(n).toBeGreaterThan(0);
    for (let p = 0; p < n; p += 97) expect(s.row(p).procedure).toBe("READ");
    const third = s.row(2).index;
    expect(s.positionOf(third)).toBe(2);
    expect(s.positionOf(third - 1)).toBe(2); // lower bound
    expect(s.setFilter("nope ==")).toMatchObject({ ok: false });
    expect(s.rowCount()).toBe(n); // a bad filter leaves the view alone
    s.setFilter(null);
    s.setConversation(1);
    const client = demoRow(1).client;
    for (let p = 0; p < s.rowCount(); p += 13) expect(s.row(p).client).toBe(client);
    const next = s.nextError(0, 1);
    expect(next === null || s.row(next).isError).toBe(true);
  });

  it("every tree range lies inside its record", () => {
    for (let index = 1; index <= 700; index++) {
      const row = demoRow(index);
      const detail = demoDetail(row);
      const sizes = new Map(detail.bytes.map((b) => [b.message, b.bytes.length]));
      const stack: TreeNode[] = [...detail.tree];
      while (stack.length > 0) {
        const node = stack.pop() as TreeNode;
        if (node.range) {
          const size = sizes.get(node.range.message);
          expect(size, `${index}: ${node.label}`).toBeDefined();
          expect(node.range.offset + node.range.length).toBeLessThanOrEqual(size ?? 0);
        }
        stack.push(...node.children);
      }
    }
  });

  it("grows in live mode and tells its listeners", () => {
    const s = new DemoDataSource({ rows: 3, live: true, liveIntervalMs: 1_000_000 });
    let calls = 0;
    const off = s.onChange(() => calls++);
    s.grow(5);
    expect([s.rowCount(), calls]).toEqual([5, 1]);
    off();
    s.grow(6);
    expect(calls).toBe(1);
    expect(s.progress().fraction).toBeNull();
    s.stop();
  });
});
