import { describe, expect, it } from "vitest";
import type { ByteRange, TreeNode } from "../../ui/tui/data-source.js";
import { DetailTreePanel } from "../../ui/tui/detail-tree.js";
import { key } from "../../ui/tui/panel.js";
import { lineText } from "../../ui/tui/styled-line.js";
import { EXPAND_ALL_LIMIT, ExpansionMemory, TreeModel } from "../../ui/tui/tree-model.js";

const n = (label: string, children: TreeNode[] = [], extra: Partial<TreeNode> = {}): TreeNode => ({ label, children, ...extra });

const TREE: TreeNode[] = [
  n("RPC call", [n("XID"), n("Credentials", [n("Flavor"), n("UID")], { key: "rpc.cred" }), n("Verifier", [n("Flavor")])], { key: "rpc.call" }),
  n("NFS call", [n("Name")], { key: "nfs.call" }),
  n("RPC reply", [n("Status")], { key: "rpc.reply" }),
];

const labels = (m: TreeModel): string[] => m.lines.map((l) => "  ".repeat(l.depth) + l.node.label);

describe("TreeModel", () => {
  it("opens the top level by default and flattens in order", () => {
    const m = new TreeModel(TREE, new ExpansionMemory());
    expect(labels(m)).toEqual([
      "RPC call", "  XID", "  Credentials", "  Verifier", "NFS call", "  Name", "RPC reply", "  Status",
    ]);
    expect(m.line(2)?.expandable).toBe(true);
    expect(m.line(2)?.expanded).toBe(false);
    expect(m.line(2)?.parent).toBe(0);
  });

  it("expands and collapses in place", () => {
    const m = new TreeModel(TREE, new ExpansionMemory());
    m.expand(2);
    expect(labels(m).slice(2, 5)).toEqual(["  Credentials", "    Flavor", "    UID"]);
    m.collapse(0);
    expect(labels(m)).toEqual(["RPC call", "NFS call", "  Name", "RPC reply", "  Status"]);
    m.toggle(0);
    expect(labels(m)).toContain("    UID"); // the inner node stayed open
    m.toggle(1); // a leaf (XID): nothing happens
    expect(m.lines.length).toBe(10);
  });

  it("remembers what was opened for the next exchange (by key path)", () => {
    const memory = new ExpansionMemory();
    const first = new TreeModel(TREE, memory);
    first.expand(2); // Credentials
    first.collapse(first.lines.findIndex((l) => l.node.label === "RPC reply"));
    const next = new TreeModel(TREE.map((t) => ({ ...t })), memory);
    expect(labels(next)).toContain("    UID");
    expect(labels(next)).not.toContain("  Status");
  });

  it("expand-all opens a whole subtree", () => {
    const m = new TreeModel(TREE, new ExpansionMemory());
    m.collapse(0);
    m.expandAll(0);
    expect(labels(m).slice(0, 8)).toEqual(["RPC call", "  XID", "  Credentials", "    Flavor", "    UID", "  Verifier", "    Flavor", "NFS call"]);
  });

  it("flattens a tree 100,000 deep without recursion (no stack overflow)", () => {
    let node = n("leaf");
    for (let i = 0; i < 100_000; i++) node = n(`level ${i}`, [node]);
    const m = new TreeModel([node], new ExpansionMemory(), Number.POSITIVE_INFINITY);
    expect(m.lines.length).toBe(100_001);
    expect(m.line(100_000)?.depth).toBe(100_000);
  });

  it("bounds expand-all on a huge body", () => {
    const wide = n("array", Array.from({ length: EXPAND_ALL_LIMIT + 10 }, (_, i) => n(`e${i}`, [n("x")])));
    const m = new TreeModel([wide], new ExpansionMemory(200_000));
    m.expandAll(0);
    const opened = m.lines.filter((l) => l.expanded).length;
    expect(opened).toBe(EXPAND_ALL_LIMIT);
  });
});

