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
import { LineCache, summaryJson, summaryJsonLine, summaryLine } from "../../ui/summary-format.js";
import { jsonSafeStringify } from "../../ui/text-safety.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { AnalyzedMessage } from "../../ui/analyze.js";



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
  }
});
