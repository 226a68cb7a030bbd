import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import { RpcPipeline } from "../../dissect/rpc-pipeline.js";
import { XidMatcher } from "../../dissect/xid-matching.js";
import { secondsBetween } from "../../capture/frame.js";
import type { RpcMessage } from "../../dissect/rpc-types.js";
import { decodeRpcHeader } from "../../dissect/rpc-header.js";
import { call, chunk, concat, connection, datagram, record, RecordingSink, reply, u32 } from "./helpers.js";

const CLIENT = "192.0.2.10";
const SERVER = "192.0.2.20";

function setup(limits: Limits = DEFAULT_LIMITS) {
  const sink = new RecordingSink();
  const p = new RpcPipeline(limits, sink);
  return { sink, p };
}

function codes(msg: RpcMessage | undefined): string[] {
  return (msg?.issues ?? []).map((i) => i.code);
}

describe("XID matching over TCP", () => {
  it("pairs a reply with its call on the same connection, opposite direction, with the rtt", () => {
    const { sink, p } = setup();
    const conn = connection(901, 2049, CLIENT, SERVER);
    p.tcpData(chunk(conn, 0, 1, record(call({ xid: 0x100, proc: 1 })), { ts: 10 }));
    p.tcpData(chunk(conn, 1, 2, record(reply(0x100, [...u32(0)])), { ts: 10.25 }));
    p.finish();
    const [c, r] = sink.messages;
    expect(c!.exchange).toBe(r!.exchange);
    const ex = c!.exchange!;
    expect(ex).toMatchObject({ xid: 0x100, transport: "tcp", retransmits: 0, issues: [] });
    expect(ex.call).toBe(c);
    expect(ex.reply).toBe(r);
    expect(ex.rtt).toBeCloseTo(0.25, 9);
    expect(sink.resolved).toEqual([ex]);
    expect([c!.src, c!.sport, c!.dst, c!.dport, c!.connId]).toEqual([CLIENT, 901, SERVER, 2049, conn.id]);
    expect([r!.src, r!.sport, r!.dst, r!.dport]).toEqual([SERVER, 2049, CLIENT, 901]);
    expect(sink.events).toEqual(["msg 1 call", "msg 2 reply", "resolved 0"]);
  });

  it("does not pair a reply from another connection", () => {
    const { sink, p } = setup();
    const a = connection(902, 2049, CLIENT, SERVER);
    const b = connection(903, 2049, CLIENT, SERVER);
    p.tcpData(chunk(a, 0, 1, record(call({ xid: 7 }))));
    p.tcpData(chunk(b, 0, 2, record(call({ xid: 8 }))));
    p.tcpData(chunk(b, 1, 3, record(reply(7))));
    p.finish();
    expect(codes(sink.messages[2])).toEqual(["unpaired-reply"]);
    expect(sink.messages[2]!.exchange!.call).toBe(null);
    expect(sink.messages[0]!.exchange!.issues.map((i) => i.code)).toEqual(["unanswered"]);
  });

  it("keeps a backchannel call (server → client, same xid) apart from the forechannel", () => {
    const { sink, p } = setup();
    const conn = connection(904, 2049, CLIENT, SERVER);
    p.tcpData(chunk(conn, 0, 1, record(call({ xid: 5, vers: 4, proc: 1 }))));
    p.tcpData(chunk(conn, 1, 2, record(call({ xid: 5, prog: 0x40000000, vers: 1, proc: 1 }))));
    p.tcpData(chunk(conn, 0, 3, record(reply(5)))); // answers the backchannel call
    p.tcpData(chunk(conn, 1, 4, record(reply(5)))); // answers the forechannel call
    p.finish();
    const [fore, back, backReply, foreReply] = sink.messages;
    expect(codes(back)).toEqual([]);
    expect(back!.exchange).not.toBe(fore!.exchange);
    expect(backReply!.exchange).toBe(back!.exchange);
    expect(foreReply!.exchange).toBe(fore!.exchange);
  });
});

