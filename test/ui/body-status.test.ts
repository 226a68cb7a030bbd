/**
 * The word-read body status (ui/body-status.ts, used by `stats`) must equal what
 * bodyErrorName finds on the fully decoded result, for every reply of every sample.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { ROOT, sampleCaptures } from "../sample-files.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { BodyStatusReader } from "../../ui/body-status.js";
import { bodyErrorName } from "../../ui/filter/fields.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";



describe("body status read from the bytes", () => {
  it("agrees with the decoded result on every reply of every sample", async () => {
    const registry = await loadRegistry({ userSpecs: [join(ROOT, "samples", "demo-service", "demo.x")], defines: new Map() });
    const reader = new BodyStatusReader(registry);
    let replies = 0;
    let errors = 0;
    const problems: string[] = [];
    for (const file of sampleCaptures()) {
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
        message(m, record) {
          const h = m.msg.header;
          const call = m.msg.exchange?.call?.header;
          if (h?.kind !== "reply" || call?.kind !== "call") return;
          replies++;
          const fast = reader.read(call, h, record);
          const slow = bodyErrorName(m.res);
          if (fast !== null) errors++;
          if (fast !== slow) problems.push(`${file} frame ${m.msg.frame}: fast=${fast} decoded=${slow}`);
        },
      });
    }
    expect(problems).toEqual([]);
    expect(replies).toBeGreaterThan(250);
    expect(errors).toBeGreaterThanOrEqual(5);
  });
});
