/**
 * libvirt message framing over one direction of a TCP stream: each message is a
 * 4-byte big-endian length (counting itself, virnetprotocol.x "Length ... Total
 * number of bytes in message _including_ length") followed by the header and body.
 *
 * The framer takes in-order chunks and hands on whole messages, the way
 * record-marking.ts does for ONC-RPC:
 * - A message inside one chunk is handed on as a view (no copy); otherwise it is
 *   copied into a buffer sized from the length word, after the length was checked
 *   against `limits.maxLibvirtMessageBytes` and the shared buffer budget.
 * - A length word below the 28-byte header or above the limit cannot be followed
 *   ("record-too-long" for the latter): the framer resynchronises.
 * - Missing bytes (loss, snaplen) that end inside the current message keep it in
 *   step: the message is handed on as truncated at the hole. Missing bytes that
 *   reach past it, or a stream whose start was not seen, make it resynchronise:
 *   scan for a plausible header (checkLibvirtStart), reporting the bytes skipped.
 *
 * Nothing is dropped silently: every byte received is in a message handed on, or
 * counted in an issue (FramerStats, checked by the tests). Buffered state is one
 * message (≤ the limit) plus a scan tail of fewer than 28 bytes.
 */
import type { Limits } from "../../capture/limits.js";
import type { StreamSegment } from "../record-marking.js";
import { BufferBudget } from "../record-marking.js";
import { LIBVIRT_HEADER_BYTES } from "./constants.js";
import { checkLibvirtStart, readU32 } from "./header.js";

export interface LibvirtFrame {
  /** Captured bytes of the message from its length word on. A view valid only during the handler call. */
  readonly bytes: Uint8Array;
  /** Declared length (length word included). */
  readonly length: number;
  /** Offset of the first byte missing (loss, snaplen, end of stream), null when complete. */
  readonly truncatedAt: number | null;
  /** Frames that contributed bytes, in stream order, each once. */
  readonly frames: number[];
  /** Frame (and time) of the chunk with the message's last byte, or the last seen when the end is missing. */
  readonly frame: number;
  readonly tsSec: number;
  readonly tsNsec: number;
}

export type FramerIssueCode = "resync" | "record-too-long" | "gap" | "truncated";

export interface LibvirtFrameHandler {
  message(frame: LibvirtFrame): void;
  /** `bytes`: stream bytes the issue accounts for (skipped, or missing for "gap"/"truncated"). */
  issue(code: FramerIssueCode, frame: number, detail: string, bytes: number): void;
}

/** Byte accounting: received = delivered + lostAfterHole + skippedResync + skippedTooLong + partialLengthBytes. */
export interface FramerStats {
  received: number;
  /** Captured message bytes handed on. */
  delivered: number;
  /** Bytes of a message received after a hole in it: part of its length, not handed on. */
  lostAfterHole: number;
  skippedResync: number;
  /** Bytes of messages the buffer budget refused. */
  skippedTooLong: number;
  /** Bytes of an incomplete length word at the end of the stream. */
  partialLengthBytes: number;
  /** Bytes known to be missing from the stream (loss or snaplen). */
  missingBytes: number;
  messages: number;
  /** Length words over the limit (or refused by the budget). */
  tooLong: number;
  resyncs: number;
}

const enum State {
  Length,
  Body,
  Resync,
}

/** A plausible header needs this many bytes to be judged; a scan tail is always shorter. */
const JUDGE = LIBVIRT_HEADER_BYTES;

export class LibvirtFramer {
  readonly stats: FramerStats = {
    received: 0, delivered: 0, lostAfterHole: 0, skippedResync: 0, skippedTooLong: 0, partialLengthBytes: 0,
    missingBytes: 0, messages: 0, tooLong: 0, resyncs: 0,
  };

  private state: State = State.Length;
  private seenFirst = false;

  // Length word being read.
  private lenHave = 0;
  private lenValue = 0;