describe("XID matching: xids that share their low 30 bits (one lookup bucket)", () => {
  it("pairs each reply with its own call, and sees no retransmission", () => {
    const { sink, p } = setup();
    const conn = connection(905, 2049, CLIENT, SERVER);
    const xids = [0x0000_1234, 0x4000_1234, 0x8000_1234, 0xc000_1234];
    let frame = 1;
    for (const xid of xids) p.tcpData(chunk(conn, 0, frame++, record(call({ xid, proc: 1 }))));
    // Replies in reverse order, so a bucket-only match would pair the wrong ones.
    for (const xid of [...xids].reverse()) p.tcpData(chunk(conn, 1, frame++, record(reply(xid))));
    // A late duplicate reply to one of them, and a new call reusing another's xid after its answer.
    p.tcpData(chunk(conn, 1, frame++, record(reply(0x8000_1234))));
    p.finish();
    const msgs = sink.messages;
    for (let i = 0; i < 4; i++) {
      const callMsg = msgs[i]!;
      const replyMsg = msgs[7 - i]!;
      expect(callMsg.header!.xid).toBe(xids[i]);
      expect(replyMsg.exchange).toBe(callMsg.exchange);
      expect(codes(callMsg)).toEqual([]);
      expect(codes(replyMsg)).toEqual([]);
    }
    expect(codes(msgs[8])).toEqual(["duplicate-reply"]);
    expect(msgs[8]!.exchange).toBe(msgs[2]!.exchange);
  });

  it("a reply whose xid differs only above bit 30 is unpaired", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 700, SERVER, 2049, call({ xid: 0x0000_0042 })));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 700, reply(0x4000_0042)));
    p.finish();
    expect(codes(sink.messages[1])).toEqual(["unpaired-reply"]);
    expect(sink.messages[0]!.exchange!.issues.map((i) => i.code)).toEqual(["unanswered"]);
  });
});

