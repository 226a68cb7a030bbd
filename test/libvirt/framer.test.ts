import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import { BufferBudget } from "../../dissect/record-marking.js";
import { LibvirtFramer, type FramerIssueCode, type LibvirtFrame } from "../../dissect/libvirt/framer.js";
import { checkLibvirtStart, checkTlsRecord, decodeLibvirtHeader } from "../../dissect/libvirt/header.js";
import { concat, lv, u32 } from "./helpers.js";

interface Seg {
  bytes: Uint8Array;
  gapBefore?: number;
  midstream?: boolean;
  truncatedAfter?: number;
}

interface Out {
  messages: { bytes: number[]; length: number; truncatedAt: number | null; frames: number[]; frame: number }[];
  issues: { code: FramerIssueCode; frame: number; bytes: number; detail: string }[];
  framer: LibvirtFramer;
}

/** Feeds segments (frame = index + 1) and closes the stream at frame segments + 1. */
function run(segs: Seg[], limits: Limits = DEFAULT_LIMITS, budget?: BufferBudget): Out {
  const out: Out = { messages: [], issues: [], framer: null as unknown as LibvirtFramer };
  const framer = new LibvirtFramer(limits, {
    message(f: LibvirtFrame) {
      out.messages.push({ bytes: Array.from(f.bytes), length: f.length, truncatedAt: f.truncatedAt, frames: [...f.frames], frame: f.frame });
    },
    issue(code, frame, detail, bytes) {
      out.issues.push({ code, frame, bytes, detail });
    },
  }, budget);
  out.framer = framer;
  segs.forEach((s, i) => framer.push({
    frame: i + 1, tsSec: i + 1, tsNsec: 0, bytes: s.bytes, gapBefore: s.gapBefore ?? 0,
    midstream: s.midstream ?? false, truncatedAfter: s.truncatedAfter ?? 0,
  }));
  framer.close(segs.length + 1, "end");
  return out;
}

function accounted(f: LibvirtFramer): boolean {
  const s = f.stats;
  return s.received === s.delivered + s.lostAfterHole + s.skippedResync + s.skippedTooLong + s.partialLengthBytes;
}

const A = lv({ proc: 66, serial: 0 });
const B = lv({ proc: 60, serial: 1, body: u32(10) });
const C = lv({ proc: 1, serial: 2, body: [0, 0, 0, 0, 0, 0, 0, 0] });

describe("libvirt header", () => {
  it("reads the six words after the length word; *_WITH_FDS carry an nfds word", () => {
    expect(decodeLibvirtHeader(lv({ proc: 23, type: 1, serial: 6, status: 1 }))).toEqual({
      kind: "reply", prog: 0x20008086, vers: 1, proc: 23, type: 1, typeName: "REPLY", serial: 6, status: 1,
      statusName: "ERROR", bodyOffset: 28,
    });
    expect(decodeLibvirtHeader(lv({ type: 4, body: u32(2) }))).toMatchObject({ kind: "call", typeName: "CALL_WITH_FDS", nfds: 2, bodyOffset: 32 });
    expect(decodeLibvirtHeader(lv({ type: 9, status: 7 }))).toMatchObject({ kind: "unknown", typeName: "UNKNOWN(9)", statusName: "UNKNOWN(7)" });
    expect(decodeLibvirtHeader(lv().subarray(0, 27))).toBeNull();
  });

  it.each([
    ["a call", lv(), "yes"],
    ["a keepalive PING", lv({ prog: 0x6b656570, type: 2 }), "yes"],
    ["a stream hole", lv({ type: 6, status: 0 }), "yes"],
    ["only the length word", lv().subarray(0, 4), "more"],
    ["27 bytes", lv().subarray(0, 27), "more"],
    ["length below the header", lv({ length: 27 }), "no"],
    ["length over the limit", lv({ length: DEFAULT_LIMITS.maxLibvirtMessageBytes + 1 }), "no"],
    ["an unknown program", lv({ prog: 100003 }), "no"],
    ["version 0", lv({ vers: 0 }), "no"],
    ["type 7", lv({ type: 7 }), "no"],
    ["status 3", lv({ type: 1, status: 3 }), "no"],
    ["a call with status ERROR", lv({ type: 0, status: 1 }), "no"],
    ["an ONC-RPC record mark", Uint8Array.from([0x80, 0, 0, 0x28, ...new Array<number>(40).fill(0)]), "no"],
  ])("checkLibvirtStart: %s → %s", (_what, bytes, verdict) => {
    expect(checkLibvirtStart(bytes, 0, bytes.length, DEFAULT_LIMITS.maxLibvirtMessageBytes)).toBe(verdict);
  });

  it.each([
    ["a ClientHello record", [0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5], "yes"],
    ["application data followed by another record", [0x17, 3, 3, 0, 1, 9, 0x17, 3, 3, 0, 2], "yes"],
    ["application data followed by garbage", [0x17, 3, 3, 0, 1, 9, 0x80, 0, 0, 0, 0], "no"],
    ["a libvirt length word", [0, 0, 0, 28, 0x20], "no"],
    ["four bytes", [0x16, 3, 1, 0], "more"],
  ])("checkTlsRecord: %s → %s", (_what, bytes, verdict) => {
    const b = Uint8Array.from(bytes);
    expect(checkTlsRecord(b, 0, b.length, true)).toBe(verdict);
  });
});