  // Message being assembled.
  private open = false;
  private msgLength = 0;
  /** Declared position within the message (bytes received or known missing). */
  private got = 0;
  private buf: Uint8Array | null = null;
  private holeAt: number | null = null;
  private refused = false;
  private refusedWhy = "";
  private frames: number[] = [];

  // Resynchronisation.
  private readonly scanBuf = new Uint8Array(2 * JUDGE);
  private scanLen = 0;
  private scanFrame = 0;
  private pendingSkip = 0;
  /** Why the framer lost step, when it is not told by an issue of its own (gap, too long). */
  private resyncReason = "";

  private snaplenCut = 0;
  private curFrame = 0;
  private curTsSec = 0;
  private curTsNsec = 0;

  constructor(
    private readonly limits: Limits,
    private readonly handler: LibvirtFrameHandler,
    private readonly budget: BufferBudget = new BufferBudget(Number.MAX_SAFE_INTEGER),
  ) {}

  /** Bytes buffered now (message buffer plus scan tail). */
  get bufferedBytes(): number {
    return (this.buf?.length ?? 0) + this.scanLen;
  }

  get resynchronising(): boolean {
    return this.state === State.Resync;
  }

  push(seg: StreamSegment): void {
    this.curFrame = seg.frame;
    this.curTsSec = seg.tsSec;
    this.curTsNsec = seg.tsNsec;
    if (!this.seenFirst) {
      this.seenFirst = true;
      if (seg.midstream) {
        this.state = State.Resync;
        this.resyncReason = "the stream's start was not seen";
      }
    }
    // As in record-marking.ts: bytes cut by the snaplen come back as the next chunk's gapBefore.
    if (seg.gapBefore > 0) this.missing(seg.gapBefore, this.snaplenCut >= seg.gapBefore ? "truncated" : "gap");
    this.stats.received += seg.bytes.length;
    this.parse(seg.bytes, 0, seg.frame);
    this.snaplenCut = seg.truncatedAfter;
  }

  /** The stream ended (FIN, RST, idle, end of capture): flush what is pending. */
  close(frame: number, reason: string): void {
    this.curFrame = frame;
    if (this.state === State.Resync) {
      const skipped = this.pendingSkip + this.scanLen;
      this.stats.skippedResync += this.scanLen;
      if (skipped > 0) {
        const why = this.resyncReason ? ` (${this.resyncReason})` : "";
        this.handler.issue("resync", frame, `no plausible libvirt header found before the stream ended (${reason}); ${skipped} bytes skipped${why}`, skipped);
      }
      this.pendingSkip = 0;
      this.resyncReason = "";
      this.scanLen = 0;
      this.state = State.Length;
      return;
    }
    if (this.state === State.Length) {
      if (this.lenHave > 0) {
        this.stats.partialLengthBytes += this.lenHave;
        this.handler.issue("truncated", frame, `stream ended (${reason}) inside a length word (${this.lenHave} of 4 bytes)`, this.lenHave);
        this.lenHave = 0;
      }
      this.resetMessage();
      return;
    }
    const missing = this.msgLength - this.got;
    if (!this.refused) {
      this.handler.issue("truncated", frame, `stream ended (${reason}) inside a message: ${missing} of its ${this.msgLength} bytes never seen`, missing);
      if (this.holeAt === null) this.holeAt = this.got;
    }
    this.finish();
    this.state = State.Length;
  }

