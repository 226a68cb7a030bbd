import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import { BufferBudget, RecordMarker, type MarkerStats, type StreamSegment } from "../../dissect/record-marking.js";
import { checkRecordStart } from "../../dissect/rpc-heuristics.js";
import { BufferChunk, type TcpConnection } from "../../capture/transport.js";
import { authSys, call, concat, fragments, record, reply, u32 } from "./helpers.js";

interface Out {
  records: {
    bytes: number[]; length: number; truncatedAt: number | null; elided: number; frames: number[]; frame: number;
    fragments: number; view: boolean;
  }[];
  issues: { code: string; frame: number; bytes: number; detail: string }[];
  stats: MarkerStats;
}

function seg(frame: number, bytes: Uint8Array, opts: Partial<StreamSegment> = {}): StreamSegment {
  return { frame, tsSec: frame, tsNsec: 0, bytes, gapBefore: 0, midstream: false, truncatedAfter: 0, ...opts };
}

/**
 * Runs the marker over the segments as given, and again over the same bytes lying in
 * place inside larger buffers between garbage (as the capture layer hands them on:
 * BufferChunk); both runs must give the same records, issues and counts.
 */
function run(segs: StreamSegment[], limits: Limits = DEFAULT_LIMITS, budget?: BufferBudget, keepPrefix?: number): Out {
  const out = runOnce(segs, limits, budget, keepPrefix);
  const inPlace = runOnce(segs.map(inPlaceSegment), limits, budget && new BufferBudget(budget.max), keepPrefix);
  expect(inPlace).toEqual(out);
  return out;
}

const CONN: TcpConnection = { id: 0, aAddr: "10.0.0.1", aPort: 700, bAddr: "10.0.0.2", bPort: 2049, sawSyn: true };
let garbageSeed = 1;

function inPlaceSegment(s: StreamSegment): BufferChunk {
  const before = garbageSeed % 13;
  const after = (garbageSeed * 7) % 11;
  garbageSeed++;
  const data = new Uint8Array(before + s.bytes.length + after).fill(0x80 | (garbageSeed & 0x7f));
  data.set(s.bytes, before);
  return new BufferChunk(CONN, 0, s.frame, s.tsSec, s.tsNsec, data, before, before + s.bytes.length, s.gapBefore, s.midstream, s.truncatedAfter);
}

function runOnce(segs: StreamSegment[], limits: Limits, budget?: BufferBudget, keepPrefix?: number): Out {
  const out: Out = { records: [], issues: [], stats: undefined as unknown as MarkerStats };
  const sources = new Set(segs.map((s) => (s instanceof BufferChunk ? s.data.buffer : s.bytes.buffer)));
  const marker = new RecordMarker(
    limits,
    {
      record(data, start, end, length, truncatedAt, elided, fragments, frames, frame) {
        out.records.push({
          bytes: Array.from(data.subarray(start, end)), length, truncatedAt, elided, frames: [...frames],
          frame, fragments, view: sources.has(data.buffer),
        });
      },
      issue(code, frame, detail, bytes) {
        out.issues.push({ code, frame, detail, bytes });
      },
    },
    (b, off, end) => checkRecordStart(b, off, end, limits.maxRecordBytes, true),
    budget,
    keepPrefix,
  );
  for (const s of segs) marker.push(s);
  marker.close(segs.length ? segs[segs.length - 1]!.frame : 0, "end");
  out.stats = { ...marker.stats };
  return out;
}

/** Every received byte is accounted for. */
function expectAccounted(stats: MarkerStats): void {
  expect(stats.received).toBe(
    stats.delivered + stats.elided + stats.lostAfterHole + stats.markBytes + stats.skippedResync + stats.skippedTooLong + stats.partialMarkBytes,
  );
}

const C1 = call({ xid: 1, cred: authSys("host", 0, 0, [0]), args: [...u32(1), ...u32(2)] });
const R1 = reply(1, [...u32(0), ...u32(7)]);
const C2 = call({ xid: 2, proc: 1, args: new Array<number>(64).fill(0xab) });
const C3 = call({ xid: 3, proc: 6, args: new Array<number>(40).fill(0x11) });

