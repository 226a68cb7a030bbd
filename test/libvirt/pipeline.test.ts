import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import { RpcPipeline } from "../../dissect/rpc-pipeline.js";
import { registerLibvirt, type LibvirtOptions } from "../../dissect/libvirt/libvirt-framing.js";
import { libvirtStatusName, libvirtTypeName } from "../../dissect/libvirt/constants.js";
import { chunk, concat, connection, KEEPALIVE, LibvirtSink, lv, REMOTE, u32 } from "./helpers.js";

function setup(limits: Limits = DEFAULT_LIMITS, options: LibvirtOptions = {}) {
  const sink = new LibvirtSink();
  const p = new RpcPipeline(limits, sink);
  const framing = registerLibvirt(p, options);
  return { sink, p, framing };
}

/** An ONC-RPC call in one record (RFC 5531 §11): NULL procedure of NFS v3 with AUTH_NONE. */
function oncRecord(xid: number): Uint8Array {
  const msg = [...u32(xid), ...u32(0), ...u32(2), ...u32(100003), ...u32(3), ...u32(0), ...u32(0), ...u32(0), ...u32(0), ...u32(0)];
  return Uint8Array.from([...u32((0x8000_0000 | msg.length) >>> 0), ...msg]);
}

describe("libvirt message type and status names", () => {
  it.each([
    [0, "CALL"], [1, "REPLY"], [2, "MESSAGE"], [3, "STREAM"], [4, "CALL_WITH_FDS"], [5, "REPLY_WITH_FDS"], [6, "STREAM_HOLE"], [7, "UNKNOWN(7)"],
  ])("type %i is %s", (n, name) => expect(libvirtTypeName(n)).toBe(name));
  it.each([[0, "OK"], [1, "ERROR"], [2, "CONTINUE"], [3, "UNKNOWN(3)"]])("status %i is %s", (n, name) => expect(libvirtStatusName(n)).toBe(name));
});

describe("libvirt framing in the pipeline: which connections it claims", () => {
  it("claims port 16509 and pairs a call with its reply by serial", () => {
    const { sink, p, framing } = setup();
    const c = connection(40000, 16509);
    p.tcpData(chunk(c, 0, 1, lv({ proc: 66, serial: 0 }), { ts: 1 }));
    p.tcpData(chunk(c, 1, 2, lv({ proc: 66, serial: 0, type: 1, body: [0, 0, 0, 1, 0, 0, 0, 0] }), { ts: 1.25 }));
    p.finish();
    const [call, reply] = sink.messages;
    expect(call!.header).toMatchObject({ kind: "call", proc: 66, serial: 0 });
    expect(reply!.exchange).toBe(call!.exchange);
    expect(reply!.exchange).toMatchObject({ call, reply, rtt: 0.25, prog: REMOTE, serial: 0 });
    expect(call).toMatchObject({ protocol: "libvirt", src: "127.0.0.1", sport: 40000, dst: "127.0.0.2", dport: 16509, connId: c.id, length: 28 });
    expect(sink.events).toEqual(["lv 1 CALL", "lv 2 REPLY", `resolved ${call!.exchange!.id}`]);
    expect(sink.rpc).toEqual([]);
    expect(framing.counts()).toMatchObject({ connections: 1, messages: 2, calls: 1, replies: 1, answered: 1, exchanges: 1 });
    expect(p.counts().rpcConnections).toBe(1);
  });

  it("recognises libvirt on any port from a plausible first header", () => {
    const { sink, p } = setup();
    const c = connection(40001, 5555);
    p.tcpData(chunk(c, 0, 1, lv({ serial: 3 })));
    p.finish();
    expect(sink.messages.map((m) => m.header?.serial)).toEqual([3]);
  });

  it("without the heuristic, only the configured ports are libvirt", () => {
    const { sink, p } = setup(DEFAULT_LIMITS, { heuristic: false, ports: [16600] });
    p.tcpData(chunk(connection(40002, 5555), 0, 1, lv({ serial: 1 })));
    p.tcpData(chunk(connection(40003, 16600), 0, 2, lv({ serial: 2 })));
    p.finish();
    expect(sink.messages.map((m) => m.header?.serial)).toEqual([2]);
  });

  it("waits for more bytes when the first segment holds only part of a header", () => {
    const { sink, p } = setup();
    const c = connection(40004, 7777);
    const m = lv({ serial: 4, body: u32(1) });
    p.tcpData(chunk(c, 0, 1, m.subarray(0, 10)));
    p.tcpData(chunk(c, 0, 2, m.subarray(10)));
    p.finish();
    expect(sink.messages.map((x) => [x.header?.serial, x.frames])).toEqual([[4, [1, 2]]]);
  });

  it("leaves ONC-RPC to record marking, on its own ports and on 16509 alike", () => {
    const { sink, p } = setup();
    p.tcpData(chunk(connection(40005, 2049), 0, 1, oncRecord(77)));
    p.tcpData(chunk(connection(40006, 16509), 0, 2, oncRecord(78)));
    p.finish();
    expect(sink.rpc.map((m) => m.header?.xid)).toEqual([77, 78]);
    expect(sink.messages).toEqual([]);
  });

  it("a libvirt connection caught midstream on 16509 resynchronises", () => {
    const { sink, p } = setup();
    const c = connection(40007, 16509);
    const first = lv({ serial: 8, body: new Array<number>(20).fill(1) });
    p.tcpData(chunk(c, 0, 1, concat(first.subarray(9), lv({ serial: 9 })), { midstream: true }));
    p.finish();
    expect(sink.messages.map((m) => m.header?.serial)).toEqual([9]);
    expect(sink.issues).toMatchObject([{ code: "resync", bytes: first.length - 9, connId: c.id, dir: 0 }]);
  });

  it("a connection caught midstream on another port is claimed when a header is found inside the chunk", () => {
    const { sink, p } = setup();
    const c = connection(40008, 6000);
    p.tcpData(chunk(c, 1, 1, concat(Uint8Array.of(1, 2, 3, 4, 5), lv({ serial: 10, type: 1 }), lv({ serial: 11, type: 1 })), { midstream: true }));
    p.finish();
    expect(sink.messages.map((m) => m.header?.serial)).toEqual([10, 11]);
    expect(sink.codes()).toContain("resync");
  });
});

