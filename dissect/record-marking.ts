/**
 * Record marking (RFC 5531 §11): over a byte stream each RPC message is sent as a
 * record of one or more fragments, each preceded by a 4-byte mark whose high bit
 * says "last fragment" and whose low 31 bits give the fragment length.
 *
 * One RecordMarker per stream direction. It takes in-order chunks and hands on
 * whole records:
 * - A single-fragment record inside one chunk is handed on as a view (no copy).
 *   Otherwise the fragments are copied into a buffer sized from the marks, and only
 *   after each length and the running total were checked against
 *   `limits.maxRecordBytes` and the shared buffer budget.
 * - A record over the limit is skipped to its end ("record-too-long", with the
 *   bytes skipped); an empty fragment is reported ("zero-length-fragment").
 * - Missing bytes (TCP loss before a chunk, snaplen cut after one) whose size is
 *   known and which end inside the current fragment leave the marker in step: the
 *   record is handed on as truncated at the hole. Missing bytes that reach past the
 *   fragment (a mark was lost), or a stream whose start was not seen, make it
 *   resynchronise: scan forward for a mark followed by a plausible RPC header,
 *   reporting the bytes skipped ("resync").
 *
 * Nothing is dropped silently: every byte received is in a record handed on, in a
 * complete mark, or counted in an issue (see MarkerStats, checked by the tests).
 * Buffered state is bounded: one record (≤ maxRecordBytes) plus a scan window of
 * 2 × MAX_HEADER_LOOKAHEAD bytes.
 */
import type { Limits } from "../capture/limits.js";
import { BufferChunk, type TcpChunk } from "../capture/transport.js";
import { MAX_HEADER_LOOKAHEAD, type Verdict } from "./rpc-heuristics.js";

/**
 * What the marker needs from a chunk; TcpChunk has all of it. As the capture layer
 * delivers them, the stream position advances by gapBefore + bytes.length per chunk;
 * truncatedAfter bytes are included in the next chunk's gapBefore.
 */
export type StreamSegment = Pick<TcpChunk, "frame" | "tsSec" | "tsNsec" | "bytes" | "gapBefore" | "midstream" | "truncatedAfter">;

export type MarkerIssueCode = "resync" | "record-too-long" | "zero-length-fragment" | "gap" | "truncated";

export interface RecordHandler {
  /**
   * One record, as values (an object per record cost its allocation and a copy of
   * every field; 180 instructions an exchange in the RPC layer):
   * - [start, end) of `data`: the record's captured bytes, without marks, where they lie
   *   (a chunk's buffer, or the record buffer), valid only during the call (no view is
   *   made for them: most consumers read them there);
   * - `length`: its declared length (the sum of its fragment lengths);
   * - `truncatedAt`: offset of the first byte missing (snaplen, loss, end of stream), null when complete;
   * - `elided`: bytes of the record seen but not kept (past the marker's keepPrefix): the bytes end early without a loss;
   * - `fragments`; `frames`: those that contributed bytes, in stream order, each once (the message keeps the list);
   * - `frame`, `tsSec`, `tsNsec`: of the chunk with the record's last byte, or the last seen when the end is missing.
   */
  record(
    data: Uint8Array, start: number, end: number, length: number, truncatedAt: number | null, elided: number,
    fragments: number, frames: number[], frame: number, tsSec: number, tsNsec: number,
  ): void;
  /** `bytes`: stream bytes the issue accounts for (skipped, or missing for "gap"/"truncated"). */
  issue(code: MarkerIssueCode, frame: number, detail: string, bytes: number): void;
}

/** Is there a plausible record start at b[off]? (`availEnd` ends the bytes at hand.) */
export type RecordStartCheck = (b: Uint8Array, off: number, availEnd: number) => Verdict;

/** Buffers kept for reuse: a handful, each at most this big (records of a few KiB to 1 MiB are common). */
const POOL_MAX_BUFFERS = 16;
const POOL_MAX_BUFFER_BYTES = 1 << 20;
/** Record buffers are allocated in these steps so that a freed one fits the next record. */
const BUFFER_STEP_BYTES = 16 * 1024;

