/**
 * Fuzzing the capture file formats: pcap and pcapng cut at every offset, header and
 * block fields set to hostile values, link types swapped, random byte damage. The
 * only exception allowed out is a CaptureError (the file as a whole); every frame
 * before the damage is still decoded and accounted for, and output stays safe.
 */
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { CaptureError } from "../../capture/frame.js";
import { CaptureTruncatedError } from "../../capture/capture-format.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { analyzeCapture, InputError } from "../../ui/analyze.js";
import { captureFields, type CaptureField } from "./capture-fields.js";
import {
  endSuite, fuzzOne, fuzzRegistry, INTERESTING_U16, INTERESTING_U32, mutateBytes, readSample, Rng, runCapture,
  setU16, setU32, startSuite, tally,
} from "./harness.js";
import { seedCaptures } from "./seeds.js";

const SEED = 0x8badf00d;

describe("fuzz: capture files", () => {
  it("every prefix of a small pcap and a small pcapng: frames before the cut, then a located CaptureError", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("capture prefixes");
    const rng = new Rng(SEED);
    for (const name of ["synthetic/record-split.pcap", "synthetic/nanosecond.pcapng", "synthetic/midstream.pcap"]) {
      const whole = readSample(name);
      const full = runCapture(whole, { registry });
      expect(full.captureError).toBeNull();
      let lastFrames = 0;
      for (let cut = 0; cut <= whole.length; cut++) {
        const prefix = whole.subarray(0, cut);
        // Half the time the bytes arrive in two chunks, so records straddle a chunk boundary.
        const splitAt = rng.chance(0.5) ? [rng.int(cut + 1)] : [];
        const out = fuzzOne(stats, `${name} cut at ${cut}`, prefix, () => runCapture(prefix, { registry, splitAt }));
        expect(out.frames).toBeGreaterThanOrEqual(lastFrames);
        expect(out.frames).toBeLessThanOrEqual(full.frames);
        lastFrames = out.frames;
        if (cut === whole.length) {
          expect(out.captureError).toBeNull();
          expect(out.frames).toBe(full.frames);
          continue;
        }
        // Every proper prefix is cut somewhere: in the file header (a plain CaptureError)
        // or after it (a CaptureTruncatedError that knows the frames before the cut),
        // unless the cut falls exactly on a record boundary.
        const err = out.captureError;
        if (err === null) {
          tally(stats, "clean cut at a record boundary");
          continue;
        }
        expect(err.fileOffset).toBeGreaterThanOrEqual(0);
        expect(err.fileOffset).toBeLessThanOrEqual(cut);
        if (err instanceof CaptureTruncatedError) {
          expect(err.completeFrames).toBe(out.frames);
          expect(err.message).toMatch(/cut short: the file ends inside a (packet record|pcapng block)/);
          tally(stats, "cut inside a record");
        } else {
          expect(out.frames).toBe(0);
          expect(err.message).toMatch(/empty input|capture file header is cut off/);
          tally(stats, "cut in the file header");
        }
      }
    }
    endSuite(stats);
  });

  it("header and block fields set to hostile values, link types swapped: only CaptureError escapes", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("capture header fields");
    const rng = new Rng(SEED + 1);
    const linkTypes = [0, 1, 101, 108, 113, 228, 229, 276, 2, 105, 127, 147, 0xffff];
    for (const seed of seedCaptures()) {
      const fields = captureFields(seed.bytes);
      expect(fields.length).toBeGreaterThan(0);
      const linkFields = fields.filter((f) => /link type/.test(f.what));
      // Every link type on every seed: frames are decoded as that link, or reported unsupported.
      {
        for (const lt of linkTypes) {
          const input = seed.bytes.slice();
          for (const field of linkFields) writeField(input, field, lt);
          const out = fuzzOne(stats, `${seed.name} every link type=${lt}`, input, () => runCapture(input, { registry }));
          if (lt !== 1 && lt !== 0 && lt !== 101 && lt !== 108 && lt !== 113 && lt !== 228 && lt !== 229 && lt !== 276) {
            // Unsupported: every frame is reported, none carries RPC.
            expect(out.counts.frameIssues).toBeGreaterThanOrEqual(out.frames);
            expect(out.counts.messages).toBe(0);
          }
        }
      }
      const rounds = seed.bytes.length > 10_000 ? 150 : 100;
      for (let i = 0; i < rounds; i++) {
        const input = seed.bytes.slice();
        const changed: string[] = [];
        for (let k = 1 + rng.int(3); k > 0; k--) {
          const field = rng.pick(fields);
          const value = hostileValue(rng, field, input);
          writeField(input, field, value);
          changed.push(`${field.what}=${value}`);
        }
        const out = fuzzOne(stats, `${seed.name} ${changed.join(", ")}`, input, () =>
          runCapture(input, { registry, splitAt: rng.chance(0.3) ? [rng.int(input.length)] : [] }));
        tally(stats, out.captureError ? out.captureError.name : "read to the end");
      }
    }
    endSuite(stats);
  });

  it("random byte damage anywhere in the file: only CaptureError escapes", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("capture byte damage");
    const rng = new Rng(SEED + 2);
    for (const seed of seedCaptures()) {
      for (let i = 0; i < 80; i++) {
        const input = mutateBytes(rng, seed.bytes);
        const out = fuzzOne(stats, `${seed.name} damage #${i}`, input, () => runCapture(input, { registry }));
        tally(stats, out.captureError ? out.captureError.name : "read to the end");
      }
    }
    endSuite(stats);
  });

  it("the analyze entry point (streamed, as the CLI reads) throws only CaptureError or InputError, and only with no frame", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("analyzeCapture contract");
    const rng = new Rng(SEED + 3);
    for (const seed of seedCaptures().slice(0, 8)) {
      const fields = captureFields(seed.bytes);
      for (let i = 0; i < 25; i++) {
        let input: Uint8Array = seed.bytes.slice();
        if (rng.chance(0.5)) {
          const field = rng.pick(fields);
          writeField(input, field, hostileValue(rng, field, input));
        } else {
          input = mutateBytes(rng, input);
        }
        if (rng.chance(0.3)) input = input.slice(0, rng.int(input.length + 1));
        const t0 = performance.now();
        let frames = -1;
        let thrown: unknown = null;
        try {
          const stream = Readable.from([Buffer.from(input)]);
          const result = await analyzeCapture(
            { kind: "stream", stream, name: "fuzz" },
            { limits: DEFAULT_LIMITS, registry, decodeBodies: true },
            {},
          );
          frames = result.frames;
          expect(result.counts.frames).toBe(result.frames);
        } catch (err) {
          thrown = err;
        }
        const ms = performance.now() - t0;
        expect(ms).toBeLessThan(2_000);
        stats.inputs++;
        if (ms > stats.slowestMs) {
          stats.slowestMs = ms;
          stats.slowestInput = `${seed.name} mutation #${i}`;
        }
        if (thrown !== null) {
          const ok = thrown instanceof CaptureError || thrown instanceof InputError;
          if (!ok) throw new Error(`analyzeCapture threw ${String(thrown)} on ${seed.name} mutation #${i}`);
          tally(stats, (thrown as Error).name);
        } else {
          expect(frames).toBeGreaterThanOrEqual(0);
          tally(stats, "resolved");
        }
      }
    }
    endSuite(stats);
  });
});