describe("encrypted conversations", () => {
  it("port 16514 is TLS: bytes counted, one 'encrypted' issue per connection", () => {
    const { sink, p, framing } = setup();
    const c = connection(40010, 16514);
    const hello = Uint8Array.from([0x16, 3, 1, 0, 4, 1, 2, 3, 4]);
    p.tcpData(chunk(c, 0, 1, hello));
    p.tcpData(chunk(c, 1, 2, new Uint8Array(100).fill(0x42)));
    p.tcpData(chunk(c, 0, 3, new Uint8Array(50).fill(0x43), { gapBefore: 10 }));
    p.tcpClose({ conn: c, frame: 4, reason: "fin", undelivered: [0, 0] });
    p.finish();
    expect(sink.messages).toEqual([]);
    expect(sink.rpc).toEqual([]);
    const enc = sink.issues.filter((i) => i.code === "encrypted");
    expect(enc).toHaveLength(1);
    expect(enc[0]).toMatchObject({ connId: c.id, frame: 4, bytes: 169, dir: null });
    expect(enc[0]!.detail).toContain("TLS");
    expect(framing.counts()).toMatchObject({ encryptedConnections: 1, encryptedBytes: 169, connections: 0 });
    expect(p.counts().encryptedBytes).toBe(169);
  });

  it("TLS records on an ONC-RPC port caught midstream (RPC-with-TLS) are encrypted, not resynchronised garbage", () => {
    const { sink, p } = setup();
    const c = connection(40011, 2049);
    const records = Uint8Array.from([0x17, 3, 3, 0, 6, 9, 9, 9, 9, 9, 9, 0x17, 3, 3, 0, 2, 7, 7]);
    p.tcpData(chunk(c, 0, 1, records, { midstream: true }));
    p.finish();
    expect(sink.rpc).toEqual([]);
    expect(sink.codes()).toEqual(["encrypted"]);
  });
});

