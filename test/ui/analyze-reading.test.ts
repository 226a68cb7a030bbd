/**
 * How analyzeCapture reads a capture file: on this thread (the CLI, and the TUI's
 * loading of a regular file, which gives the event loop a turn after each piece),
 * ahead on libuv's thread when asked (readAhead) or when the TUI reads a pipe. The
 * messages are the same either way.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeCapture, type AnalyzeOptions } from "../../ui/analyze.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { sampleCaptures } from "../sample-files.js";

describe("analyzeCapture's reading of a file", () => {
  const path = sampleCaptures().find((f) => f.endsWith("nfsv3.pcap"))!;

  /**
   * The frame count at which a task queued at the first frame ran, the total, the
   * messages seen, and the most file reads in flight seen by any turn of the event
   * loop while the capture was read (a chain of tasks looks at every turn).
   */
  async function run(extra: Partial<AnalyzeOptions>, file = path): Promise<{ taskRanAt: number; frames: number; messages: string[]; readsInFlight: number }> {
    const registry = await loadRegistry({ userSpecs: [], defines: new Map() });
    let frames = 0;
    let taskRanAt = -1;
    let readsInFlight = 0;
    let reading = true;
    const look = (): void => {
      readsInFlight = Math.max(readsInFlight, process.getActiveResourcesInfo().filter((r) => r.startsWith("FSReq")).length);
      if (reading) setImmediate(look);
    };
    const messages: string[] = [];
    await analyzeCapture(
      { kind: "file", path: file },
      // Reads of 4 KiB: reading ahead returns to the event loop many times over this file.
      { limits: DEFAULT_LIMITS, registry, decodeBodies: false, readChunkBytes: 4096, ...extra },
      {
        frame() {
          if (frames++ === 0) {
            setImmediate(() => { taskRanAt = frames; });
            setImmediate(look);
          }
        },
        message(m) {
          messages.push(`${m.msg.frame} ${m.msg.header?.xid ?? "-"} ${m.msg.exchange?.id ?? "-"}`);
        },
      },
    );
    reading = false;
    await new Promise<void>((resolve) => setImmediate(resolve));
    return { taskRanAt, frames, messages, readsInFlight };
  }

  it("reads on this thread by default, giving the event loop no turn until the end", async () => {
    const own = await run({});
    expect(own.frames).toBeGreaterThan(100);
    expect(own.taskRanAt).toBe(own.frames);
  });

  it("reads ahead with readAhead (the loop runs meanwhile, with reads in flight), with the same messages", async () => {
    const own = await run({});
    for (const extra of [{ readAhead: true }, { readAhead: true, yieldBetweenBatches: true }]) {
      const ahead = await run(extra);
      expect(ahead.taskRanAt, JSON.stringify(extra)).toBeGreaterThan(0);
      expect(ahead.taskRanAt, JSON.stringify(extra)).toBeLessThan(ahead.frames);
      expect(ahead.readsInFlight, JSON.stringify(extra)).toBeGreaterThan(0);
      expect(ahead.frames).toBe(own.frames);
      expect(ahead.messages).toEqual(own.messages);
    }
    expect(own.messages.length).toBeGreaterThan(100);
  });

  it("reads a regular file on this thread with yieldBetweenBatches (the TUI), with turns of the loop between pieces and no read in flight", async () => {
    const own = await run({});
    const tui = await run({ yieldBetweenBatches: true });
    expect(tui.taskRanAt).toBeGreaterThan(0);
    expect(tui.taskRanAt).toBeLessThan(tui.frames);
    expect(tui.readsInFlight).toBe(0);
    expect(tui.messages).toEqual(own.messages);
  });

  it("reads a pipe ahead with yieldBetweenBatches, so that the loop runs while the pipe has nothing yet", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-fifo-"));
    const fifo = join(dir, "capture.pcap");
    try {
      execFileSync("mkfifo", [fifo]);
      // The writer opens the pipe only after a while: a reader on this thread would be
      // stuck in open() until then, and the timer below could not run before the first frame.
      const writer = spawn("sh", ["-c", 'sleep 0.3; cat "$1" > "$2"', "sh", path, fifo], { stdio: "ignore" });
      const writerExit = new Promise<number | null>((resolve) => writer.on("exit", (code) => resolve(code)));
      let framesWhenTimerRan = -1;
      const started = Date.now();
      let frames = 0;
      const timer = setTimeout(() => { framesWhenTimerRan = frames; }, 50);
      const registry = await loadRegistry({ userSpecs: [], defines: new Map() });
      await analyzeCapture(
        { kind: "file", path: fifo },
        { limits: DEFAULT_LIMITS, registry, decodeBodies: false, yieldBetweenBatches: true },
        { frame() { frames++; } },
      );
      clearTimeout(timer);
      expect(await writerExit).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(framesWhenTimerRan).toBe(0);
      expect(frames).toBe((await run({})).frames);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