function writeField(b: Uint8Array, f: CaptureField, value: number): void {
  if (f.size === 4) setU32(b, f.at, value, f.littleEndian);
  else if (f.size === 2) setU16(b, f.at, value, f.littleEndian);
  else if (f.at < b.length) b[f.at] = value & 0xff;
}

function readField(b: Uint8Array, f: CaptureField): number {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (f.at + f.size > b.length) return 0;
  return f.size === 4 ? v.getUint32(f.at, f.littleEndian) : f.size === 2 ? v.getUint16(f.at, f.littleEndian) : b[f.at]!;
}

/** An interesting value for a field: the classics, or the current value nudged. */
function hostileValue(rng: Rng, f: CaptureField, b: Uint8Array): number {
  const current = readField(b, f);
  if (f.size === 1) return rng.pick([0, 6, 9, 19, 20, 63, 64, 0x80, 0x80 | 30, 0x80 | 63, 0x80 | 64, 0xff, rng.int(256)]);
  const pool = f.size === 4 ? INTERESTING_U32 : INTERESTING_U16;
  switch (rng.int(4)) {
    case 0:
      return rng.pick(pool);
    case 1:
      return (current + rng.pick([1, -1, 2, -2, 3, -3, 4, -4, 8, -8])) >>> 0;
    case 2:
      return f.size === 4 ? rng.u32() : rng.int(0x10000);
    default:
      return (current ^ (1 << rng.int(f.size * 8))) >>> 0;
  }
}