describe("record marking: chunks in → records out", () => {
  it("hands on a record lying inside one chunk as a view (zero copy)", () => {
    const out = run([seg(1, record(C1))]);
    expect(out.records).toHaveLength(1);
    expect(out.records[0]).toMatchObject({ bytes: Array.from(C1), length: C1.length, truncatedAt: null, frames: [1], frame: 1, view: true });
    expect(out.issues).toEqual([]);
    expectAccounted(out.stats);
  });

  it("splits several records out of one chunk, in order", () => {
    const out = run([seg(7, concat(record(C1), record(R1), record(C2)))]);
    expect(out.records.map((r) => r.bytes)).toEqual([Array.from(C1), Array.from(R1), Array.from(C2)]);
    expect(out.records.every((r) => r.frame === 7 && r.view)).toBe(true);
  });

  it("joins a record spread over chunks, at every split point (marks split too)", () => {
    const stream = concat(record(C1), record(C2));
    for (let cut = 1; cut < stream.length; cut++) {
      const out = run([seg(1, stream.slice(0, cut)), seg(2, stream.slice(cut))]);
      expect(out.records.map((r) => r.bytes), `cut at ${cut}`).toEqual([Array.from(C1), Array.from(C2)]);
      const firstEnd = 4 + C1.length;
      expect(out.records[0]!.frame).toBe(cut >= firstEnd ? 1 : 2);
      expect(out.records[0]!.frames).toEqual(cut < firstEnd ? [1, 2] : [1]);
      expect(out.records[1]!.frames).toEqual(cut <= firstEnd ? [2] : [1, 2]);
      expect(out.issues).toEqual([]);
      expectAccounted(out.stats);
    }
  });

  it("joins a record delivered one byte per chunk, keeping every frame", () => {
    const stream = record(R1);
    const out = run(Array.from(stream, (b, i) => seg(i + 1, Uint8Array.of(b))));
    expect(out.records).toHaveLength(1);
    expect(out.records[0]!.bytes).toEqual(Array.from(R1));
    expect(out.records[0]!.frames).toEqual(Array.from({ length: stream.length }, (_, i) => i + 1));
    expect(out.records[0]!.frame).toBe(stream.length);
  });

  it("assembles a multi-fragment record, inside one chunk and across chunks", () => {
    const stream = fragments(C2, [10, 20]);
    const one = run([seg(1, stream)]);
    expect(one.records).toHaveLength(1);
    expect(one.records[0]).toMatchObject({ bytes: Array.from(C2), length: C2.length, fragments: 3, view: false });
    const spread = run([seg(1, stream.slice(0, 12)), seg(2, stream.slice(12, 40)), seg(3, stream.slice(40))]);
    expect(spread.records[0]).toMatchObject({ bytes: Array.from(C2), fragments: 3, frames: [1, 2, 3], frame: 3 });
    expectAccounted(spread.stats);
  });

  it("reports a zero-length fragment and still delivers the record around it", () => {
    const stream = concat(Uint8Array.from(u32(0)), record(C1));
    const out = run([seg(1, stream)]);
    expect(out.issues.map((i) => i.code)).toEqual(["zero-length-fragment"]);
    expect(out.records).toHaveLength(1);
    expect(out.records[0]).toMatchObject({ bytes: Array.from(C1), fragments: 2 });
    const empty = run([seg(1, concat(Uint8Array.from(u32(0x8000_0000)), record(R1)))]);
    expect(empty.issues.map((i) => i.code)).toEqual(["zero-length-fragment"]);
    expect(empty.records.map((r) => r.bytes)).toEqual([Array.from(R1)]);
    expectAccounted(empty.stats);
  });

  it("treats a run of zero bytes as lost sync and resynchronises", () => {
    const out = run([seg(1, concat(new Uint8Array(64), record(C1)))]);
    expect(out.issues.map((i) => i.code)).toEqual(["zero-length-fragment", "zero-length-fragment", "resync"]);
    expect(out.issues[2]!.bytes).toBe(56);
    expect(out.records.map((r) => r.bytes)).toEqual([Array.from(C1)]);
    expectAccounted(out.stats);
  });

  it("skips a 2 GB mark as record-too-long, counting the bytes, without allocating", () => {
    const stream = concat(Uint8Array.from(u32(0xffff_ffff)), new Uint8Array(1000));
    const budget = new BufferBudget(1 << 20);
    const out = run([seg(1, stream.slice(0, 500)), seg(2, stream.slice(500))], DEFAULT_LIMITS, budget);
    expect(out.records).toEqual([]);
    expect(out.issues.map((i) => i.code)).toEqual(["record-too-long"]);
    expect(out.issues[0]!.bytes).toBe(1000);
    expect(out.issues[0]!.detail).toContain("2147483647");
    expect(budget.used).toBe(0);
    expectAccounted(out.stats);
  });

  it("skips exactly the too-long record and stays in step for the next", () => {
    const limits = withLimits({ maxRecordBytes: 100 });
    const big = call({ xid: 5, args: new Array<number>(200).fill(1) });
    const out = run([seg(1, concat(record(big), record(C1))), seg(2, record(R1))], limits);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["record-too-long", big.length]]);
    expect(out.records.map((r) => r.bytes)).toEqual([Array.from(C1), Array.from(R1)]);
    // The running total of fragments counts too: two fragments of 60 exceed 100.
    const multi = run([seg(1, concat(fragments(call({ xid: 6, args: new Array<number>(80).fill(2) }), [60]), record(C1)))], limits);
    expect(multi.issues.map((i) => i.code)).toEqual(["record-too-long"]);
    expect(multi.records.map((r) => r.bytes)).toEqual([Array.from(C1)]);
    expectAccounted(multi.stats);
  });

  it("refuses a record the shared buffer budget cannot hold", () => {
    const budget = new BufferBudget(50);
    const out = run([seg(1, record(C2).slice(0, 30)), seg(2, record(C2).slice(30)), seg(3, record(C1))], DEFAULT_LIMITS, budget);
    expect(out.issues.map((i) => i.code)).toEqual(["record-too-long"]);
    expect(out.issues[0]!.detail).toContain("budget");
    expect(out.records.map((r) => r.bytes)).toEqual([Array.from(C1)]);
    expect(budget.used).toBe(0);
  });
});

