import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_LIMITS, withLimits } from "../../capture/limits.js";
import type { TcpChunk, TcpClose, TcpConnection } from "../../capture/transport.js";
import {
  RpcPipeline, type FramingContext, type ProbeInput, type ProbeVerdict, type StreamFraming, type StreamHandler,
} from "../../dissect/rpc-pipeline.js";
import { ascii, authSys, call, chunk, concat, connection, datagram, record, RecordingSink, reply, u32 } from "./helpers.js";

const CLIENT = "198.51.100.1";
const SERVER = "198.51.100.2";

function setup(limits = DEFAULT_LIMITS) {
  const sink = new RecordingSink();
  return { sink, p: new RpcPipeline(limits, sink) };
}

describe("pipeline: TCP connections", () => {
  it("recognises RPC on an unknown port from its first record, and keeps the record bytes", () => {
    const { sink, p } = setup();
    const conn = connection(40100, 34567, CLIENT, SERVER);
    const c = call({ xid: 1, prog: 100005, vers: 3, proc: 1, cred: authSys(), args: [...u32(4), ...ascii("/exp")] });
    p.tcpData(chunk(conn, 0, 1, record(c)));
    p.tcpData(chunk(conn, 1, 2, record(reply(1, [...u32(0)]))));
    p.tcpClose({ conn, frame: 3, reason: "fin", undelivered: [0, 0] });
    p.finish();
    expect(sink.messages.map((m) => [m.frame, m.header?.kind])).toEqual([[1, "call"], [2, "reply"]]);
    expect(Array.from(sink.records[0]!)).toEqual(Array.from(c));
    expect(sink.messages[0]).toMatchObject({ transport: "tcp", connId: conn.id, length: c.length, frames: [1], seq: 0 });
    expect(p.counts()).toMatchObject({ rpcConnections: 1, messages: 2, calls: 1, replies: 1, answered: 1 });
  });

  it("leaves HTTP, TLS and SSH connections alone", () => {
    const { sink, p } = setup();
    const streams: Uint8Array[] = [
      Uint8Array.from(ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
      Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...new Array<number>(80).fill(7)]),
      Uint8Array.from(ascii("SSH-2.0-OpenSSH_9.2p1\r\n")),
    ];
    streams.forEach((bytes, i) => {
      const conn = connection(50000 + i, 8080, CLIENT, SERVER);
      p.tcpData(chunk(conn, 0, i * 2 + 1, bytes));
      p.tcpData(chunk(conn, 1, i * 2 + 2, record(reply(1))));
    });
    p.finish();
    expect(sink.messages).toEqual([]);
    expect(p.counts()).toMatchObject({ rpcConnections: 0, notRpcConnections: 3, messages: 0 });
  });

  it("holds a first chunk too short to judge, then decides with the next", () => {
    const { sink, p } = setup();
    const conn = connection(40101, 34568, CLIENT, SERVER);
    const stream = record(call({ xid: 2, cred: authSys() }));
    p.tcpData(chunk(conn, 0, 1, stream.slice(0, 10)));
    expect(sink.messages).toEqual([]);
    p.tcpData(chunk(conn, 0, 2, stream.slice(10)));
    p.finish();
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]!.frames).toEqual([1, 2]);
  });

  it("a connection caught midstream on an unknown port is recognised at a later chunk start", () => {
    const { sink, p } = setup();
    const conn = connection(40102, 34569, CLIENT, SERVER);
    const r1 = record(call({ xid: 3, args: new Array<number>(100).fill(1) }));
    p.tcpData(chunk(conn, 0, 1, r1.slice(30), { midstream: true }));
    p.tcpData(chunk(conn, 0, 2, record(call({ xid: 4 }))));
    p.tcpData(chunk(conn, 1, 3, record(reply(4))));
    p.finish();
    expect(sink.messages.map((m) => m.frame)).toEqual([2, 3]);
    const resync = sink.issues.find((i) => i.code === "resync")!;
    expect(resync).toMatchObject({ frame: 1, connId: conn.id, dir: 0, bytes: r1.length - 30 });
    expect(sink.messages[1]!.exchange!.call).toBe(sink.messages[0]);
  });

  it("on port 2049 a midstream connection is claimed at once and resynchronised inside", () => {
    const { sink, p } = setup();
    const conn = connection(800, 2049, CLIENT, SERVER);
    const r1 = record(call({ xid: 5, args: new Array<number>(100).fill(1) }));
    p.tcpData(chunk(conn, 0, 1, concat(r1.slice(50), record(call({ xid: 6 }))), { midstream: true }));
    p.finish();
    expect(sink.messages.map((m) => m.header?.xid)).toEqual([6]);
    expect(sink.issues.map((i) => [i.code, i.bytes])).toEqual([["resync", r1.length - 50]]);
  });

  it("a malformed record still produces a message with header null and a located issue", () => {
    const { sink, p } = setup();
    const conn = connection(801, 2049, CLIENT, SERVER);
    const good = call({ xid: 7 });
    const bad = Uint8Array.from([...u32(8), ...u32(0), ...u32(2), ...u32(100003), ...u32(3), ...u32(0), ...u32(1), ...u32(500)]);
    p.tcpData(chunk(conn, 0, 1, concat(record(good), record(bad))));
    p.finish();
    expect(sink.messages).toHaveLength(2);
    const m = sink.messages[1]!;
    expect(m.header).toBe(null);
    expect(m.exchange).toBe(null);
    expect(m.issues).toHaveLength(1);
    expect(m.issues[0]).toMatchObject({ code: "malformed", offset: 28 });
    expect(m.issues[0]!.detail).toContain("cred.length");
    expect(p.counts().malformed).toBe(1);
  });

  it("reports gaps, passes frame issues through and counts frames that carried no RPC", () => {
    const { sink, p } = setup();
    const conn = connection(802, 2049, CLIENT, SERVER);
    const big = record(call({ xid: 9, args: new Array<number>(200).fill(3) }));
    p.tcpData(chunk(conn, 0, 1, big.slice(0, 100)));
    p.frameDone(1, true);
    p.frameDone(2, false); // a pure ACK
    p.frameIssue({ frame: 3, code: "malformed-ip", detail: "bad header length" });
    p.frameDone(3, false);
    p.tcpData(chunk(conn, 0, 4, big.slice(150), { gapBefore: 50 }));
    p.frameDone(4, true);
    p.udp(datagram(5, CLIENT, 5353, SERVER, 5353, Uint8Array.from(ascii("not rpc at all, just text"))));
    p.frameDone(5, true);
    p.finish();
    expect(sink.issues.map((i) => i.code)).toEqual(["malformed-ip", "gap"]);
    expect(sink.messages[0]).toMatchObject({ frames: [1, 4], frame: 4, length: big.length - 4 });
    expect(sink.truncated[0]).toBe(96);
    expect(sink.messages[0]!.issues.map((i) => i.code)).toEqual(["truncated"]);
    expect(p.counts()).toMatchObject({ frames: 5, notRpcFrames: 3, tcpGaps: 1, gapBytes: 50, frameIssues: 1, truncated: 1 });
  });

  it("reports bytes the capture buffered but never delivered when a connection closes", () => {
    const { sink, p } = setup();
    const conn = connection(803, 2049, CLIENT, SERVER);
    p.tcpData(chunk(conn, 0, 1, record(call({ xid: 10 }))));
    p.tcpClose({ conn, frame: 2, reason: "rst", undelivered: [0, 300] });
    expect(sink.issues.map((i) => [i.code, i.dir, i.bytes])).toEqual([["gap", 1, 300]]);
  });

  it("stops dissecting after STARTTLS (RFC 9289) and counts the TLS bytes", () => {
    const { sink, p } = setup();
    const conn = connection(804, 2049, CLIENT, SERVER);
    p.tcpData(chunk(conn, 0, 1, record(call({ xid: 11, vers: 4, proc: 0, cred: [...u32(7), ...u32(0)] }))));
    p.tcpData(chunk(conn, 1, 2, record(reply(11, [], 0, [...u32(0), ...u32(8), ...ascii("STARTTLS")]))));
    p.tcpData(chunk(conn, 0, 3, Uint8Array.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])));
    p.tcpData(chunk(conn, 1, 4, Uint8Array.from([0x16, 0x03, 0x03, 0x00, 0x02, 1, 2])));
    p.tcpClose({ conn, frame: 5, reason: "fin", undelivered: [0, 0] });
    expect(sink.messages).toHaveLength(2);
    expect(sink.issues.map((i) => [i.code, i.dir, i.bytes ?? null])).toEqual([
      ["encrypted", null, null], ["encrypted", 0, 10], ["encrypted", 1, 7],
    ]);
    expect(p.counts().encryptedBytes).toBe(17);
  });

  it("a plain AUTH_NONE reply with an 8-byte body that is not STARTTLS keeps the connection in clear", () => {
    const { sink, p } = setup();
    const conn = connection(805, 2049, CLIENT, SERVER);
    p.tcpData(chunk(conn, 0, 1, record(call({ xid: 12, vers: 4, proc: 0 }))));
    p.tcpData(chunk(conn, 1, 2, record(reply(12, [], 0, [...u32(0), ...u32(8), ...ascii("STARTTLS")]))));
    p.tcpData(chunk(conn, 0, 3, record(call({ xid: 13 }))));
    p.finish();
    expect(sink.messages).toHaveLength(3);
    expect(sink.issues.filter((i) => i.code === "encrypted")).toEqual([]);
  });

  it("reports record-too-long and resync through streamIssue with counts", () => {
    const { sink, p } = setup(withLimits({ maxRecordBytes: 200 }));
    const conn = connection(806, 2049, CLIENT, SERVER);
    const big = record(call({ xid: 14, args: new Array<number>(300).fill(0) }));
    p.tcpData(chunk(conn, 0, 1, concat(record(call({ xid: 13 })), big, record(call({ xid: 15 })))));
    p.finish();
    expect(sink.messages.map((m) => m.header?.xid)).toEqual([13, 15]);
    expect(sink.issues.map((i) => [i.code, i.bytes])).toEqual([["record-too-long", big.length - 4]]);
    expect(p.counts()).toMatchObject({ recordsTooLong: 1, tooLongBytes: big.length - 4 });
  });

  it("connections whose ids share a slot of the recent-connection cache keep their own state, and a closed one is forgotten", () => {
    const { sink, p } = setup();
    // Ids 256 apart land in the same slot of the pipeline's cache.
    const conns: TcpConnection[] = [7, 7 + 256, 7 + 512].map((id, i) => ({
      id: 1_000_000 + id, aAddr: CLIENT, aPort: 900 + i, bAddr: SERVER, bPort: 2049, sawSyn: true,
    }));
    const [a, b, c] = conns as [TcpConnection, TcpConnection, TcpConnection];
    const callA = record(call({ xid: 0xa1, args: new Array<number>(40).fill(1) }));
    // A's call split around B's and C's whole records: each marker must keep its own place.
    p.tcpData(chunk(a, 0, 1, callA.slice(0, 50)));
    p.tcpData(chunk(b, 0, 2, record(call({ xid: 0xb1 }))));
    p.tcpData(chunk(c, 0, 3, record(call({ xid: 0xc1 }))));
    p.tcpData(chunk(a, 0, 4, callA.slice(50)));
    p.tcpData(chunk(b, 1, 5, record(reply(0xb1))));
    p.tcpData(chunk(a, 1, 6, record(reply(0xa1))));
    p.tcpData(chunk(c, 1, 7, record(reply(0xc1))));
    p.tcpClose({ conn: c, frame: 8, reason: "fin", undelivered: [0, 0] });
    // Bytes on the closed connection's id again: a connection of its own, probed anew (not RPC).
    p.tcpData(chunk(c, 0, 9, Uint8Array.from(ascii("GET / HTTP/1.1\r\n\r\n"))));
    p.tcpData(chunk(c, 1, 10, record(reply(0xc2))));
    p.finish();
    expect(sink.messages.map((m) => [m.frame, m.connId, m.header?.xid, m.frames])).toEqual([
      [2, b.id, 0xb1, [2]], [3, c.id, 0xc1, [3]], [4, a.id, 0xa1, [1, 4]], [5, b.id, 0xb1, [5]], [6, a.id, 0xa1, [6]],
      [7, c.id, 0xc1, [7]],
    ]);
    expect(sink.issues).toEqual([]);
    expect(p.counts()).toMatchObject({ rpcConnections: 3, notRpcConnections: 1, answered: 3, unanswered: 0 });
  });
});

