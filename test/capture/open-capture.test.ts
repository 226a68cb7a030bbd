import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { BufferFrame, CaptureError, LinkType, type Frame } from "../../capture/frame.js";
import {
  CaptureTruncatedError, eachFrame, FrameByteReader, readFrameBatches, readFrameBytesAt, readFrames, type CaptureSource, type ReadFramesOptions,
} from "../../capture/open-capture.js";
import { MemorySink, PcapWriter, PcapngWriter } from "../../capture/capture-writer.js";
import { hexOf, pseudoRandomBytes } from "./helpers.js";

let dir = "";
const packets = Array.from({ length: 300 }, (_, i) => pseudoRandomBytes(60 + ((i * 37) % 1400), i + 1));
// Compared as hex: vitest's deep equality on typed arrays is very slow for this many bytes.
const packetsHex = packets.map(hexOf);

function pcapBytes(): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.ETHERNET, nanosecond: true });
  packets.forEach((p, i) => w.writeFrame({ tsSec: 1_700_000_000 + i, tsNsec: i * 3, bytes: p }));
  w.flush();
  return sink.bytes();
}

async function collect(source: CaptureSource, options: ReadFramesOptions = {}): Promise<{ frames: Frame[]; copies: Uint8Array[]; error: unknown }> {
  const frames: Frame[] = [];
  const copies: Uint8Array[] = [];
  let error: unknown = null;
  try {
    for await (const f of readFrames(source, options)) {
      frames.push(f);
      copies.push(f.bytes.slice());
    }
  } catch (err) {
    error = err;
  }
  return { frames, copies, error };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rpcscope-capture-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("readFrames", () => {
  it("reads a pcap file in chunks, with progress, and frames identical to the packets written", async () => {
    const file = join(dir, "a.pcap");
    const bytes = pcapBytes();
    writeFileSync(file, bytes);
    const progress: [number, number | null][] = [];
    const { frames, copies, error } = await collect({ kind: "file", path: file }, { chunkSize: 64 * 1024, onProgress: (r, t) => progress.push([r, t]) });
    expect(error).toBeNull();
    expect(frames).toHaveLength(300);
    expect(copies.map(hexOf)).toEqual(packetsHex);
    expect(frames.map((f) => f.no)).toEqual(packets.map((_, i) => i + 1));
    expect(frames[299]).toMatchObject({ tsSec: 1_700_000_299, tsNsec: 897 });
    // Plain Uint8Arrays, so that a consumer's slice() copies (Buffer#slice would not).
    expect(frames.some((f) => Buffer.isBuffer(f.bytes))).toBe(false);
    expect(progress.length).toBeGreaterThan(3);
    expect(progress.at(-1)).toEqual([bytes.length, bytes.length]);
  });

  it("reads gzip-compressed captures transparently (pcap and pcapng)", async () => {
    const file = join(dir, "a.pcap.gz");
    writeFileSync(file, gzipSync(pcapBytes()));
    const { copies, error } = await collect({ kind: "file", path: file });
    expect(error).toBeNull();
    expect(copies.map(hexOf)).toEqual(packetsHex);

    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ linkType: LinkType.RAW, tsResolution: 9 });
    w.writeFrame(0, { tsSec: 5, tsNsec: 6, bytes: Uint8Array.of(0x45) });
    w.flush();
    const stream = Readable.from([Buffer.from(gzipSync(sink.bytes()))]);
    const ng = await collect({ kind: "stream", stream, name: "test" });
    expect(ng.frames.map((f) => [f.tsSec, f.tsNsec, f.linkType])).toEqual([[5, 6, LinkType.RAW]]);
  });

  it("reads a stream delivered in tiny pieces (1 byte first) like a pipe", async () => {
    const bytes = pcapBytes();
    const pieces: Buffer[] = [Buffer.from(bytes.subarray(0, 1))];
    for (let i = 1; i < bytes.length; i += 997) pieces.push(Buffer.from(bytes.subarray(i, i + 997)));
    const { copies, error } = await collect({ kind: "stream", stream: Readable.from(pieces), name: "pipe" });
    expect(error).toBeNull();
    expect(copies.map(hexOf)).toEqual(packetsHex);
  });

  it("reads standard input for the 'stdin' source", async () => {
    const fake = Readable.from([Buffer.from(pcapBytes())]);
    const spy = vi.spyOn(process, "stdin", "get").mockReturnValue(fake as unknown as typeof process.stdin);
    try {
      const { frames, error } = await collect({ kind: "stdin" });
      expect(error).toBeNull();
      expect(frames).toHaveLength(300);
    } finally {
      spy.mockRestore();
    }
  });

  it("yields every complete frame of a cut file, then throws CaptureTruncatedError (or reports it to onTruncated)", async () => {
    const bytes = pcapBytes();
    const file = join(dir, "cut.pcap");
    const cutAt = bytes.length - 10;
    writeFileSync(file, bytes.subarray(0, cutAt));
    const thrown = await collect({ kind: "file", path: file }, { chunkSize: 4096 });
    expect(thrown.frames).toHaveLength(299);
    expect(thrown.error).toBeInstanceOf(CaptureTruncatedError);
    expect((thrown.error as CaptureTruncatedError).completeFrames).toBe(299);

    const reported: CaptureTruncatedError[] = [];
    const quiet = await collect({ kind: "file", path: file }, { onTruncated: (e) => reported.push(e) });
    expect(quiet.error).toBeNull();
    expect(quiet.frames).toHaveLength(299);
    expect(reported.map((e) => e.fileOffset)).toEqual([thrown.frames[298]!.fileOffset + packets[298]!.length]);

    // A cut gzip stream: frames before the cut, then a truncation error.
    const gz = gzipSync(bytes);
    const gzFile = join(dir, "cut.pcap.gz");
    writeFileSync(gzFile, gz.subarray(0, Math.floor(gz.length * 0.6)));
    const g = await collect({ kind: "file", path: gzFile });
    expect(g.frames.length).toBeGreaterThan(10);
    expect(g.frames.length).toBeLessThan(300);
    expect(g.error).toBeInstanceOf(CaptureTruncatedError);
    expect((g.error as Error).message).toMatch(/gzip data is cut short/);
    // The offset is said once (the error is made again with the frame count).
    expect((g.error as Error).message.match(/at file offset/g)).toHaveLength(1);
    expect((g.error as CaptureTruncatedError).completeFrames).toBe(g.frames.length);
  });

  it("reports corrupt gzip data and non-capture input as CaptureError", async () => {
    const gz = gzipSync(pcapBytes());
    gz.writeUInt8((gz[40] as number) ^ 0xff, 40); // inside the deflate data
    gz.writeUInt8((gz[gz.length - 30] as number) ^ 0xff, gz.length - 30);
    const bad = await collect({ kind: "stream", stream: Readable.from([Buffer.from(gz)]), name: "x" });
    expect(bad.error).toBeInstanceOf(CaptureError);

    const text = await collect({ kind: "stream", stream: Readable.from([Buffer.from("hello world, not a capture")]), name: "x" });
    expect(text.error).toBeInstanceOf(CaptureError);
    expect((text.error as Error).message).toMatch(/not a pcap or pcapng capture: first bytes 68 65 6c 6c/);

    const empty = await collect({ kind: "stream", stream: Readable.from([]), name: "x" });
    expect(empty.frames).toEqual([]);
  });

  it("batches frames per chunk", async () => {
    const file = join(dir, "b.pcap");
    writeFileSync(file, pcapBytes());
    let batches = 0;
    let total = 0;
    for await (const batch of readFrameBatches({ kind: "file", path: file }, { chunkSize: 32 * 1024 })) {
      batches++;
      total += batch.length;
    }
    expect(total).toBe(300);
    expect(batches).toBeGreaterThan(5);
  });

  it("splits a large read into batches of about 256 KiB, so a batch's frames die young", async () => {
    const file = join(dir, "big.pcap");
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LinkType.ETHERNET });
    const big = Array.from({ length: 1500 }, (_, i) => pseudoRandomBytes(1000 + (i % 500), i + 7));
    big.forEach((p, i) => w.writeFrame({ tsSec: 1_700_000_000, tsNsec: i * 1000, bytes: p }));
    w.flush();
    writeFileSync(file, sink.bytes());
    const sizes: number[] = [];
    const seen: string[] = [];
    for await (const batch of readFrameBatches({ kind: "file", path: file })) {
      sizes.push(batch.reduce((n, f) => n + 16 + f.bytes.length, 0));
      for (const f of batch) seen.push(hexOf(f.bytes));
    }
    // One default 2 MiB read holds the whole 1.9 MB file; it still comes in pieces.
    expect(sizes.length).toBeGreaterThanOrEqual(7);
    for (const s of sizes) expect(s).toBeLessThanOrEqual(256 * 1024 + 1516);
    expect(seen).toEqual(big.map(hexOf));
  });
});

