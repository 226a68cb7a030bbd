import { describe, expect, it } from "vitest";
import { TcpConversation, TcpFlags, buildIpv4Tcp } from "../../capture/packet-builder.js";
import { LinkType } from "../../capture/frame.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import { withLimits } from "../../capture/limits.js";
import { decodeAll, frameOf, pseudoRandomBytes, RecordingSink } from "./helpers.js";

const CLIENT = "127.0.0.1";
const SERVER = "127.0.0.2";

function conversation(clientIsn = 1000, serverIsn = 5000, clientPort = 40000): TcpConversation {
  return new TcpConversation({ client: CLIENT, server: SERVER, clientPort, serverPort: 111, clientIsn, serverIsn });
}

type Seg = { off: number; len: number; corrupt?: boolean } | readonly [off: number, len: number];

interface Row {
  readonly name: string;
  readonly isn?: number;
  readonly segs: readonly Seg[];
  /** [stream offset, length, gapBefore] of each chunk of the client direction. */
  readonly chunks: readonly (readonly [number, number, number])[];
  readonly issues?: readonly string[];
  readonly limits?: { maxTcpBufferedPerDirection?: number };
}

const ROWS: readonly Row[] = [
  { name: "in order", segs: [[0, 10], [10, 10]], chunks: [[0, 10, 0], [10, 10, 0]] },
  { name: "out of order, hole filled", segs: [[0, 10], [20, 10], [10, 10]], chunks: [[0, 10, 0], [10, 10, 0], [20, 10, 0]] },
  { name: "reverse order", segs: [[30, 10], [20, 10], [10, 10], [0, 10]], chunks: [[0, 10, 0], [10, 10, 0], [20, 10, 0], [30, 10, 0]] },
  { name: "full retransmission", segs: [[0, 10], [0, 10], [10, 5]], chunks: [[0, 10, 0], [10, 5, 0]], issues: ["tcp-retransmission"] },
  { name: "partial overlap with delivered bytes", segs: [[0, 10], [5, 10]], chunks: [[0, 10, 0], [10, 5, 0]] },
  { name: "overlap with buffered bytes, identical", segs: [[0, 10], [20, 10], [15, 10], [10, 10]], chunks: [[0, 10, 0], [10, 10, 0], [20, 10, 0]] },
  {
    name: "overlap with buffered bytes, different",
    segs: [[0, 10], [20, 10], { off: 15, len: 10, corrupt: true }, [10, 10]],
    chunks: [[0, 10, 0], [10, 10, 0], [20, 10, 0]],
    issues: ["tcp-overlap-mismatch", "tcp-overlap-mismatch"],
  },
  { name: "duplicate of a buffered segment", segs: [[0, 10], [20, 10], [20, 10]], chunks: [[0, 10, 0], [20, 10, 10]], issues: ["tcp-retransmission"] },
  { name: "hole never filled: flushed with a gap at the end", segs: [[0, 10], [30, 10]], chunks: [[0, 10, 0], [30, 10, 20]] },
  {
    name: "per-direction buffer limit: flush forward with a gap",
    segs: [[0, 10], [20, 10], [40, 10], [60, 10]],
    chunks: [[0, 10, 0], [20, 10, 10], [40, 10, 10], [60, 10, 10]],
    issues: ["tcp-buffer-limit"],
    limits: { maxTcpBufferedPerDirection: 25 },
  },
  { name: "wrap-around at 0xFFFFFFF0", isn: 0xfffffff0, segs: [[0, 10], [10, 10], [30, 10], [20, 10]], chunks: [[0, 10, 0], [10, 10, 0], [20, 10, 0], [30, 10, 0]] },
  { name: "wrap-around with a retransmission across 2^32", isn: 0xfffffff8, segs: [[0, 20], [4, 10], [20, 4]], chunks: [[0, 20, 0], [20, 4, 0]], issues: ["tcp-retransmission"] },
  { name: "one-byte keep-alive probe is not a retransmission", segs: [[0, 10], [9, 1]], chunks: [[0, 10, 0]] },
];

