/**
 * writeBodyJson (the -V JSON fast path) must write exactly what the object form
 * writes, jsonSafeStringify(toJsonValue(value)), on every decoded body of every
 * sample (the hostile ones with control characters in strings too) and on
 * hand-made values for the corners JSON.stringify has (NaN, -0, escapes).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { Malformed } from "../../dissect/malformed.js";
import type { DecodedField, DecodedValue } from "../../dissect/xdr-types.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { bodyJsonText } from "../../ui/body-json.js";
import { toJsonValue } from "../../ui/body-format.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { jsonSafeStringify } from "../../ui/text-safety.js";
import { bodySampleCaptures, DEMO_SPEC, ROOT } from "../sample-files.js";

const expected = (v: DecodedValue) => jsonSafeStringify(toJsonValue(v));

const field = (name: string, value: DecodedValue): DecodedField => ({ name, typeName: "t", offset: 0, length: 0, value });
const text = (s: string): DecodedValue => ({ kind: "string", bytes: new TextEncoder().encode(s), text: s });

describe("writeBodyJson agrees with the object form", () => {
  const files = bodySampleCaptures();
  for (const file of files) {
    it(`every body of ${file.slice(ROOT.length + 1)}`, async () => {
      const registry = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map() });
      let bodies = 0;
      const wrong: string[] = [];
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
        message(m) {
          for (const f of [m.args, m.res]) {
            if (!f) continue;
            bodies++;
            if (bodyJsonText(f.value) !== expected(f.value)) wrong.push(`frame ${m.msg.frame}`);
          }
        },
      });
      expect(wrong).toEqual([]);
      if (!file.includes("libvirt")) expect(bodies).toBeGreaterThan(0);
    });
  }

  it("numbers, enums and strings JSON.stringify treats specially", () => {
    const values: DecodedValue[] = [
      { kind: "float", value: NaN }, { kind: "float", value: -0 }, { kind: "float", value: Infinity },
      { kind: "float", value: 1.5e-7 }, { kind: "float", value: -2.25 }, { kind: "int", value: -2147483648 },
      { kind: "int", value: 4294967295 }, { kind: "hyper", value: -(2n ** 63n) },
      { kind: "enum", value: 7, name: null }, { kind: "enum", value: 1, name: 'A"B\\C' },
      { kind: "bool", value: false, raw: 0 },
      text(""), text('quote " backslash \\ tab \t'), text("C1 \u009b[31m bidi \u202e end"), text("emoji 😀 lone \ud800 x"),
      text("é ü \u2028 \u0000"),
      { kind: "opaque", bytes: Uint8Array.of(0, 1, 0xab, 0xff) }, { kind: "opaque", bytes: new Uint8Array(0) },
      { kind: "void" }, { kind: "optional", value: null },
      { kind: "malformed", error: new Malformed("short", 12, ["a", 3], 'needs 4 bytes, "quoted" \u009b') },
    ];
    for (const v of values) expect(bodyJsonText(v), JSON.stringify(toJsonValue(v))).toBe(expected(v));
  });

  it("structs, unions (an arm named like its discriminant too), arrays and optional data", () => {
    const int = (n: number): DecodedValue => ({ kind: "int", value: n });
    const values: DecodedValue[] = [
      { kind: "struct", fields: [] },
      { kind: "struct", fields: [field("a", int(1)), field("b", text("x")), field("c", { kind: "struct", fields: [field("d", int(2))] })] },
      { kind: "union", disc: field("type", { kind: "enum", value: 1, name: "ONE" }), arm: field("one", int(5)) },
      { kind: "union", disc: field("type", int(2)), arm: null },
      { kind: "union", disc: field("type", int(3)), arm: field("type", text("same name")) },
      { kind: "array", count: 3, elements: [field("[0]", int(1)), field("[1]", int(2)), field("[2]", { kind: "optional", value: field("*", int(3)) })] },
      { kind: "array", count: 0, elements: [] },
    ];
    for (const v of values) expect(bodyJsonText(v)).toBe(expected(v));
  });
});