/**
 * Bytes of record buffers over all markers sharing it (bounded by a limit), and a
 * small pool of finished records' buffers: most multi-segment records (NFS READ and
 * WRITE) are alike in size, and reusing a buffer spares allocating and zeroing one
 * per record. Pooled buffers are not charged to the budget; the pool is a constant
 * POOL_MAX_BUFFERS × POOL_MAX_BUFFER_BYTES at most.
 */
export class BufferBudget {
  used = 0;
  private readonly pool: Uint8Array[] = [];
  constructor(readonly max: number) {}

  /** A buffer of at least `min` bytes (at most `cap` when newly allocated), from the pool when one fits. */
  take(min: number, cap: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.pool.length; i++) {
      const len = this.pool[i]!.length;
      if (len >= min && (best < 0 || len < this.pool[best]!.length)) best = i;
    }
    if (best >= 0) {
      const buf = this.pool[best]!;
      this.pool[best] = this.pool[this.pool.length - 1]!;
      this.pool.pop();
      return buf;
    }
    const rounded = Math.ceil(min / BUFFER_STEP_BYTES) * BUFFER_STEP_BYTES;
    return new Uint8Array(Math.max(min, Math.min(rounded, cap)));
  }

  /** Hands a buffer back; its contents may be overwritten from now on. */
  give(buf: Uint8Array): void {
    if (buf.length > POOL_MAX_BUFFER_BYTES) return;
    if (this.pool.length < POOL_MAX_BUFFERS) {
      this.pool.push(buf);
      return;
    }
    // Full: keep the larger of the two, so a pool of small buffers can still serve big records.
    let smallest = 0;
    for (let i = 1; i < this.pool.length; i++) if (this.pool[i]!.length < this.pool[smallest]!.length) smallest = i;
    if (this.pool[smallest]!.length < buf.length) this.pool[smallest] = buf;
  }
}

/** Byte accounting: received = delivered + elided + lostAfterHole + markBytes + skippedResync + skippedTooLong + partialMarkBytes. */
export interface MarkerStats {
  received: number;
  /** Captured record bytes handed on in records. */
  delivered: number;
  /** Captured record bytes past `keepPrefix`, counted but not kept (see RecordMarker). */
  elided: number;
  /** Bytes of a record received after a hole in it: part of the record's length, not handed on. */
  lostAfterHole: number;
  markBytes: number;
  skippedResync: number;
  skippedTooLong: number;
  /** Bytes of an incomplete mark at the end of the stream. */
  partialMarkBytes: number;
  /** Bytes known to be missing from the stream (loss or snaplen). */
  missingBytes: number;
  records: number;
  recordsTooLong: number;
  zeroLengthFragments: number;
  resyncs: number;
}

const enum State {
  Mark,
  Body,
  Resync,
}

interface ScanSegment {
  frame: number;
  tsSec: number;
  tsNsec: number;
  /** Start offset of this segment's bytes in the scan buffer. */
  start: number;
}

const SCAN_CAPACITY = 2 * MAX_HEADER_LOOKAHEAD;

export class RecordMarker {
  readonly stats: MarkerStats = {
    received: 0, delivered: 0, elided: 0, lostAfterHole: 0, markBytes: 0, skippedResync: 0, skippedTooLong: 0,
    partialMarkBytes: 0, missingBytes: 0, records: 0, recordsTooLong: 0, zeroLengthFragments: 0, resyncs: 0,
  };

  private state: State = State.Mark;
  private seenFirst = false;

  // Mark being read.
  private markHave = 0;
  private markValue = 0;

  // Record being assembled.
  private recordOpen = false;
  private recLength = 0;
  /** Bytes of the record kept in recBuf (or the view); recElided more were seen but not kept. */
  private recHave = 0;
  private recElided = 0;
  private recBuf: Uint8Array | null = null;
  private holeAt: number | null = null;
  private tooLong = false;
  private tooLongSkipped = 0;
  private tooLongWhy = "";
  private fragments = 0;
  // Frames of the record being assembled: the first, and a list only once there are two.
  private frameFirst = -1;
  private frameLast = -1;
  private frameList: number[] | null = null;
  private fragRemaining = 0;
  private lastFrag = false;
  private zeroRun = 0;

