import { describe, expect, it } from "vitest";
import { Ending, RecentCalls } from "../../dissect/recent-calls.js";
import { NO_ISSUES, type Exchange, type RpcMessage } from "../../dissect/rpc-types.js";

function tcpCall(frame: number, xid: number, connId: number): { ex: Exchange; msg: RpcMessage } {
  const msg: RpcMessage = {
    seq: frame, protocol: "onc-rpc", frame, frames: [frame], tsSec: 1000, tsNsec: frame, transport: "tcp", connId,
    src: "10.0.0.1", dst: "10.0.0.2", sport: 900 + connId, dport: 2049, length: 40, header: null, issues: NO_ISSUES,
    exchange: null,
  };
  const ex: Exchange = { id: frame, transport: "tcp", xid, call: msg, reply: null, retransmits: 0, rtt: null, issues: NO_ISSUES };
  return { ex, msg };
}

/** The reply to `c` on its connection (opposite direction). */
function replyTo(c: RpcMessage): RpcMessage {
  return { ...c, src: c.dst, dst: c.src, sport: c.dport, dport: c.sport };
}

describe("RecentCalls", () => {
  it("grows from 1,024 rows to its capacity, keeps the newest, and finds each by key", () => {
    const recent = new RecentCalls(3000, 8);
    const calls = Array.from({ length: 5000 }, (_, i) => tcpCall(i + 1, 0x1000 + i, i % 7));
    for (const { ex, msg } of calls) recent.add(ex, msg, 100003, 3, 6, Ending.Answered, msg.frame + 10_000, 1000, 0);
    expect(recent.size).toBe(3000);
    // The 2,000 oldest are gone, the 3,000 newest are there, with their frames.
    for (const [i, { msg }] of calls.entries()) {
      const row = recent.findCallOfReply(replyTo(msg), 0x1000 + i);
      if (i < 2000) {
        expect(row).toBe(-1);
      } else {
        expect(row).toBeGreaterThanOrEqual(0);
        expect([recent.callFrame(row), recent.replyFrame(row)]).toEqual([msg.frame, msg.frame + 10_000]);
      }
    }
    // Same xid on another connection is another call.
    const other = { ...calls[4999]!.msg, connId: 99 };
    expect(recent.findCallOfReply(replyTo(other), 0x1000 + 4999)).toBe(-1);
  });

  it("holds the exchanges of the newest rows only", () => {
    const recent = new RecentCalls(100, 4);
    const calls = Array.from({ length: 10 }, (_, i) => tcpCall(i + 1, 0x2000 + i, 1));
    for (const { ex, msg } of calls) recent.add(ex, msg, 100003, 3, 1, Ending.Answered, msg.frame + 1, 1000, 0);
    const held = calls.map(({ msg }, i) => recent.exchangeOf(recent.findAnsweredCall(msg, 0x2000 + i, 100003, 3, 1)));
    expect(held.map((ex) => ex?.id ?? null)).toEqual([null, null, null, null, null, null, 7, 8, 9, 10]);
    // Another procedure with the same xid is not a retransmission.
    expect(recent.findAnsweredCall(calls[9]!.msg, 0x2009, 100003, 3, 2)).toBe(-1);
  });

  it("forgets rows older than the window", () => {
    const recent = new RecentCalls(100, 4);
    const a = tcpCall(1, 0x3000, 1);
    const b = tcpCall(2, 0x3001, 1);
    recent.add(a.ex, a.msg, 1, 1, 1, Ending.Unanswered, -1, 100, 0);
    recent.add(b.ex, b.msg, 1, 1, 1, Ending.Answered, 3, 110, 0);
    recent.expire(135, 0, 30);
    expect(recent.size).toBe(1);
    expect(recent.findCallOfReply(replyTo(a.msg), 0x3000)).toBe(-1);
    const row = recent.findCallOfReply(replyTo(b.msg), 0x3001);
    expect(recent.ending(row)).toBe(Ending.Answered);
  });
});
