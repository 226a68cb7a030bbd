import { afterEach, describe, expect, it } from "vitest";
import { TuiController } from "../../ui/tui/controller.js";
import { DemoDataSource, HOSTILE_ROW_INDEX } from "../../ui/tui/demo-source.js";
import { key, type KeyPress } from "../../ui/tui/panel.js";
import { lineText, toSgr } from "../../ui/tui/styled-line.js";
import { ArraySource, rowsOf, settle } from "./fixtures.js";

const demos: DemoDataSource[] = [];
afterEach(() => { for (const d of demos.splice(0)) d.stop(); });

function demo(rows = 10_000): DemoDataSource {
  const d = new DemoDataSource({ rows });
  demos.push(d);
  return d;
}

function start(source = demo() as DemoDataSource | ArraySource, width = 120, height = 40): TuiController {
  const c = new TuiController(source, { detailDelayMs: 0 });
  c.resize(width, height);
  return c;
}

const screen = (c: TuiController): string[] => c.render().map(lineText);
const type = (c: TuiController, text: string): void => {
  for (const ch of text) c.handleKey(ch === " " ? key("space", { ch: " " }) : key(ch));
};
const press = (c: TuiController, ...keys: (string | KeyPress)[]): void => {
  for (const k of keys) c.handleKey(typeof k === "string" ? key(k) : k);
};

describe("TuiController layout", () => {
  it("renders exactly the terminal size with list, detail, bytes and status", async () => {
    const c = start();
    await settle();
    const lines = screen(c);
    expect(lines.length).toBe(40);
    expect(lines.every((l) => l.length === 120)).toBe(true);
    expect(lines[0]).toMatch(/No\.\s+Time\s+Client -> Server/);
    expect(lines.some((l) => l.startsWith(" Detail: #1 "))).toBe(true);
    expect(lines.some((l) => l.trim() === "Bytes")).toBe(true);
    expect(lines[39]).toContain("10,000 exchanges");
  });

  it("re-lays out on resize, dropping panes that no longer fit", () => {
    const c = start();
    c.resize(80, 10);
    const lines = screen(c);
    expect(lines.length).toBe(10);
    expect(lines.every((l) => l.length === 80)).toBe(true);
    expect(lines.some((l) => l.trim() === "Bytes")).toBe(false);
    c.resize(10, 2);
    expect(screen(c)[0]).toContain("terminal");
  });
});