  // Resynchronisation.
  private scanBuf: Uint8Array | null = null;
  private scanLen = 0;
  private scanSegs: ScanSegment[] = [];
  private pendingSkip = 0;

  /** Bytes the snaplen cut after the previous chunk (they reappear as this chunk's gapBefore). */
  private snaplenCut = 0;

  // The chunk being processed.
  private curFrame = 0;
  private curTsSec = 0;
  private curTsNsec = 0;

  constructor(
    private readonly limits: Limits,
    private readonly handler: RecordHandler,
    private readonly check: RecordStartCheck,
    private readonly budget: BufferBudget = new BufferBudget(Number.MAX_SAFE_INTEGER),
    /**
     * Bytes of each record to keep: a record longer than this that spans chunks is
     * handed on with only its first keepPrefix bytes (`elided` says how many more it
     * had), when the consumer reads no further (headers only) and copying the rest
     * of every large READ or WRITE would be wasted. A record inside one chunk is a
     * view anyway and is handed on whole.
     */
    private readonly keepPrefix: number = Number.MAX_SAFE_INTEGER,
  ) {}

  /** Bytes buffered now (record buffer plus scan window). */
  get bufferedBytes(): number {
    return (this.recBuf?.length ?? 0) + (this.scanBuf?.length ?? 0);
  }

  /** Whether the marker is scanning for a record start. */
  get resynchronising(): boolean {
    return this.state === State.Resync;
  }

  push(seg: StreamSegment): void {
    this.curFrame = seg.frame;
    this.curTsSec = seg.tsSec;
    this.curTsNsec = seg.tsNsec;
    if (!this.seenFirst) {
      this.seenFirst = true;
      if (seg.midstream) this.enterResync();
    }
    // The capture layer counts bytes cut by the snaplen again in the next chunk's
    // gapBefore (capture/tcp-reassembly.ts), so only gapBefore moves the position;
    // truncatedAfter only says why those bytes are missing.
    if (seg.gapBefore > 0) this.missing(seg.gapBefore, this.snaplenCut >= seg.gapBefore ? "truncated" : "gap");
    // A chunk from the capture layer is read in place in its buffer, with no view of its own.
    if (seg instanceof BufferChunk) {
      this.stats.received += seg.end - seg.start;
      this.parse(seg.data, seg.start, seg.end, seg.frame);
    } else {
      const bytes = seg.bytes;
      this.stats.received += bytes.length;
      this.parse(bytes, 0, bytes.length, seg.frame);
    }
    this.snaplenCut = seg.truncatedAfter;
  }

  /** The stream ended (FIN, RST, idle, end of capture): flush what is pending. */
  close(frame: number, reason: string): void {
    this.curFrame = frame;
    // A kept tail may hold a real record behind a candidate that was waiting for bytes
    // that will now never come: look once more, deciding with what there is.
    if (this.state === State.Resync && this.scanLen > 0) this.scan(new Uint8Array(0), 0, 0, frame, true);
    if (this.state === State.Resync) {
      const skipped = this.pendingSkip + this.scanLen;
      this.stats.skippedResync += this.scanLen;
      if (skipped > 0) {
        this.handler.issue("resync", frame, `no plausible record mark found before the stream ended (${reason}); ${skipped} bytes skipped`, skipped);
      }
      this.pendingSkip = 0;
      this.scanLen = 0;
      this.scanSegs.length = 0;
      this.state = State.Mark;
      return;
    }
    if (this.markHave > 0) {
      this.stats.partialMarkBytes += this.markHave;
      this.handler.issue("truncated", frame, `stream ended (${reason}) inside a record mark (${this.markHave} of 4 bytes)`, this.markHave);
      this.markHave = 0;
    }
    if (this.recordOpen && this.fragments === 0) {
      this.resetRecord();
    } else if (this.recordOpen) {
      const missing = this.state === State.Body ? this.fragRemaining : 0;
      if (!this.tooLong) {
        this.handler.issue("truncated", frame,
          `stream ended (${reason}) inside a record: ${missing} bytes of the current fragment never seen${this.lastFrag ? "" : ", and the last fragment not seen"}`,
          missing);
      }
      if (this.holeAt === null && !this.tooLong) this.holeAt = this.recHave + this.recElided;
      this.finishRecord(false);
    }
    this.state = State.Mark;
  }