describe("DetailTreePanel", () => {
  function panel(): { p: DetailTreePanel; ranges: (ByteRange | null)[] } {
    const p = new DetailTreePanel();
    const ranges: (ByteRange | null)[] = [];
    p.onHighlight = (r) => ranges.push(r);
    p.resize(60, 12);
    const tree: TreeNode[] = [
      n("RPC call", [
        n("XID: 0x1", [], { range: { message: "call", offset: 0, length: 4 } }),
        n("Credentials", [n("UID: 0", [], { range: { message: "call", offset: 40, length: 4 } })], { range: { message: "call", offset: 24, length: 32 } }),
      ], { range: { message: "call", offset: 0, length: 60 } }),
      n("RPC reply", [n("Status: NFS3ERR_NOENT", [], { isError: true, range: { message: "reply", offset: 24, length: 4 } })]),
    ];
    p.setState({ kind: "tree", title: "#1 NFS v3 LOOKUP", detail: { tree, bytes: [] } });
    return { p, ranges };
  }
  const text = (p: DetailTreePanel): string[] => p.draw(true).map(lineText).map((l) => l.trimEnd());
  const shown = (p: DetailTreePanel): string => text(p).join("\n");

  it("draws a title, markers for open/closed nodes and a cursor", () => {
    const { p } = panel();
    expect(text(p).slice(0, 6)).toEqual([
      " Detail: #1 NFS v3 LOOKUP", ">- RPC call", "     XID: 0x1", "   + Credentials", " - RPC reply", "     Status: NFS3ERR_NOENT",
    ]);
    expect(p.draw(true).every((l) => lineText(l).length === 60)).toBe(true);
  });

  it("Enter/Space toggle, Right opens then descends, Left closes then ascends", () => {
    const { p } = panel();
    p.handleKey(key("down"));
    p.handleKey(key("down"));
    expect(p.cursorLine?.node.label).toBe("Credentials");
    p.handleKey(key("right"));
    expect(shown(p)).toContain("       UID: 0");
    p.handleKey(key("right"));
    expect(p.cursorLine?.node.label).toBe("UID: 0");
    p.handleKey(key("left"));
    expect(p.cursorLine?.node.label).toBe("Credentials");
    p.handleKey(key("left"));
    expect(shown(p)).not.toContain("UID: 0");
    p.handleKey(key("enter"));
    expect(shown(p)).toContain("       UID: 0");
    p.handleKey(key("space"));
    expect(shown(p)).not.toContain("UID: 0");
    expect(p.handleKey(key("x"))).toBe("not-handled");
  });

  it("reports the byte range of the node under the cursor", () => {
    const { p, ranges } = panel();
    expect(ranges.at(-1)).toEqual({ message: "call", offset: 0, length: 60 });
    p.handleKey(key("j"));
    expect(ranges.at(-1)).toEqual({ message: "call", offset: 0, length: 4 });
    p.handleKey(key("G"));
    expect(ranges.at(-1)).toEqual({ message: "reply", offset: 24, length: 4 });
  });

  it("marks error nodes in the error colour", () => {
    const { p } = panel();
    const line = p.draw(true).find((l) => lineText(l).includes("NFS3ERR_NOENT"));
    expect(line?.some((s) => s.text.includes("NFS3ERR_NOENT") && s.style.fg === "red")).toBe(true);
  });

  it("a click on the +/- mark toggles, a click elsewhere selects", () => {
    const { p } = panel();
    expect(p.handleClick(10, 3)).toBe("handled"); // the Credentials line, on its label
    expect(p.cursorLine?.node.label).toBe("Credentials");
    expect(shown(p)).not.toContain("UID: 0");
    p.handleClick(3, 3); // on the mark
    expect(shown(p)).toContain("       UID: 0");
  });

  it("escapes labels from packets", () => {
    const p = new DetailTreePanel();
    p.resize(80, 5);
    p.setState({ kind: "tree", title: "\x1b[2J", detail: { tree: [n("Name: \x1b]0;pwned\x07")], bytes: [] } });
    const all = p.draw(true).map(lineText).join("\n");
    expect(all).toContain("Name: \\x1b]0;pwned\\x07");
    expect(all).toContain("\\x1b[2J");
    expect(all.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f]/);
  });

  it("shows loading and error states", () => {
    const p = new DetailTreePanel();
    p.resize(60, 4);
    p.setState({ kind: "loading", title: "#9" });
    expect(text(p)[1]).toContain("loading");
    p.setState({ kind: "error", title: "#9", message: "EIO\x1b[2J" });
    expect(text(p)[1]).toContain("could not read this exchange: EIO\\x1b[2J");
    expect(p.handleKey(key("j"))).toBe("not-handled");
  });
});