describe("XID matching over UDP", () => {
  it("pairs on the five-tuple and accepts a reply from another server address and port", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 700, SERVER, 2049, call({ xid: 1 }), { ts: 1 }));
    p.udp(datagram(2, "192.0.2.99", 3049, CLIENT, 700, reply(1), { ts: 1.5 }));
    p.finish();
    expect(sink.messages).toHaveLength(2);
    expect(sink.messages[1]!.exchange).toBe(sink.messages[0]!.exchange);
    expect(sink.messages[1]!.exchange!.rtt).toBeCloseTo(0.5, 9);
    expect(codes(sink.messages[1])).toEqual([]);
  });

  it("prefers the exact five-tuple over the client-endpoint fallback", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 700, SERVER, 2049, call({ xid: 1 })));
    p.udp(datagram(2, CLIENT, 700, "192.0.2.30", 2049, call({ xid: 1 })));
    p.udp(datagram(3, "192.0.2.30", 2049, CLIENT, 700, reply(1)));
    p.finish();
    expect(sink.messages[2]!.exchange).toBe(sink.messages[1]!.exchange);
    expect(sink.messages[0]!.exchange!.reply).toBe(null);
  });

  it("accepts a reply on an unknown port only when its call was seen", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, SERVER, 40001, CLIENT, 40002, reply(0x77)));
    p.udp(datagram(2, CLIENT, 40002, SERVER, 40001, call({ xid: 0x78, prog: 100024, vers: 1, proc: 0 })));
    p.udp(datagram(3, SERVER, 40001, CLIENT, 40002, reply(0x78)));
    p.finish();
    expect(sink.messages.map((m) => m.frame)).toEqual([2, 3]);
    expect(p.counts().udpNotRpc).toBe(1);
  });

  it("counts a retransmission on the exchange and flags the message", () => {
    const { sink, p } = setup();
    const c = call({ xid: 2, proc: 6 });
    p.udp(datagram(1, CLIENT, 701, SERVER, 2049, c, { ts: 1 }));
    p.udp(datagram(2, CLIENT, 701, SERVER, 2049, c, { ts: 2.1 }));
    p.udp(datagram(3, CLIENT, 701, SERVER, 2049, c, { ts: 4.3 }));
    p.udp(datagram(4, SERVER, 2049, CLIENT, 701, reply(2), { ts: 4.4 }));
    p.finish();
    const ex = sink.messages[0]!.exchange!;
    expect(ex.retransmits).toBe(2);
    expect(sink.messages.slice(1, 3).every((m) => m.exchange === ex)).toBe(true);
    expect(codes(sink.messages[1])).toEqual(["retransmission"]);
    expect(sink.messages[1]!.issues[0]!.detail).toContain("frame 1");
    expect(ex.rtt).toBeCloseTo(3.4, 9);
    expect(sink.resolved).toEqual([ex]);
    expect(p.counts().retransmissions).toBe(2);
  });

  it("flags a retransmission whose procedure differs as retransmit-mismatch", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 702, SERVER, 2049, call({ xid: 3, proc: 1 })));
    p.udp(datagram(2, CLIENT, 702, SERVER, 2049, call({ xid: 3, proc: 4 })));
    p.finish();
    expect(codes(sink.messages[1])).toEqual(["retransmission", "retransmit-mismatch"]);
    expect(sink.messages[0]!.exchange!.issues.map((i) => i.code)).toEqual(["retransmit-mismatch", "unanswered"]);
  });

  it("a retransmission that crossed the reply joins the answered exchange; a later call with another procedure is new", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 703, SERVER, 2049, call({ xid: 4, proc: 1 })));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 703, reply(4)));
    p.udp(datagram(3, CLIENT, 703, SERVER, 2049, call({ xid: 4, proc: 1 })));
    p.udp(datagram(4, CLIENT, 703, SERVER, 2049, call({ xid: 4, proc: 3 })));
    p.finish();
    const first = sink.messages[0]!.exchange!;
    expect(sink.messages[2]!.exchange).toBe(first);
    expect(first.retransmits).toBe(1);
    expect(sink.messages[3]!.exchange).not.toBe(first);
    expect(codes(sink.messages[3])).toEqual([]);
    expect(sink.resolved.filter((e) => e === first)).toHaveLength(1);
  });

  it("flags a second reply as duplicate-reply without resolving twice", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 704, SERVER, 2049, call({ xid: 5 })));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 704, reply(5)));
    p.udp(datagram(3, SERVER, 2049, CLIENT, 704, reply(5)));
    p.finish();
    const ex = sink.messages[0]!.exchange!;
    expect(codes(sink.messages[2])).toEqual(["duplicate-reply"]);
    expect(sink.messages[2]!.exchange).toBe(ex);
    expect(ex.reply).toBe(sink.messages[1]);
    expect(ex.issues.map((i) => i.code)).toEqual(["duplicate-reply"]);
    expect(sink.resolved).toEqual([ex]);
    expect(p.counts().duplicateReplies).toBe(1);
  });

  it("an orphan reply from a well-known port becomes an exchange without a call", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, SERVER, 111, CLIENT, 705, reply(6, [...u32(2049)])));
    p.finish();
    const m = sink.messages[0]!;
    expect(codes(m)).toEqual(["unpaired-reply"]);
    expect(m.exchange).toMatchObject({ call: null, reply: m, rtt: null });
    expect(sink.resolved).toEqual([m.exchange]);
    expect(p.counts().orphanReplies).toBe(1);
  });
});