  /** Consume bytes [i, n) of `b` in whatever state the marker is in. */
  private parse(b: Uint8Array, i: number, n: number, frame: number): void {
    while (i < n) {
      if (this.state === State.Resync) {
        i = this.scan(b, i, n, frame);
        continue;
      }
      if (this.state === State.Mark) {
        // A record's frames include those that carried only (part of) its marks.
        if (!this.recordOpen) this.openRecord();
        this.addFrame(frame);
        if (this.markHave === 0 && i + 4 <= n) {
          // Common case: the whole mark is in this chunk.
          this.markValue = ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
          this.markHave = 4;
          i += 4;
        }
        while (this.markHave < 4 && i < n) {
          this.markValue = ((this.markValue << 8) | b[i]!) >>> 0;
          this.markHave++;
          i++;
        }
        if (this.markHave < 4) return;
        this.markHave = 0;
        const mark = this.markValue;
        this.markValue = 0;
        this.stats.markBytes += 4;
        this.onMark(mark, frame);
        continue;
      }
      // Body.
      const take = Math.min(n - i, this.fragRemaining);
      this.addFrame(frame);
      if (this.tooLong) {
        this.tooLongSkipped += take;
        this.stats.skippedTooLong += take;
      } else if (this.holeAt !== null) {
        this.stats.lostAfterHole += take;
      } else if (this.fragments === 1 && this.lastFrag && this.recHave === 0 && take === this.fragRemaining) {
        // The whole record is in this chunk: hand it on where it lies.
        this.fragRemaining = 0;
        this.recHave = take;
        this.emit(b, i, i + take);
        i += take;
        this.state = State.Mark;
        continue;
      } else {
        // Only the first keepPrefix bytes are kept; the rest is counted (and never copied).
        const keep = Math.min(take, this.keepPrefix - this.recHave);
        if (keep > 0) {
          if (!this.ensureCapacity(Math.min(this.recLength, this.keepPrefix))) continue; // switched to skipping; loop again
          this.recBuf!.set(b.subarray(i, i + keep), this.recHave);
          this.recHave += keep;
        }
        if (keep < take) {
          this.recElided += take - keep;
          this.stats.elided += take - keep;
        }
      }
      i += take;
      this.fragRemaining -= take;
      if (this.fragRemaining === 0) {
        this.state = State.Mark;
        if (this.lastFrag) this.finishRecord(true);
      }
    }
  }

  private onMark(mark: number, frame: number): void {
    const len = mark & 0x7fff_ffff;
    const last = mark >>> 31 === 1;
    this.fragments++;
    this.lastFrag = last;
    if (len === 0) {
      this.stats.zeroLengthFragments++;
      this.zeroRun++;
      this.handler.issue("zero-length-fragment", frame,
        `record mark 0x${mark.toString(16).padStart(8, "0")} announces an empty fragment`, 0);
      if (this.zeroRun >= 2 && !last) {
        // A run of empty fragments is a stream of zero bytes, not RPC: look for the next real record.
        this.dropOpenRecord();
        this.enterResync();
        return;
      }
      if (last) {
        if (this.recLength > 0 || this.tooLong) this.finishRecord(true);
        else this.resetRecord();
      }
      return;
    }
    this.zeroRun = 0;
    this.fragRemaining = len;
    this.state = State.Body;
    if (this.tooLong) {
      this.recLength += len;
      return;
    }
    const total = this.recLength + len;
    if (total > this.limits.maxRecordBytes) {
      this.startSkipping(total, `record of ${total}${last ? "" : "+"} bytes exceeds maxRecordBytes (${this.limits.maxRecordBytes})`);
      return;
    }
    this.recLength = total;
  }

