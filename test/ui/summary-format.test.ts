/**
 * The hand-built NDJSON line (the fast path of `summary --json`) must equal the
 * reference object form on every message of every sample, issues included.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { ROOT, sampleCaptures } from "../sample-files.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";
import { LineCache, fixed6Exact, summaryJson, summaryJsonLine, summaryLine, writeFixed6, writeRounded9, writeSummaryText } from "../../ui/summary-format.js";
import { MessageInfoContext } from "../../ui/message-info.js";
import { constantPiece, GrowingPieces, LineBuilder } from "../../ui/line-writer.js";
import { jsonSafeStringify } from "../../ui/text-safety.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { AnalyzedMessage } from "../../ui/analyze.js";



/** Numbers in [0, 1) from a fixed seed, so that a failure can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

describe("summary formatting", () => {
  const files = sampleCaptures();

  it("finds the samples", () => {
    expect(files.length).toBeGreaterThan(10);
  });

  for (const file of files) {
    it(`fast NDJSON line equals the object form: ${file.slice(ROOT.length + 1)}`, async () => {
      const registry = await loadRegistry({ userSpecs: [], defines: new Map() });
      const names = namesFor(registry);
      const cache = new LineCache(names);
      const held: AnalyzedMessage[] = [];
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: false }, {
        message(m) {
          held.push(m);
        },
      });
      // Compare after the end, when every exchange is final (peerFrame known).
      for (const m of held) {
        expect(summaryJsonLine(m, cache)).toBe(jsonSafeStringify(summaryJson(m, names, false)));
        expect(summaryLine(m, names, "", cache)).toBe(summaryLine(m, names));
      }
    });

    it(`piecewise text line equals summaryLine, info text included: ${file.slice(ROOT.length + 1)}`, async () => {
      const registry = await loadRegistry({ userSpecs: [], defines: new Map() });
      const names = namesFor(registry);
      const cache = new LineCache(names);
      const infoCtx = new MessageInfoContext();
      let piecewise = 0;
      let lines = 0;
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
        message(m) {
          // As the CLI writes it: when the message arrives, a reply's exchange final, a call's not yet.
          const info = m.msg.header ? infoCtx.info(m) : "";
          const expected = summaryLine(m, names, info);
          const parts = cache.textLineParts(m, info);
          lines++;
          if (!parts) return;
          const line = new LineBuilder(parts.maxBytes);
          writeSummaryText(m, parts, line);
          expect(line.text()).toBe(expected);
          expect(Buffer.byteLength(expected)).toBeLessThanOrEqual(parts.maxBytes);
          piecewise++;
        },
      });
      // libvirt's own messages have lines of their own; every other sample has ONC-RPC messages.
      if (!file.includes("libvirt")) expect(lines).toBeGreaterThan(0);
      // Only malformed messages and those with notes take the string path.
      if (lines > 0 && !/malformed|fuzz|damage|bad-|corrupt|trunc/.test(file)) expect(piecewise).toBeGreaterThan(0);
    });
  }
});

describe("writeFixed6 prints x.toFixed(6).padStart(12) where fixed6Exact says it can", () => {
  const printed = (x: number) => {
    const line = new LineBuilder(64);
    writeFixed6(line, x, 12);
    return line.text();
  };

  it("agrees on edge values, and leaves negatives, huge values and near-ties to toFixed", () => {
    const edges = [0, -0, 1e-7, 4.9e-7, 5.1e-7, 0.000001, 0.0000015, 0.1, 0.999999, 0.9999995, 0.99999951, 1, 59.5, 123456.000001,
      4194303.999999, 4194303.9999994, 86400.0000004];
    for (const x of edges) if (fixed6Exact(x)) expect(printed(x), `x = ${x}`).toBe(x.toFixed(6).padStart(12));
    for (const x of [-1, -0.5, 4194304, 1e21, NaN, Infinity, 0.0000005, 2.5e-6]) expect(fixed6Exact(x), `x = ${x}`).toBe(false);
    expect(fixed6Exact(0)).toBe(true);
    expect(fixed6Exact(1.5)).toBe(true);
  });

  it("agrees on 200,000 values spread over 12 decades, and nanosecond timestamps", () => {
    const next = seededRandom(777);
    let mismatches = 0;
    let exact = 0;
    let first = "";
    const check = (x: number) => {
      if (!fixed6Exact(x)) return;
      exact++;
      if (printed(x) !== x.toFixed(6).padStart(12) && mismatches++ === 0) first = `${x}: ${printed(x)} vs ${x.toFixed(6)}`;
    };
    for (let i = 0; i < 100_000; i++) check(next() * 10 ** (next() * 12 - 6));
    // Relative times as the analyzer makes them: whole seconds plus nanoseconds, ties at 500 ns included.
    for (let i = 0; i < 100_000; i++) check(Math.floor(next() * 100_000) + (Math.floor(next() * 1e6) * 1000 + (i % 2 ? 500 : Math.floor(next() * 1000))) / 1e9);
    expect(mismatches, first).toBe(0);
    // Half of the second set sits on a 500 ns tie, left to toFixed by design.
    expect(exact).toBeGreaterThan(140_000);
  });
});

describe("writeRounded9 prints numbers as String(round9(x)) would", () => {
  const round9 = (x: number) => Math.round(x * 1e9) / 1e9;
  const printed = (x: number) => {
    const line = new LineBuilder(64);
    writeRounded9(line, x);
    return line.text();
  };

  it("agrees on edge values (exponent forms, whole numbers, the 2^22 s boundary)", () => {
    const edges = [0, 1e-9, 5e-10, 9.99e-7, 1e-6, 0.000001001, 0.1, 0.5, 1, 10, 123.000000001, 1.5e9 + 0.25,
      4194303.999999999, 4194304, 4194304.000000001, 1e21, -1, -0.001, NaN, Infinity];
    for (const x of edges) expect(printed(x), `x = ${x}`).toBe(String(round9(x)));
  });

  it("agrees on 200,000 values spread over 14 decades", () => {
    const next = seededRandom(12345);
    let mismatches = 0;
    let first = "";
    for (let i = 0; i < 200_000; i++) {
      const x = next() * 10 ** (next() * 14 - 8);
      if (printed(x) !== String(round9(x))) {
        if (mismatches++ === 0) first = `${x}: ${printed(x)} vs ${String(round9(x))}`;
      }
    }
    expect(mismatches, first).toBe(0);
  });
});

describe("LineBuilder.int prints integers as String does", () => {
  it("agrees around every power of ten and of two up to 2^53", () => {
    const values = new Set<number>([0, 1, 9]);
    for (let e = 1; e <= 15; e++) for (const d of [-1, 0, 1]) values.add(10 ** e + d);
    for (let e = 1; e <= 53; e++) for (const d of [-1, 0, 1]) values.add(2 ** e + d);
    for (const v of values) {
      if (v > Number.MAX_SAFE_INTEGER) continue;
      const line = new LineBuilder(32);
      line.int(v);
      expect(line.text(), `value ${v}`).toBe(String(v));
    }
  });

  it("falls back to String for negatives and fractions", () => {
    for (const v of [-1, -2147483648, 0.5, 1e21, NaN]) {
      const line = new LineBuilder(32);
      line.int(v);
      expect(line.text()).toBe(String(v));
    }
  });
});

describe("constant pieces, written 8 bytes a store", () => {
  it("give exactly their bytes, at every position, also where the buffer ends inside the last word", () => {
    for (const text of ["", "}", "ab", "abc", "null", ',"time":', '{"protocol":"onc-rpc","frame":']) {
      const piece = constantPiece(text);
      expect(Buffer.from(piece.bytes).toString("latin1")).toBe(text);
      for (const prefix of ["", "x", "xy", "xyz"]) {
        // Room for exactly the line (the word stores would run past it: bytes then), and room to spare.
        for (const spare of [0, 1, 3, 7, 8]) {
          const line = new LineBuilder(prefix.length + text.length + 1 + spare);
          line.ascii(prefix);
          line.constant(piece);
          line.ascii("!");
          expect(line.text(), `${JSON.stringify(text)} after ${prefix.length} bytes, ${spare} spare`).toBe(`${prefix}${text}!`);
        }
      }
    }
  });

  it("are printable ASCII only (bytes that could make a NaN are refused)", () => {
    expect(() => constantPiece("é")).toThrow(/printable ASCII/);
    expect(() => constantPiece("\x7f")).toThrow(/printable ASCII/);
    expect(() => constantPiece("\n")).toThrow(/printable ASCII/);
  });
});

describe("GrowingPieces.hex", () => {
  it("writes what Buffer's hex encoding gives, for every length and alignment", () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 11) & 0xff);
    // Source at every alignment; output after 0 to 4 bytes (every alignment of the
    // digits in the chunk), in a chunk too small (moved) and one large enough.
    for (const start of [0, 1, 2, 3]) {
      for (const length of [0, 1, 2, 63, 64, 65, 66, 67, 127, 128, 130, 200, 254, 295]) {
        for (const prefix of ["", "x", "xy", "xyz", "wxyz"]) {
          for (const chunkSize of [8, 4096]) {
            const view = data.subarray(start, start + length);
            const out = new GrowingPieces(chunkSize);
            out.ascii("#");
            out.take();
            out.room(prefix.length);
            out.ascii(prefix);
            out.hex(view);
            out.ascii("!");
            expect(Buffer.from(out.take()).toString("latin1"), `start ${start} length ${length} prefix ${prefix.length} chunk ${chunkSize}`)
              .toBe(`${prefix}${Buffer.from(view).toString("hex")}!`);
          }
        }
      }
    }
  });
});

describe("GrowingPieces: pieces as views of chunks, chunks reused once every piece is back", () => {
  const filled = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
  const piece = (out: GrowingPieces, n: number, fill: number): Uint8Array => {
    out.room(n);
    out.bytes(filled(n, fill));
    return out.take();
  };

  it("keeps every piece intact while it is out, and writes over a chunk only when all of its pieces are back", () => {
    const out = new GrowingPieces(4096);
    const a = piece(out, 3000, 1); // chunk 1
    const b = piece(out, 3000, 2); // does not fit: chunk 2
    expect(b.buffer).not.toBe(a.buffer);
    out.recycle(a); // chunk 1 is free again
    const c = piece(out, 3000, 3); // chunk 2 is full: the spare chunk 1
    expect(c.buffer).toBe(a.buffer);
    const d = piece(out, 3000, 4); // chunk 2 still has b out: a new chunk, not chunk 2
    expect(d.buffer).not.toBe(b.buffer);
    expect(d.buffer).not.toBe(c.buffer);
    expect(b.every((x) => x === 2)).toBe(true);
    expect(c.every((x) => x === 3)).toBe(true);
    expect(d.every((x) => x === 4)).toBe(true);
    out.recycle(b);
    out.recycle(c);
    const e = piece(out, 3000, 5); // chunk 2 or chunk 1 again, both free
    expect([b.buffer, c.buffer]).toContain(e.buffer);
    expect(d.every((x) => x === 4)).toBe(true);
  });

  it("a piece started in one chunk and grown past it moves whole; truncate takes back the end of the piece only", () => {
    const out = new GrowingPieces(4096);
    const first = piece(out, 100, 7);
    out.room(10);
    out.ascii("0123456789");
    out.truncate(4);
    out.room(5000);
    out.bytes(filled(5000, 9));
    const grown = out.take();
    expect(grown.length).toBe(5004);
    expect(Buffer.from(grown.subarray(0, 4)).toString("latin1")).toBe("0123");
    expect(grown.subarray(4).every((x) => x === 9)).toBe(true);
    expect(first.every((x) => x === 7)).toBe(true);
    expect(out.length).toBe(0);
  });
});
