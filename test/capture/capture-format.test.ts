import { describe, expect, it } from "vitest";
import { CaptureError, LinkType, type Frame } from "../../capture/frame.js";
import { CaptureTruncatedError, FrameParser, MAX_PACKET_BYTES } from "../../capture/capture-format.js";
import { MemorySink, PcapWriter, PcapngWriter, toUnits } from "../../capture/capture-writer.js";
import { pseudoRandomBytes } from "./helpers.js";

interface Parsed {
  frames: Frame[];
  error: unknown;
}

/** Feeds `bytes` in pieces of `step` bytes (Infinity: one piece) and collects frames and the final error. */
function parse(bytes: Uint8Array, step = Infinity): Parsed {
  const parser = new FrameParser();
  const frames: Frame[] = [];
  let error: unknown = null;
  try {
    const n = Number.isFinite(step) ? step : bytes.length;
    for (let i = 0; i < bytes.length; i += n) frames.push(...parser.push(bytes.subarray(i, i + n)));
    parser.finish();
  } catch (err) {
    error = err;
  }
  return { frames, error };
}

function summary(frames: readonly Frame[]): string[] {
  return frames.map((f) => `${f.no} ${f.tsSec}.${String(f.tsNsec).padStart(9, "0")} lt${f.linkType} if${f.interfaceId} ${f.bytes.length}/${f.originalLength} @${f.fileOffset}`);
}

const P1 = pseudoRandomBytes(60, 1);
const P2 = pseudoRandomBytes(33, 2);
const P3 = pseudoRandomBytes(1514, 3);

function pcapFile(opts: { le?: boolean; ns?: boolean; linkType?: number; snaplen?: number } = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: opts.linkType ?? LinkType.ETHERNET, littleEndian: opts.le ?? true, nanosecond: opts.ns ?? false, snaplen: opts.snaplen ?? 262144 });
  w.writeFrame({ tsSec: 1_700_000_000, tsNsec: 123_456_789, bytes: P1 });
  w.writeFrame({ tsSec: 1_700_000_001, tsNsec: 999_999_999, bytes: P2, originalLength: 90 });
  w.writeFrame({ tsSec: 1_700_000_002, tsNsec: 0, bytes: P3 });
  w.flush();
  return sink.bytes();
}