  /** Makes room for `total` bytes; false (and skipping from now on) when the budget refuses. */
  private ensureCapacity(total: number): boolean {
    const buf = this.recBuf;
    if (buf && buf.length >= total) return true;
    const want = buf ? Math.min(Math.max(total, buf.length * 2), this.limits.maxRecordBytes) : total;
    if (this.budget.used - (buf?.length ?? 0) + want > this.budget.max) {
      this.startSkipping(this.recLength,
        `record of ${this.recLength} bytes does not fit the record buffer budget (${this.budget.max} bytes over all streams)`);
      return false;
    }
    const next = this.budget.take(want, this.limits.maxRecordBytes);
    if (this.budget.used - (buf?.length ?? 0) + next.length > this.budget.max) {
      // The pooled or rounded-up buffer is bigger than the budget allows: exactly what is needed.
      this.budget.give(next);
      return this.adopt(buf, new Uint8Array(want));
    }
    return this.adopt(buf, next);
  }

  private adopt(old: Uint8Array | null, next: Uint8Array): true {
    if (old) {
      next.set(old.subarray(0, this.recHave));
      this.budget.used -= old.length;
      this.budget.give(old);
    }
    this.budget.used += next.length;
    this.recBuf = next;
    return true;
  }

  private startSkipping(total: number, why: string): void {
    this.tooLong = true;
    this.tooLongWhy = why;
    this.recLength = total;
    // What was gathered so far is dropped with the rest of the record.
    this.tooLongSkipped += this.recHave + this.recElided;
    this.stats.skippedTooLong += this.recHave + this.recElided;
    this.stats.elided -= this.recElided;
    this.recHave = 0;
    this.recElided = 0;
    this.releaseBuffer();
  }

  private openRecord(): void {
    this.recordOpen = true;
    this.recLength = 0;
    this.recHave = 0;
    this.recElided = 0;
    this.holeAt = null;
    this.tooLong = false;
    this.tooLongSkipped = 0;
    this.fragments = 0;
    this.clearFrames();
  }

  private clearFrames(): void {
    this.frameFirst = -1;
    this.frameLast = -1;
    this.frameList = null;
  }

  private addFrame(frame: number): void {
    if (frame === this.frameLast) return;
    if (this.frameLast < 0) this.frameFirst = frame;
    else (this.frameList ??= [this.frameFirst]).push(frame);
    this.frameLast = frame;
  }

  /** The record is over (its last fragment ended, or it can go no further). */
  private finishRecord(complete: boolean): void {
    if (this.tooLong) {
      this.stats.recordsTooLong++;
      this.handler.issue("record-too-long", this.curFrame,
        `${this.tooLongWhy}; ${this.tooLongSkipped} bytes skipped${complete ? "" : " before the record was cut off"}`,
        this.tooLongSkipped);
      this.resetRecord();
      return;
    }
    if (this.recBuf) this.emit(this.recBuf, 0, this.recHave);
    else this.emit(NO_BYTES, 0, 0);
  }

  /** Hands on the record, whose captured bytes are [start, end) of `data`. */
  private emit(data: Uint8Array, start: number, end: number): void {
    this.stats.records++;
    this.stats.delivered += end - start;
    // A list of exactly the frames (most records lie in one): the message keeps it.
    const frames = this.frameList ?? (this.frameFirst < 0 ? [] : [this.frameFirst]);
    const length = this.recLength;
    const truncatedAt = this.holeAt;
    const elided = this.recElided;
    const fragments = this.fragments;
    // The buffer goes back to the pool only once the handler is done with its bytes.
    const buf = this.recBuf;
    this.recBuf = null;
    if (buf) this.budget.used -= buf.length;
    this.resetRecord();
    this.handler.record(data, start, end, length, truncatedAt, elided, fragments, frames, this.curFrame, this.curTsSec, this.curTsNsec);
    if (buf) this.budget.give(buf);
  }

