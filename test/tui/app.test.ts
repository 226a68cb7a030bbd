import { PassThrough } from "node:stream";
import blessed from "blessed";
import { describe, expect, it } from "vitest";
import { keyFromBlessed, runTui } from "../../ui/tui/app.js";
import { DemoDataSource } from "../../ui/tui/demo-source.js";

describe("keyFromBlessed", () => {
  it("keeps the synthetic 'enter' and drops blessed's duplicate 'return'", () => {
    expect(keyFromBlessed("\r", { name: "return", ctrl: false, shift: false })).toBeNull();
    expect(keyFromBlessed("\r", { name: "enter", ctrl: false, shift: false })?.name).toBe("enter");
  });
  it("names printable keys by their character (shifted letters, symbols)", () => {
    expect(keyFromBlessed("G", { name: "g", shift: true, ctrl: false })).toEqual({ name: "G", ch: "G", ctrl: false, shift: true });
    expect(keyFromBlessed("/", { ctrl: false, shift: false })?.name).toBe("/");
    expect(keyFromBlessed("?", undefined)?.name).toBe("?");
  });
  it("keeps named keys and control combinations", () => {
    expect(keyFromBlessed(undefined, { name: "pagedown", ctrl: false, shift: false })?.name).toBe("pagedown");
    expect(keyFromBlessed(" ", { name: "space", ctrl: false, shift: false })).toEqual({ name: "space", ch: " ", ctrl: false, shift: false });
    expect(keyFromBlessed("\x03", { name: "c", ctrl: true, shift: false })).toEqual({ name: "c", ch: null, ctrl: true, shift: false });
    expect(keyFromBlessed(undefined, { name: "tab", shift: true, ctrl: false })).toMatchObject({ name: "tab", shift: true });
  });
});

/** A blessed screen on in-memory streams: what the program writes is collected. */
function fakeTerminal(columns: number, rows: number) {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  const output = Object.assign(new PassThrough(), { isTTY: true, columns, rows });
  let written = "";
  output.on("data", (chunk: Buffer) => { written += chunk.toString("utf8"); });
  const screen = blessed.screen({ input, output, terminal: "xterm-256color", warnings: false });
  return { input, screen, written: () => written };
}

const tick = (ms = 30) => new Promise((resolve) => setTimeout(resolve, ms));

describe("runTui on blessed (in-memory terminal)", () => {
  it("draws, takes keys through blessed, never writes a packet's escape sequence, and quits on q", async () => {
    const source = new DemoDataSource({ rows: 1000 });
    const term = fakeTerminal(200, 30);
    let finished = false;
    const running = runTui(source, { screen: term.screen, detailDelayMs: 0 }).then(() => { finished = true; });
    await tick();
    expect(term.written()).toContain("Client -> Server");
    // Down to the hostile row 7, then into its tree.
    term.input.write("jjjjjj");
    await tick();
    term.input.write("\t");
    await tick();
    const out = term.written();
    expect(out).toContain("\\x1b]0;pwned\\x07evil");
    expect(out).not.toContain("\x1b]0;pwned");
    expect(out).not.toContain("pwned\x07");
    expect(finished).toBe(false);
    term.input.write("q");
    await running;
    expect(finished).toBe(true);
    term.screen.destroy();
    source.stop();
  });

  it("Ctrl-C quits from inside the filter prompt", async () => {
    const source = new DemoDataSource({ rows: 10 });
    const term = fakeTerminal(100, 24);
    const running = runTui(source, { screen: term.screen, detailDelayMs: 0 });
    await tick();
    term.input.write("/pro");
    await tick();
    expect(term.written()).toContain("Filter:");
    term.input.write("\x03");
    await running;
    term.screen.destroy();
  });

  it("repaints when a live source grows", async () => {
    const source = new DemoDataSource({ rows: 5, live: true, liveIntervalMs: 1_000_000 });
    const term = fakeTerminal(120, 24);
    const running = runTui(source, { screen: term.screen, detailDelayMs: 0, dataRepaintMs: 5 });
    await tick();
    const before = term.written().length;
    expect(term.written()).not.toContain("0x5a00002a"); // the XID of exchange 6
    source.grow(6);
    await tick(50);
    // Exchange 6 is drawn, and selected since a live list follows its tail.
    const after = term.written().slice(before);
    expect(after).toContain("0x5a00002a");
    expect(after).toMatch(/\x1b\[7m>\s+6\s/);
    term.input.write("q");
    await running;
    term.screen.destroy();
    source.stop();
  });
});
