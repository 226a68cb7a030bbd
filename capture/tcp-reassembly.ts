/**
 * TCP connection tracking and per-direction stream reassembly (RFC 9293).
 *
 * Per direction, bytes are handed on exactly once and in order:
 * - an in-order segment is delivered as a zero-copy view of the frame;
 * - an out-of-order segment is copied into a sorted, non-overlapping buffer and
 *   delivered when the hole before it fills;
 * - bytes already delivered are never delivered again; a segment made only of such
 *   bytes is a "tcp-retransmission" issue (a one-byte keep-alive probe is not);
 * - where a segment overlaps buffered bytes and the two copies differ, a
 *   "tcp-overlap-mismatch" issue is raised: buffered copies win over later
 *   out-of-order copies, and the in-order segment that fills a hole wins over
 *   buffered copies of the same bytes (bytes already delivered cannot be compared);
 * - sequence numbers are compared modulo 2^32 (a window below 2^31 is assumed);
 * - a hole the receiver has acknowledged (its ACK covers the hole and the bytes
 *   after it have arrived) was lost by the capture, not by the network: no
 *   retransmission will fill it, so delivery skips it at once with `gapBefore`
 *   (Wireshark's "ACKed unseen segment");
 * - any other hole that does not fill is given up when the direction buffers more than
 *   maxTcpBufferedPerDirection, when all flows buffer more than maxTcpBufferedTotal,
 *   or when the flow ends: delivery skips forward and the next chunk carries
 *   `gapBefore` = bytes skipped. Nothing is dropped without a count.
 * - a segment cut by the snaplen is delivered as captured with `truncatedAfter` =
 *   bytes cut; those bytes are also counted in the next chunk's `gapBefore`, so a
 *   consumer's stream offset is the running sum of `gapBefore + bytes.length`.
 * - when a flow ends with known missing bytes after the last chunk (a cut final
 *   segment, a hole before the FIN), a zero-length chunk carrying only `gapBefore`
 *   is delivered just before tcpClose.
 *
 * Connections get ids in order of first appearance. A SYN on a closed 4-tuple, or a
 * SYN with a new ISN from a side that already sent data, starts a new connection, as
 * does new data on a connection already closed by FIN or RST. Flows idle for
 * flowIdleSeconds of capture time, and the least recently seen flow beyond maxFlows,
 * are closed ("idle", "evicted"); closed flows stay in the table (to recognise late
 * retransmissions) until then.
 */
import type { Limits } from "./limits.js";
import { BufferChunk, type Direction, type FrameIssueCode, type TcpCloseReason, type TcpConnection, type TransportSink } from "./transport.js";
import { AddressTextCache } from "./ip-address.js";

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

interface BufferedSegment {
  seq: number;
  bytes: Uint8Array;
  truncatedAfter: number;
}

class StreamDirection {
  /** Whether nextSeq is anchored (SYN seen, or first data seen). */
  started = false;
  nextSeq = 0;
  /** Sequence number of this side's SYN, or -1. */
  isn = -1;
  /** The next chunk is the first of a stream whose start was not seen. */
  midstream = false;
  /** Bytes known missing before the next chunk. */
  gap = 0;
  buffered: BufferedSegment[] = [];
  bufferedBytes = 0;
  /** Sequence number of the FIN, or -1. */
  finSeq = -1;
  finished = false;
  /** Highest acknowledgment the peer sent for this direction's bytes (valid when peerAckKnown). */
  peerAck = 0;
  peerAckKnown = false;
}

class Flow implements TcpConnection {
  readonly dirs: [StreamDirection, StreamDirection] = [new StreamDirection(), new StreamDirection()];
  bucketNext: Flow | null = null;
  lruPrev: Flow | null = null;
  lruNext: Flow | null = null;
  lastSeen = 0;
  closed = false;

  constructor(
    readonly id: number,
    readonly aAddr: string,
    readonly aPort: number,
    readonly bAddr: string,
    readonly bPort: number,
    readonly sawSyn: boolean,
    readonly aBytes: Uint8Array,
    readonly bBytes: Uint8Array,
    readonly hash: number,
  ) {}
}