  private resetRecord(): void {
    this.recordOpen = false;
    this.recLength = 0;
    this.recHave = 0;
    this.recElided = 0;
    this.holeAt = null;
    this.tooLong = false;
    this.tooLongSkipped = 0;
    this.fragments = 0;
    this.clearFrames();
    this.fragRemaining = 0;
    this.lastFrag = false;
    this.releaseBuffer();
  }

  private releaseBuffer(): void {
    if (this.recBuf) {
      this.budget.used -= this.recBuf.length;
      this.budget.give(this.recBuf);
      this.recBuf = null;
    }
  }

  /** A record that cannot be finished because sync is lost: hand on what there is. */
  private dropOpenRecord(): void {
    if (!this.recordOpen) return;
    if (this.recLength === 0 && !this.tooLong) {
      this.resetRecord();
      return;
    }
    if (this.holeAt === null && !this.tooLong) this.holeAt = this.recHave + this.recElided;
    this.finishRecord(false);
  }

  /**
   * `n` stream bytes are missing here. Inside the current fragment the marker stays
   * in step; otherwise it has lost the next mark and must resynchronise.
   */
  private missing(n: number, code: "gap" | "truncated"): void {
    this.stats.missingBytes += n;
    const frame = this.curFrame;
    const cause = code === "gap"
      ? `missing from the stream (loss or buffer limit${this.snaplenCut > 0 ? `; ${this.snaplenCut} of them cut by the snaplen` : ""})`
      : "cut by the snaplen";
    if (this.state === State.Body && n <= this.fragRemaining) {
      this.handler.issue(code, frame, `${n} bytes ${cause} inside a record; record marking stays in step`, n);
      this.fragRemaining -= n;
      if (!this.tooLong && this.holeAt === null) this.holeAt = this.recHave + this.recElided;
      if (this.fragRemaining === 0) {
        this.state = State.Mark;
        if (this.lastFrag) this.finishRecord(false);
      }
      return;
    }
    this.handler.issue(code, frame, `${n} bytes ${cause}; resynchronising`, n);
    if (this.state === State.Resync) {
      // The scan window no longer joins up with what follows.
      this.pendingSkip += this.scanLen;
      this.stats.skippedResync += this.scanLen;
      this.scanLen = 0;
      this.scanSegs.length = 0;
      return;
    }
    if (this.markHave > 0) {
      this.pendingSkip += this.markHave;
      this.stats.skippedResync += this.markHave;
      this.markHave = 0;
      this.markValue = 0;
    }
    this.dropOpenRecord();
    this.enterResync();
  }

  private enterResync(): void {
    this.state = State.Resync;
    this.markHave = 0;
    this.markValue = 0;
    this.zeroRun = 0;
    this.scanLen = 0;
    this.scanSegs.length = 0;
  }

  /**
   * Resynchronising: look for a plausible record start in b[i, n); returns where
   * parsing goes on (a found record start in b, or n).
   */
  /** First position in [from, end) where a record certainly starts ("yes"), or -1. */
  private firstDefinite(b: Uint8Array, from: number, end: number): number {
    for (let q = from; q < end; q++) if (this.check(b, q, end) === "yes") return q;
    return -1;
  }