describe("remembered calls beyond the exchanges still held", () => {
  /** A millisecond per frame: everything stays inside recentAnsweredSeconds. */
  const ms = (frame: number) => 100 + frame / 1000;
  /** `n` answered UDP exchanges from another client port, frames from `frame` on (2 each). */
  function answered(p: RpcPipeline, n: number, frame: number): number {
    for (let i = 0; i < n; i++) {
      p.udp(datagram(frame++, CLIENT, 800, SERVER, 2049, call({ xid: 0x5000 + i }), { ts: ms(frame++) }));
      p.udp(datagram(frame++, SERVER, 2049, CLIENT, 800, reply(0x5000 + i), { ts: ms(frame++) }));
    }
    return frame;
  }

  it("a retransmission crossing a reply 600 exchanges back is named, with its frames, and starts a new exchange", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 710, SERVER, 2049, call({ xid: 0x42, proc: 1 }), { ts: ms(1) }));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 710, reply(0x42), { ts: ms(2) }));
    const next = answered(p, 600, 3);
    p.udp(datagram(next, CLIENT, 710, SERVER, 2049, call({ xid: 0x42, proc: 1 }), { ts: ms(next) }));
    p.udp(datagram(next + 1, SERVER, 2049, CLIENT, 710, reply(0x42), { ts: ms(next + 1) }));
    p.finish();
    const late = sink.messages.find((m) => m.frame === next)!;
    expect(codes(late)).toEqual(["retransmission"]);
    expect(late.issues[0]!.detail).toContain("call in frame 1, answered in frame 2");
    expect(late.exchange).not.toBe(sink.messages[0]!.exchange);
    // The server answers the retransmission again: that reply pairs with it.
    expect(late.exchange!.reply!.frame).toBe(next + 1);
    expect(sink.messages[0]!.exchange!.retransmits).toBe(0);
    expect(p.counts()).toMatchObject({ retransmissions: 1, duplicateReplies: 0, orphanReplies: 0, answered: 602 });
  });

  it("a duplicate reply 600 exchanges later names both frames and stands alone", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 711, SERVER, 2049, call({ xid: 0x43 }), { ts: ms(1) }));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 711, reply(0x43), { ts: ms(2) }));
    const next = answered(p, 600, 3);
    p.udp(datagram(next, SERVER, 2049, CLIENT, 711, reply(0x43), { ts: ms(next) }));
    p.finish();
    const dup = sink.messages.find((m) => m.frame === next)!;
    expect(codes(dup)).toEqual(["duplicate-reply"]);
    expect(dup.issues[0]!.detail).toContain("call in frame 1 (first reply in frame 2)");
    expect(dup.exchange).toMatchObject({ call: null, reply: dup });
    expect(sink.messages[0]!.exchange!.issues).toEqual([]);
    expect(p.counts()).toMatchObject({ duplicateReplies: 1, orphanReplies: 1 });
  });

  it("within the held exchanges a late retransmission still joins its exchange", () => {
    const { sink, p } = setup();
    p.udp(datagram(1, CLIENT, 712, SERVER, 2049, call({ xid: 0x44 }), { ts: ms(1) }));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 712, reply(0x44), { ts: ms(2) }));
    const next = answered(p, 500, 3);
    p.udp(datagram(next, CLIENT, 712, SERVER, 2049, call({ xid: 0x44 }), { ts: ms(next) }));
    p.finish();
    const first = sink.messages[0]!.exchange!;
    expect(sink.messages.find((m) => m.frame === next)!.exchange).toBe(first);
    expect(first.retransmits).toBe(1);
  });

  it("forgets the oldest beyond maxRecentAnswered: a reply to it is then unpaired", () => {
    const { sink, p } = setup(withLimits({ maxRecentAnswered: 100 }));
    p.udp(datagram(1, CLIENT, 713, SERVER, 2049, call({ xid: 0x45 }), { ts: ms(1) }));
    p.udp(datagram(2, SERVER, 2049, CLIENT, 713, reply(0x45), { ts: ms(2) }));
    const next = answered(p, 100, 3);
    p.udp(datagram(next, SERVER, 2049, CLIENT, 713, reply(0x45), { ts: ms(next) }));
    p.finish();
    expect(codes(sink.messages.find((m) => m.frame === next))).toEqual(["unpaired-reply"]);
  });

  it("remembers at most 64 answered calls sharing one xid", () => {
    const { sink, p } = setup();
    // 100 clients (ports) each ask with xid 7 and are answered.
    for (let port = 1; port <= 100; port++) {
      p.udp(datagram(2 * port - 1, CLIENT, 1000 + port, SERVER, 2049, call({ xid: 7 }), { ts: ms(2 * port - 1) }));
      p.udp(datagram(2 * port, SERVER, 2049, CLIENT, 1000 + port, reply(7), { ts: ms(2 * port) }));
    }
    // A duplicate reply to the first client's call: that call was not remembered.
    p.udp(datagram(300, SERVER, 2049, CLIENT, 1100, reply(7), { ts: ms(300) }));
    p.udp(datagram(301, SERVER, 2049, CLIENT, 1001, reply(7), { ts: ms(301) }));
    p.finish();
    expect(codes(sink.messages.find((m) => m.frame === 300))).toEqual(["unpaired-reply"]);
    expect(codes(sink.messages.find((m) => m.frame === 301))).toEqual(["duplicate-reply"]);
  });
});

