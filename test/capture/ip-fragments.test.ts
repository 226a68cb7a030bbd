import { describe, expect, it } from "vitest";
import { buildIpv4, buildIpv4Udp, buildIpv6, buildIpv6Udp, fragmentIpv4, fragmentIpv6, TcpConversation } from "../../capture/packet-builder.js";
import { decodeAll, pseudoRandomBytes } from "./helpers.js";

const BIG = pseudoRandomBytes(4000, 11);
const datagram4 = buildIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 111, dport: 900, payload: BIG, ipId: 0x1234 });
const frags4 = fragmentIpv4(datagram4, 1500); // 3 fragments: 1480, 1480, 1048 bytes of IP payload
const datagram6 = buildIpv6Udp({ src: "::1", dst: "::1", sport: 111, dport: 900, payload: BIG });
const frags6 = fragmentIpv6(datagram6, 1280, 0xabcdef01); // 4 fragments

function fragment4(offset: number, data: Uint8Array, more: boolean, id = 0x1234): Uint8Array {
  return buildIpv4("127.0.0.1", "127.0.0.1", 17, data, { id, fragmentOffset: offset, moreFragments: more });
}

describe("IPv4 fragment reassembly", () => {
  for (const order of [[0, 1, 2], [2, 0, 1], [2, 1, 0], [1, 2, 0]]) {
    it(`reassembles fragments arriving in the order ${order.join(",")}`, () => {
      const sink = decodeAll(order.map((i) => frags4[i] as Uint8Array));
      expect(frags4).toHaveLength(3);
      expect(sink.issues).toEqual([]);
      expect(sink.udps).toHaveLength(1);
      const u = sink.udps[0];
      expect(u?.payloadCopy).toEqual(BIG);
      expect([u?.frame, u?.fragmentFrames, u?.missingBytes, u?.sport, u?.dport]).toEqual([3, [1, 2, 3], 0, 111, 900]);
      // Fragments waiting are carried (held); the last delivers.
      expect(sink.done).toEqual([[1, true], [2, true], [3, true]]);
    });
  }

  it("keeps the first copy of overlapping bytes and reports the overlap", () => {
    const udp = datagram4.subarray(20);
    const a = fragment4(0, udp.subarray(0, 1600), true);
    const evil = udp.slice(1504, 1608).map((b) => b ^ 0x55); // overlaps [1504, 1600) with different bytes
    const b = fragment4(1504, evil, true);
    const c = fragment4(1600, udp.subarray(1600), false);
    const sink = decodeAll([a, b, c]);
    expect(sink.udps).toHaveLength(1);
    const got = sink.udps[0]?.payloadCopy;
    expect(got?.subarray(0, 1592)).toEqual(BIG.subarray(0, 1592)); // first copy kept
    // [1600, 1608) came first from `b` (the evil copy): first wins there too.
    expect(got?.subarray(1592, 1600)).toEqual(evil.subarray(96, 104));
    expect(sink.issues.map((i) => i.code)).toEqual(["fragment-overlap", "fragment-overlap"]);
    expect(sink.issues[0]?.detail).toMatch(/96 bytes overlap .*DIFFERENT/);
  });

  it("reports identical duplicate fragments as overlaps and still reassembles once", () => {
    const sink = decodeAll([frags4[0] as Uint8Array, frags4[0] as Uint8Array, frags4[1] as Uint8Array, frags4[2] as Uint8Array]);
    expect(sink.udps).toHaveLength(1);
    expect(sink.issues.map((i) => [i.code, /identical/.test(i.detail)])).toEqual([["fragment-overlap", true]]);
  });

  it("drops a datagram whose fragments do not all arrive within the timeout (capture time)", () => {
    const other = buildIpv4Udp({ src: "127.0.0.2", dst: "127.0.0.2", sport: 1, dport: 2, payload: Uint8Array.of(1) });
    const sink = decodeAll([frags4[0] as Uint8Array, other, frags4[1] as Uint8Array, frags4[2] as Uint8Array], { times: [0, 10, 31, 32], limits: { fragmentTimeoutSeconds: 30 } });
    // Frame 3 is past the 30 s deadline: the datagram of frame 1 expires before it is handled;
    // frames 3 and 4 start a new datagram that lacks its first fragment, dropped at the end.
    expect(sink.udps.map((u) => u.frame)).toEqual([2]);
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["1:fragment-timeout", "3:fragment-timeout"]);
    expect(sink.issues[0]?.detail).toMatch(/not completed within 30 s; fragments in frames 1$/);
    expect(sink.issues[1]?.detail).toMatch(/capture ended/);
  });

  it("drops the oldest datagram beyond maxFragmentBuffers", () => {
    const udp = buildIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 1, dport: 2, payload: new Uint8Array(16).fill(7) }).subarray(20);
    const first = fragment4(0, new Uint8Array(16), true, 1);
    const second = fragment4(0, udp.subarray(0, 16), true, 2);
    const secondEnd = fragment4(16, udp.subarray(16), false, 2);
    const sink = decodeAll([first, second, secondEnd], { limits: { maxFragmentBuffers: 1 } });
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["1:fragment-limit"]);
    expect(sink.udps.map((u) => [u.frame, u.fragmentFrames, u.payloadCopy.length])).toEqual([[3, [2, 3], 16]]);
  });

  it("drops datagrams beyond maxFragmentBytesTotal, oldest first, and the new one if it alone is too big", () => {
    const a = fragment4(0, new Uint8Array(800), true, 1);
    const b = fragment4(0, new Uint8Array(800), true, 2);
    // Each held piece is charged its payload plus a fixed overhead (384 bytes): 2 × 1184 > 2000.
    const sink = decodeAll([a, b], { limits: { maxFragmentBytesTotal: 2000 } });
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["1:fragment-limit", "2:fragment-timeout"]);
    const huge = fragment4(0, new Uint8Array(1700), true, 3);
    const sink2 = decodeAll([huge], { limits: { maxFragmentBytesTotal: 2000 } });
    expect(sink2.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["1:fragment-limit"]);
  });

  it("rejects a fragment that would end past 65535 bytes", () => {
    const sink = decodeAll([fragment4(65528, new Uint8Array(16), false)]);
    expect(sink.issues.map((i) => i.code)).toEqual(["malformed-ip"]);
  });

  it("reports conflicting last fragments", () => {
    const udp = datagram4.subarray(20);
    const sink = decodeAll([fragment4(0, udp.subarray(0, 1480), true), fragment4(1480, udp.subarray(1480), false), fragment4(1480, udp.subarray(1480, 1600), false)]);
    expect(sink.udps).toHaveLength(1);
    // The conflicting one arrives after completion: it starts a new datagram that never completes.
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["3:fragment-timeout"]);
    const sink2 = decodeAll([fragment4(1480, udp.subarray(1480), false), fragment4(1480, udp.subarray(1480, 1600), false), fragment4(0, udp.subarray(0, 1480), true)]);
    expect(sink2.udps.map((u) => u.payloadCopy.length)).toEqual([BIG.length]);
    expect(sink2.issues.map((i) => i.code)).toEqual(["fragment-overlap", "fragment-overlap"]);
    expect(sink2.issues[0]?.detail).toMatch(/second last fragment/);
  });

  it("hands a fragmented TCP segment to the reassembler at the last fragment", () => {
    const c = new TcpConversation({ client: "127.0.0.1", server: "127.0.0.1", clientPort: 5, serverPort: 111 });
    const hs = c.handshake();
    const seg = c.send("client", BIG.subarray(0, 3000));
    // Clear DF so the builder's fragments look plausible; reassembly ignores it anyway.
    const frags = fragmentIpv4(seg, 1500);
    const sink = decodeAll([...hs, ...frags.reverse()]);
    expect(sink.chunks).toHaveLength(1);
    expect(sink.chunks[0]?.bytes).toEqual(BIG.subarray(0, 3000));
    expect(sink.chunks[0]?.frame).toBe(hs.length + frags.length);
  });
});