describe("record marking: keeping only a prefix of records", () => {
  const big = call({ xid: 9, args: Array.from({ length: 400 }, (_, i) => i & 0xff) });

  it("keeps the first bytes of a record over several chunks, counts the rest, and stays in step", () => {
    const stream = concat(record(big), record(C1));
    for (const cut of [10, 40, 100, 300]) {
      const out = run([seg(1, stream.slice(0, cut)), seg(2, stream.slice(cut))], DEFAULT_LIMITS, undefined, 64);
      expect(out.records.map((r) => [r.bytes.length, r.length, r.elided, r.truncatedAt]), `cut ${cut}`)
        .toEqual([[64, big.length, big.length - 64, null], [C1.length, C1.length, 0, null]]);
      expect(out.records[0]!.bytes).toEqual(Array.from(big.slice(0, 64)));
      expect(out.records[0]!.frames).toEqual([1, 2]);
      expect(out.stats.elided).toBe(big.length - 64);
      expectAccounted(out.stats);
    }
  });

  it("hands on a record inside one chunk whole (a view costs nothing)", () => {
    const out = run([seg(1, record(big))], DEFAULT_LIMITS, undefined, 64);
    expect(out.records[0]).toMatchObject({ elided: 0, view: true, length: big.length });
    expect(out.records[0]!.bytes).toHaveLength(big.length);
  });

  it("a loss after the kept prefix truncates the record where the loss is, not where keeping stopped", () => {
    const r = record(big);
    const out = run([seg(1, r.slice(0, 200)), seg(2, r.slice(250), { gapBefore: 50 })], DEFAULT_LIMITS, undefined, 64);
    expect(out.records[0]).toMatchObject({ truncatedAt: 196, length: big.length });
    expect(out.records[0]!.bytes).toHaveLength(64);
    expectAccounted(out.stats);
  });
});