describe("libvirt matching", () => {
  it("a reply with no call is its own exchange, marked unpaired", () => {
    const { sink, p, framing } = setup();
    p.tcpData(chunk(connection(40020, 16509), 1, 1, lv({ type: 1, serial: 5 })));
    p.finish();
    const ex = sink.messages[0]!.exchange!;
    expect(ex).toMatchObject({ call: null, reply: sink.messages[0], rtt: null });
    expect(ex.issues.map((i) => i.code)).toEqual(["unpaired-reply"]);
    expect(sink.resolved).toEqual([ex]);
    expect(framing.counts().orphanReplies).toBe(1);
  });

  it("a reply travelling the same way as the call does not answer it; the serial is per connection", () => {
    const { sink, p } = setup();
    const a = connection(40021, 16509);
    const b = connection(40022, 16509);
    p.tcpData(chunk(a, 0, 1, lv({ serial: 1 })));
    p.tcpData(chunk(b, 1, 2, lv({ type: 1, serial: 1 })));
    p.tcpData(chunk(a, 0, 3, lv({ type: 1, serial: 1 })));
    p.tcpData(chunk(a, 1, 4, lv({ type: 1, serial: 1 })));
    p.finish();
    const [call, other, same, answer] = sink.messages;
    expect(other!.exchange!.call).toBeNull();
    expect(same!.exchange!.call).toBeNull();
    expect(answer!.exchange!.call).toBe(call);
  });

  it("calls still waiting when their connection ends are resolved as unanswered", () => {
    const { sink, p, framing } = setup();
    const c = connection(40023, 16509);
    p.tcpData(chunk(c, 0, 1, lv({ serial: 1 })));
    p.tcpData(chunk(c, 0, 2, lv({ serial: 2 })));
    p.tcpData(chunk(c, 1, 3, lv({ type: 1, serial: 2 })));
    p.tcpClose({ conn: c, frame: 4, reason: "rst", undelivered: [0, 0] });
    expect(sink.resolved.map((ex) => [ex.serial, ex.reply !== null, ex.issues.map((i) => i.code)])).toEqual([
      [2, true, []], [1, false, ["unanswered"]],
    ]);
    expect(framing.counts()).toMatchObject({ answered: 1, unanswered: 1 });
  });

  it("beyond maxPendingCalls the oldest waiting call is given up", () => {
    const { sink, p, framing } = setup(withLimits({ maxPendingCalls: 2 }));
    const c = connection(40024, 16509);
    for (let s = 1; s <= 3; s++) p.tcpData(chunk(c, 0, s, lv({ serial: s })));
    expect(sink.resolved.map((ex) => [ex.serial, ex.issues[0]?.code])).toEqual([[1, "pending-evicted"]]);
    p.tcpData(chunk(c, 1, 4, lv({ type: 1, serial: 1 })));
    p.tcpData(chunk(c, 1, 5, lv({ type: 1, serial: 3 })));
    expect(sink.messages[3]!.exchange!.call).toBeNull();
    expect(sink.messages[4]!.exchange!.call).toBe(sink.messages[2]);
    expect(framing.counts()).toMatchObject({ evicted: 1, orphanReplies: 1, answered: 1 });
  });

  it("a call reusing a waiting call's serial gives the old one up", () => {
    const { sink, p, framing } = setup();
    const c = connection(40025, 16509);
    p.tcpData(chunk(c, 0, 1, lv({ serial: 7, proc: 16 })));
    p.tcpData(chunk(c, 0, 2, lv({ serial: 7, proc: 19 })));
    p.tcpData(chunk(c, 1, 3, lv({ type: 1, serial: 7, proc: 19 })));
    expect(sink.resolved.map((ex) => [ex.call?.frame, ex.reply?.frame ?? null, ex.issues.map((i) => i.code)])).toEqual([
      [1, null, ["unanswered"]], [2, 3, []],
    ]);
    expect(framing.counts().reusedSerials).toBe(1);
  });

  it("a reply naming another procedure than its call is paired and flagged", () => {
    const { sink, p } = setup();
    const c = connection(40026, 16509);
    p.tcpData(chunk(c, 0, 1, lv({ serial: 3, proc: 16 })));
    p.tcpData(chunk(c, 1, 2, lv({ type: 1, serial: 3, proc: 17 })));
    expect(sink.messages[1]!.exchange!.call).toBe(sink.messages[0]);
    expect(sink.messages[1]!.issues).toMatchObject([{ code: "malformed", offset: 12 }]);
  });

  it("events and keepalive stand alone; header rules are checked", () => {
    const { sink, p, framing } = setup();
    const c = connection(40027, 16509);
    p.tcpData(chunk(c, 1, 1, lv({ type: 2, proc: 318, body: new Array<number>(8).fill(0) })));
    p.tcpData(chunk(c, 1, 2, lv({ prog: KEEPALIVE, type: 2, proc: 1 })));
    p.tcpData(chunk(c, 0, 3, lv({ prog: KEEPALIVE, type: 2, proc: 2 })));
    p.tcpData(chunk(c, 0, 4, lv({ prog: KEEPALIVE, type: 2, proc: 9 })));
    p.tcpData(chunk(c, 0, 5, lv({ type: 0, status: 2, serial: 50 })));
    p.tcpData(chunk(c, 1, 6, lv({ type: 1, status: 2, serial: 50 })));
    p.finish();
    expect(sink.messages.map((m) => [m.header?.kind, m.exchange === null, m.issues.map((i) => i.code)])).toEqual([
      ["message", true, []], ["message", true, []], ["message", true, []], ["message", true, ["malformed"]],
      ["call", false, ["malformed"]], ["reply", false, ["malformed"]],
    ]);
    expect(framing.counts()).toMatchObject({ events: 4, keepalives: 3, malformed: 3 });
  });

  it("CALL_WITH_FDS and REPLY_WITH_FDS carry the descriptor count and pair like CALL and REPLY", () => {
    const { sink, p } = setup();
    const c = connection(40028, 16509);
    p.tcpData(chunk(c, 0, 1, lv({ type: 4, serial: 2, body: [...u32(1), ...u32(0)] })));
    p.tcpData(chunk(c, 1, 2, lv({ type: 5, serial: 2, body: u32(40) })));
    expect(sink.messages.map((m) => [m.header?.typeName, m.header?.nfds, m.header?.bodyOffset])).toEqual([
      ["CALL_WITH_FDS", 1, 32], ["REPLY_WITH_FDS", 40, 32],
    ]);
    expect(sink.messages[1]!.exchange!.call).toBe(sink.messages[0]);
    expect(sink.messages[1]!.issues.map((i) => i.detail)).toEqual([expect.stringContaining("40 file descriptors")]);
  });

  it("stream data is grouped per serial: messages, bytes, holes and how it ended", () => {
    const { sink, p, framing } = setup();
    const c = connection(40029, 16509);
    p.tcpData(chunk(c, 0, 1, lv({ proc: 209, serial: 4, body: new Array<number>(12).fill(0) })));
    p.tcpData(chunk(c, 1, 2, lv({ proc: 209, serial: 4, type: 1 })));
    p.tcpData(chunk(c, 1, 3, lv({ proc: 209, serial: 4, type: 3, status: 2, body: new Array<number>(100).fill(0xab) })));
    p.tcpData(chunk(c, 1, 4, lv({ proc: 209, serial: 4, type: 6, body: [0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0] })));
    p.tcpData(chunk(c, 1, 5, lv({ proc: 209, serial: 4, type: 3, status: 2, body: new Array<number>(60).fill(0xcd) })));
    p.tcpData(chunk(c, 1, 6, lv({ proc: 209, serial: 4, type: 3, status: 0 })));
    p.tcpData(chunk(c, 0, 7, lv({ proc: 209, serial: 4, type: 3, status: 0 })));
    p.tcpData(chunk(c, 1, 8, lv({ proc: 201, serial: 5, type: 3, status: 1, body: new Array<number>(52).fill(0) })));
    p.finish();
    const streams = sink.messages.map((m) => m.stream);
    expect(streams[0]).toBeNull();
    expect(streams[1]).toBeNull();
    const s = streams[2]!;
    expect(streams.slice(2, 7).every((x) => x === s)).toBe(true);
    expect(s).toMatchObject({ prog: REMOTE, proc: 209, serial: 4, messages: 5, dataBytes: 160, holes: 1, firstFrame: 3, lastFrame: 7, end: "OK" });
    expect(streams[7]).toMatchObject({ serial: 5, messages: 1, end: "ERROR" });
    expect(framing.counts()).toMatchObject({ streamMessages: 6, streamHoles: 1, streamDataBytes: 160, streams: 2, errors: 1 });
  });

  it("property: any libvirt-port traffic passes without an exception, each exchange resolved once", () => {
    const msg = fc.record({
      dir: fc.constantFrom(0 as const, 1 as const),
      type: fc.integer({ min: 0, max: 7 }),
      status: fc.integer({ min: 0, max: 3 }),
      serial: fc.integer({ min: 0, max: 4 }),
      body: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 12 }),
      garbage: fc.uint8Array({ maxLength: 6 }),
      cut: fc.nat(),
      gap: fc.constantFrom(0, 0, 0, 5),
    });
    fc.assert(fc.property(fc.array(msg, { maxLength: 25 }), fc.integer({ min: 1, max: 4 }), (msgs, maxPending) => {
      const { sink, p } = setup(withLimits({ maxPendingCalls: maxPending }));
      const c = connection(40030, 16509);
      msgs.forEach((m, i) => {
        const bytes = concat(lv({ type: m.type, status: m.status, serial: m.serial, body: m.body }), m.garbage);
        const cut = m.cut % (bytes.length + 1);
        p.tcpData(chunk(c, m.dir, 2 * i + 1, bytes.subarray(0, cut), { gapBefore: i === 0 ? 0 : m.gap }));
        p.tcpData(chunk(c, m.dir, 2 * i + 2, bytes.subarray(cut)));
      });
      p.finish();
      const exchanges = new Set(sink.messages.map((m) => m.exchange).filter((x) => x !== null));
      expect(sink.resolved.length).toBe(exchanges.size);
    }), { numRuns: 200 });
  });
});