  private scan(b: Uint8Array, i: number, n: number, frame: number, atEnd = false): number {
    if (this.scanLen > 0) {
      // Join the kept tail with the head of this chunk, enough to judge every tail position.
      const buf = this.scanBuf!;
      const head = Math.min(n - i, SCAN_CAPACITY - this.scanLen);
      buf.set(b.subarray(i, i + head), this.scanLen);
      const total = this.scanLen + head;
      const tailLen = this.scanLen;
      for (let p = 0; p < tailLen; p++) {
        const v = this.check(buf, p, total);
        // At the end of the stream a candidate that still needs more bytes never gets them.
        if (v === "no" || (v === "more" && (atEnd || total - p >= MAX_HEADER_LOOKAHEAD))) continue;
        if (v === "more") {
          // Undecided here, but a definite record start further on wins: waiting on the
          // first would let a damaged stretch hide the real record behind it.
          const q = this.firstDefinite(buf, p + 1, total);
          if (q >= 0 && q < tailLen) {
            p = q - 1;
            continue;
          }
          if (q >= 0) break; // in the new chunk: drop the tail and scan the chunk below
        }
        if (v === "yes") {
          this.skip(p);
          this.foundRecordStart(frame);
          // Replay the tail from p in step, segment by segment, then go on with b at i.
          // A copy: replaying may start another scan, which reuses the scan buffer.
          const tail = buf.slice(0, tailLen);
          const segs = this.scanSegs;
          this.scanSegs = [];
          this.scanLen = 0;
          const saveFrame = this.curFrame;
          const saveSec = this.curTsSec;
          const saveNsec = this.curTsNsec;
          for (let s = 0; s < segs.length; s++) {
            const seg = segs[s]!;
            const end = s + 1 < segs.length ? segs[s + 1]!.start : tailLen;
            const from = Math.max(seg.start, p);
            if (from >= end) continue;
            this.curFrame = seg.frame;
            this.curTsSec = seg.tsSec;
            this.curTsNsec = seg.tsNsec;
            this.parse(tail, from, end, seg.frame);
          }
          this.curFrame = saveFrame;
          this.curTsSec = saveSec;
          this.curTsNsec = saveNsec;
          return i;
        }
        // "more": only possible when all of b is in the window; keep [p, total) as the tail.
        this.skip(p);
        this.keepTail(buf, p, total, frame, tailLen);
        return n;
      }
      this.skip(tailLen);
      this.scanLen = 0;
      this.scanSegs.length = 0;
    }
    for (let p = i; p < n; p++) {
      const v = this.check(b, p, n);
      if (v === "no") continue;
      if (v === "yes") {
        this.skip(p - i);
        this.foundRecordStart(frame);
        return p;
      }
      // "more" means fewer than MAX_HEADER_LOOKAHEAD bytes remain: keep them for the next chunk.
      const tail = n - p;
      if (tail >= MAX_HEADER_LOOKAHEAD) continue; // a check that wants more than it may: treat as "no"
      const q = this.firstDefinite(b, p + 1, n);
      if (q >= 0) {
        p = q - 1; // a definite record start further on wins over an undecided one
        continue;
      }
      this.skip(p - i);
      if (!this.scanBuf) this.scanBuf = new Uint8Array(SCAN_CAPACITY);
      this.scanBuf.set(b.subarray(p, n), 0);
      this.scanLen = tail;
      this.scanSegs.length = 0;
      this.scanSegs.push({ frame, tsSec: this.curTsSec, tsNsec: this.curTsNsec, start: 0 });
      return n;
    }
    this.skip(n - i);
    return n;
  }

  /** Keep buf[p, total) as the scan tail; bytes past `oldTail` came from the current chunk. */
  private keepTail(buf: Uint8Array, p: number, total: number, frame: number, oldTail: number): void {
    const segs: ScanSegment[] = [];
    for (let s = 0; s < this.scanSegs.length; s++) {
      const seg = this.scanSegs[s]!;
      const end = s + 1 < this.scanSegs.length ? this.scanSegs[s + 1]!.start : oldTail;
      if (end <= p) continue;
      segs.push({ frame: seg.frame, tsSec: seg.tsSec, tsNsec: seg.tsNsec, start: Math.max(seg.start, p) - p });
    }
    if (total > oldTail) segs.push({ frame, tsSec: this.curTsSec, tsNsec: this.curTsNsec, start: Math.max(oldTail, p) - p });
    buf.copyWithin(0, p, total);
    this.scanLen = total - p;
    this.scanSegs = segs;
  }

  private skip(count: number): void {
    this.pendingSkip += count;
    this.stats.skippedResync += count;
  }

  private foundRecordStart(frame: number): void {
    this.stats.resyncs++;
    if (this.pendingSkip > 0) {
      this.handler.issue("resync", frame, `skipped ${this.pendingSkip} bytes to the next plausible record mark`, this.pendingSkip);
    }
    this.pendingSkip = 0;
    this.state = State.Mark;
    this.markHave = 0;
    this.markValue = 0;
  }
}

const NO_BYTES = new Uint8Array(0);