  private parse(b: Uint8Array, i: number, frame: number): void {
    const n = b.length;
    while (i < n) {
      if (this.state === State.Resync) {
        i = this.scan(b, i, frame);
        continue;
      }
      if (this.state === State.Length) {
        if (!this.open) this.openMessage();
        this.addFrame(frame);
        if (this.lenHave === 0 && i + 4 <= n) {
          const length = readU32(b, i);
          if (length >= LIBVIRT_HEADER_BYTES && length <= this.limits.maxLibvirtMessageBytes && i + length <= n) {
            // The whole message is in this chunk: hand on a view.
            this.msgLength = length;
            this.got = length;
            this.emit(b.subarray(i, i + length));
            i += length;
            continue;
          }
          this.lenValue = length;
          this.lenHave = 4;
          i += 4;
        }
        while (this.lenHave < 4 && i < n) {
          this.lenValue = ((this.lenValue << 8) | b[i]!) >>> 0;
          this.lenHave++;
          i++;
        }
        if (this.lenHave < 4) return;
        this.onLength(frame);
        continue;
      }
      // Body.
      const take = Math.min(n - i, this.msgLength - this.got);
      this.addFrame(frame);
      if (this.refused) {
        this.stats.skippedTooLong += take;
      } else if (this.holeAt !== null) {
        this.stats.lostAfterHole += take;
      } else {
        this.buf!.set(b.subarray(i, i + take), this.got);
      }
      this.got += take;
      i += take;
      if (this.got === this.msgLength) {
        this.finish();
        this.state = State.Length;
      }
    }
  }

  /** A whole length word was read (it spanned chunks, or the message does not fit this chunk). */
  private onLength(frame: number): void {
    const length = this.lenValue;
    this.lenHave = 0;
    this.lenValue = 0;
    const max = this.limits.maxLibvirtMessageBytes;
    if (length < LIBVIRT_HEADER_BYTES || length > max) {
      if (length > max) {
        this.stats.tooLong++;
        this.handler.issue("record-too-long", frame,
          `length word announces ${length} bytes, over maxLibvirtMessageBytes (${max}); resynchronising`, 0);
      } else {
        this.resyncReason = `length word ${length} is shorter than the ${LIBVIRT_HEADER_BYTES}-byte header`;
      }
      // The length word is skipped with whatever follows it up to the next plausible header.
      this.skip(4);
      this.resetMessage();
      this.state = State.Resync;
      return;
    }
    this.msgLength = length;
    this.got = 4;
    this.state = State.Body;
    if (this.budget.used + length > this.budget.max) {
      this.refused = true;
      this.refusedWhy = `message of ${length} bytes does not fit the buffer budget (${this.budget.max} bytes over all streams)`;
      this.stats.tooLong++;
      this.stats.skippedTooLong += 4;
      return;
    }
    this.buf = new Uint8Array(length);
    this.budget.used += length;
    this.buf[0] = length >>> 24;
    this.buf[1] = (length >>> 16) & 0xff;
    this.buf[2] = (length >>> 8) & 0xff;
    this.buf[3] = length & 0xff;
  }

  private openMessage(): void {
    this.open = true;
    this.frames = [];
    this.holeAt = null;
    this.refused = false;
    this.got = 0;
    this.msgLength = 0;
  }

  private addFrame(frame: number): void {
    const f = this.frames;
    if (f.length === 0 || f[f.length - 1] !== frame) f.push(frame);
  }

  /** The current message is over (complete, or cut off): hand it on. */
  private finish(): void {
    if (this.refused) {
      this.handler.issue("record-too-long", this.curFrame, `${this.refusedWhy}; ${this.msgLength} bytes skipped`, this.msgLength);
      this.resetMessage();
      return;
    }
    const end = this.holeAt ?? this.got;
    this.emit(this.buf ? this.buf.subarray(0, end) : new Uint8Array(0));
  }

  private emit(bytes: Uint8Array): void {
    this.stats.messages++;
    this.stats.delivered += bytes.length;
    const ev: LibvirtFrame = {
      bytes,
      length: this.msgLength,
      truncatedAt: this.holeAt,
      frames: this.frames,
      frame: this.curFrame,
      tsSec: this.curTsSec,
      tsNsec: this.curTsNsec,
    };
    const buf = this.buf;
    // The handler may keep nothing past the call, so the buffer is released afterwards.
    this.buf = null;
    this.open = false;
    this.frames = [];
    this.handler.message(ev);
    if (buf) this.budget.used -= buf.length;
    this.resetMessage();
  }

