/**
 * How analyzeCapture reads a capture file: on this thread when nothing is to run
 * between batches (the CLI), ahead on libuv's thread when asked (readAhead) or when
 * the event loop must get turns (yieldBetweenBatches, the TUI). The messages are the
 * same either way.
 */
import { describe, expect, it } from "vitest";
import { analyzeCapture, type AnalyzeOptions } from "../../ui/analyze.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { sampleCaptures } from "../sample-files.js";

describe("analyzeCapture's reading of a file", () => {
  const path = sampleCaptures().find((f) => f.endsWith("nfsv3.pcap"))!;

  /** The frame count at which a task queued at the first frame ran, the total, and the messages seen. */
  async function run(extra: Partial<AnalyzeOptions>): Promise<{ taskRanAt: number; frames: number; messages: string[] }> {
    const registry = await loadRegistry({ userSpecs: [], defines: new Map() });
    let frames = 0;
    let taskRanAt = -1;
    const messages: string[] = [];
    await analyzeCapture(
      { kind: "file", path },
      // Reads of 4 KiB: reading ahead returns to the event loop many times over this file.
      { limits: DEFAULT_LIMITS, registry, decodeBodies: false, readChunkBytes: 4096, ...extra },
      {
        frame() {
          if (frames++ === 0) setImmediate(() => { taskRanAt = frames; });
        },
        message(m) {
          messages.push(`${m.msg.frame} ${m.msg.header?.xid ?? "-"} ${m.msg.exchange?.id ?? "-"}`);
        },
      },
    );
    await new Promise<void>((resolve) => setImmediate(resolve));
    return { taskRanAt, frames, messages };
  }

  it("reads on this thread by default, giving the event loop no turn until the end", async () => {
    const own = await run({});
    expect(own.frames).toBeGreaterThan(100);
    expect(own.taskRanAt).toBe(own.frames);
  });

  it("reads ahead with readAhead or yieldBetweenBatches (the loop runs meanwhile), with the same messages", async () => {
    const own = await run({});
    for (const extra of [{ readAhead: true }, { yieldBetweenBatches: true }]) {
      const ahead = await run(extra);
      expect(ahead.taskRanAt, JSON.stringify(extra)).toBeGreaterThan(0);
      expect(ahead.taskRanAt, JSON.stringify(extra)).toBeLessThan(ahead.frames);
      expect(ahead.frames).toBe(own.frames);
      expect(ahead.messages).toEqual(own.messages);
    }
    expect(own.messages.length).toBeGreaterThan(100);
  });
});