describe("pcap", () => {
  const cases = [
    { name: "little-endian µs", le: true, ns: false, nsec: [123_456_000, 999_999_000, 0] },
    { name: "big-endian µs", le: false, ns: false, nsec: [123_456_000, 999_999_000, 0] },
    { name: "little-endian ns (a1b23c4d)", le: true, ns: true, nsec: [123_456_789, 999_999_999, 0] },
    { name: "big-endian ns", le: false, ns: true, nsec: [123_456_789, 999_999_999, 0] },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      const file = pcapFile({ le: c.le, ns: c.ns });
      const { frames, error } = parse(file);
      expect(error).toBeNull();
      expect(frames.map((f) => f.tsNsec)).toEqual(c.nsec);
      expect(frames.map((f) => [f.no, f.tsSec, f.linkType, f.originalLength, f.interfaceId])).toEqual([
        [1, 1_700_000_000, 1, 60, 0],
        [2, 1_700_000_001, 1, 90, 0],
        [3, 1_700_000_002, 1, 1514, 0],
      ]);
      expect(frames[1]?.bytes).toEqual(P2);
      // fileOffset points at the packet data: 24-byte header + 16-byte record header.
      expect(frames.map((f) => f.fileOffset)).toEqual([40, 40 + 60 + 16, 40 + 60 + 16 + 33 + 16]);
      for (const f of frames) expect(file.subarray(f.fileOffset, f.fileOffset + f.bytes.length)).toEqual(f.bytes);
    });
  }

  it("gives the same frames whatever the chunking (1, 7, 100 bytes at a time), copying only straddling records", () => {
    const file = pcapFile();
    const whole = summary(parse(file).frames);
    for (const step of [1, 7, 100]) {
      const { frames, error } = parse(file, step);
      expect(error).toBeNull();
      expect(summary(frames)).toEqual(whole);
      expect(frames.map((f) => Array.from(f.bytes.subarray(0, 4)))).toEqual([P1, P2, P3].map((p) => Array.from(p.subarray(0, 4))));
    }
    // One chunk: frames are views of it.
    const parser = new FrameParser();
    const frames = parser.push(file);
    for (const f of frames) expect(f.bytes.buffer).toBe(file.buffer);
  });

  it("keeps snaplen-cut packets (captured < original)", () => {
    const file = pcapFile({ snaplen: 40 });
    const { frames } = parse(file);
    expect(frames.map((f) => [f.bytes.length, f.originalLength])).toEqual([[40, 60], [33, 90], [40, 1514]]);
  });

  it("reads the modified (Kuznetzov) pcap variant with its longer record header", () => {
    const header = new Uint8Array(24);
    const v = new DataView(header.buffer);
    v.setUint32(0, 0xa1b2cd34, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 65535, true);
    v.setUint32(20, 1, true);
    const rec = new Uint8Array(24 + P1.length);
    const r = new DataView(rec.buffer);
    r.setUint32(0, 5, true);
    r.setUint32(4, 6, true);
    r.setUint32(8, P1.length, true);
    r.setUint32(12, P1.length, true);
    rec.set(P1, 24);
    const { frames, error } = parse(Buffer.concat([header, rec]));
    expect(error).toBeNull();
    expect(summary(frames)).toEqual(["1 5.000006000 lt1 if0 60/60 @48"]);
  });

  it("normalises a microsecond field of 1,000,000 or more", () => {
    const file = pcapFile();
    new DataView(file.buffer, file.byteOffset).setUint32(24 + 4, 2_500_000, true);
    expect(summary(parse(file).frames)[0]).toMatch(/^1 1700000002\.500000000 /);
  });

  it("rejects an absurd incl_len with a CaptureError at its offset, after the frames before it", () => {
    const file = pcapFile();
    const second = 24 + 16 + 60;
    new DataView(file.buffer, file.byteOffset).setUint32(second + 8, MAX_PACKET_BYTES + 1, true);
    const { frames, error } = parse(file);
    expect(frames).toHaveLength(1);
    expect(error).toBeInstanceOf(CaptureError);
    expect((error as CaptureError).fileOffset).toBe(second + 8);
    expect((error as Error).message).toMatch(/262145 captured bytes/);
  });

  it("reports a file cut inside a record after yielding every complete frame", () => {
    const file = pcapFile();
    for (const cut of [24 + 16 + 60 + 5, file.length - 1]) {
      const { frames, error } = parse(file.subarray(0, cut), 50);
      expect(error).toBeInstanceOf(CaptureTruncatedError);
      const t = error as CaptureTruncatedError;
      expect(t.completeFrames).toBe(frames.length);
      expect(frames.length).toBe(cut === file.length - 1 ? 2 : 1);
      expect(t.fileOffset).toBe(frames.length === 1 ? 24 + 16 + 60 : 24 + 16 + 60 + 16 + 33);
      expect(t.message).toMatch(/cut short/);
    }
  });

  it("names the problem for empty input, a cut header, bad magic and gzip data", () => {
    const empty = parse(new Uint8Array(0)).error as CaptureError;
    expect(empty).toBeInstanceOf(CaptureError);
    expect(empty.message).toMatch(/empty/);
    const cut = parse(pcapFile().subarray(0, 10)).error as CaptureError;
    expect(cut).toBeInstanceOf(CaptureError);
    expect(cut).not.toBeInstanceOf(CaptureTruncatedError);
    expect(cut.message).toMatch(/header is cut off/);
    const text = parse(new TextEncoder().encode("GET / HTTP/1.1\r\n")).error as CaptureError;
    expect(text.fileOffset).toBe(0);
    expect(text.message).toMatch(/not a pcap or pcapng capture: first bytes 47 45 54 20 2f 20 48 54 "GET \/ HTTP\/1.1\.\."/);
    const gz = parse(Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0)).error as CaptureError;
    expect(gz.message).toMatch(/gzip/);
    const version = pcapFile();
    new DataView(version.buffer, version.byteOffset).setUint16(4, 3, true);
    expect((parse(version).error as Error).message).toMatch(/unsupported pcap version 3/);
  });
});