describe("IPv6 fragment reassembly", () => {
  it("reassembles out-of-order fragments and lists their frames", () => {
    expect(frags6).toHaveLength(4);
    const sink = decodeAll([frags6[3], frags6[0], frags6[2], frags6[1]] as Uint8Array[]);
    expect(sink.issues).toEqual([]);
    expect(sink.udps.map((u) => [u.frame, u.fragmentFrames, u.src, u.dst])).toEqual([[4, [1, 2, 3, 4], "::1", "::1"]]);
    expect(sink.udps[0]?.payloadCopy).toEqual(BIG);
  });

  it("follows extension headers before the fragment header and after reassembly", () => {
    const udp = datagram6.subarray(40);
    // Fragmentable part: a destination options header (→ UDP) then the UDP datagram.
    const fragmentable = Buffer.concat([Uint8Array.of(17, 0, 1, 4, 0, 0, 0, 0), udp]);
    const pieces = [fragmentable.subarray(0, 1000), fragmentable.subarray(1000)];
    const packets = pieces.map((piece, i) => {
      const hbh = Uint8Array.of(44, 0, 1, 4, 0, 0, 0, 0);
      const frag = new Uint8Array(8);
      frag[0] = 60;
      new DataView(frag.buffer).setUint16(2, (i * 1000) | (i === 0 ? 1 : 0));
      new DataView(frag.buffer).setUint32(4, 77);
      return buildIpv6("::1", "::2", 0, Buffer.concat([hbh, frag, piece]));
    });
    const sink = decodeAll(packets);
    expect(sink.issues).toEqual([]);
    expect(sink.udps[0]?.payloadCopy).toEqual(BIG);
  });

  it("treats an atomic fragment (offset 0, M = 0) as a plain header", () => {
    const udp = datagram6.subarray(40, 40 + 8 + 16);
    const fixedLength = udp.slice();
    new DataView(fixedLength.buffer).setUint16(4, 24);
    const frag = Uint8Array.of(17, 0, 0, 0, 0, 0, 0, 9);
    const sink = decodeAll([buildIpv6("::1", "::1", 44, Buffer.concat([frag, fixedLength]))]);
    expect(sink.udps.map((u) => [u.fragmentFrames.length, u.payloadCopy.length])).toEqual([[0, 16]]);
  });

  it("drops incomplete IPv6 datagrams at the end with fragment-timeout", () => {
    const sink = decodeAll([frags6[0] as Uint8Array, frags6[1] as Uint8Array]);
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["1:fragment-timeout"]);
    expect(sink.issues[0]?.detail).toMatch(/IPv6 ::1 > ::1 id 2882400001/);
  });
});