export interface TcpStats {
  segments: number;
  connections: number;
  chunks: number;
  bytesDelivered: number;
  gapBytes: number;
  retransmissions: number;
  outOfOrder: number;
  overlapMismatches: number;
  bufferLimitFlushes: number;
  flowsIdle: number;
  flowsEvicted: number;
  /** Out-of-order bytes currently buffered over all flows. */
  bufferedBytes: number;
  /** Flows currently in the table (open or closed). */
  flows: number;
}

function sameBytes(pkt: Uint8Array, off: number, stored: Uint8Array): boolean {
  for (let i = 0; i < stored.length; i++) if (pkt[off + i] !== stored[i]) return false;
  return true;
}

/** A well-mixed 32-bit hash of one endpoint, read in place from the packet. */
function endpointHash(pkt: Uint8Array, off: number, len: number, port: number): number {
  let h = port ^ (len << 20);
  for (let i = 0; i < len; i += 4) {
    const w = ((pkt[off + i] as number) << 24) | ((pkt[off + i + 1] as number) << 16) | ((pkt[off + i + 2] as number) << 8) | (pkt[off + i + 3] as number);
    h = Math.imul(h ^ w, 0x5bd1e995);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Slots of the recent-flow cache in front of the flow map (a power of two). */
const RECENT_FLOW_SLOTS = 256;

export class TcpReassembler {
  private readonly buckets = new Map<number, Flow>();
  /** By the low bits of the hash: the flow a lookup last found there (cleared when it is removed). */
  private readonly recentFlows = new Array<Flow | null>(RECENT_FLOW_SLOTS).fill(null);
  /**
   * Address texts shared by the flows: every connection of a host gets the same
   * string, so the layers above compare addresses by identity, not character by character.
   */
  private readonly addressTexts = new AddressTextCache(4096);
  private lruHead: Flow | null = null;
  private lruTail: Flow | null = null;
  private nextId = 0;
  private totalBuffered = 0;
  private flowCount = 0;

  // The frame being processed: set once per segment, read by every delivery.
  private frame = 0;
  private tsSec = 0;
  private tsNsec = 0;
  private lookupDir: Direction = 0;

  readonly stats: TcpStats = {
    segments: 0, connections: 0, chunks: 0, bytesDelivered: 0, gapBytes: 0, retransmissions: 0, outOfOrder: 0,
    overlapMismatches: 0, bufferLimitFlushes: 0, flowsIdle: 0, flowsEvicted: 0, bufferedBytes: 0, flows: 0,
  };

  constructor(
    private readonly limits: Limits,
    private readonly sink: TransportSink,
  ) {}

  /**
   * One TCP segment. Addresses are read in place: `addrLen` bytes at `srcOff`/`dstOff`
   * of `pkt`. The payload that was captured is bytes [payloadStart, payloadEnd) of
   * `data`, read there in place; `truncatedAfter` is how many more bytes the IP header
   * declared. Returns true when payload bytes were delivered or kept
   * for later delivery.
   */
  segment(
    frame: number, tsSec: number, tsNsec: number, now: number,
    pkt: Uint8Array, srcOff: number, dstOff: number, addrLen: number,
    sport: number, dport: number, seq: number, ack: number, flags: number,
    data: Uint8Array, payloadStart: number, payloadEnd: number, truncatedAfter: number,
  ): boolean {
    this.frame = frame;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.stats.segments++;
    const hash = (endpointHash(pkt, srcOff, addrLen, sport) + endpointHash(pkt, dstOff, addrLen, dport)) | 0;
    let flow = this.lookup(hash, pkt, srcOff, dstOff, addrLen, sport, dport);
    let dir = this.lookupDir;
    const isSyn = (flags & SYN) !== 0;
    const isAck = (flags & ACK) !== 0;
    const declared = payloadEnd - payloadStart + truncatedAfter;

    if (flow) {
      let replace = false;
      if (isSyn && !isAck) {
        const d = flow.dirs[dir];
        // A fresh SYN: the 4-tuple is being reused (RFC 9293 §3.10.7.4 TIME-WAIT reuse).
        replace = flow.closed || (d.isn !== seq && d.started && (d.isn !== -1 || d.nextSeq !== ((seq + 1) >>> 0)));
        if (replace && !flow.closed) this.closeFlow(flow, "end");
      } else if (flow.closed) {
        if (declared === 0) return false;
        const d = flow.dirs[dir];
        if (d.started && ((seq - d.nextSeq) | 0) + declared <= 0) {
          this.retransmission(flow, dir, seq, declared);
          return false;
        }
        replace = true; // new data after FIN/RST: a new (midstream) connection
      }
      if (replace) {
        this.removeFlow(flow);
        flow = null;
      }
    }
    if (!flow) {
      if (this.flowCount >= this.limits.maxFlows && this.lruHead) this.evict(this.lruHead, "evicted");
      // `a` is the side that sent the SYN; a SYN-ACK comes from `b`.
      const fromB = isSyn && isAck;
      flow = this.createFlow(hash, pkt, fromB ? dstOff : srcOff, fromB ? dport : sport, fromB ? srcOff : dstOff, fromB ? sport : dport, addrLen, isSyn);
      dir = fromB ? 1 : 0;
    }
    this.touch(flow, now);

    if (flags & RST) {
      // RFC 9293 §3.10.7: the connection is gone; whatever the RST carries is not stream data.
      this.closeFlow(flow, "rst");
      return false;
    }
    const d = flow.dirs[dir];
    let dataSeq = seq;
    if (isSyn) {
      if (!d.started) {
        d.started = true;
        d.isn = seq;
        d.nextSeq = (seq + 1) >>> 0;
      } else if (d.isn === -1 && d.nextSeq === ((seq + 1) >>> 0)) {
        d.isn = seq;
      }
      dataSeq = (seq + 1) >>> 0;
      if (isAck) {
        // The SYN-ACK's acknowledgment is the peer's first data byte (its SYN may be missing).
        const peer = flow.dirs[dir === 0 ? 1 : 0];
        if (!peer.started) {
          peer.started = true;
          peer.nextSeq = ack >>> 0;
        }
      }
    }
    if (isAck) {
      // The sender acknowledges the peer's bytes: remember how far, and skip holes it covers.
      const peer = flow.dirs[dir === 0 ? 1 : 0];
      const a = ack >>> 0;
      if (!peer.peerAckKnown || ((a - peer.peerAck) | 0) > 0) {
        peer.peerAck = a;
        peer.peerAckKnown = true;
        if (peer.buffered.length > 0) this.skipAckedHoles(flow, dir === 0 ? 1 : 0, peer);
      }
    }
    let carried = false;
    if (declared > 0) {
      if (!d.started) {
        d.started = true;
        d.nextSeq = dataSeq;
        d.midstream = true;
      }
      carried = this.accept(flow, dir, d, dataSeq, data, payloadStart, payloadEnd, truncatedAfter);
    }
    if (flags & FIN && !flow.closed) {
      const finSeq = (dataSeq + declared) >>> 0;
      if (!d.started) {
        d.started = true;
        d.nextSeq = finSeq;
        d.midstream = true;
      }
      if (d.finSeq === -1) d.finSeq = finSeq;
      this.checkFin(flow, dir, d);
    }
    return carried;
  }

  /**
   * Closes flows idle for longer than flowIdleSeconds (capture time `now`, the time of
   * frame `frame`). Cheap when none are.
   */
  expire(now: number, frame: number, tsSec: number, tsNsec: number): void {
    const deadline = now - this.limits.flowIdleSeconds;
    let flow = this.lruHead;
    if (!flow || flow.lastSeen >= deadline) return;
    this.frame = frame;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    while (flow && flow.lastSeen < deadline) {
      const next: Flow | null = flow.lruNext;
      this.evict(flow, "idle");
      flow = next;
    }
  }

  /** End of capture: every flow is flushed and closed with reason "end". */
  finish(frame: number): void {
    this.frame = frame;
    let flow = this.lruHead;
    while (flow) {
      const next: Flow | null = flow.lruNext;
      this.evict(flow, "end");
      flow = next;
    }
  }

  // -------------------------------------------------------------------------
  // Flow table

  private lookup(hash: number, pkt: Uint8Array, srcOff: number, dstOff: number, addrLen: number, sport: number, dport: number): Flow | null {
    // The flow last found with this hash's low bits, before the map (a Map lookup costs
    // a hundred instructions or so, a segment usually belongs to a flow seen just before).
    const slot = hash & (RECENT_FLOW_SLOTS - 1);
    const recent = this.recentFlows[slot]!;
    if (recent !== null && recent.hash === hash && this.matches(recent, pkt, srcOff, dstOff, addrLen, sport, dport)) return recent;
    let flow = this.buckets.get(hash) ?? null;
    while (flow) {
      if (this.matches(flow, pkt, srcOff, dstOff, addrLen, sport, dport)) {
        this.recentFlows[slot] = flow;
        return flow;
      }
      flow = flow.bucketNext;
    }
    return null;
  }

  /** Whether the segment belongs to `flow`; sets lookupDir to its direction when it does. */
  private matches(flow: Flow, pkt: Uint8Array, srcOff: number, dstOff: number, addrLen: number, sport: number, dport: number): boolean {
    if (flow.aBytes.length !== addrLen) return false;
    if (flow.aPort === sport && flow.bPort === dport && sameBytes(pkt, srcOff, flow.aBytes) && sameBytes(pkt, dstOff, flow.bBytes)) {
      this.lookupDir = 0;
      return true;
    }
    if (flow.bPort === sport && flow.aPort === dport && sameBytes(pkt, srcOff, flow.bBytes) && sameBytes(pkt, dstOff, flow.aBytes)) {
      this.lookupDir = 1;
      return true;
    }
    return false;
  }

  private createFlow(hash: number, pkt: Uint8Array, aOff: number, aPort: number, bOff: number, bPort: number, addrLen: number, sawSyn: boolean): Flow {
    const aBytes = pkt.slice(aOff, aOff + addrLen);
    const bBytes = pkt.slice(bOff, bOff + addrLen);
    const texts = this.addressTexts;
    const aText = addrLen === 4 ? texts.ipv4(aBytes, 0) : texts.ipv6(aBytes, 0);
    const bText = addrLen === 4 ? texts.ipv4(bBytes, 0) : texts.ipv6(bBytes, 0);
    const flow = new Flow(this.nextId++, aText, aPort, bText, bPort, sawSyn, aBytes, bBytes, hash);
    flow.bucketNext = this.buckets.get(hash) ?? null;
    this.buckets.set(hash, flow);
    this.flowCount++;
    this.stats.connections++;
    this.stats.flows = this.flowCount;
    return flow;
  }

  /** Moves `flow` to the most-recent end of the LRU list. */
  private touch(flow: Flow, now: number): void {
    flow.lastSeen = now;
    if (this.lruTail === flow) return;
    if (flow.lruPrev || this.lruHead === flow) this.unlinkLru(flow);
    flow.lruPrev = this.lruTail;
    flow.lruNext = null;
    if (this.lruTail) this.lruTail.lruNext = flow;
    else this.lruHead = flow;
    this.lruTail = flow;
  }

  private unlinkLru(flow: Flow): void {
    if (flow.lruPrev) flow.lruPrev.lruNext = flow.lruNext;
    else if (this.lruHead === flow) this.lruHead = flow.lruNext;
    if (flow.lruNext) flow.lruNext.lruPrev = flow.lruPrev;
    else if (this.lruTail === flow) this.lruTail = flow.lruPrev;
    flow.lruPrev = null;
    flow.lruNext = null;
  }

  /** Takes `flow` out of the table (closing it first if still open). */
  private evict(flow: Flow, reason: TcpCloseReason): void {
    if (!flow.closed) {
      if (reason === "idle") this.stats.flowsIdle++;
      if (reason === "evicted") {
        this.stats.flowsEvicted++;
        this.issue("flow-evicted", `TCP connection ${flow.id} (${flow.aAddr}:${flow.aPort} ↔ ${flow.bAddr}:${flow.bPort}) evicted: more than maxFlows (${this.limits.maxFlows}) flows`);
      }
      this.closeFlow(flow, reason);
    }
    this.removeFlow(flow);
  }

  private removeFlow(flow: Flow): void {
    this.unlinkLru(flow);
    const slot = flow.hash & (RECENT_FLOW_SLOTS - 1);
    if (this.recentFlows[slot] === flow) this.recentFlows[slot] = null;
    const first = this.buckets.get(flow.hash);
    if (first === flow) {
      if (flow.bucketNext) this.buckets.set(flow.hash, flow.bucketNext);
      else this.buckets.delete(flow.hash);
    } else {
      let prev = first ?? null;
      while (prev && prev.bucketNext !== flow) prev = prev.bucketNext;
      if (prev) prev.bucketNext = flow.bucketNext;
    }
    flow.bucketNext = null;
    this.flowCount--;
    this.stats.flows = this.flowCount;
  }

  // -------------------------------------------------------------------------
  // Stream reassembly

  /** Payload [seq, seq + captured + truncated) of one direction. */
  /** A segment's payload, bytes [start, end) of `data`, and `truncated` bytes more the snaplen cut. */
  private accept(
    flow: Flow, dir: Direction, d: StreamDirection, seq: number, data: Uint8Array, start: number, end: number, truncated: number,
  ): boolean {
    const length = end - start + truncated;
    const rel = (seq - d.nextSeq) | 0;
    if (rel + length <= 0) {
      this.retransmission(flow, dir, seq, length);
      return false;
    }
    if (rel > 0) return this.bufferSegment(flow, dir, d, seq, data.subarray(start, end), truncated, rel);
    this.deliverInOrder(flow, dir, d, seq, data, start, end, truncated);
    this.drain(flow, dir, d);
    return true;
  }

  private retransmission(flow: Flow, dir: Direction, seq: number, length: number): void {
    const d = flow.dirs[dir];
    // A keep-alive probe resends the one byte before nextSeq (RFC 9293 §3.8.4): not news.
    if (length === 1 && ((seq - d.nextSeq) | 0) === -1) return;
    this.stats.retransmissions++;
    this.issue("tcp-retransmission", `TCP connection ${flow.id} dir ${dir}: ${length} bytes at seq ${seq >>> 0} were already seen`);
  }

  /**
   * Delivers a segment (bytes [start, end) of `data`) that starts at or before nextSeq
   * and ends after it: the new part, in place, advancing nextSeq past the declared end.
   */
  private deliverInOrder(
    flow: Flow, dir: Direction, d: StreamDirection, seq: number, data: Uint8Array, start: number, end: number, truncated: number,
  ): void {
    const captured = end - start;
    const skip = (d.nextSeq - seq) | 0;
    const seqEnd = (seq + captured + truncated) >>> 0;
    const newLength = (seqEnd - d.nextSeq) | 0;
    if (d.buffered.length > 0) this.reconcile(flow, dir, d, data.subarray(start, end), skip, newLength);
    if (skip < captured) {
      this.emit(flow, dir, d, data, start + skip, end, truncated);
      d.gap += truncated;
    } else {
      d.gap += newLength;
    }
    d.nextSeq = seqEnd;
  }

  /**
   * Buffered entries inside the region the in-order segment is about to cover are
   * compared with it and dropped (or trimmed where they extend past it).
   */
  private reconcile(flow: Flow, dir: Direction, d: StreamDirection, bytes: Uint8Array, skip: number, newLength: number): void {
    const capturedEnd = bytes.length - skip; // relative to nextSeq
    let differs = false;
    while (d.buffered.length > 0) {
      const e = d.buffered[0] as BufferedSegment;
      const eRel = (e.seq - d.nextSeq) | 0;
      if (eRel >= newLength) break;
      const eEnd = eRel + e.bytes.length;
      const from = Math.max(eRel, 0);
      const to = Math.min(eEnd, capturedEnd, newLength);
      for (let x = from; x < to && !differs; x++) if (bytes[skip + x] !== e.bytes[x - eRel]) differs = true;
      if (eEnd <= newLength) {
        d.buffered.shift();
        this.unbuffer(d, e.bytes.length);
      } else {
        const cut = newLength - eRel;
        e.bytes = e.bytes.subarray(cut);
        e.seq = (e.seq + cut) >>> 0;
        this.unbuffer(d, cut);
        break;
      }
    }
    if (differs) this.mismatch(flow, dir);
  }

  /** Delivers buffered segments that have become contiguous. */
  private drain(flow: Flow, dir: Direction, d: StreamDirection): void {
    while (d.buffered.length > 0) {
      const e = d.buffered[0] as BufferedSegment;
      const eRel = (e.seq - d.nextSeq) | 0;
      if (eRel > 0) break;
      d.buffered.shift();
      this.unbuffer(d, e.bytes.length);
      if (eRel + e.bytes.length + e.truncatedAfter <= 0) continue;
      this.deliverInOrder(flow, dir, d, e.seq, e.bytes, 0, e.bytes.length, e.truncatedAfter);
    }
    this.checkFin(flow, dir, d);
  }

  private bufferSegment(flow: Flow, dir: Direction, d: StreamDirection, seq: number, bytes: Uint8Array, truncated: number, rel: number): boolean {
    if (bytes.length === 0) return false; // only cut bytes: the hole is flushed as a gap later
    const end = rel + bytes.length;
    const list = d.buffered;
    // Collect the parts of [rel, end) no buffered entry covers (buffered copies win).
    let cursor = rel;
    let differs = false;
    let covered = 0;
    let insertAt = 0;
    const fresh: BufferedSegment[] = [];
    for (let i = 0; i < list.length; i++) {
      const e = list[i] as BufferedSegment;
      const eRel = (e.seq - d.nextSeq) | 0;
      const eEnd = eRel + e.bytes.length;
      if (eEnd <= cursor) {
        insertAt = i + 1;
        continue;
      }
      if (eRel >= end) break;
      if (eRel > cursor) fresh.push({ seq: (d.nextSeq + cursor) >>> 0, bytes: bytes.slice(cursor - rel, eRel - rel), truncatedAfter: 0 });
      const from = Math.max(cursor, eRel);
      const to = Math.min(end, eEnd);
      covered += to - from;
      for (let x = from; x < to && !differs; x++) if (bytes[x - rel] !== e.bytes[x - eRel]) differs = true;
      cursor = Math.max(cursor, eEnd);
      insertAt = i + 1;
      if (cursor >= end) break;
    }
    if (cursor < end) fresh.push({ seq: (d.nextSeq + cursor) >>> 0, bytes: bytes.slice(cursor - rel), truncatedAfter: truncated });
    if (differs) this.mismatch(flow, dir);
    if (fresh.length === 0) {
      if (covered > 0) this.retransmission(flow, dir, seq, bytes.length + truncated);
      return false;
    }
    // Fresh parts interleave with existing entries; insert each at its sorted place.
    let added = 0;
    for (const part of fresh) {
      const partRel = (part.seq - d.nextSeq) | 0;
      let at = Math.min(insertAt, list.length);
      while (at > 0 && (((list[at - 1] as BufferedSegment).seq - d.nextSeq) | 0) > partRel) at--;
      while (at < list.length && (((list[at] as BufferedSegment).seq - d.nextSeq) | 0) < partRel) at++;
      list.splice(at, 0, part);
      added += part.bytes.length;
    }
    d.bufferedBytes += added;
    this.totalBuffered += added;
    this.stats.bufferedBytes = this.totalBuffered;
    this.stats.outOfOrder++;
    if (d.peerAckKnown) this.skipAckedHoles(flow, dir, d);
    if (d.buffered.length > 0) this.enforceLimits(flow, dir, d);
    return true;
  }

  /** Skips holes that end at or before the peer's highest acknowledgment (lost by the capture). */
  private skipAckedHoles(flow: Flow, dir: Direction, d: StreamDirection): void {
    while (d.buffered.length > 0 && !flow.closed) {
      const e = d.buffered[0] as BufferedSegment;
      const eRel = (e.seq - d.nextSeq) | 0;
      if (eRel > 0) {
        if (((d.peerAck - e.seq) | 0) < 0) return;
        d.gap += eRel;
        d.nextSeq = e.seq;
      }
      this.drain(flow, dir, d);
    }
  }

  private enforceLimits(flow: Flow, dir: Direction, d: StreamDirection): void {
    const perDirection = this.limits.maxTcpBufferedPerDirection;
    if (d.bufferedBytes > perDirection) {
      this.stats.bufferLimitFlushes++;
      this.issue("tcp-buffer-limit", `TCP connection ${flow.id} dir ${dir}: ${d.bufferedBytes} bytes out of order exceed maxTcpBufferedPerDirection (${perDirection}); skipping the hole`);
      this.flushForward(flow, dir, d, perDirection);
    }
    const total = this.limits.maxTcpBufferedTotal;
    if (this.totalBuffered > total) {
      this.stats.bufferLimitFlushes++;
      this.issue("tcp-buffer-limit", `${this.totalBuffered} bytes out of order over all flows exceed maxTcpBufferedTotal (${total}); skipping holes`);
      this.flushForward(flow, dir, d, 0);
      for (let f = this.lruHead; f && this.totalBuffered > total; f = f.lruNext) {
        this.flushForward(f, 0, f.dirs[0], 0);
        this.flushForward(f, 1, f.dirs[1], 0);
      }
    }
  }

  /** Skips holes (counting them as gaps) until at most `target` bytes stay buffered. */
  private flushForward(flow: Flow, dir: Direction, d: StreamDirection, target: number): void {
    while (d.bufferedBytes > target && d.buffered.length > 0) {
      const e = d.buffered[0] as BufferedSegment;
      const eRel = (e.seq - d.nextSeq) | 0;
      if (eRel > 0) {
        d.gap += eRel;
        d.nextSeq = e.seq;
      }
      this.drain(flow, dir, d);
    }
  }

  private checkFin(flow: Flow, dir: Direction, d: StreamDirection): void {
    if (d.finSeq === -1 || d.finished) return;
    const rel = (d.nextSeq - d.finSeq) | 0;
    if (rel < 0) return;
    d.finished = true;
    if (rel === 0) d.nextSeq = (d.nextSeq + 1) >>> 0; // the FIN's sequence number
    const other = flow.dirs[dir === 0 ? 1 : 0];
    if (other.finished && !flow.closed) this.closeFlow(flow, "fin");
  }

  private closeFlow(flow: Flow, reason: TcpCloseReason): void {
    if (flow.closed) return;
    flow.closed = true;
    const undelivered: [number, number] = [0, 0];
    for (const dir of [0, 1] as const) {
      const d = flow.dirs[dir];
      if (reason === "fin") {
        // Both FINs were reached, so anything still buffered lies past a FIN: not stream data.
        undelivered[dir] = d.bufferedBytes;
      } else {
        this.flushForward(flow, dir, d, 0);
      }
      // Known missing bytes after the last chunk (a cut final segment, a hole before the
      // FIN) still reach the consumer, as a zero-length chunk that only carries the gap.
      let missing = d.gap;
      if (d.finSeq !== -1 && !d.finished) missing += Math.max(0, (d.finSeq - d.nextSeq) | 0);
      if (missing > 0 && d.started) {
        d.gap = missing;
        this.emit(flow, dir, d, EMPTY, 0, 0, 0);
      }
      this.unbuffer(d, d.bufferedBytes);
      d.buffered = [];
    }
    this.sink.tcpClose({ conn: flow, frame: this.frame, reason, undelivered });
  }

  private unbuffer(d: StreamDirection, n: number): void {
    d.bufferedBytes -= n;
    this.totalBuffered -= n;
    this.stats.bufferedBytes = this.totalBuffered;
  }

  /** Hands on bytes [start, end) of `data` as the next chunk of (flow, dir). */
  private emit(flow: Flow, dir: Direction, d: StreamDirection, data: Uint8Array, start: number, end: number, truncatedAfter: number): void {
    const gapBefore = d.gap;
    const midstream = d.midstream;
    d.gap = 0;
    d.midstream = false;
    this.stats.chunks++;
    this.stats.bytesDelivered += end - start;
    this.stats.gapBytes += gapBefore;
    // A new chunk object per delivery: refilling one long-lived object cost more, every
    // store of a young value into an old object going through the collector's write barrier.
    const chunk = new BufferChunk(flow, dir, this.frame, this.tsSec, this.tsNsec, data, start, end, gapBefore, midstream, truncatedAfter);
    this.sink.tcpData(chunk);
  }

  private mismatch(flow: Flow, dir: Direction): void {
    this.stats.overlapMismatches++;
    this.issue("tcp-overlap-mismatch", `TCP connection ${flow.id} dir ${dir}: overlapping segments carry different bytes for the same sequence numbers`);
  }

  private issue(code: FrameIssueCode, detail: string): void {
    this.sink.frameIssue({ frame: this.frame, code, detail });
  }
}

const EMPTY = new Uint8Array(0);