describe("record marking: missing bytes and resynchronisation", () => {
  it("stays in step across a gap inside a record, handing on the record as truncated", () => {
    const r2 = record(C2);
    const out = run([seg(1, r2.slice(0, 30)), seg(2, r2.slice(50), { gapBefore: 20 }), seg(3, record(C1))]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["gap", 20]]);
    expect(out.records).toHaveLength(2);
    expect(out.records[0]).toMatchObject({ length: C2.length, truncatedAt: 26, bytes: Array.from(C2.slice(0, 26)), frames: [1, 2], frame: 2 });
    expect(out.records[1]!.bytes).toEqual(Array.from(C1));
    expectAccounted(out.stats);
  });

  it("resynchronises after a gap that swallowed a mark, with the exact skipped-byte count", () => {
    const r1 = record(C1);
    const r2 = record(C2);
    const r3 = record(C3);
    const r4 = record(R1);
    // Chunk 1: r1 and 10 bytes of r2. Lost: the rest of r2 and the first 6 bytes of r3.
    const lost = r2.length - 10 + 6;
    const out = run([seg(1, concat(r1, r2.slice(0, 10))), seg(2, concat(r3.slice(6), r4), { gapBefore: lost })]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["gap", lost], ["resync", r3.length - 6]]);
    expect(out.records.map((r) => r.truncatedAt)).toEqual([null, 6, null]);
    expect(out.records[1]).toMatchObject({ length: C2.length, bytes: Array.from(C2.slice(0, 6)) });
    expect(out.records[2]!.bytes).toEqual(Array.from(R1));
    expect(out.stats.skippedResync).toBe(r3.length - 6);
    expectAccounted(out.stats);
  });

  it("starts midstream by scanning for the first plausible record", () => {
    const r1 = record(C1);
    const out = run([seg(4, concat(r1.slice(17), record(C2), record(R1)), { midstream: true })]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["resync", r1.length - 17]]);
    expect(out.records.map((r) => r.bytes)).toEqual([Array.from(C2), Array.from(R1)]);
    expectAccounted(out.stats);
  });

  it("finds a record start split across chunks while resynchronising, at every split point", () => {
    const garbage = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
    const stream = concat(garbage, record(C1), record(R1));
    for (let cut = 1; cut < stream.length; cut++) {
      const out = run([seg(1, stream.slice(0, cut), { midstream: true }), seg(2, stream.slice(cut))]);
      expect(out.records.map((r) => r.bytes), `cut at ${cut}`).toEqual([Array.from(C1), Array.from(R1)]);
      expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["resync", garbage.length]]);
      const c1End = garbage.length + 4 + C1.length;
      expect(out.records[0]!.frames).toEqual(cut <= garbage.length ? [2] : cut >= c1End ? [1] : [1, 2]);
      expectAccounted(out.stats);
    }
  });

  it("reports bytes cut by the snaplen inside a record (counted again in the next gapBefore) and stays in step", () => {
    const r2 = record(C2);
    const cut = r2.length - 40;
    const out = run([
      seg(1, r2.slice(0, 40), { truncatedAfter: cut }),
      seg(2, record(C1), { gapBefore: cut }),
    ]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["truncated", cut]]);
    expect(out.records[0]).toMatchObject({ truncatedAt: 36, length: C2.length, frame: 2, frames: [1] });
    expect(out.records[1]!.bytes).toEqual(Array.from(C1));
    expectAccounted(out.stats);
  });

  it("a cut final segment followed by a zero-length chunk carrying only gapBefore ends the record", () => {
    const r2 = record(C2);
    const cut = r2.length - 40;
    const out = run([seg(1, r2.slice(0, 40), { truncatedAfter: cut }), seg(2, new Uint8Array(0), { gapBefore: cut })]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["truncated", cut]]);
    expect(out.records).toHaveLength(1);
    expect(out.records[0]).toMatchObject({ truncatedAt: 36, length: C2.length });
  });

  it("hands on an incomplete record at the end of the stream as truncated", () => {
    const r2 = record(C2);
    const out = run([seg(1, r2.slice(0, 50))]);
    expect(out.records[0]).toMatchObject({ truncatedAt: 46, length: C2.length });
    expect(out.issues.map((i) => i.code)).toEqual(["truncated"]);
    const partialMark = run([seg(1, concat(record(C1), Uint8Array.of(0x80, 0)))]);
    expect(partialMark.issues.map((i) => [i.code, i.bytes])).toEqual([["truncated", 2]]);
    expectAccounted(partialMark.stats);
  });

  it("reports a stream that never resynchronises, with every byte counted", () => {
    const junk = new Uint8Array(5000).map((_, i) => (i * 7 + 3) & 0xff);
    const out = run([seg(1, junk.slice(0, 2000), { midstream: true }), seg(2, junk.slice(2000))]);
    expect(out.records).toEqual([]);
    expect(out.issues.map((i) => [i.code, i.bytes])).toEqual([["resync", 5000]]);
    expectAccounted(out.stats);
  });

  it("keeps buffered state bounded", () => {
    const limits = withLimits({ maxRecordBytes: 4096 });
    const marker = new RecordMarker(limits, { record() {}, issue() {} }, (b, o, e) => checkRecordStart(b, o, e, 4096, true));
    let peak = 0;
    for (let i = 0; i < 200; i++) {
      marker.push(seg(i + 1, new Uint8Array(997).map((_, j) => (i * 31 + j * 17) & 0xff), { midstream: i === 0 }));
      peak = Math.max(peak, marker.bufferedBytes);
    }
    expect(peak).toBeLessThanOrEqual(4096 + 2 * 844);
  });
});

