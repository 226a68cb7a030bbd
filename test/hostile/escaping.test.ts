/**
 * A packet must never drive the terminal. samples/hostile/hostile-strings.pcap puts
 * OSC titles, clear-screen and cursor sequences, bells, backspaces, DEL, C1 controls,
 * bidi overrides and invalid UTF-8 into an AUTH_SYS machinename, a demo-service
 * string argument and result, and an NFS file name. Checked on the raw bytes the
 * CLI writes (text, -V, --json, stats) and on the TUI's rows and detail tree.
 */
import { join } from "node:path";
import { Readable } from "node:stream";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { CaptureIndex } from "../../ui/capture-index.js";
import { namesFor } from "../../ui/names.js";
import type { TreeNode } from "../../ui/tui/data-source.js";
import { formatRow, layoutColumns } from "../../ui/tui/exchange-columns.js";
import { lineText, toSgr } from "../../ui/tui/styled-line.js";
import { escapeForTerminal, isTerminalSafe } from "../../ui/tui/terminal-text.js";
import { escapeForTerminal as escapeText, jsonSafeStringify } from "../../ui/text-safety.js";
import { DEMO_SPEC, fuzzRegistry } from "../fuzz/harness.js";
import { HOSTILE, runCli, terminalControlIn } from "./cli-run.js";

const FILE = join(HOSTILE, "hostile-strings.pcap");
const SPEC = ["--spec", DEMO_SPEC];

describe("hostile strings never reach the terminal raw", () => {
  for (const [what, args] of [
    ["summary", ["summary", ...SPEC, FILE]],
    ["summary -V", ["summary", "-V", ...SPEC, FILE]],
    ["summary --json -V", ["summary", "--json", "-V", ...SPEC, FILE]],
    ["summary --json", ["summary", "--json", ...SPEC, FILE]],
    ["stats", ["stats", ...SPEC, FILE]],
    ["stats --json", ["stats", "--json", ...SPEC, FILE]],
  ] as const) {
    it(`${what}: stdout holds no ESC, BEL, BS, DEL, C1 control, and is valid UTF-8`, () => {
      const r = runCli(args);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout.length).toBeGreaterThan(0);
      expect(terminalControlIn(r.stdout)).toBeNull();
      for (const b of [0x1b, 0x07, 0x08, 0x7f]) expect(r.stdout.includes(b)).toBe(false);
    });
  }

  it("-V text shows the strings escaped, not dropped", () => {
    const out = runCli(["summary", "-V", ...SPEC, FILE]).stdout.toString("utf8");
    expect(out).toContain(String.raw`args: name_t = "\x1b[2J\x1b]0;t\x07\x08`);
    expect(out).toContain(String.raw`res: string<> = "hi \x1b[31mred\x1b[0m\u{85}\u{202e}!"`);
    expect(out).toContain(String.raw`name: filename3 = "\x1b]2;hacked\x07\x1b[H\x08\x08\x7fgnp.\u{202e}exe"`);
  });

  it("--json carries the same escapes inside the JSON strings", () => {
    const lines = runCli(["summary", "--json", "-V", ...SPEC, FILE]).stdout.toString("utf8").trim().split("\n");
    const objects = lines.map((l) => JSON.parse(l) as { xid: number; kind: string; args?: unknown; res?: unknown });
    const greet = objects.find((o) => o.xid === 0x800 && o.kind === "call");
    expect(greet?.args).toBe("\\x1b[2J\\x1b]0;t\\x07\\x08\ufffd");
    const greetReply = objects.find((o) => o.xid === 0x800 && o.kind === "reply");
    expect(greetReply?.res).toBe("hi \\x1b[31mred\\x1b[0m\\u{85}\\u{202e}!");
  });

  it("TUI: rows and the detail tree (with the machinename) come out of escapeForTerminal free of controls", async () => {
    const registry = await fuzzRegistry();
    const index = new CaptureIndex({ title: "hostile", live: false, registry, names: namesFor(registry), limits: DEFAULT_LIMITS });
    try {
      await analyzeCapture(
        { kind: "stream", stream: Readable.from([readFileSync(FILE)]), name: "hostile" },
        { limits: DEFAULT_LIMITS, registry, ...index.decodeOptions() },
        index.handlers(),
      );
      index.finished();
      expect(index.rowCount()).toBe(3);
      const layout = layoutColumns(200);
      let rawHostileRow = false;
      for (let p = 0; p < index.rowCount(); p++) {
        const row = index.row(p);
        for (const v of Object.values(row)) {
          if (typeof v === "string" && /[\u0000-\u001f\u007f-\u009f]/.test(v)) rawHostileRow = true;
        }
        const line = formatRow(row, layout, null);
        expect(isTerminalSafe(lineText(line))).toBe(true);
        // The only escape sequences in what is drawn are the UI's own SGR attributes.
        expect(/[\u0000-\u001f\u007f-\u009f]/.test(toSgr(line).replace(/\x1b\[[0-9;]*m/g, ""))).toBe(false);
      }
      // The test means something: a row carries the raw file name before escaping.
      expect(rawHostileRow).toBe(true);

      const labels: string[] = [];
      for (let p = 0; p < index.rowCount(); p++) {
        const detail = await index.detail(index.row(p).index);
        const stack: TreeNode[] = [...detail.tree];
        while (stack.length) {
          const n = stack.pop()!;
          labels.push(n.label);
          stack.push(...n.children);
        }
      }
      const machine = labels.filter((l) => l.startsWith("Machine name: "));
      expect(machine.length).toBeGreaterThan(0);
      expect(machine[0]).toContain("\x1b]0;pwned\x07");
      for (const label of labels) {
        const shown = escapeForTerminal(label);
        expect(isTerminalSafe(shown), JSON.stringify(shown)).toBe(true);
      }
      expect(escapeForTerminal(machine[0]!)).toContain(String.raw`\x1b]0;pwned\x07\x1b[2J\x08\x08evil`);
    } finally {
      index.close();
    }
  });

  it("escapeForTerminal (TUI) and the text/JSON escapes are safe for any string (property)", () => {
    const count = 2_000;
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 64 }), (s) => {
        const tui = escapeForTerminal(s);
        expect(isTerminalSafe(tui)).toBe(true);
        expect(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(escapeText(s))).toBe(false);
        expect(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(jsonSafeStringify({ s }))).toBe(false);
      }),
      { seed: 0x5afe, numRuns: count },
    );
    console.log(`[fuzz] terminal escaping property: ${count} inputs`);
  });
});
