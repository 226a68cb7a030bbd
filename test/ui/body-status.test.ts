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
import { call, reply } from "../filter/fixtures.js";



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
          // Read in place, the record (whole, and cut around where the status word may be)
          // lying inside a buffer of garbage: 0xff, so that a read past its end sees an error status.
          for (const cut of [record.length, ...Array.from({ length: 12 }, (_, k) => h.bodyOffset + k)]) {
            if (cut > record.length) continue;
            const part = record.subarray(0, cut);
            const data = new Uint8Array(cut + 13).fill(0xff);
            data.set(part, 5);
            const inPlace = reader.readAt(call, h, data, 5, 5 + cut);
            const asView = reader.read(call, h, part);
            if (inPlace !== asView) problems.push(`${file} frame ${m.msg.frame} cut ${cut}: in place ${inPlace}, as a view ${asView}`);
          }
        },
      });
    }
    expect(problems).toEqual([]);
    expect(replies).toBeGreaterThan(250);
    expect(errors).toBeGreaterThanOrEqual(5);
  });
});

describe("body status plans remembered by procedure number", () => {
  it("keep procedures apart that share a slot, asked alternately", async () => {
    const registry = await loadRegistry({ userSpecs: [], defines: new Map() });
    const reader = new BodyStatusReader(registry);
    // NFSv3 LOOKUP (100003/3/3) and MOUNT v3 EXPORT (100005/3/5) land in one slot of the 64.
    const slot = (prog: number, vers: number, proc: number) => (prog ^ (vers << 5) ^ proc) & 63;
    expect(slot(100003, 3, 3)).toBe(slot(100005, 3, 5));
    const record = new Uint8Array(28);
    record[27] = 2; // status word 2 right after a 24-byte reply header: NFS3ERR_NOENT for LOOKUP
    const replyHeader = reply("SUCCESS").header;
    if (replyHeader?.kind !== "reply") throw new Error("fixture");
    const lookup = call(100003, 3, 3).header;
    const exportCall = call(100005, 3, 5).header;
    const unknown = call(100003, 3, 67).header; // no such procedure, in the same slot again
    if (lookup?.kind !== "call" || exportCall?.kind !== "call" || unknown?.kind !== "call") throw new Error("fixture");
    for (let i = 0; i < 4; i++) {
      expect(reader.read(lookup, replyHeader, record)).toBe("NFS3ERR_NOENT");
      expect(reader.read(exportCall, replyHeader, record)).toBeNull();
      expect(reader.read(unknown, replyHeader, record)).toBeNull();
      expect(reader.status(lookup, replyHeader, record)).toEqual({ name: "NFS3ERR_NOENT", value: 2 });
    }
  });
});
