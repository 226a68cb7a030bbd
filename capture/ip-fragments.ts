/**
 * IP fragment reassembly (IPv4, RFC 791 §3.2; IPv6, RFC 8200 §4.5), keyed by the
 * caller (addresses, protocol, identification).
 *
 * - Overlaps: the first copy of a byte wins (what Linux does since RFC 5722 made
 *   overlaps suspect); every overlap is reported, saying whether the bytes differ.
 * - A datagram waits at most `fragmentTimeoutSeconds` of capture time after its first
 *   fragment; then it is dropped with "fragment-timeout".
 * - At most `maxFragmentBuffers` datagrams and `maxFragmentBytesTotal` bytes are held;
 *   beyond that the oldest datagram is dropped with "fragment-limit".
 *
 * Fragment data is copied (it outlives the frame); a completed datagram is one
 * fresh buffer.
 */
import type { Limits } from "./limits.js";
import type { FrameIssue, FrameIssueCode } from "./transport.js";

/** Measured heap cost of one held fragment piece beyond its payload (object, own ArrayBuffer, frame number). */
const PIECE_OVERHEAD_BYTES = 384;
/**
 * Separate pieces one datagram may be held in. A 64 KiB datagram in 1280-byte IPv6
 * fragments (the minimum MTU) is 52 pieces, in 576-byte IPv4 ones 115; 8-byte
 * fragments are only ever an attack.
 */
const MAX_PIECES_PER_DATAGRAM = 1024;

/** Largest reassembled payload: the 16-bit total length / payload length field. */
const MAX_DATAGRAM_PAYLOAD = 65_535;

interface Piece {
  start: number;
  end: number;
  bytes: Uint8Array;
}

interface PendingDatagram {
  readonly key: string;
  readonly firstTime: number;
  readonly frames: number[];
  /** Non-overlapping, sorted by start. */
  readonly pieces: Piece[];
  held: number;
  /** Payload length once the last fragment (MF = 0) is seen, else -1. */
  total: number;
  /** Upper-layer protocol from the offset-0 fragment, or -1 until it arrives. */
  protocol: number;
}

export interface ReassembledDatagram {
  readonly payload: Uint8Array;
  readonly protocol: number;
  /** Every frame that contributed, in arrival order (the last one completed it). */
  readonly frames: readonly number[];
}

export interface FragmentStats {
  fragments: number;
  reassembled: number;
  timedOut: number;
  dropped: number;
  overlaps: number;
}

export class FragmentReassembler {
  private readonly pending = new Map<string, PendingDatagram>();
  private heldTotal = 0;
  readonly stats: FragmentStats = { fragments: 0, reassembled: 0, timedOut: 0, dropped: 0, overlaps: 0 };

  constructor(
    private readonly limits: Limits,
    private readonly report: (issue: FrameIssue) => void,
  ) {}

  /** Datagrams currently waiting for fragments. */
  get buffers(): number {
    return this.pending.size;
  }

  /** Bytes currently held. */
  get bytesHeld(): number {
    return this.heldTotal;
  }

  /**
   * Adds one fragment. `offset` is in bytes; `protocol` is the upper-layer protocol
   * this fragment names (only the offset-0 fragment's counts). Returns the whole
   * datagram when this fragment completes it, else null.
   */
  add(key: string, offset: number, more: boolean, data: Uint8Array, frame: number, time: number, protocol: number): ReassembledDatagram | null {
    this.stats.fragments++;
    const end = offset + data.length;
    if (end > MAX_DATAGRAM_PAYLOAD) {
      this.issue(frame, "malformed-ip", `fragment ends at byte ${end}, past the largest possible datagram (${MAX_DATAGRAM_PAYLOAD})`);
      this.stats.dropped++;
      return null;
    }
    let dgram = this.pending.get(key);
    if (!dgram) {
      if (this.pending.size >= this.limits.maxFragmentBuffers) this.dropOldest(frame, "more datagrams in reassembly than maxFragmentBuffers");
      dgram = { key, firstTime: time, frames: [], pieces: [], held: 0, total: -1, protocol: -1 };
      this.pending.set(key, dgram);
    }
    dgram.frames.push(frame);
    if (offset === 0 && dgram.protocol < 0) dgram.protocol = protocol;

    if (!more) {
      const lastPieceEnd = dgram.pieces.length > 0 ? (dgram.pieces[dgram.pieces.length - 1] as Piece).end : 0;
      if (dgram.total >= 0 && dgram.total !== end) {
        this.overlap(frame, dgram, `a second last fragment says the datagram is ${end} bytes, not ${dgram.total}; the first is kept`);
      } else if (lastPieceEnd > end) {
        this.overlap(frame, dgram, `last fragment ends at ${end} but data up to ${lastPieceEnd} was already seen; the earlier data is kept`);
        dgram.total = lastPieceEnd;
      } else {
        dgram.total = end;
      }
    }
    let limitEnd = end;
    if (dgram.total >= 0 && limitEnd > dgram.total) {
      if (more || end !== dgram.total) this.overlap(frame, dgram, `fragment data beyond the datagram end (${dgram.total}) is ignored`);
      limitEnd = dgram.total;
    }
    const added = this.insert(frame, dgram, offset, limitEnd, data);
    if (dgram.pieces.length > MAX_PIECES_PER_DATAGRAM) {
      dgram.held += added;
      this.heldTotal += added;
      this.drop(dgram, frame, "fragment-limit", `more than ${MAX_PIECES_PER_DATAGRAM} separate fragments in one datagram`);
      return null;
    }
    if (added > 0) {
      if (this.heldTotal + added > this.limits.maxFragmentBytesTotal) {
        // Make room by dropping the oldest other datagrams; if that is not enough, drop this one.
        while (this.heldTotal + added > this.limits.maxFragmentBytesTotal && this.pending.size > 1) {
          const oldest = this.pending.values().next().value as PendingDatagram;
          if (oldest === dgram) break;
          this.drop(oldest, frame, "fragment-limit", "fragment bytes held exceed maxFragmentBytesTotal");
        }
        if (this.heldTotal + added > this.limits.maxFragmentBytesTotal) {
          dgram.held += added;
          this.heldTotal += added;
          this.drop(dgram, frame, "fragment-limit", "fragment bytes held exceed maxFragmentBytesTotal");
          return null;
        }
      }
      dgram.held += added;
      this.heldTotal += added;
    }
    if (dgram.total < 0 || dgram.protocol < 0) return null;
    // Complete when the pieces cover [0, total) without a hole.
    let pos = 0;
    for (const piece of dgram.pieces) {
      if (piece.start !== pos) return null;
      pos = piece.end;
    }
    if (pos !== dgram.total) return null;
    const payload = new Uint8Array(dgram.total);
    for (const piece of dgram.pieces) payload.set(piece.bytes, piece.start);
    this.pending.delete(key);
    this.heldTotal -= dgram.held;
    this.stats.reassembled++;
    return { payload, protocol: dgram.protocol, frames: dgram.frames };
  }

