import { describe, expect, it } from "vitest";
import { addIssue, NO_ISSUES, type Exchange, type RpcMessage } from "../../dissect/rpc-types.js";
import { OrderedOutput } from "../../ui/ordered-output.js";

function message(frame: number, kind: "call" | "reply", ex: Exchange | null): RpcMessage {
  const header = kind === "call"
    ? { kind, xid: frame, rpcvers: 2, prog: 100003, vers: 3, proc: 1, cred: { kind: "none", flavor: 0, offset: 24, length: 0 }, verf: { kind: "none", flavor: 0, offset: 32, length: 0 }, bodyOffset: 40 } as const
    : { kind, xid: frame, replyStat: "accepted", status: "SUCCESS", bodyOffset: 24 } as const;
  return {
    seq: frame, protocol: "onc-rpc", frame, frames: [frame], tsSec: 1, tsNsec: 0, transport: "tcp", connId: 1,
    src: "a", dst: "b", sport: 1, dport: 2, length: 40, header, issues: NO_ISSUES, exchange: ex,
  };
}

function exchange(): Exchange {
  return { id: 0, transport: "tcp", xid: 1, call: null, reply: null, retransmits: 0, rtt: null, issues: NO_ISSUES };
}

describe("OrderedOutput", () => {
  it("holds everything behind a waiting call until the call is answered, then writes in order", () => {
    const written: number[] = [];
    const out = new OrderedOutput<number>((n) => written.push(n));
    const ex = exchange();
    out.push(message(1, "call", ex), 1);
    out.push(message(2, "reply", exchange()), 2);
    expect(written).toEqual([]);
    ex.reply = message(3, "reply", ex);
    out.push(ex.reply, 3);
    expect(written).toEqual([1, 2, 3]);
  });

  it("a call given up (unanswered) no longer holds the queue", () => {
    const written: number[] = [];
    const out = new OrderedOutput<number>((n) => written.push(n));
    const ex = exchange();
    out.push(message(1, "call", ex), 1);
    out.push(message(2, "call", null), 2);
    addIssue(ex, { code: "unanswered", detail: "no reply" });
    out.exchangeResolved(ex);
    expect(written).toEqual([1, 2]);
  });

  it("writes the head early past maxHeld lines, and counts it", () => {
    const written: number[] = [];
    const out = new OrderedOutput<number>((n) => written.push(n), 3);
    out.push(message(1, "call", exchange()), 1);
    for (let f = 2; f <= 4; f++) out.push(message(f, "reply", exchange()), f);
    expect(written).toEqual([1, 2, 3, 4]);
    expect(out.forcedEarly).toBe(1);
  });

  it("writes the head early past maxHeldBytes of held bodies, and counts it", () => {
    const written: number[] = [];
    const out = new OrderedOutput<number>((n) => written.push(n), 1000, 100);
    out.push(message(1, "call", exchange()), 1, 10);
    out.push(message(2, "call", exchange()), 2, 60);
    expect(written).toEqual([]);
    out.push(message(3, "reply", exchange()), 3, 60);
    // 130 bytes held: the first waiting call goes; 120 still over: the second too; then the reply.
    expect(written).toEqual([1, 2, 3]);
    expect(out.forcedEarly).toBe(2);
  });

  it("finish writes what is still held", () => {
    const written: number[] = [];
    const out = new OrderedOutput<number>((n) => written.push(n));
    out.push(message(1, "call", exchange()), 1);
    out.push(message(2, "reply", exchange()), 2);
    out.finish();
    expect(written).toEqual([1, 2]);
  });

  it("long runs that never empty the queue (its entries moved to the front) keep every line once, in order", () => {
    // Calls answered 1-60 pushes later, so some call nearly always waits and the queue
    // rarely empties: written entries pile up at its front and are moved out in blocks.
    let seed = 12345;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const written: number[] = [];
    const out = new OrderedOutput<number>((n) => written.push(n));
    const exchanges: (Exchange | null)[] = [null];
    const due = new Map<number, Exchange[]>();
    const total = 30_000;
    let run = 0;
    let longestRun = 0;
    for (let i = 1; i <= total; i++) {
      const isCall = rand() < 0.7;
      const ex = isCall ? exchange() : null;
      exchanges.push(ex);
      out.push(message(i, isCall ? "call" : "reply", ex), i);
      if (ex) {
        const at = i + 1 + Math.floor(rand() * 60);
        due.set(at, [...(due.get(at) ?? []), ex]);
      }
      for (const e of due.get(i) ?? []) {
        e.reply = message(i, "reply", e);
        out.exchangeResolved(e);
      }
      due.delete(i);
      // Lines go out in order, and the first one held is a call still waiting.
      expect(written.length === 0 || written[written.length - 1] === written.length).toBe(true);
      if (written.length < i) {
        const first = exchanges[written.length + 1];
        expect(first !== null && first!.reply === null).toBe(true);
      }
      run = written.length === i ? 0 : run + 1;
      longestRun = Math.max(longestRun, run);
    }
    out.finish();
    expect(written).toEqual(Array.from({ length: total }, (_, k) => k + 1));
    expect(out.forcedEarly).toBe(0);
    // Past 2 × 4096 pushes without emptying, the entries were moved to the front at least once.
    expect(longestRun).toBeGreaterThan(2 * 4096);
  });
});