describe("pipeline: UDP", () => {
  it("passes a snaplen-truncated datagram on with truncatedAt and a truncated issue", () => {
    const { sink, p } = setup();
    const c = call({ xid: 20, cred: authSys(), args: new Array<number>(100).fill(9) });
    p.udp(datagram(1, CLIENT, 900, SERVER, 2049, c.subarray(0, 80), { missingBytes: c.length - 80 }));
    p.finish();
    expect(sink.messages[0]).toMatchObject({ length: c.length });
    expect(sink.truncated).toEqual([80]);
    expect(sink.messages[0]!.issues.map((i) => i.code)).toEqual(["truncated"]);
  });

  it("pairs a call of rpcvers 3 on an RPC port with its RPC_MISMATCH reply, flagging the call", () => {
    const { sink, p } = setup();
    const c = call({ xid: 0x7004, prog: 100000, vers: 2, proc: 0 });
    c[11] = 3; // rpcvers 3
    p.udp(datagram(1, CLIENT, 900, SERVER, 111, c));
    p.udp(datagram(2, SERVER, 111, CLIENT, 900, Uint8Array.from([...u32(0x7004), ...u32(1), ...u32(1), ...u32(0), ...u32(2), ...u32(2)])));
    // On an unknown port the strict heuristic does not take rpcvers 3 for RPC.
    p.udp(datagram(3, CLIENT, 901, SERVER, 34000, c));
    p.finish();
    expect(sink.messages).toHaveLength(2);
    expect(sink.messages[0]!.issues).toMatchObject([{ code: "malformed", offset: 8 }]);
    expect(sink.messages[1]!.exchange!.call).toBe(sink.messages[0]);
    expect(sink.messages[1]!.header).toMatchObject({ status: "RPC_MISMATCH", mismatch: { low: 2, high: 2 } });
    expect(p.counts().malformed).toBe(0);
  });

  it("lists the IP fragments a datagram was rebuilt from", () => {
    const { sink, p } = setup();
    p.udp({ ...datagram(3, CLIENT, 900, SERVER, 2049, call({ xid: 21 })), fragmentFrames: [1, 2, 3] });
    expect(sink.messages[0]!.frames).toEqual([1, 2, 3]);
  });
});