describe("bounded pending table", () => {
  it("evicts the oldest call beyond maxPendingCalls, and a late reply to it is unpaired", () => {
    const { sink, p } = setup(withLimits({ maxPendingCalls: 3 }));
    for (let i = 1; i <= 5; i++) p.udp(datagram(i, CLIENT, 706, SERVER, 2049, call({ xid: 0x10 + i })));
    expect(sink.resolved.map((e) => e.xid)).toEqual([0x11, 0x12]);
    expect(sink.resolved.every((e) => e.issues[0]!.code === "pending-evicted")).toBe(true);
    // The eviction is reported right after the call that caused it.
    expect(sink.events.slice(0, 7)).toEqual(["msg 1 call", "msg 2 call", "msg 3 call", "msg 4 call", "resolved 0", "msg 5 call", "resolved 1"]);
    p.udp(datagram(6, SERVER, 2049, CLIENT, 706, reply(0x11)));
    expect(codes(sink.messages[5])).toEqual(["unpaired-reply"]);
    expect(sink.messages[5]!.issues[0]!.detail).toContain("frame 1");
    p.finish();
    expect(p.counts()).toMatchObject({ evicted: 2, unanswered: 3, unmatchedCalls: 5, orphanReplies: 1 });
  });

  it("gives up a call after replyTimeoutSeconds of capture time, before the message that passed it", () => {
    const { sink, p } = setup(withLimits({ replyTimeoutSeconds: 10 }));
    p.udp(datagram(1, CLIENT, 707, SERVER, 2049, call({ xid: 0x20 }), { ts: 100 }));
    p.udp(datagram(2, CLIENT, 707, SERVER, 2049, call({ xid: 0x21 }), { ts: 105 }));
    p.udp(datagram(3, CLIENT, 707, SERVER, 2049, call({ xid: 0x22 }), { ts: 111 }));
    expect(sink.events).toEqual(["msg 1 call", "msg 2 call", "resolved 0", "msg 3 call"]);
    expect(sink.resolved[0]!.issues.map((i) => i.code)).toEqual(["unanswered"]);
    p.udp(datagram(4, SERVER, 2049, CLIENT, 707, reply(0x21), { ts: 112 }));
    expect(sink.messages[3]!.exchange).toBe(sink.messages[1]!.exchange);
    p.finish();
    expect(sink.resolved.map((e) => e.xid)).toEqual([0x20, 0x21, 0x22]);
    expect(sink.resolved[2]!.issues[0]!.detail).toContain("end of the capture");
  });

  it("bounds a flood of calls sharing one xid", () => {
    const m = new XidMatcher(withLimits({ maxPendingCalls: 10_000 }));
    const c = call({ xid: 0x99 });
    const header = decodeRpcHeader(c).header;
    if (header.kind !== "call") throw new Error("call expected");
    for (let port = 1; port <= 200; port++) {
      const msg: RpcMessage = {
        seq: port, protocol: "onc-rpc", frame: port, frames: [port], tsSec: port, tsNsec: 0, transport: "udp", connId: null,
        src: CLIENT, dst: SERVER, sport: port, dport: 2049, length: c.length, header, issues: [], exchange: null,
      };
      m.call(msg, header);
    }
    expect(m.pendingCount).toBe(64);
    expect(m.counts.evicted).toBe(136);
    expect(m.takeResolved()).toHaveLength(136);
  });
});