describe("libvirt framing: segments in, messages out", () => {
  it("one message per segment is handed on whole", () => {
    const out = run([{ bytes: A }, { bytes: B }]);
    expect(out.messages.map((m) => [m.frames, m.length, m.bytes.length])).toEqual([[[1], 28, 28], [[2], 32, 32]]);
    expect(out.messages[1]!.bytes).toEqual(Array.from(B));
    expect(out.issues).toEqual([]);
    expect(accounted(out.framer)).toBe(true);
  });

  it("several messages in one segment", () => {
    const out = run([{ bytes: concat(A, B, C) }]);
    expect(out.messages.map((m) => m.bytes)).toEqual([A, B, C].map((x) => Array.from(x)));
    expect(out.messages.every((m) => m.frame === 1 && m.truncatedAt === null)).toBe(true);
  });

  it("a message split at every possible point (inside the length word too) comes out the same", () => {
    const stream = concat(B, C);
    for (let cut = 1; cut < stream.length; cut++) {
      const out = run([{ bytes: stream.subarray(0, cut) }, { bytes: stream.subarray(cut) }]);
      expect(out.messages.map((m) => m.bytes), `cut ${cut}`).toEqual([B, C].map((x) => Array.from(x)));
      expect(out.messages[0]!.frames).toEqual(cut < B.length ? [1, 2] : [1]);
      expect(out.issues).toEqual([]);
      expect(accounted(out.framer)).toBe(true);
    }
  });

  it("a message over three segments lists its frames and completes in the last", () => {
    const big = lv({ proc: 11, body: new Array<number>(100).fill(7) });
    const out = run([{ bytes: big.subarray(0, 10) }, { bytes: big.subarray(10, 60) }, { bytes: big.subarray(60) }]);
    expect(out.messages).toMatchObject([{ frames: [1, 2, 3], frame: 3, length: 128, truncatedAt: null }]);
    expect(out.messages[0]!.bytes).toEqual(Array.from(big));
  });

  it("bytes lost inside a message body: truncated at the hole, framing stays in step", () => {
    const big = lv({ proc: 11, body: new Array<number>(40).fill(7) }); // 68 bytes
    const out = run([{ bytes: big.subarray(0, 30) }, { bytes: big.subarray(50), gapBefore: 20 }, { bytes: C }]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["gap", 20]]);
    expect(out.issues[0]!.detail).toContain("stays in step");
    expect(out.messages.map((m) => [m.length, m.truncatedAt, m.bytes.length])).toEqual([[68, 30, 30], [36, null, 36]]);
    expect(out.framer.stats.lostAfterHole).toBe(18);
    expect(accounted(out.framer)).toBe(true);
  });

  it("bytes lost across a message boundary: resynchronise on the next plausible header", () => {
    // A ends, 30 bytes of B/C lost (B entirely, 2 bytes of C), rest of C, then a clean A.
    const stream = concat(B, C);
    const out = run([{ bytes: A }, { bytes: stream.subarray(34), gapBefore: 34 }, { bytes: A }]);
    expect(out.issues.map((i) => i.code)).toEqual(["gap", "resync"]);
    expect(out.issues[1]).toMatchObject({ bytes: C.length - 2, frame: 3 });
    expect(out.messages.map((m) => m.frame)).toEqual([1, 3]);
    expect(out.framer.stats.resyncs).toBe(1);
    expect(accounted(out.framer)).toBe(true);
  });

  it("a stream caught midstream skips to the first plausible header", () => {
    const out = run([{ bytes: concat(B.subarray(5), C, A), midstream: true }]);
    expect(out.messages.map((m) => m.bytes)).toEqual([C, A].map((x) => Array.from(x)));
    expect(out.issues).toMatchObject([{ code: "resync", bytes: B.length - 5 }]);
    expect(out.issues[0]!.detail).toContain("start was not seen");
  });

  it("resynchronises on a header that straddles two segments", () => {
    const tail = concat(Uint8Array.of(1, 2, 3), C.subarray(0, 10));
    const out = run([{ bytes: tail, midstream: true }, { bytes: C.subarray(10) }, { bytes: A }]);
    expect(out.messages.map((m) => [m.bytes.length, m.frames])).toEqual([[36, [1, 2]], [28, [3]]]);
    expect(out.issues).toMatchObject([{ code: "resync", bytes: 3, frame: 2 }]);
    expect(accounted(out.framer)).toBe(true);
  });

  it("a huge length word is over the limit: record-too-long, then resync", () => {
    const huge = lv({ length: 0x7fff_fff0 });
    const out = run([{ bytes: concat(huge, new Uint8Array(50).fill(0xee), B) }]);
    expect(out.issues.map((i) => i.code)).toEqual(["record-too-long", "resync"]);
    expect(out.issues[0]!.detail).toContain("maxLibvirtMessageBytes");
    expect(out.issues[1]!.bytes).toBe(huge.length + 50);
    expect(out.messages.map((m) => m.bytes)).toEqual([Array.from(B)]);
    expect(out.framer.stats.tooLong).toBe(1);
  });

  it("a length word shorter than the header: resync, saying why", () => {
    const out = run([{ bytes: concat(Uint8Array.from(u32(8)), new Uint8Array(4), C) }]);
    expect(out.issues).toMatchObject([{ code: "resync", bytes: 8 }]);
    expect(out.issues[0]!.detail).toContain("shorter than the 28-byte header");
    expect(out.messages.map((m) => m.bytes)).toEqual([Array.from(C)]);
  });

  it("the limit applies to the whole message, length word included", () => {
    const limits = withLimits({ maxLibvirtMessageBytes: 32 });
    const out = run([{ bytes: concat(B, C, A) }], limits);
    expect(out.messages.map((m) => m.length)).toEqual([32, 28]);
    expect(out.issues.map((i) => i.code)).toEqual(["record-too-long", "resync"]);
  });

  it("bytes cut by the snaplen are 'truncated', not 'gap'", () => {
    const big = lv({ proc: 11, body: new Array<number>(40).fill(7) });
    const out = run([{ bytes: big.subarray(0, 40), truncatedAfter: 28 }, { bytes: C, gapBefore: 28 }]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["truncated", 28]]);
    expect(out.messages.map((m) => [m.truncatedAt, m.length])).toEqual([[40, 68], [null, 36]]);
  });

  it("the stream ends inside a message, or inside a length word", () => {
    const cut = run([{ bytes: concat(A, B.subarray(0, 30)) }]);
    expect(cut.messages.map((m) => [m.length, m.truncatedAt])).toEqual([[28, null], [32, 30]]);
    expect(cut.issues).toMatchObject([{ code: "truncated", bytes: 2, frame: 2 }]);
    const partial = run([{ bytes: concat(A, B.subarray(0, 3)) }]);
    expect(partial.messages).toHaveLength(1);
    expect(partial.issues).toMatchObject([{ code: "truncated", bytes: 3 }]);
    expect(partial.framer.stats.partialLengthBytes).toBe(3);
    expect(accounted(partial.framer)).toBe(true);
  });

  it("a message the buffer budget cannot hold is skipped as record-too-long and the budget is returned", () => {
    const budget = new BufferBudget(40);
    const big = lv({ proc: 11, body: new Array<number>(40).fill(7) });
    const out = run([{ bytes: big.subarray(0, 20) }, { bytes: big.subarray(20) }, { bytes: C.subarray(0, 10) }, { bytes: C.subarray(10) }], DEFAULT_LIMITS, budget);
    expect(out.issues).toMatchObject([{ code: "record-too-long", bytes: 68 }]);
    expect(out.messages.map((m) => m.bytes)).toEqual([Array.from(C)]);
    expect(budget.used).toBe(0);
    expect(accounted(out.framer)).toBe(true);
  });

  it("property: any chunking of a valid stream yields the same messages", () => {
    const stream = concat(A, B, C, lv({ type: 3, status: 2, serial: 9, body: new Array<number>(77).fill(1) }), A);
    const expected = run([{ bytes: stream }]).messages.map((m) => m.bytes);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }), (cuts) => {
      const points = [...new Set(cuts)].sort((a, b) => a - b);
      const segs: Seg[] = [];
      let at = 0;
      for (const p of [...points, stream.length]) {
        segs.push({ bytes: stream.subarray(at, p) });
        at = p;
      }
      const out = run(segs);
      expect(out.messages.map((m) => m.bytes)).toEqual(expected);
      expect(out.issues).toEqual([]);
    }));
  });

  it("property: any bytes, gaps and snaplen cuts pass without an exception and every byte is accounted for", () => {
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.constantFrom(A, B, C, lv({ length: 0xffffffff }), lv({ type: 6 })),
      fc.constantFrom(A, B, C).chain((m) => fc.integer({ min: 0, max: m.length }).map((n) => m.subarray(0, n))),
    );
    const seg = fc.record({
      parts: fc.array(piece, { maxLength: 4 }),
      gapBefore: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 80 })),
      midstream: fc.boolean(),
      truncatedAfter: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 })),
    });
    fc.assert(fc.property(fc.array(seg, { maxLength: 10 }), (raw) => {
      const segs: Seg[] = raw.map((s, i) => ({
        bytes: concat(...s.parts), gapBefore: i === 0 ? 0 : s.gapBefore, midstream: i === 0 && s.midstream, truncatedAfter: s.truncatedAfter,
      }));
      const budget = new BufferBudget(1 << 20);
      const out = run(segs, DEFAULT_LIMITS, budget);
      expect(accounted(out.framer)).toBe(true);
      expect(budget.used).toBe(0);
      for (const m of out.messages) {
        expect(m.length).toBeGreaterThanOrEqual(28);
        expect(m.bytes.length).toBeLessThanOrEqual(m.length);
      }
    }), { numRuns: 300 });
  });
});