describe("pipeline: pluggable stream framing", () => {
  /** A stand-in for the libvirt framing: claims connections to port 16509 whose first word is a sane length. */
  class FakeFraming implements StreamFraming {
    readonly name = "fake";
    readonly chunks: TcpChunk[] = [];
    readonly closes: TcpClose[] = [];
    probes = 0;
    probe(input: ProbeInput): ProbeVerdict {
      this.probes++;
      if (input.conn.bPort !== 16509) return "reject";
      if (input.bytes.length < 4) return "more";
      return "claim";
    }
    open(conn: TcpConnection, ctx: FramingContext): StreamHandler {
      expect(ctx.limits).toBe(DEFAULT_LIMITS);
      expect(conn.bPort).toBe(16509);
      const self = this;
      return {
        data(c) {
          self.chunks.push({ ...c, bytes: c.bytes.slice() });
        },
        close(c) {
          self.closes.push(c);
        },
      };
    }
  }

  it("a registered framing is asked first and gets every chunk of the connections it claims", () => {
    const { sink, p } = setup();
    const fake = new FakeFraming();
    p.registerFraming(fake);
    const lv = connection(40200, 16509, CLIENT, SERVER);
    p.tcpData(chunk(lv, 0, 1, Uint8Array.of(0, 0)));
    p.tcpData(chunk(lv, 0, 2, Uint8Array.of(0, 28, 1, 2)));
    p.tcpData(chunk(lv, 1, 3, Uint8Array.of(9, 9)));
    p.tcpClose({ conn: lv, frame: 4, reason: "fin", undelivered: [0, 0] });
    // ONC-RPC connections still go to record marking.
    const nfs = connection(40201, 2049, CLIENT, SERVER);
    p.tcpData(chunk(nfs, 0, 5, record(call({ xid: 30 }))));
    p.finish();
    expect(fake.chunks.map((c) => [c.frame, c.dir, Array.from(c.bytes)])).toEqual([
      [1, 0, [0, 0]], [2, 0, [0, 28, 1, 2]], [3, 1, [9, 9]],
    ]);
    expect(fake.closes).toHaveLength(1);
    expect(sink.messages.map((m) => m.header?.xid)).toEqual([30]);
    expect(p.counts().rpcConnections).toBe(2);
  });
});