describe("TuiController keys", () => {
  it("q and Ctrl-C quit; unknown keys are not handled", () => {
    const c = start();
    expect(c.handleKey(key("q"))).toBe("quit");
    expect(c.handleKey(key("c", { ctrl: true, ch: null }))).toBe("quit");
    expect(c.handleKey(key("F"))).toBe("not-handled");
  });

  it("Tab cycles the focus through the panes, Enter in the list goes to the tree", () => {
    const c = start();
    expect(c.focus).toBe("list");
    press(c, "tab");
    expect(c.focus).toBe("tree");
    press(c, "tab");
    expect(c.focus).toBe("bytes");
    press(c, "tab");
    expect(c.focus).toBe("list");
    press(c, key("tab", { shift: true }));
    expect(c.focus).toBe("bytes");
    press(c, "tab", "enter");
    expect(c.focus).toBe("tree");
  });

  it("loads the detail of the selected row, and highlights the bytes of the tree node", async () => {
    const source = demo();
    const c = start(source);
    await settle();
    press(c, "j");
    await settle();
    let lines = screen(c);
    expect(lines.find((l) => l.startsWith(" Detail:"))).toContain("#2 NFS v3 LOOKUP");
    press(c, "tab", "j"); // tree: the XID line of the call
    lines = screen(c);
    expect(lines.find((l) => l.includes("XID: 0x5a00000e ("))).toMatch(/^>\s+XID/);
    const frame = c.render();
    const lit = frame.flatMap((line) => line.filter((s) => s.style.bg === "cyan").map((s) => s.text));
    expect(lit).toEqual(["5a 00 00 0e", "Z..."]);
  });

  it("expands a tree node with Right and collapses it with Left", async () => {
    const c = start();
    await settle();
    press(c, "tab");
    for (let i = 0; i < 7; i++) press(c, "j");
    expect(screen(c).join("\n")).toContain("+ Credentials: AUTH_UNIX");
    press(c, "right");
    expect(screen(c).join("\n")).toContain("- Credentials: AUTH_UNIX");
    press(c, "j", "j", "j", "j"); // Flavor, Length, Stamp, Machine Name: scrolls the pane
    expect(screen(c).join("\n")).toContain("Machine Name: client-192.168.1.11");
    press(c, "left"); // on a leaf: to the parent
    expect(c.tree.cursorLine?.node.label).toBe("Credentials: AUTH_UNIX");
    press(c, "left");
    expect(screen(c).join("\n")).not.toContain("Machine Name");
  });

  it("ignores a detail that arrives too late for the screen, but caches it", async () => {
    const source = new ArraySource(rowsOf(10));
    const resolvers = new Map<number, () => void>();
    source.detailImpl = (index) => new Promise((resolve) => {
      resolvers.set(index, () => resolve({ tree: [{ label: `tree of ${index}`, children: [] }], bytes: [] }));
    });
    const c = start(source);
    press(c, "j"); // row 2 requested, row 1 still pending
    resolvers.get(1)?.(); // late answer for row 1
    await settle();
    expect(screen(c).join("\n")).not.toContain("tree of 1");
    resolvers.get(2)?.();
    await settle();
    expect(screen(c).join("\n")).toContain("tree of 2");
    press(c, "k");
    // The late answer for row 1 was not shown but was kept: going back costs no read.
    expect(screen(c).join("\n")).toContain("tree of 1");
    expect(source.detailCalls).toEqual([1, 2]);
  });

  it("shows an error when the detail cannot be read", async () => {
    const source = new ArraySource(rowsOf(3));
    source.detailImpl = async () => { throw new Error("capture file vanished"); };
    const c = start(source);
    await settle();
    expect(screen(c).join("\n")).toContain("could not read this exchange: capture file vanished");
  });

  it("n/N jump to the next/previous error and say so when there is none", () => {
    const rows = rowsOf(50, (i) => ({ isError: i === 10 || i === 30, status: i === 10 || i === 30 ? "NFS3ERR_IO" : "NFS3_OK" }));
    const c = start(new ArraySource(rows));
    press(c, "n");
    expect(c.list.selectedRow()?.index).toBe(10);
    press(c, "n");
    expect(c.list.selectedRow()?.index).toBe(30);
    press(c, "n");
    expect(c.list.selectedRow()?.index).toBe(30);
    expect(screen(c)[39]).toContain("no later error");
    press(c, "N");
    expect(c.list.selectedRow()?.index).toBe(10);
    expect(screen(c)[39]).not.toContain("no later error");
  });

  it("c restricts the view to the selected conversation, and again clears it", () => {
    const rows = rowsOf(30, (i) => ({ client: `10.0.0.${i % 3}:700` }));
    const source = new ArraySource(rows);
    const c = start(source);
    press(c, "j", "j", "j"); // exchange 4, client 10.0.0.1
    press(c, "c");
    expect(source.conversationCalls).toEqual([4]);
    expect(c.conversation).toBe("10.0.0.1:700 <-> 192.168.1.2:2049 tcp");
    expect(c.list.listWindow.count).toBe(10);
    expect(c.list.selectedRow()?.index).toBe(4);
    expect(screen(c)[39]).toContain("10 of 30 shown");
    press(c, "c");
    expect(source.conversationCalls).toEqual([4, null]);
    expect(c.list.listWindow.count).toBe(30);
    expect(c.list.selectedRow()?.index).toBe(4);
  });
});