  private resetMessage(): void {
    if (this.buf) {
      this.budget.used -= this.buf.length;
      this.buf = null;
    }
    this.open = false;
    this.frames = [];
    this.holeAt = null;
    this.refused = false;
    this.got = 0;
    this.msgLength = 0;
  }

  /** `n` stream bytes are missing here. */
  private missing(n: number, code: "gap" | "truncated"): void {
    this.stats.missingBytes += n;
    const frame = this.curFrame;
    const cause = code === "gap" ? "missing from the stream (loss or buffer limit)" : "cut by the snaplen";
    if (this.state === State.Body && n <= this.msgLength - this.got) {
      this.handler.issue(code, frame, `${n} bytes ${cause} inside a libvirt message; framing stays in step`, n);
      if (!this.refused && this.holeAt === null) this.holeAt = this.got;
      this.got += n;
      if (this.got === this.msgLength) {
        this.finish();
        this.state = State.Length;
      }
      return;
    }
    this.handler.issue(code, frame, `${n} bytes ${cause}; resynchronising`, n);
    if (this.state === State.Resync) {
      // The scan tail no longer joins up with what follows.
      this.skip(this.scanLen);
      this.scanLen = 0;
      return;
    }
    if (this.state === State.Length) {
      if (this.lenHave > 0) this.skip(this.lenHave);
      this.lenHave = 0;
      this.lenValue = 0;
      this.resetMessage();
    } else {
      if (!this.refused && this.holeAt === null) this.holeAt = this.got;
      this.finish();
    }
    this.state = State.Resync;
  }

  /**
   * Resynchronising: look for a plausible header from b[i]; returns where parsing
   * goes on (a header found in b, or b.length).
   */
  private scan(b: Uint8Array, i: number, frame: number): number {
    const n = b.length;
    const max = this.limits.maxLibvirtMessageBytes;
    const buf = this.scanBuf;
    if (this.scanLen > 0) {
      // Join the kept tail with the head of this chunk: enough to judge every tail position.
      const head = Math.min(n - i, JUDGE - 1);
      buf.set(b.subarray(i, i + head), this.scanLen);
      const total = this.scanLen + head;
      const tailLen = this.scanLen;
      for (let p = 0; p < tailLen; p++) {
        const v = checkLibvirtStart(buf, p, total, max);
        if (v === "no") continue;
        if (v === "yes") {
          this.skip(p);
          this.found(frame);
          // The tail from p starts the message: feed it (fewer than 28 bytes, so it cannot end it).
          const tail = buf.slice(p, tailLen);
          const tailFrame = this.scanFrame;
          this.scanLen = 0;
          this.parse(tail, 0, tailFrame);
          return i;
        }
        // "more": every byte of b is in the window; keep [p, total) for the next chunk.
        this.skip(p);
        buf.copyWithin(0, p, total);
        this.scanLen = total - p;
        return n;
      }
      this.skip(tailLen);
      this.scanLen = 0;
    }
    for (let p = i; p < n; p++) {
      const v = checkLibvirtStart(b, p, n, max);
      if (v === "no") continue;
      if (v === "yes") {
        this.skip(p - i);
        this.found(frame);
        return p;
      }
      // "more": fewer than 28 bytes remain; keep them.
      this.skip(p - i);
      buf.set(b.subarray(p, n), 0);
      this.scanLen = n - p;
      this.scanFrame = frame;
      return n;
    }
    this.skip(n - i);
    return n;
  }

  private skip(count: number): void {
    this.pendingSkip += count;
    this.stats.skippedResync += count;
  }

  private found(frame: number): void {
    this.stats.resyncs++;
    if (this.pendingSkip > 0) {
      const why = this.resyncReason ? ` (${this.resyncReason})` : "";
      this.handler.issue("resync", frame, `skipped ${this.pendingSkip} bytes to the next plausible libvirt header${why}`, this.pendingSkip);
    }
    this.pendingSkip = 0;
    this.resyncReason = "";
    this.state = State.Length;
    this.lenHave = 0;
    this.lenValue = 0;
  }
}