describe("pipeline: hostile input", () => {
  it("any TCP bytes and UDP payloads pass through without an exception, resolving each exchange once", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            udp: fc.boolean(),
            dir: fc.constantFrom(0 as const, 1 as const),
            bytes: fc.oneof(
              fc.uint8Array({ maxLength: 200 }),
              fc.constantFrom(record(call({ xid: 1 })), record(reply(1)), call({ xid: 1 }), reply(1), record(call({ xid: 2, cred: authSys() }))),
            ),
            gap: fc.integer({ min: 0, max: 3 }),
            midstream: fc.boolean(),
          }),
          { maxLength: 25 },
        ),
        (events) => {
          const { sink, p } = setup(withLimits({ maxPendingCalls: 4, maxRecordBytes: 4096 }));
          const conns = [connection(700, 2049, CLIENT, SERVER), connection(701, 34000, CLIENT, SERVER)];
          events.forEach((e, i) => {
            const frame = i + 1;
            if (e.udp) {
              p.udp(datagram(frame, e.dir === 0 ? CLIENT : SERVER, e.dir === 0 ? 700 : 2049, e.dir === 0 ? SERVER : CLIENT, e.dir === 0 ? 2049 : 700, e.bytes));
            } else {
              p.tcpData(chunk(conns[i % 2]!, e.dir, frame, e.bytes, { gapBefore: e.gap === 0 ? 7 : 0, midstream: e.midstream }));
            }
            p.frameDone(frame, true);
          });
          p.finish();
          const exchanges = new Set(sink.messages.map((m) => m.exchange).filter((x) => x !== null));
          for (const ex of exchanges) expect(sink.resolved.includes(ex)).toBe(true);
          expect(new Set(sink.resolved).size).toBe(sink.resolved.length);
          expect(sink.messages.map((m) => m.seq)).toEqual(sink.messages.map((_, i) => i));
        },
      ),
      { numRuns: 1500 },
    );
  });
});