describe("TuiController filter prompt", () => {
  it("applies a filter, keeps the selection near, and shows it in the status line", () => {
    const rows = rowsOf(20, (i) => ({ procedure: i % 2 === 0 ? "READ" : "WRITE" }));
    const source = new ArraySource(rows);
    const c = start(source);
    press(c, "j", "j", "j"); // exchange 4 (READ)
    press(c, "/");
    expect(c.promptOpen).toBe(true);
    type(c, "READ");
    expect(screen(c)[37]).toMatch(/^Filter: READ/);
    press(c, "enter");
    expect(c.promptOpen).toBe(false);
    expect(source.filterCalls).toEqual(["READ"]);
    expect(c.list.selectedRow()?.index).toBe(4);
    expect(screen(c)[39]).toContain("filter: READ");
    expect(screen(c)[39]).toContain("10 of 20 shown");
  });

  it("a bad expression keeps the prompt open with a caret under the error column", () => {
    const source = new ArraySource(rowsOf(5));
    const c = start(source);
    press(c, "/");
    type(c, "READ ! x");
    press(c, "enter");
    expect(c.promptOpen).toBe(true);
    const lines = screen(c);
    expect(lines[37]).toMatch(/^Filter: READ ! x/);
    const caretLine = lines[38] ?? "";
    expect(caretLine.indexOf("^")).toBe("Filter: ".length + 5);
    expect(caretLine).toContain("unexpected '!'");
    // Typing fixes it; Enter applies it.
    press(c, "end", "backspace", "backspace", "backspace", "backspace");
    press(c, "enter");
    expect(c.promptOpen).toBe(false);
    expect(c.filter).toBe("READ");
  });

  it("keys typed in the prompt do not act on the list (q, j, s)", () => {
    const c = start(new ArraySource(rowsOf(5)));
    press(c, "/");
    expect(c.handleKey(key("q"))).toBe("handled");
    type(c, "js");
    expect(c.prompt.text).toBe("qjs");
    expect(c.overlay).toBeNull();
    expect(c.list.selectedPosition).toBe(0);
    press(c, "escape");
    expect(c.promptOpen).toBe(false);
    expect(c.filter).toBeNull();
  });

  it("an empty expression clears the filter; Up recalls the last one", () => {
    const source = new ArraySource(rowsOf(5));
    const c = start(source);
    press(c, "/");
    type(c, "LOOK");
    press(c, "enter", "/");
    press(c, key("u", { ctrl: true, ch: null }));
    press(c, "enter");
    expect(source.filterCalls).toEqual(["LOOK", null]);
    expect(c.filter).toBeNull();
    press(c, "/", "up");
    expect(c.prompt.text).toBe("LOOK");
  });
});

describe("TuiController overlays", () => {
  it("s opens statistics, q closes it without quitting", () => {
    const source = new ArraySource(rowsOf(5));
    source.stats = ["Programs", "NFS v3   5 calls", "evil \x1b]0;pwned\x07"];
    const c = start(source);
    press(c, "s");
    expect(c.overlay).toBe("stats");
    const lines = screen(c);
    expect(lines[0]).toContain("Statistics");
    expect(lines[2]).toBe("NFS v3   5 calls".padEnd(120));
    expect(lines[3]).toContain("evil \\x1b]0;pwned\\x07");
    expect(c.handleKey(key("j"))).toBe("handled");
    expect(c.list.selectedPosition).toBe(0);
    expect(c.handleKey(key("q"))).toBe("handled");
    expect(c.overlay).toBeNull();
  });

  it("? opens help; Esc closes it", () => {
    const c = start(new ArraySource(rowsOf(5)));
    press(c, "?");
    expect(screen(c).join("\n")).toContain("next / previous error");
    press(c, "escape");
    expect(c.overlay).toBeNull();
  });
});

describe("TuiController mouse", () => {
  it("a click selects a row and focuses its pane; the wheel scrolls", () => {
    const c = start(new ArraySource(rowsOf(100)));
    expect(c.handleMouse({ kind: "click", x: 5, y: 4 })).toBe("handled");
    expect(c.list.selectedPosition).toBe(3);
    c.handleMouse({ kind: "click", x: 5, y: 25 });
    expect(c.focus).toBe("tree");
    c.handleMouse({ kind: "wheel", x: 5, y: 3, delta: 3 });
    expect(c.list.listWindow.top).toBe(3);
  });
});

describe("terminal safety of the whole frame", () => {
  it("the hostile row reaches the terminal only as visible escapes", async () => {
    const source = demo();
    const c = start(source, 200, 40);
    for (let i = 1; i < HOSTILE_ROW_INDEX; i++) press(c, "j");
    await settle();
    press(c, "tab");
    for (let i = 0; i < 11; i++) press(c, "j"); // the Name line of the call
    const out = c.render().map(toSgr).join("\n");
    // Remove our own SGR attributes: nothing else may act on the terminal.
    const bare = out.replace(/\x1b\[[0-9;]*m/g, "");
    expect(bare.replace(/\n/g, "")).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    expect(bare).toContain("\\x1b]0;pwned\\x07evil\\x1b[2J.txt");
    expect(bare).toContain("Name: \\x1b]0;pwned\\x07evil\\x1b[2J.txt");
  });
});