// ---------------------------------------------------------------------------

function pcapngFile(build: (w: PcapngWriter) => void, littleEndian = true): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { littleEndian });
  build(w);
  w.flush();
  return sink.bytes();
}

describe("pcapng", () => {
  for (const le of [true, false]) {
    it(`reads a ${le ? "little" : "big"}-endian section with two interfaces and nanosecond resolution`, () => {
      const file = pcapngFile((w) => {
        w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 9, name: "lo" });
        w.addInterface({ linkType: LinkType.RAW });
        w.writeFrame(0, { tsSec: 1_700_000_000, tsNsec: 123_456_789, bytes: P1 });
        w.writeFrame(1, { tsSec: 1_700_000_001, tsNsec: 987_654_321, bytes: P2, originalLength: 100 });
      }, le);
      const { frames, error } = parse(file);
      expect(error).toBeNull();
      expect(summary(frames).map((s) => s.replace(/ @\d+$/, ""))).toEqual([
        "1 1700000000.123456789 lt1 if0 60/60",
        "2 1700000001.987654000 lt101 if1 33/100",
      ]);
      for (const f of frames) expect(file.subarray(f.fileOffset, f.fileOffset + f.bytes.length)).toEqual(f.bytes);
      for (const step of [1, 3, 64]) expect(summary(parse(file, step).frames)).toEqual(summary(frames));
    });
  }

  it("handles several sections in different byte orders, each resetting interfaces", () => {
    const file = pcapngFile((w) => {
      w.addInterface({ linkType: LinkType.ETHERNET });
      w.writeFrame(0, { tsSec: 10, tsNsec: 1000, bytes: P1 });
      w.startSection(false);
      w.addInterface({ linkType: LinkType.LINUX_SLL2, tsResolution: 9 });
      w.writeFrame(0, { tsSec: 20, tsNsec: 7, bytes: P2 });
      w.startSection(true);
      w.addInterface({ linkType: LinkType.RAW, tsResolution: 3 });
      w.writeFrame(0, { tsSec: 30, tsNsec: 5_000_000, bytes: P3 });
    });
    const { frames, error } = parse(file);
    expect(error).toBeNull();
    expect(summary(frames).map((s) => s.replace(/ @\d+$/, ""))).toEqual([
      "1 10.000001000 lt1 if0 60/60",
      "2 20.000000007 lt276 if0 33/33",
      "3 30.005000000 lt101 if0 1514/1514",
    ]);
  });

  const resolutions = [
    { tsresol: 0, sec: 1_700_000_000, nsec: 0 },
    { tsresol: 6, sec: 1_700_000_000, nsec: 123_456_000 },
    { tsresol: 9, sec: 4_102_444_800, nsec: 999_999_999 }, // year 2100: above 2^32 ns·10^9 territory
    { tsresol: 12, sec: 1_000_000, nsec: 123_456_789 }, // picoseconds: the BigInt path
    { tsresol: 0x80 | 20, sec: 1_700_000_000, nsec: 500_000_000 }, // 2^-20 s
    { tsresol: 0x80 | 30, sec: 1_700_000_000, nsec: 250_000_000 },
    { tsresol: 0x80 | 40, sec: 1_000_000, nsec: 750_000_000 },
  ];
  for (const r of resolutions) {
    it(`converts timestamps exactly with if_tsresol 0x${r.tsresol.toString(16)}`, () => {
      const file = pcapngFile((w) => {
        w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: r.tsresol });
        w.writeFrame(0, { tsSec: r.sec, tsNsec: r.nsec, bytes: P1 });
      });
      const [f] = parse(file).frames;
      expect([f?.tsSec, f?.tsNsec]).toEqual([r.sec, r.nsec]);
    });
  }

  it("rounds a 2^-p resolution down to the nanosecond", () => {
    // 1 unit of 2^-30 s is 0.93 ns.
    const [high, low] = toUnits(100, 0, 0x80 | 30);
    const file = pcapngFile((w) => {
      w.addInterface({ linkType: 1, tsResolution: 0x80 | 30 });
      w.writeRawBlock(6, epbBody(0, high, low + 3, P1, true));
    });
    const [f] = parse(file).frames;
    expect([f?.tsSec, f?.tsNsec]).toEqual([100, 2]); // 3 · 2^-30 s = 2.79 ns
  });

  it("applies if_tsoffset (seconds, signed)", () => {
    const file = pcapngFile((w) => {
      w.addInterface({ linkType: 1, tsResolution: 9, tsOffset: 1_600_000_000 });
      w.addInterface({ linkType: 1, tsOffset: -5 });
      w.writeFrame(0, { tsSec: 1_600_000_100, tsNsec: 42, bytes: P1 });
      w.writeFrame(1, { tsSec: 95, tsNsec: 1000, bytes: P1 });
    });
    const frames = parse(file).frames;
    expect(frames.map((f) => [f.tsSec, f.tsNsec])).toEqual([[1_600_000_100, 42], [95, 1000]]);
  });

  it("reads SPB (captured length from the IDB snaplen) and the obsolete PB, skips unknown blocks, numbers every packet block", () => {
    const file = pcapngFile((w) => {
      w.writeRawBlock(0x00000123, Uint8Array.of(1, 2, 3, 4, 5)); // unknown, before any IDB
      w.addInterface({ linkType: LinkType.ETHERNET, snaplen: 40 });
      w.writeSimplePacket(P1.subarray(0, 40), 60);
      w.writeRawBlock(0x00000005, new Uint8Array(20)); // Interface Statistics Block
      w.writeRawBlock(0x00000002, pbBody(0, 7, 8, P2));
      w.writeRawBlock(0x40000abc, new Uint8Array(8)); // unknown: not numbered
      w.writeRawBlock(0x80000001, new Uint8Array(8)); // local use: not numbered
      w.writeRawBlock(0x00000bad, new Uint8Array(12)); // custom block: Wireshark gives it a frame number
      w.writeFrame(0, { tsSec: 9, tsNsec: 0, bytes: P1.subarray(0, 40), originalLength: 60 });
    });
    const { frames, error } = parse(file);
    expect(error).toBeNull();
    expect(summary(frames).map((s) => s.replace(/ @\d+$/, ""))).toEqual([
      "1 0.000000000 lt1 if0 40/60",
      "2 30064.771080000 lt1 if0 33/33",
      "4 9.000000000 lt1 if0 40/60",
    ]);
    expect(frames[1]?.bytes).toEqual(P2);
  });

  const badBlocks: { name: string; mutate(file: Uint8Array, v: DataView, at: number): void; offset(at: number): number; message: RegExp }[] = [
    { name: "length not a multiple of 4", mutate: (_f, v, at) => v.setUint32(at + 4, 30, true), offset: (at) => at + 4, message: /not a multiple of 4/ },
    { name: "length below the block minimum", mutate: (_f, v, at) => v.setUint32(at + 4, 24, true), offset: (at) => at + 4, message: /below the minimum of 32/ },
    { name: "trailing length differs", mutate: (_f, v, at) => v.setUint32(at + 88, 999, true), offset: (at) => at + 88, message: /trailing length 999 differs/ },
    { name: "length past the 16 MiB limit", mutate: (_f, v, at) => v.setUint32(at + 4, 0x7ffffff0, true), offset: (at) => at + 4, message: /exceeds/ },
    { name: "captured length larger than the block", mutate: (_f, v, at) => v.setUint32(at + 20, 200, true), offset: (at) => at + 20, message: /cannot hold/ },
    { name: "interface id not described", mutate: (_f, v, at) => v.setUint32(at + 8, 3, true), offset: (at) => at + 8, message: /interface 3/ },
  ];
  for (const b of badBlocks) {
    it(`a bad block is a CaptureError with its offset: ${b.name}`, () => {
      const file = pcapngFile((w) => {
        w.addInterface({ linkType: 1 });
        w.writeFrame(0, { tsSec: 1, tsNsec: 0, bytes: P2 });
        w.writeFrame(0, { tsSec: 2, tsNsec: 0, bytes: P1 });
        w.writeFrame(0, { tsSec: 3, tsNsec: 0, bytes: P2 });
      });
      // Second EPB: after the SHB (28), IDB (20) and the first EPB (32 + 36).
      const at = 28 + 20 + 32 + 36;
      expect(new DataView(file.buffer).getUint32(at, true)).toBe(6);
      b.mutate(file, new DataView(file.buffer), at);
      const { frames, error } = parse(file, 17);
      expect(frames.map((f) => f.no)).toEqual([1]);
      expect(error).toBeInstanceOf(CaptureError);
      expect(error).not.toBeInstanceOf(CaptureTruncatedError);
      expect((error as CaptureError).fileOffset).toBe(b.offset(at));
      expect((error as Error).message).toMatch(b.message);
    });
  }

  it("rejects a bad byte-order magic and an unsupported version", () => {
    const file = pcapngFile(() => {});
    const bom = file.slice();
    bom[8] = 0;
    expect((parse(bom).error as CaptureError).fileOffset).toBe(8);
    const version = file.slice();
    new DataView(version.buffer).setUint16(12, 2, true);
    expect((parse(version).error as Error).message).toMatch(/unsupported pcapng version 2/);
  });

  it("reports a truncated pcapng and a cut section header differently", () => {
    const file = pcapngFile((w) => {
      w.addInterface({ linkType: 1 });
      w.writeFrame(0, { tsSec: 1, tsNsec: 0, bytes: P1 });
      w.writeFrame(0, { tsSec: 2, tsNsec: 0, bytes: P1 });
    });
    const t = parse(file.subarray(0, file.length - 3), 5);
    expect(t.frames).toHaveLength(1);
    expect(t.error).toBeInstanceOf(CaptureTruncatedError);
    expect((t.error as CaptureTruncatedError).fileOffset).toBe(28 + 20 + 92);
    const h = parse(file.subarray(0, 20));
    expect(h.error).toBeInstanceOf(CaptureError);
    expect(h.error).not.toBeInstanceOf(CaptureTruncatedError);
  });

  it("rejects an out-of-range if_tsresol", () => {
    const file = pcapngFile((w) => w.addInterface({ linkType: 1, tsResolution: 25 }));
    expect((parse(file).error as Error).message).toMatch(/if_tsresol 10\^-25/);
  });
});

function epbBody(interfaceId: number, high: number, low: number, data: Uint8Array, le: boolean): Uint8Array {
  const b = new Uint8Array(20 + ((data.length + 3) & ~3));
  const v = new DataView(b.buffer);
  v.setUint32(0, interfaceId, le);
  v.setUint32(4, high, le);
  v.setUint32(8, low, le);
  v.setUint32(12, data.length, le);
  v.setUint32(16, data.length, le);
  b.set(data, 20);
  return b;
}

/** Obsolete Packet Block body: interface id (16), drops (16), ts high, ts low, caplen, len, data. */
function pbBody(interfaceId: number, high: number, low: number, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + ((data.length + 3) & ~3));
  const v = new DataView(b.buffer);
  v.setUint16(0, interfaceId, true);
  v.setUint16(2, 0, true);
  v.setUint32(4, high, true);
  v.setUint32(8, low, true);
  v.setUint32(12, data.length, true);
  v.setUint32(16, data.length, true);
  b.set(data, 20);
  return b;
}
