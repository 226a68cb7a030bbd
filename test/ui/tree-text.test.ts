/**
 * writeTreeLines (the `summary -V` tree written piece by piece) must give the bytes
 * of treeLines (the string form) for every decoded body of every sample, the hostile
 * ones with control characters and malformed fields included, for hand-made values
 * with the corners of describeValue, and for lines longer than the output buffer.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { Malformed } from "../../dissect/malformed.js";
import { detachDecoded, type DecodedField, type DecodedValue } from "../../dissect/xdr-types.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { treeLines } from "../../ui/body-format.js";
import { LineWriter } from "../../ui/line-writer.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { writeTreeLines } from "../../ui/tree-text.js";
import { bodySampleCaptures, DEMO_SPEC, ROOT } from "../sample-files.js";

const dir = mkdtempSync(join(tmpdir(), "rpcscope-tree-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** What writeTreeLines writes for these fields through a LineWriter of `size` bytes. */
function written(roots: readonly DecodedField[], size: number): string {
  const path = join(dir, `out-${files++}.txt`);
  const fd = openSync(path, "w");
  const out = new LineWriter(fd, size);
  for (const root of roots) writeTreeLines(out, root, "          ");
  out.flush();
  closeSync(fd);
  return readFileSync(path, "utf8");
}

const expected = (roots: readonly DecodedField[]): string => roots.map((r) => treeLines(r, "          ").map((l) => `${l}\n`).join("")).join("");

const field = (name: string, value: DecodedValue, offset = 0, length = 0): DecodedField => ({ name, typeName: `${name}_t`, offset, length, value });
const text = (s: string): DecodedValue => ({ kind: "string", bytes: new TextEncoder().encode(s), text: s });

describe("writeTreeLines gives treeLines' bytes", () => {
  const captures = bodySampleCaptures();
  for (const file of captures) {
    it(`every body of ${file.slice(ROOT.length + 1)}`, async () => {
      const registry = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map() });
      const roots: DecodedField[] = [];
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
        message(m) {
          // Copied: the record's bytes are reused once the message is handled.
          if (m.args) roots.push(detachDecoded(m.args));
          if (m.res) roots.push(detachDecoded(m.res));
        },
      });
      expect(written(roots, 1 << 20)).toBe(expected(roots));
      if (!file.includes("libvirt")) expect(roots.length).toBeGreaterThan(0);
    });
  }

  it("the corners of describeValue, and lines longer than the output buffer", () => {
    const int = (n: number): DecodedValue => ({ kind: "int", value: n });
    const values: DecodedValue[] = [
      int(-2147483648), int(4294967295), { kind: "float", value: NaN }, { kind: "float", value: -0 }, { kind: "float", value: 1.5e-7 },
      { kind: "float", value: 1e21 }, { kind: "hyper", value: -(2n ** 63n) }, { kind: "hyper", value: 2n ** 64n - 1n },
      { kind: "bool", value: false, raw: 0 }, { kind: "bool", value: true, raw: 1 }, { kind: "bool", value: true, raw: 7 },
      { kind: "enum", value: -3, name: null }, { kind: "enum", value: 2, name: "NFS3ERR\u001b[31m" },
      text(""), text("quote \" backslash \\ \u009b[2J bidi \u202e emoji 😀 lone \ud800"),
      { kind: "opaque", bytes: new Uint8Array(0) }, { kind: "opaque", bytes: Uint8Array.of(0, 1, 0xff) },
      { kind: "opaque", bytes: new TextEncoder().encode("mostly text, long enough to be cut after forty-eight bytes of it") },
      { kind: "opaque", bytes: Uint8Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? 1 : 0x41 + i)) },
      // Two thirds printable: not shown as text (three quarters are needed).
      { kind: "opaque", bytes: Uint8Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 1 : 0x41 + i)) },
      { kind: "void" }, { kind: "optional", value: null }, { kind: "optional", value: field("*", int(5)) },
      { kind: "array", count: 1, elements: [field("[0]", int(1))] }, { kind: "array", count: 0, elements: [] },
      { kind: "union", disc: field("type", { kind: "enum", value: 1, name: "ONE" }), arm: field("one", text("x")) },
      { kind: "union", disc: field("flag", { kind: "bool", value: true, raw: 2 }), arm: null },
      { kind: "struct", fields: [field("a", int(1), 4, 4), field("b\u0007", text("y"), 8, 8)] },
      { kind: "malformed", error: new Malformed("short", 12, ["a", 3], "needs 4 bytes \u001b]0;title\u0007") },
      text("x".repeat(3000)),
    ];
    const roots = values.map((v, i) => field(`f${i}`, v, i * 4, 4));
    expect(written(roots, 1 << 20)).toBe(expected(roots));
    // 300 bytes: the 3000-character string's line and others go the string way.
    expect(written(roots, 300)).toBe(expected(roots));
  });
});
