import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CaptureError, LinkType } from "../../capture/frame.js";
import { FrameParser } from "../../capture/capture-format.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import { DEFAULT_LIMITS, withLimits } from "../../capture/limits.js";
import { MemorySink, PcapngWriter, PcapWriter } from "../../capture/capture-writer.js";
import { buildIpv4, buildIpv6, TcpConversation, wrapEthernet } from "../../capture/packet-builder.js";
import { frameOf, hexOf, RecordingSink } from "./helpers.js";

const LINK_TYPES = [LinkType.NULL, LinkType.ETHERNET, LinkType.RAW, LinkType.LOOP, LinkType.LINUX_SLL, LinkType.IPV4, LinkType.IPV6, LinkType.LINUX_SLL2];

describe("TCP reassembly properties", () => {
  it("shuffled, duplicated and overlapping segments reassemble to the original stream", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 80 })), { maxLength: 10 }),
        fc.oneof(fc.constant(0xfffffff0), fc.constant(0x7ffffffa), fc.integer({ min: 0, max: 0xffffffff })),
        fc.integer({ min: 1, max: 1 << 30 }),
        (stream, cutSeeds, extras, isn, shuffleSeed) => {
          const c = new TcpConversation({ client: "127.0.0.1", server: "127.0.0.1", clientPort: 999, serverPort: 111, clientIsn: isn });
          const packets = c.handshake();
          const base = c.nextSeq("client");
          const cuts = [...new Set([0, stream.length, ...cutSeeds.map((s) => s % stream.length)])].sort((a, b) => a - b);
          const segments: [number, number][] = [];
          for (let i = 0; i + 1 < cuts.length; i++) segments.push([cuts[i] as number, cuts[i + 1] as number]);
          for (const [start, len] of extras) {
            const s = start % stream.length;
            segments.push([s, Math.min(stream.length, s + len)]);
          }
          // Deterministic shuffle from the seed.
          let x = shuffleSeed;
          for (let i = segments.length - 1; i > 0; i--) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0;
            const j = x % (i + 1);
            [segments[i], segments[j]] = [segments[j] as [number, number], segments[i] as [number, number]];
          }
          for (const [s, e] of segments) packets.push(c.segmentAt("client", (base + s) >>> 0, stream.subarray(s, e)));
          const sink = new RecordingSink();
          const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
          packets.forEach((p, i) => decoder.push(frameOf(i + 1, p)));
          decoder.finish();
          const got = sink.stream(0, 0);
          expect(got.gaps).toEqual([]);
          expect(hexOf(got.bytes)).toBe(hexOf(stream));
          expect(sink.issues.filter((i) => i.code !== "tcp-retransmission")).toEqual([]);
          expect(sink.done).toHaveLength(packets.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with small buffer limits, bytes are never duplicated: delivered + gaps = the stream length", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 60 })), { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 100 }),
        (stream, segs, limit) => {
          const c = new TcpConversation({ client: "127.0.0.1", server: "127.0.0.1", clientPort: 998, serverPort: 111, clientIsn: 0xffffff00 });
          const packets = c.handshake();
          const base = c.nextSeq("client");
          let end = 0;
          for (const [start, len] of segs) {
            const s = start % stream.length;
            const e = Math.min(stream.length, s + len);
            end = Math.max(end, e);
            packets.push(c.segmentAt("client", (base + s) >>> 0, stream.subarray(s, e)));
          }
          const sink = new RecordingSink();
          const decoder = new PacketDecoder(withLimits({ maxTcpBufferedPerDirection: limit, maxTcpBufferedTotal: limit * 2 }), sink);
          packets.forEach((p, i) => decoder.push(frameOf(i + 1, p)));
          decoder.finish();
          // Walk the chunks: each lands at its stream offset and holds the right bytes.
          let pos = 0;
          for (const ch of sink.chunks) {
            pos += ch.gapBefore;
            expect(hexOf(ch.bytes)).toBe(hexOf(stream.subarray(pos, pos + ch.bytes.length)));
            pos += ch.bytes.length;
          }
          expect(pos).toBeLessThanOrEqual(end);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("hostile input never throws", () => {
  it("any byte string as a frame of any link type", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...LINK_TYPES, 147), fc.uint8Array({ maxLength: 200 })), { maxLength: 20 }), (frames) => {
        const sink = new RecordingSink();
        const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
        frames.forEach(([lt, bytes], i) => decoder.push(frameOf(i + 1, bytes, lt)));
        decoder.finish();
        expect(sink.done.map(([f]) => f)).toEqual(frames.map((_, i) => i + 1));
      }),
      { numRuns: 2000 },
    );
  });

  it("random bytes behind valid IPv4/IPv6/Ethernet headers (fragments, TCP, UDP, extension headers)", () => {
    const header = fc.constantFrom(
      (p: Uint8Array) => buildIpv4("10.0.0.1", "10.0.0.2", 6, p),
      (p: Uint8Array) => buildIpv4("10.0.0.1", "10.0.0.2", 17, p),
      (p: Uint8Array) => buildIpv4("10.0.0.1", "10.0.0.2", 17, p, { moreFragments: true, id: 5 }),
      (p: Uint8Array) => buildIpv4("10.0.0.1", "10.0.0.2", 6, p, { fragmentOffset: 8, id: 5 }),
      (p: Uint8Array) => buildIpv6("::1", "::2", 6, p),
      (p: Uint8Array) => buildIpv6("::1", "::2", 44, p),
      (p: Uint8Array) => buildIpv6("::1", "::2", 0, p),
      (p: Uint8Array) => buildIpv6("::1", "::2", 51, p),
      (p: Uint8Array) => wrapEthernet(buildIpv4("10.0.0.1", "10.0.0.2", 17, p), { vlans: [{ vid: 1 }] }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(header, fc.uint8Array({ maxLength: 120 }), fc.nat(40)), { maxLength: 30 }), (items) => {
        const sink = new RecordingSink();
        const decoder = new PacketDecoder(withLimits({ maxFragmentBuffers: 3, maxFragmentBytesTotal: 500, maxFlows: 4 }), sink);
        items.forEach(([build, payload, cut], i) => {
          const pkt = build(payload);
          const lt = (pkt[0] ?? 0) >> 4 === 4 || (pkt[0] ?? 0) >> 4 === 6 ? LinkType.RAW : LinkType.ETHERNET;
          const captured = pkt.subarray(0, Math.max(0, pkt.length - cut));
          decoder.push(frameOf(i + 1, captured, lt, { originalLength: pkt.length }));
        });
        decoder.finish();
        expect(sink.done).toHaveLength(items.length);
      }),
      { numRuns: 1500 },
    );
  });

  it("any byte string or chunking of a capture: FrameParser throws only CaptureError", () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ linkType: 1, tsResolution: 9 });
    for (let i = 0; i < 5; i++) w.writeFrame(0, { tsSec: i, tsNsec: i, bytes: new Uint8Array(30 + i) });
    w.flush();
    const ng = sink.bytes();
    const pcapSink = new MemorySink();
    const pw = new PcapWriter(pcapSink, { linkType: 1 });
    for (let i = 0; i < 5; i++) pw.writeFrame({ tsSec: i, tsNsec: 0, bytes: new Uint8Array(30 + i) });
    pw.flush();
    const pcap = pcapSink.bytes();
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.tuple(fc.constantFrom(ng, pcap), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }), fc.nat()).map(([file, flips, cut]) => {
        const b = file.slice();
        for (const [at, v] of flips) b[at % b.length] = v;
        return b.subarray(0, cut % (b.length + 1));
      }),
    );
    fc.assert(
      fc.property(input, fc.integer({ min: 1, max: 64 }), (bytes, step) => {
        const parser = new FrameParser();
        try {
          for (let i = 0; i < bytes.length; i += step) parser.push(bytes.subarray(i, i + step));
          parser.finish();
        } catch (err) {
          expect(err).toBeInstanceOf(CaptureError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("chunking never changes the frames of a valid capture", () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink);
    w.addInterface({ linkType: 1, tsResolution: 9 });
    for (let i = 0; i < 20; i++) w.writeFrame(0, { tsSec: i, tsNsec: i * 7, bytes: new Uint8Array(i * 13).fill(i) });
    w.flush();
    const file = sink.bytes();
    const describe = (frames: ReturnType<FrameParser["push"]>) => frames.map((f) => `${f.no}:${f.tsNsec}:${f.fileOffset}:${hexOf(f.bytes)}`);
    const whole = describe(new FrameParser().push(file));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 50 }), (sizes) => {
        const parser = new FrameParser();
        const frames: ReturnType<FrameParser["push"]> = [];
        let pos = 0;
        let k = 0;
        while (pos < file.length) {
          const n = sizes[k++ % sizes.length] as number;
          frames.push(...parser.push(file.subarray(pos, pos + n)));
          pos += n;
        }
        parser.finish();
        expect(describe(frames)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
});