describe("TCP reassembly table (client → server direction)", () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const stream = pseudoRandomBytes(200, 7);
      const c = conversation(row.isn ?? 1000);
      const packets = [...c.handshake()];
      const base = (c.nextSeq("client")) >>> 0;
      const issueFrames: number[] = [];
      for (const seg of row.segs) {
        const { off, len, corrupt } = Array.isArray(seg) ? { off: seg[0], len: seg[1], corrupt: false } : (seg as { off: number; len: number; corrupt?: boolean });
        let data = stream.slice(off, off + len);
        if (corrupt) data = data.map((b) => b ^ 0xff);
        packets.push(c.segmentAt("client", (base + off) >>> 0, data));
        issueFrames.push(packets.length);
      }
      const sink = decodeAll(packets, row.limits ? { limits: row.limits } : {});
      const chunks = sink.chunks.filter((ch) => ch.dir === 0);
      let pos = 0;
      const got = chunks.map((ch) => {
        pos += ch.gapBefore;
        const entry = [pos, ch.bytes.length, ch.gapBefore] as const;
        expect(ch.bytes).toEqual(stream.subarray(pos, pos + ch.bytes.length));
        pos += ch.bytes.length;
        return entry;
      });
      expect(got).toEqual(row.chunks);
      expect(sink.issues.map((i) => i.code)).toEqual(row.issues ?? []);
      // Every frame is reported done exactly once, in order.
      expect(sink.done.map(([f]) => f)).toEqual(packets.map((_, i) => i + 1));
      expect(sink.closes).toHaveLength(1);
      expect(sink.closes[0]?.reason).toBe("end");
    });
  }
});

