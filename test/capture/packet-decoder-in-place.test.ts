/**
 * The packet decoder reads a reader's frames in place (BufferFrame: the bytes are a
 * range of a larger buffer, and no view is made). It must hand on exactly what it
 * hands on for the same frame as a view of its own: the same datagrams, chunks,
 * closes, issues (offsets from the frame's start) and frameDone calls, and never read
 * the bytes around the range.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BufferFrame, type Frame } from "../../capture/frame.js";
import { readFrameBatches } from "../../capture/open-capture.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { ROOT, sampleCaptures } from "../sample-files.js";
import { hexOf, pseudoRandomBytes, RecordingSink } from "./helpers.js";

/** Everything the sink was told, as plain data. */
function transcript(sink: RecordingSink): unknown {
  return {
    udps: sink.udps.map((d) => ({
      frame: d.frame, src: d.src, dst: d.dst, sport: d.sport, dport: d.dport, payload: hexOf(d.payloadCopy),
      missingBytes: d.missingBytes, fragmentFrames: [...d.fragmentFrames],
    })),
    chunks: sink.chunks.map((c) => ({ ...c, bytes: hexOf(c.bytes), sameBufferAsFrame: undefined })),
    closes: sink.closes.map((c) => ({ conn: c.conn.id, frame: c.frame, reason: c.reason, undelivered: [...c.undelivered] })),
    issues: sink.issues,
    done: sink.done,
  };
}

function decode(frames: readonly Frame[]): unknown {
  const sink = new RecordingSink();
  const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
  for (const f of frames) decoder.push(f);
  decoder.finish();
  return transcript(sink);
}

/** The frame's bytes at a seeded offset of a larger buffer, with seeded garbage before and after. */
function inPlace(f: Frame, seed: number): BufferFrame {
  const before = seed % 37;
  const after = 1 + (seed % 29);
  const data = pseudoRandomBytes(before + f.bytes.length + after, seed);
  data.set(f.bytes, before);
  return new BufferFrame(f.no, f.tsSec, f.tsNsec, f.linkType, data, before, before + f.bytes.length, f.originalLength, f.fileOffset, f.interfaceId);
}

async function framesOf(file: string): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const batch of readFrameBatches({ kind: "file", path: file })) {
    for (const f of batch) out.push({ ...f, bytes: f.bytes.slice() });
  }
  return out;
}

describe("packet decoding in place", () => {
  const hostileDir = join(ROOT, "samples", "hostile");
  const files = [
    ...sampleCaptures(),
    ...readdirSync(hostileDir).filter((n) => /\.pcap(ng)?$/.test(n)).map((n) => join(hostileDir, n)),
  ];

  it("hands on the same as from views, on every sample and hostile capture, between garbage bytes", async () => {
    let frames = 0;
    let issues = 0;
    for (const file of files) {
      let list: Frame[];
      try {
        list = await framesOf(file);
      } catch {
        continue; // a capture the reader refuses as a whole has no frames to compare
      }
      const want = decode(list);
      expect(decode(list.map((f, i) => inPlace(f, i * 7919 + 1))), file).toEqual(want);
      frames += list.length;
      issues += (want as { issues: unknown[] }).issues.length;
    }
    expect(frames).toBeGreaterThan(1000);
    expect(issues).toBeGreaterThan(0);
  });

  it("hands on the same for every cut of every frame's bytes (snaplen-short frames), in place", async () => {
    const list = (await framesOf(join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng"))).slice(0, 40);
    let compared = 0;
    for (let i = 0; i < list.length; i++) {
      const f = list[i]!;
      for (let cut = 0; cut <= f.bytes.length; cut += 3) {
        const short: Frame = { ...f, bytes: f.bytes.slice(0, cut) };
        expect(decode([short, ...list.slice(i + 1, i + 3)])).toEqual(
          decode([inPlace(short, cut + 1), ...list.slice(i + 1, i + 3).map((g, k) => inPlace(g, cut * 3 + k))]),
        );
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it("hands on the same, issues and their offsets included, for header bytes set to 0x00, 0x0f, 0x45 or 0xff", async () => {
    const list = (await framesOf(join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng"))).slice(0, 24);
    let issues = 0;
    for (let i = 0; i < list.length; i++) {
      const f = list[i]!;
      for (let at = 0; at < Math.min(f.bytes.length, 80); at++) {
        for (const value of [0x00, 0x0f, 0x45, 0xff]) {
          const bytes = f.bytes.slice();
          bytes[at] = value;
          const changed: Frame = { ...f, bytes };
          const want = decode([changed]);
          expect(decode([inPlace(changed, at * 4 + value)])).toEqual(want);
          issues += (want as { issues: unknown[] }).issues.length;
        }
      }
    }
    expect(issues).toBeGreaterThan(500);
  });
});