describe("a pending table that grows", () => {
  it("pairs 20,000 outstanding calls with replies in a shuffled order", () => {
    // Far more calls in flight than the table's first buckets: it doubles several times while they wait.
    const { sink, p } = setup(withLimits({ maxPendingCalls: 30_000 }));
    const n = 20_000;
    for (let i = 0; i < n; i++) p.udp(datagram(i + 1, CLIENT, 800 + (i % 7), SERVER, 2049, call({ xid: 0x5000_0000 + i * 977 }), { ts: 1000 + i * 1e-5 }));
    expect(p.counts()).toMatchObject({ calls: n });
    const order = Array.from({ length: n }, (_, i) => i);
    let seed = 99;
    for (let i = n - 1; i > 0; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const [k, i] of order.entries()) p.udp(datagram(n + k + 1, SERVER, 2049, CLIENT, 800 + (i % 7), reply(0x5000_0000 + i * 977), { ts: 1001 + k * 1e-5 }));
    const replies = sink.messages.slice(n);
    expect(replies.every((m, k) => m.exchange !== null && m.exchange.call?.frame === order[k]! + 1)).toBe(true);
    expect(replies.every((m) => m.issues.length === 0)).toBe(true);
    p.finish();
    expect(p.counts()).toMatchObject({ exchanges: n, unmatchedCalls: 0, orphanReplies: 0 });
  });
});

describe("matching with concatenated TCP records", () => {
  it("pairs many interleaved calls and replies arriving in a few chunks", () => {
    const { sink, p } = setup();
    const conn = connection(905, 2049, CLIENT, SERVER);
    const calls = Array.from({ length: 20 }, (_, i) => record(call({ xid: 1000 + i, proc: i % 5 })));
    const replies = Array.from({ length: 20 }, (_, i) => record(reply(1000 + 19 - i)));
    p.tcpData(chunk(conn, 0, 1, concat(...calls.slice(0, 10))));
    p.tcpData(chunk(conn, 0, 2, concat(...calls.slice(10))));
    p.tcpData(chunk(conn, 1, 3, concat(...replies)));
    p.finish();
    expect(sink.messages).toHaveLength(40);
    for (const m of sink.messages.slice(20)) {
      expect(m.exchange!.call!.header!.xid).toBe(m.header!.xid);
    }
    expect(p.counts()).toMatchObject({ exchanges: 20, answered: 20, unmatchedCalls: 0, orphanReplies: 0 });
  });
});