describe("re-reading frame bytes", () => {
  it("reads a frame's bytes again from its fileOffset", async () => {
    const file = join(dir, "r.pcap");
    writeFileSync(file, pcapBytes());
    const { frames } = await collect({ kind: "file", path: file });
    const f = frames[123] as Frame;
    expect(await readFrameBytesAt(file, f.fileOffset, f.bytes.length)).toEqual(packets[123]);
    const reader = await FrameByteReader.open(file);
    try {
      for (const i of [0, 299, 7]) {
        const fr = frames[i] as Frame;
        expect(await reader.read(fr.fileOffset, fr.bytes.length)).toEqual(packets[i]);
      }
      await expect(reader.read(10_000_000, 10)).rejects.toBeInstanceOf(CaptureError);
    } finally {
      await reader.close();
    }
  });

  it("refuses gzip files", async () => {
    const file = join(dir, "r.pcap.gz");
    writeFileSync(file, gzipSync(pcapBytes()));
    await expect(readFrameBytesAt(file, 40, 10)).rejects.toThrow(/gzip-compressed/);
  });
});

describe("eachFrame (frames read in place, no view unless asked) against readFrameBatches", () => {
  /** A frame's fields as plain data, its bytes as hex. */
  function plain(f: Frame): unknown {
    return {
      no: f.no, tsSec: f.tsSec, tsNsec: f.tsNsec, linkType: f.linkType, bytes: hexOf(f.bytes),
      originalLength: f.originalLength, fileOffset: f.fileOffset, interfaceId: f.interfaceId,
    };
  }
  /** Every frame as plain data (bytes as hex), then the error or truncation report, if any. */
  async function viaBatches(source: () => CaptureSource, withReport: boolean): Promise<unknown[]> {
    const out: unknown[] = [];
    const options: ReadFramesOptions = withReport ? { onTruncated: (e) => out.push(`truncated: ${e.message} (${e.completeFrames})`) } : {};
    try {
      for await (const batch of readFrameBatches(source(), options)) for (const f of batch) out.push(plain(f));
    } catch (err) {
      out.push(`error: ${(err as Error).message}`);
    }
    return out;
  }
  async function viaEach(
    source: () => CaptureSource, withReport: boolean, readOptions: ReadFramesOptions = {}, withBetween = true,
  ): Promise<unknown[]> {
    const out: unknown[] = [];
    const options: ReadFramesOptions = withReport
      ? { ...readOptions, onTruncated: (e) => out.push(`truncated: ${e.message} (${e.completeFrames})`) }
      : readOptions;
    let batches = 0;
    try {
      await eachFrame(source(), options, (f) => {
        // The bytes stay in the reader's buffer: the decoder reads them there, a view is made only when asked.
        expect(f).toBeInstanceOf(BufferFrame);
        const b = f as BufferFrame;
        expect(b.end - b.start).toBe(f.bytes.length);
        expect(b.data.buffer).toBe(f.bytes.buffer);
        expect(b.data.byteOffset + b.start).toBe(f.bytes.byteOffset);
        out.push(plain(f));
      }, withBetween ? () => {
        batches++;
      } : undefined);
    } catch (err) {
      out.push(`error: ${(err as Error).message}`);
    }
    if (out.length > 100 && withBetween) expect(batches).toBeGreaterThan(0);
    return out;
  }

  /** Every sample capture and every hostile one. */
  async function sampleAndHostileCaptures(): Promise<string[]> {
    const { readdirSync } = await import("node:fs");
    const { sampleCaptures, ROOT } = await import("../sample-files.js");
    const hostileDir = join(ROOT, "samples", "hostile");
    return [...sampleCaptures(), ...readdirSync(hostileDir).filter((n) => /\.pcap(ng)?$/.test(n)).map((n) => join(hostileDir, n))];
  }

  it("gives the same frames, errors and truncation reports on every sample and hostile capture, whole, cut and gzipped", async () => {
    const { readFileSync } = await import("node:fs");
    const files = await sampleAndHostileCaptures();
    let compared = 0;
    for (const file of files) {
      const whole = readFileSync(file);
      const variants: [string, Uint8Array][] = [
        ["whole", whole], ["cut", whole.subarray(0, Math.floor(whole.length * 0.6))], ["gzip", gzipSync(whole)],
      ];
      for (const [what, bytes] of variants) {
        const source = (): CaptureSource => ({ kind: "stream", stream: Readable.from([Buffer.from(bytes)]), name: `${file} ${what}` });
        for (const withReport of [false, true]) {
          const a = await viaBatches(source, withReport);
          const b = await viaEach(source, withReport);
          expect(b, `${file} ${what}`).toEqual(a);
          compared += a.length;
        }
      }
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it("reads a file on this thread (readOnThisThread) with the same frames, errors and reports as reading ahead, whole and cut", async () => {
    const { readFileSync } = await import("node:fs");
    const files = await sampleAndHostileCaptures();
    let compared = 0;
    let largest = 0;
    for (const file of files) {
      const whole = readFileSync(file);
      for (const [what, bytes] of [["whole", whole], ["cut", whole.subarray(0, Math.floor(whole.length * 0.6))]] as const) {
        const path = join(dir, `this-thread-${what}.pcap`);
        writeFileSync(path, bytes);
        const source = (): CaptureSource => ({ kind: "file", path });
        for (const withReport of [false, true]) {
          const ahead = await viaBatches(source, withReport);
          // The default pieces (128 KiB), and pieces of 4 KiB, which most records straddle;
          // through the batches (with `between`) and through the plain loop (without).
          for (const [options, withBetween] of [
            [{ readOnThisThread: true }, true], [{ readOnThisThread: true, fileChunkSize: 4096 }, true],
            [{ readOnThisThread: true }, false], [{ readOnThisThread: true, fileChunkSize: 4096 }, false],
          ] as const) {
            const pieceBytes = options.fileChunkSize ?? 128 * 1024;
            let pieces = 0;
            let lastRead = 0;
            const got = await viaEach(source, withReport, {
              ...options,
              onProgress: (read) => {
                expect(read - lastRead).toBeLessThanOrEqual(pieceBytes);
                lastRead = read;
                pieces++;
              },
            }, withBetween);
            expect(got, `${file} ${what} ${JSON.stringify(options)} between: ${withBetween}`).toEqual(ahead);
            expect(lastRead).toBe(bytes.length);
            expect(pieces).toBe(Math.ceil(bytes.length / pieceBytes));
            compared += ahead.length;
          }
        }
        largest = Math.max(largest, bytes.length);
      }
    }
    expect(compared).toBeGreaterThan(5000);
    // Some file takes more than one piece of the default size.
    expect(largest).toBeGreaterThan(128 * 1024);
  });

  it("runs no other task while it reads a file on this thread", async () => {
    const { sampleCaptures } = await import("../sample-files.js");
    const path = sampleCaptures().find((f) => f.endsWith("nfsv3.pcap"))!;
    let frames = 0;
    let framesWhenTaskRan = -1;
    let started = false;
    await eachFrame({ kind: "file", path }, {
      readOnThisThread: true,
      fileChunkSize: 4096,
      onProgress: () => {
        // Once reading has begun, a task queued now would run only if the reader gave the event loop a turn.
        if (started) return;
        started = true;
        setImmediate(() => {
          framesWhenTaskRan = frames;
        });
      },
    }, () => {
      frames++;
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(frames).toBeGreaterThan(100);
    expect(framesWhenTaskRan).toBe(frames);
  });

  it("refills one frame object, whose bytes follow the reader from buffer to buffer", async () => {
    const { sampleCaptures } = await import("../sample-files.js");
    const file = sampleCaptures().find((f) => f.endsWith("nfsv3.pcap"))!;
    const path = join(dir, "nfsv3-copy.pcap");
    const { copyFileSync } = await import("node:fs");
    copyFileSync(file, path);
    // Reads of 4 KiB: many buffers, and records straddling two of them (parsed from a copy).
    const small: ReadFramesOptions = { fileChunkSize: 4096 };
    const expected: unknown[] = [];
    for await (const batch of readFrameBatches({ kind: "file", path }, small)) for (const f of batch) expected.push(plain(f));
    const seen = new Set<Frame>();
    const buffers = new Set<ArrayBufferLike>();
    const got: unknown[] = [];
    await eachFrame({ kind: "file", path }, small, (f) => {
      seen.add(f);
      buffers.add((f as BufferFrame).data.buffer);
      got.push(plain(f));
    });
    expect(expected.length).toBeGreaterThan(100);
    expect(got).toEqual(expected);
    expect(seen.size).toBe(1);
    expect(buffers.size).toBeGreaterThan(2);
    expect(await viaEach(() => ({ kind: "file", path }), true, small)).toEqual(expected);
  });
});