  /** Drops datagrams whose first fragment is older than the timeout (capture time `now`). */
  expire(now: number, frame: number): void {
    if (this.pending.size === 0) return;
    const deadline = now - this.limits.fragmentTimeoutSeconds;
    // Map order is creation order, and creation times only grow in a time-ordered capture.
    for (const dgram of this.pending.values()) {
      if (dgram.firstTime >= deadline) break;
      this.stats.timedOut++;
      this.drop(dgram, frame, "fragment-timeout", `not completed within ${this.limits.fragmentTimeoutSeconds} s`);
    }
  }

  /** End of capture: every incomplete datagram is reported and dropped. */
  finish(frame: number): void {
    for (const dgram of [...this.pending.values()]) {
      this.stats.timedOut++;
      this.drop(dgram, frame, "fragment-timeout", "capture ended before the datagram was complete");
    }
  }

  /**
   * Inserts bytes [start, end) of the datagram, `data[0]` being byte `start`, keeping
   * bytes already present (first copy wins). Returns the number of new bytes stored.
   */
  private insert(frame: number, dgram: PendingDatagram, start: number, end: number, data: Uint8Array): number {
    if (end <= start) return 0;
    const pieces = dgram.pieces;
    let cursor = start;
    let added = 0;
    let overlapped = 0;
    let differs = false;
    const fresh: Piece[] = [];
    for (const piece of pieces) {
      if (piece.end <= cursor) continue;
      if (piece.start >= end) break;
      if (piece.start > cursor) {
        fresh.push({ start: cursor, end: piece.start, bytes: data.slice(cursor - start, piece.start - start) });
        added += piece.start - cursor;
      }
      const from = Math.max(cursor, piece.start);
      const to = Math.min(end, piece.end);
      overlapped += to - from;
      for (let i = from; i < to && !differs; i++) {
        if (data[i - start] !== piece.bytes[i - piece.start]) differs = true;
      }
      cursor = Math.max(cursor, piece.end);
      if (cursor >= end) break;
    }
    if (cursor < end) {
      fresh.push({ start: cursor, end, bytes: data.slice(cursor - start, end - start) });
      added += end - cursor;
    }
    if (overlapped > 0) {
      this.overlap(
        frame,
        dgram,
        `${overlapped} bytes overlap earlier fragments (${differs ? "with DIFFERENT contents" : "identical"}); the first copy is kept`,
      );
    }
    if (fresh.length > 0) {
      pieces.push(...fresh);
      pieces.sort((a, b) => a.start - b.start);
    }
    // Each held piece costs an object and a buffer of its own: charge that too, so
    // a flood of 8-byte fragments cannot hold many times maxFragmentBytesTotal.
    return added + fresh.length * PIECE_OVERHEAD_BYTES;
  }

  private overlap(frame: number, dgram: PendingDatagram, detail: string): void {
    this.stats.overlaps++;
    this.issue(frame, "fragment-overlap", `${detail} (datagram ${dgram.key})`);
  }

  private dropOldest(frame: number, why: string): void {
    const oldest = this.pending.values().next().value;
    if (oldest) this.drop(oldest, frame, "fragment-limit", why);
  }

  private drop(dgram: PendingDatagram, frame: number, code: FrameIssueCode, why: string): void {
    this.pending.delete(dgram.key);
    this.heldTotal -= dgram.held;
    if (code === "fragment-limit") this.stats.dropped++;
    const first = dgram.frames[0] ?? frame;
    this.issue(first, code, `IP datagram ${dgram.key} dropped: ${why}; fragments in frames ${dgram.frames.join(", ")}`);
  }

  private issue(frame: number, code: FrameIssueCode, detail: string): void {
    this.report({ frame, code, detail });
  }
}