describe("timeouts and the remembered window, on a clock that jumps both ways", () => {
  type Step = { kind: "call" } | { kind: "reply"; pick: number };
  interface Timed { xid: number; sec: number; nsec: number }

  /**
   * The matcher against a model of what advance() is documented to do, as the
   * pipeline calls it (before each message, while calls wait): give up the oldest
   * waiting calls (in arrival order) past the reply timeout, then forget the oldest
   * remembered calls past their window. advance() skips that work while it can tell
   * nothing is due; the model never skips.
   */
  function run(timeout: number, window: number, times: [number, number][], steps: Step[]): void {
    const m = new XidMatcher(withLimits({ replyTimeoutSeconds: timeout, recentAnsweredSeconds: window }));
    const c = call({ xid: 1 });
    const callHeader = decodeRpcHeader(c).header;
    if (callHeader.kind !== "call") throw new Error("call expected");
    const pending: Timed[] = [];
    const recent: (Timed & { answered: boolean })[] = [];
    let nextXid = 0x1000;
    const xids: number[] = [];
    steps.forEach((step, k) => {
      const [sec, nsec] = times[k % times.length]!;
      const expectedGivenUp: number[] = [];
      if (pending.length > 0) {
        while (pending.length > 0 && secondsBetween(pending[0]!.sec, pending[0]!.nsec, sec, nsec) > timeout) {
          const gone = pending.shift()!;
          expectedGivenUp.push(gone.xid);
          recent.push({ xid: gone.xid, sec, nsec, answered: false });
        }
        while (recent.length > 0 && secondsBetween(recent[0]!.sec, recent[0]!.nsec, sec, nsec) > window) recent.shift();
        m.advance(sec, nsec);
      }
      expect(m.takeResolved().map((ex) => ex.xid), `given up before step ${k}`).toEqual(expectedGivenUp);
      const base = { seq: k, protocol: "onc-rpc" as const, frame: k + 1, frames: [k + 1], tsSec: sec, tsNsec: nsec, transport: "udp" as const, connId: null, length: c.length, issues: [], exchange: null };
      if (step.kind === "call") {
        const xid = nextXid++;
        xids.push(xid);
        const header = { ...callHeader, xid };
        m.call({ ...base, src: CLIENT, dst: SERVER, sport: 800, dport: 2049, header }, header);
        pending.push({ xid, sec, nsec });
        expect(m.takeResolved()).toEqual([]);
        return;
      }
      // A reply to some call made so far, or to none.
      const xid = step.pick < xids.length ? xids[step.pick]! : 0x9999;
      const r = decodeRpcHeader(reply(xid)).header;
      if (r.kind !== "reply") throw new Error("reply expected");
      const msg: RpcMessage = { ...base, src: SERVER, dst: CLIENT, sport: 2049, dport: 800, header: r };
      m.reply(msg, r);
      m.takeResolved();
      const waiting = pending.findIndex((p) => p.xid === xid);
      const remembered = recent.find((p) => p.xid === xid);
      let expected: string;
      if (waiting >= 0) {
        pending.splice(waiting, 1);
        recent.push({ xid, sec, nsec, answered: true });
        expected = "answered";
      } else if (remembered) {
        expected = remembered.answered ? "duplicate" : "late";
      } else {
        expected = "unknown";
      }
      const code = msg.issues[0]?.code;
      const seen = code === undefined ? "answered"
        : code === "duplicate-reply" ? "duplicate"
        : msg.issues[0]!.detail.startsWith("late reply") ? "late" : "unknown";
      expect(seen, `reply to 0x${xid.toString(16)} at step ${k} (${sec}.${nsec})`).toBe(expected);
    });
  }

  it("gives up and forgets exactly when the model does, whatever the order of the times", () => {
    const time = fc.tuple(fc.integer({ min: 1000, max: 1012 }), fc.constantFrom(0, 1, 499_999_999, 500_000_000, 999_999_999));
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.constant<Step>({ kind: "call" }),
      fc.integer({ min: 0, max: 40 }).map<Step>((pick) => ({ kind: "reply", pick })),
    );
    fc.assert(fc.property(
      fc.constantFrom(0.25, 0.5, 1, 1.5, 2, 3), fc.constantFrom(0.5, 1, 2.5, 4),
      fc.array(time, { minLength: 1, maxLength: 60 }), fc.array(step, { minLength: 1, maxLength: 60 }),
      (timeout, window, times, steps) => run(timeout, window, times, steps),
    ), { numRuns: 400, seed: 9 });
  });

  it("an answered call is forgotten after its window though a call still waits well inside the timeout", () => {
    // Timeout 3 s, window 0.5 s: the reply to A at 1000 is forgotten by 1001, while B waits till 1003.
    run(3, 0.5, [[1000, 0], [1000, 0], [1000, 0], [1001, 0]], [
      { kind: "call" }, { kind: "call" }, { kind: "reply", pick: 0 }, { kind: "reply", pick: 0 },
    ]);
  });

  it("the clock going back: a call older than the first waiting one is given up once that one is answered", () => {
    // Call A at 1000, then call B at 500 (the clock went back), A answered at 501: B is the oldest now.
    run(10, 100, [[1000, 0], [500, 0], [501, 0], [520, 0], [521, 0]], [
      { kind: "call" }, { kind: "call" }, { kind: "reply", pick: 0 }, { kind: "call" }, { kind: "reply", pick: 1 },
    ]);
  });
});