describe("TCP connections", () => {
  it("delivers in-order data zero-copy, with SYN seen, and closes on FIN", () => {
    const c = conversation();
    const packets = [...c.handshake(), c.send("client", new TextEncoder().encode("hello ")), c.send("client", new TextEncoder().encode("world")), c.ack("server"), c.send("server", new TextEncoder().encode("ok")), ...c.close()];
    const sink = decodeAll(packets, { finish: false });
    expect(sink.chunks.map((ch) => [ch.dir, new TextDecoder().decode(ch.bytes), ch.midstream, ch.sameBufferAsFrame])).toEqual([
      [0, "hello ", false, true],
      [0, "world", false, true],
      [1, "ok", false, true],
    ]);
    expect(sink.closes.map((cl) => [cl.reason, cl.frame, cl.undelivered])).toEqual([["fin", 9, [0, 0]]]);
    const conn = sink.closes[0]?.conn;
    expect(conn).toMatchObject({ id: 0, aAddr: CLIENT, aPort: 40000, bAddr: SERVER, bPort: 111, sawSyn: true });
    // Handshake and pure ACKs carry nothing; data frames do.
    expect(sink.done).toEqual([[1, false], [2, false], [3, false], [4, true], [5, true], [6, false], [7, true], [8, false], [9, false], [10, false]]);
    expect(sink.issues).toEqual([]);
  });

  it("marks the first chunk of each direction midstream when no SYN was seen", () => {
    const c = conversation();
    c.handshake(); // not captured
    const packets = [c.send("server", Uint8Array.of(1, 2, 3)), c.send("client", Uint8Array.of(4, 5)), c.send("server", Uint8Array.of(6)), c.send("client", Uint8Array.of(7))];
    const sink = decodeAll(packets);
    expect(sink.chunks.map((ch) => [ch.dir, ch.midstream])).toEqual([[0, true], [1, true], [0, false], [1, false]]);
    expect(sink.closes[0]?.conn).toMatchObject({ aAddr: SERVER, aPort: 111, sawSyn: false });
  });

  it("when the capture starts with the SYN-ACK, the SYN sender is still side a and its stream start is known", () => {
    const c = conversation();
    const [, synAck, ack] = c.handshake() as [Uint8Array, Uint8Array, Uint8Array];
    const sink = decodeAll([synAck, ack, c.send("client", Uint8Array.of(9, 9)), c.send("server", Uint8Array.of(8))]);
    expect(sink.closes[0]?.conn).toMatchObject({ aAddr: CLIENT, bAddr: SERVER, sawSyn: true });
    expect(sink.chunks.map((ch) => [ch.dir, ch.midstream, ch.gapBefore])).toEqual([[0, false, 0], [1, false, 0]]);
  });

  it("a new SYN on a closed 4-tuple starts a new connection", () => {
    const c1 = conversation(1000, 5000);
    const first = [...c1.handshake(), c1.send("client", Uint8Array.of(1)), ...c1.close()];
    const c2 = conversation(900_000, 700_000);
    const second = [...c2.handshake(), c2.send("client", Uint8Array.of(2))];
    const sink = decodeAll([...first, ...second]);
    expect(sink.chunks.map((ch) => [ch.conn, ch.bytes[0], ch.midstream])).toEqual([[0, 1, false], [1, 2, false]]);
    expect(sink.closes.map((cl) => [cl.conn.id, cl.reason])).toEqual([[0, "fin"], [1, "end"]]);
  });

  it("a SYN with a new ISN on an open 4-tuple whose data flowed ends the old connection (port reuse)", () => {
    const c1 = conversation(1000, 5000);
    const c2 = conversation(77_000, 88_000);
    const sink = decodeAll([...c1.handshake(), c1.send("client", Uint8Array.of(1)), ...c2.handshake(), c2.send("client", Uint8Array.of(2))]);
    expect(sink.closes.map((cl) => [cl.conn.id, cl.reason])).toEqual([[0, "end"], [1, "end"]]);
    expect(sink.chunks.map((ch) => ch.conn)).toEqual([0, 1]);
  });

  it("a retransmitted SYN is not a new connection", () => {
    const c = conversation();
    const [syn, synAck, ack] = c.handshake() as [Uint8Array, Uint8Array, Uint8Array];
    const sink = decodeAll([syn, syn, synAck, ack, c.send("client", Uint8Array.of(5))]);
    expect(sink.closes).toHaveLength(1);
    expect(sink.chunks).toHaveLength(1);
  });

  it("RST closes the connection, flushing buffered bytes with a gap; later new data is a new (midstream) connection", () => {
    const c = conversation();
    const hs = c.handshake();
    const a = c.send("client", Uint8Array.of(1, 1));
    c.send("client", Uint8Array.of(2, 2)); // lost
    const b = c.send("client", Uint8Array.of(3, 3));
    const rst = c.rst("server");
    const after = c.send("client", Uint8Array.of(4));
    const sink = decodeAll([...hs, a, b, rst, after]);
    expect(sink.chunks.map((ch) => [ch.conn, Array.from(ch.bytes), ch.gapBefore, ch.frame, ch.midstream])).toEqual([
      [0, [1, 1], 0, 4, false],
      [0, [3, 3], 2, 6, false],
      [1, [4], 0, 7, true],
    ]);
    expect(sink.closes.map((cl) => [cl.conn.id, cl.reason, cl.frame])).toEqual([[0, "rst", 6], [1, "end", 7]]);
  });

  it("a retransmission after FIN is reported, not a new connection", () => {
    const c = conversation();
    const hs = c.handshake();
    const data = c.send("client", Uint8Array.of(1, 2, 3));
    const close = c.close();
    const sink = decodeAll([...hs, data, ...close, data]);
    expect(sink.closes.map((cl) => cl.reason)).toEqual(["fin"]);
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["8:tcp-retransmission"]);
  });

  it("skips a hole at once when the receiver has acknowledged it (the capture lost it)", () => {
    const c = conversation();
    const hs = c.handshake();
    const a = c.send("client", Uint8Array.of(1));
    c.send("client", Uint8Array.of(2, 2, 2)); // not captured
    const ackFirst = c.ack("server"); // acknowledges through the lost bytes
    const b = c.send("client", Uint8Array.of(3));
    const sink = decodeAll([...hs, a, ackFirst, b], { finish: false });
    expect(sink.chunks.map((ch) => [Array.from(ch.bytes), ch.gapBefore, ch.frame])).toEqual([[[1], 0, 4], [[3], 3, 6]]);

    // Same, with the ACK arriving after the data beyond the hole: delivered at the ACK.
    const d = conversation();
    const hs2 = d.handshake();
    const a2 = d.send("client", Uint8Array.of(1));
    d.send("client", Uint8Array.of(2, 2, 2));
    const b2 = d.send("client", Uint8Array.of(3));
    const ack2 = d.ack("server");
    const sink2 = decodeAll([...hs2, a2, b2, ack2], { finish: false });
    expect(sink2.chunks.map((ch) => [Array.from(ch.bytes), ch.gapBefore, ch.frame])).toEqual([[[1], 0, 4], [[3], 3, 6]]);
  });

  it("delivers snaplen-cut segments with truncatedAfter and counts the cut bytes as the next gap", () => {
    const c = conversation();
    const hs = c.handshake();
    const payload = pseudoRandomBytes(100, 3);
    const big = c.send("client", payload);
    const next = c.send("client", Uint8Array.of(7, 7));
    const cut = big.subarray(0, 40 + 60); // IPv4 20 + TCP 20 + 60 payload bytes
    const sink = new RecordingSink();
    const decoder = new PacketDecoder(withLimits({}), sink);
    [...hs].forEach((p, i) => decoder.push(frameOf(i + 1, p)));
    decoder.push(frameOf(4, cut, LinkType.RAW, { originalLength: big.length }));
    decoder.push(frameOf(5, next));
    const last = c.send("client", pseudoRandomBytes(50, 4));
    decoder.push(frameOf(6, last.subarray(0, 50), LinkType.RAW, { originalLength: last.length }));
    decoder.finish();
    expect(sink.chunks.map((ch) => [ch.bytes.length, ch.truncatedAfter, ch.gapBefore])).toEqual([
      [60, 40, 0],
      [2, 0, 40],
      [10, 40, 0],
      [0, 0, 40], // the cut tail of the last segment, reported before the close
    ]);
    expect(sink.chunks[0]?.bytes).toEqual(payload.subarray(0, 60));
    expect(sink.issues).toEqual([]);
  });

  it("flushes holes of the current flow first when the global buffer limit is exceeded", () => {
    const c1 = conversation(1000, 5000, 40001);
    const c2 = conversation(2000, 6000, 40002);
    const p: Uint8Array[] = [...c1.handshake(), ...c2.handshake()];
    c1.send("client", new Uint8Array(5)); // lost
    p.push(c1.send("client", new Uint8Array(20).fill(1)));
    c2.send("client", new Uint8Array(5)); // lost
    p.push(c2.send("client", new Uint8Array(20).fill(2)));
    const sink = decodeAll(p, { limits: { maxTcpBufferedTotal: 30 }, finish: false });
    expect(sink.chunks.map((ch) => [ch.conn, ch.bytes[0], ch.gapBefore, ch.frame])).toEqual([[1, 2, 5, 8]]);
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["8:tcp-buffer-limit"]);
  });

  it("closes idle flows (capture time) and evicts the least recently seen beyond maxFlows", () => {
    const a = conversation(1, 2, 40001);
    const b = conversation(3, 4, 40002);
    const cc = conversation(5, 6, 40003);
    const packets = [a.send("client", Uint8Array.of(1)), b.send("client", Uint8Array.of(2)), a.send("client", Uint8Array.of(3)), cc.send("client", Uint8Array.of(4))];
    // maxFlows 2: flow b is least recently seen when c appears.
    const sink = decodeAll(packets, { limits: { maxFlows: 2 }, times: [0, 1, 2, 3] });
    expect(sink.closes.map((cl) => [cl.conn.id, cl.reason, cl.frame])).toEqual([[1, "evicted", 4], [0, "end", 4], [2, "end", 4]]);
    expect(sink.issues.map((i) => `${i.frame}:${i.code}`)).toEqual(["4:flow-evicted"]);

    const idle = decodeAll(packets, { limits: { flowIdleSeconds: 10 }, times: [0, 5, 20, 21] });
    // At t=20 both a (last seen 0) and b (5) are idle: closed in LRU order; a then starts anew.
    expect(idle.closes.map((cl) => [cl.conn.id, cl.reason, cl.frame])).toEqual([[0, "idle", 3], [1, "idle", 3], [2, "end", 4], [3, "end", 4]]);
    expect(idle.chunks.map((ch) => [ch.conn, ch.midstream])).toEqual([[0, true], [1, true], [2, true], [3, true]]);
  });

  it("tracks IPv6 connections with RFC 5952 addresses", () => {
    const c = new TcpConversation({ client: "fe80:0:0:0:0:0:0:1", server: "2001:db8:0:0:1:0:0:1", clientPort: 1023, serverPort: 2049 });
    const sink = decodeAll([...c.handshake(), c.send("client", Uint8Array.of(1))]);
    expect(sink.closes[0]?.conn).toMatchObject({ aAddr: "fe80::1", bAddr: "2001:db8::1:0:0:1", aPort: 1023, bPort: 2049 });
  });

  it("keeps many interleaved connections apart", () => {
    const convs = Array.from({ length: 50 }, (_, i) => conversation(i * 1000, i * 7000, 30000 + i));
    const packets: Uint8Array[] = [];
    for (const c of convs) packets.push(...c.handshake());
    for (let round = 0; round < 3; round++) for (const [i, c] of convs.entries()) packets.push(c.send(i % 2 ? "client" : "server", Uint8Array.of(i, round)));
    const sink = decodeAll(packets);
    expect(new Set(sink.chunks.map((ch) => ch.conn)).size).toBe(50);
    for (const ch of sink.chunks) expect(ch.bytes[0]).toBe(ch.conn);
    expect(sink.closes).toHaveLength(50);
  });

  it("keeps 600 connections apart through the recent-flow cache, its slots shared, flows reset and 4-tuples reused", () => {
    // More connections than the cache has slots (256), interleaved, so that slots are
    // shared; then every other one is reset and its 4-tuple opened again (new ISNs): a
    // segment must always land in the connection that is open on its 4-tuple.
    const n = 600;
    const first = Array.from({ length: n }, (_, i) => conversation(i * 1000 + 1, i * 7000 + 1, 20000 + i));
    const packets: Uint8Array[] = [];
    for (const c of first) packets.push(...c.handshake());
    // Payload: [index % 256, index >> 8, generation].
    const tag = (i: number, gen: number) => Uint8Array.of(i & 0xff, i >> 8, gen);
    for (let round = 0; round < 2; round++) for (const [i, c] of first.entries()) packets.push(c.send(i % 2 ? "client" : "server", tag(i, 0)));
    for (let i = 0; i < n; i += 2) packets.push(first[i]!.rst("client"));
    const second = new Map<number, TcpConversation>();
    for (let i = 0; i < n; i += 2) {
      const c = conversation(i * 1000 + 500_000, i * 7000 + 900_000, 20000 + i);
      second.set(i, c);
      packets.push(...c.handshake());
    }
    for (const [i, c] of first.entries()) packets.push((second.get(i) ?? c).send("client", tag(i, second.has(i) ? 1 : 0)));
    const sink = decodeAll(packets);
    // Connection ids in order of appearance: the first 600, then the reopened ones.
    const expectedId = (i: number, gen: number) => (gen === 0 ? i : n + i / 2);
    expect(sink.chunks.length).toBe(3 * n);
    for (const ch of sink.chunks) {
      const i = ch.bytes[0]! | (ch.bytes[1]! << 8);
      expect(ch.conn, `connection ${i} generation ${ch.bytes[2]}`).toBe(expectedId(i, ch.bytes[2]!));
    }
    expect(sink.closes.filter((cl) => cl.reason === "rst")).toHaveLength(n / 2);
    expect(new Set(sink.chunks.map((ch) => ch.conn)).size).toBe(n + n / 2);
  });

  it("ignores the payload of a RST and pure ACKs produce no chunk", () => {
    const c = conversation();
    const hs = c.handshake();
    const rstWithText = buildIpv4Tcp({ src: SERVER, dst: CLIENT, sport: 111, dport: 40000, seq: c.nextSeq("server"), ack: c.nextSeq("client"), flags: TcpFlags.RST | TcpFlags.ACK, payload: new TextEncoder().encode("reset") });
    const sink = decodeAll([...hs, c.ack("client"), rstWithText]);
    expect(sink.chunks).toEqual([]);
    expect(sink.closes.map((cl) => cl.reason)).toEqual(["rst"]);
  });
});