describe("record marking properties", () => {
  const messages = [C1, R1, C2, C3, reply(9), call({ xid: 77, cred: authSys("x".repeat(50)) })];

  it("any chunking of a clean stream gives back exactly the records sent", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: messages.length - 1 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (picks, sizes, fragmented) => {
          const sent = picks.map((p) => messages[p]!);
          const stream = concat(...sent.map((m) => (fragmented && m.length > 30 ? fragments(m, [7, 13]) : record(m))));
          const segs: StreamSegment[] = [];
          let at = 0;
          let k = 0;
          while (at < stream.length) {
            const size = sizes[k % sizes.length]!;
            segs.push(seg(k + 1, stream.slice(at, at + size)));
            at += size;
            k++;
          }
          const out = run(segs);
          expect(out.records.map((r) => r.bytes)).toEqual(sent.map((m) => Array.from(m)));
          expect(out.issues).toEqual([]);
          expectAccounted(out.stats);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("with gaps, midstream starts and snaplen cuts, every byte is in a record or an issue, and nothing throws", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: messages.length - 1 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 150 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: 40 }),
        (picks, plan, startAt) => {
          const stream = concat(...picks.map((p) => record(messages[p]!)));
          const segs: StreamSegment[] = [];
          let at = Math.min(startAt, stream.length);
          let k = 0;
          let carried = 0; // snaplen-cut bytes, counted again in the next gapBefore as capture does
          while (at < stream.length) {
            const [size, skip, kind] = plan[k % plan.length]!;
            const gap = kind === 0 ? Math.min(skip, stream.length - at) : 0;
            at += gap;
            if (at >= stream.length) break;
            const bytes = stream.slice(at, at + size);
            at += bytes.length;
            const cut = kind === 1 ? Math.min(skip, stream.length - at) : 0;
            segs.push(seg(k + 1, bytes, { gapBefore: gap + carried, midstream: k === 0 && startAt > 0, truncatedAfter: cut }));
            carried = cut;
            at += cut;
            k++;
          }
          const out = run(segs);
          expectAccounted(out.stats);
          const missing = out.issues.filter((i) => i.code === "gap" || i.code === "truncated").length;
          expect(missing).toBeGreaterThanOrEqual(segs.filter((s) => s.gapBefore > 0).length);
          for (const r of out.records) {
            expect(r.bytes.length).toBeLessThanOrEqual(r.length);
            if (r.truncatedAt === null) expect(r.bytes.length).toBe(r.length);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("any bytes at all pass through without an exception", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), fc.boolean(), (parts, midstream) => {
        const out = run(parts.map((p, i) => seg(i + 1, p, { midstream: midstream && i === 0 })), withLimits({ maxRecordBytes: 1 << 16 }));
        expectAccounted(out.stats);
      }),
      { numRuns: 2000 },
    );
  });
});