describe("TCP close edge cases", () => {
  it("a snaplen-cut last segment before a normal FIN close still reports its gap", () => {
    const c = conversation();
    const hs = c.handshake();
    const big = c.send("client", pseudoRandomBytes(30, 5));
    const close = c.close();
    const sink = new RecordingSink();
    const decoder = new PacketDecoder(withLimits({}), sink);
    hs.forEach((p, i) => decoder.push(frameOf(i + 1, p)));
    decoder.push(frameOf(4, big.subarray(0, 50), LinkType.RAW, { originalLength: big.length }));
    close.forEach((p, i) => decoder.push(frameOf(5 + i, p)));
    expect(sink.chunks.map((ch) => [ch.bytes.length, ch.truncatedAfter, ch.gapBefore, ch.frame])).toEqual([[10, 20, 0, 4], [0, 0, 20, 6]]);
    expect(sink.closes.map((cl) => [cl.reason, cl.frame])).toEqual([["fin", 6]]);
  });

  it("a hole before the FIN is reported as a trailing gap when the flow ends", () => {
    const c = conversation();
    const hs = c.handshake();
    const a = c.send("client", Uint8Array.of(1));
    c.send("client", Uint8Array.of(2, 2, 2, 2)); // lost, never acknowledged in the capture
    const fin = c.segmentAt("client", c.nextSeq("client"), new Uint8Array(0), TcpFlags.FIN);
    const sink = decodeAll([...hs, a, fin]);
    expect(sink.chunks.map((ch) => [ch.bytes.length, ch.gapBefore])).toEqual([[1, 0], [0, 4]]);
    expect(sink.closes.map((cl) => cl.reason)).toEqual(["end"]);
  });
});
