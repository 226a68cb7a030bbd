/**
 * Calls that were recently answered or given up, remembered for what may still
 * refer to them (RFC 5531 §9 leaves xid reuse to the client, so this is a window,
 * not a history):
 *
 * - a retransmission that crossed the reply (same key, xid and procedure);
 * - a duplicate reply (a server's duplicate request cache answering it again);
 * - a late reply to a call that was given up, which can then name that call;
 * - the UDP heuristic, which accepts a reply when a call with its xid was seen.
 *
 * Each call is a row of plain numbers (and two interned address strings) in a
 * ring of parallel typed arrays, chained by xid hash, so remembering one costs
 * no object: holding thousands of whole exchanges (messages, headers, frame
 * lists) made every one of them outlive the young generation, and the garbage
 * collector's copying of them was a third of the run time on large captures.
 * Only the newest `held` rows also keep their Exchange object, so that a late
 * message can join it; an older row still identifies the call by its frames.
 *
 * Bounds: at most `capacity` rows (the oldest goes first; the arrays grow up to
 * it in steps), and at most MAX_SAME_XID rows sharing one xid (more are not
 * remembered, so a flood of one xid cannot make lookups slow).
 */
import type { Exchange, RpcMessage } from "./rpc-types.js";

/** Why a remembered call ended: answered, or given up. */
export const Ending = { Answered: 0, Unanswered: 1, Evicted: 2 } as const;
export type Ending = (typeof Ending)[keyof typeof Ending];

/** Rows sharing one xid beyond this are not remembered. */
const MAX_SAME_XID = 64;
const MIN_ROWS = 1024;
/** The fewest rows the arrays have (the hash needs at least one bit). */
const MIN_ARRAY_ROWS = 16;

export class RecentCalls {
  private rows = 0;
  /** Row index of the oldest row; rows run oldest → newest around the ring. */
  private first = 0;
  private mask = 0;
  private shift = 0;
  /** Rows ever added: a row's `seq` says whether its exchange is still held. */
  private added = 0;
  private readonly multiplier: number;

  // One entry per row.
  private xid = new Uint32Array(0);
  private udp = new Uint8Array(0);
  private connId = new Float64Array(0);
  private sport = new Uint16Array(0);
  private dport = new Uint16Array(0);
  private src: string[] = [];
  private dst: string[] = [];
  private progs = new Uint32Array(0);
  private versions = new Uint32Array(0);
  private procs = new Uint32Array(0);
  private callFrames = new Float64Array(0);
  private replyFrames = new Float64Array(0);
  private tsSec = new Float64Array(0);
  private tsNsec = new Uint32Array(0);
  private endings = new Uint8Array(0);
  private seq = new Float64Array(0);
  /** Next row in the same hash chain (newer to older), or -1. */
  private next = new Int32Array(0);
  private buckets = new Int32Array(0);
  /** The exchanges of the newest `held` rows, by seq modulo held. */
  private readonly heldExchanges: (Exchange | null)[];

  constructor(
    private readonly capacity: number,
    private readonly held: number,
  ) {
    // A random odd multiplier: chains stay short whatever xids a capture holds.
    this.multiplier = (Math.floor(Math.random() * 0x4000_0000) * 2 + 1) | 0;
    this.heldExchanges = new Array<Exchange | null>(Math.max(0, held)).fill(null);
    this.grow(Math.min(Math.max(capacity, 1), MIN_ROWS));
  }

  get size(): number {
    return this.rows;
  }

  /**
   * Remembers `call` (whose exchange is `ex`), answered by the reply in
   * `replyFrame` (-1 when given up), as of capture time (tsSec, tsNsec).
   */
  add(ex: Exchange, call: RpcMessage, prog: number, vers: number, proc: number,
    ending: Ending, replyFrame: number, tsSec: number, tsNsec: number): void {
    if (this.capacity <= 0) return;
    const xid = ex.xid;
    if (this.countXid(xid) >= MAX_SAME_XID) return;
    if (this.rows === this.capacity) this.dropOldest();
    else if (this.rows === this.mask + 1) this.grow((this.mask + 1) * 2);
    const i = (this.first + this.rows) & this.mask;
    this.rows++;
    this.xid[i] = xid;
    this.udp[i] = call.transport === "udp" ? 1 : 0;
    this.connId[i] = call.connId ?? -1;
    this.sport[i] = call.sport;
    this.dport[i] = call.dport;
    this.src[i] = call.src;
    this.dst[i] = call.dst;
    this.progs[i] = prog;
    this.versions[i] = vers;
    this.procs[i] = proc;
    this.callFrames[i] = call.frame;
    this.replyFrames[i] = replyFrame;
    this.tsSec[i] = tsSec;
    this.tsNsec[i] = tsNsec;
    this.endings[i] = ending;
    const seq = this.added++;
    this.seq[i] = seq;
    if (this.held > 0) this.heldExchanges[this.heldSlot(seq)] = ex;
    const b = this.bucketOf(xid);
    this.next[i] = this.buckets[b]!;
    this.buckets[b] = i;
  }

  /** Forgets rows older than `seconds` before (tsSec, tsNsec). */
  expire(tsSec: number, tsNsec: number, seconds: number): void {
    while (this.rows > 0) {
      const i = this.first;
      if ((tsSec - this.tsSec[i]!) + (tsNsec - this.tsNsec[i]!) / 1e9 <= seconds) return;
      this.dropOldest();
    }
  }

  /** The capture time (whole seconds) of the oldest row, the next to expire; size must be > 0. */
  oldestSec(): number {
    return this.tsSec[this.first]!;
  }

  /** An answered call that `msg` (a call) retransmits: same key, xid and procedure. -1 when none. */
  findAnsweredCall(msg: RpcMessage, xid: number, prog: number, vers: number, proc: number): number {
    const udp = msg.transport === "udp" ? 1 : 0;
    const connId = msg.connId ?? -1;
    for (let i = this.buckets[this.bucketOf(xid)]!; i >= 0; i = this.next[i]!) {
      if (this.xid[i] !== xid || this.endings[i] !== Ending.Answered || this.udp[i] !== udp) continue;
      if (this.progs[i] !== prog || this.versions[i] !== vers || this.procs[i] !== proc) continue;
      if (this.sport[i] !== msg.sport || this.src[i] !== msg.src) continue;
      if (udp === 1 ? this.dport[i] === msg.dport && this.dst[i] === msg.dst : this.connId[i] === connId) return i;
    }
    return -1;
  }

  /**
   * The call `msg` (a reply) answers: the newest on the exact key (TCP: same
   * connection, opposite direction; UDP: the five-tuple reversed), else over UDP
   * the oldest whose client endpoint it went back to. -1 when none.
   */
  findCallOfReply(msg: RpcMessage, xid: number): number {
    const udp = msg.transport === "udp" ? 1 : 0;
    const connId = msg.connId ?? -1;
    let fallback = -1;
    for (let i = this.buckets[this.bucketOf(xid)]!; i >= 0; i = this.next[i]!) {
      if (this.xid[i] !== xid || this.udp[i] !== udp) continue;
      if (this.sport[i] !== msg.dport || this.src[i] !== msg.dst) continue;
      if (udp === 0) {
        if (this.connId[i] === connId) return i;
      } else {
        if (this.dport[i] === msg.sport && this.dst[i] === msg.src) return i;
        fallback = i;
      }
    }
    return fallback;
  }

  /** Whether a UDP call from (dst, dport) with this xid is remembered (see XidMatcher.expectsUdpReply). */
  hasUdpCallFrom(addr: string, port: number, xid: number): boolean {
    for (let i = this.buckets[this.bucketOf(xid)]!; i >= 0; i = this.next[i]!) {
      if (this.xid[i] === xid && this.udp[i] === 1 && this.sport[i] === port && this.src[i] === addr) return true;
    }
    return false;
  }

  /** The row's exchange while it is among the newest `held`, else null. */
  exchangeOf(row: number): Exchange | null {
    if (this.held <= 0 || this.seq[row]! < this.added - this.held) return null;
    return this.heldExchanges[this.heldSlot(this.seq[row]!)] ?? null;
  }

  ending(row: number): Ending {
    return this.endings[row] as Ending;
  }

  callFrame(row: number): number {
    return this.callFrames[row]!;
  }

  /** -1 when the call was given up. */
  replyFrame(row: number): number {
    return this.replyFrames[row]!;
  }

  /**
   * seq modulo held. A seq read back from its Float64Array is a double, and `%` on
   * doubles is a call to fmod: written out, it cost 1,400 instructions per exchange.
   */
  private heldSlot(seq: number): number {
    return seq - Math.floor(seq / this.held) * this.held;
  }

  private bucketOf(xid: number): number {
    return Math.imul(xid, this.multiplier) >>> this.shift;
  }

  private countXid(xid: number): number {
    let n = 0;
    for (let i = this.buckets[this.bucketOf(xid)]!; i >= 0; i = this.next[i]!) if (this.xid[i] === xid) n++;
    return n;
  }

  private dropOldest(): void {
    const i = this.first;
    // The oldest row is the last of its chain.
    const b = this.bucketOf(this.xid[i]!);
    let prev = -1;
    for (let j = this.buckets[b]!; j >= 0; prev = j, j = this.next[j]!) {
      if (j !== i) continue;
      if (prev < 0) this.buckets[b] = this.next[j]!;
      else this.next[prev] = this.next[j]!;
      break;
    }
    const seq = this.seq[i]!;
    if (this.held > 0 && seq >= this.added - this.held) this.heldExchanges[this.heldSlot(seq)] = null;
    this.src[i] = "";
    this.dst[i] = "";
    this.first = (i + 1) & this.mask;
    this.rows--;
  }

  /** Moves the rows, oldest first, into arrays of `size` rows (a power of two) and rehashes. */
  private grow(size: number): void {
    let bits = 4;
    size = Math.max(size, MIN_ARRAY_ROWS);
    while (2 ** bits < size) bits++;
    const n = 2 ** bits;
    const order: number[] = [];
    for (let k = 0; k < this.rows; k++) order.push((this.first + k) & this.mask);
    const move = <T extends { length: number; [i: number]: number }>(old: T, fresh: T): T => {
      order.forEach((from, to) => {
        fresh[to] = old[from]!;
      });
      return fresh;
    };
    this.xid = move(this.xid, new Uint32Array(n));
    this.udp = move(this.udp, new Uint8Array(n));
    this.connId = move(this.connId, new Float64Array(n));
    this.sport = move(this.sport, new Uint16Array(n));
    this.dport = move(this.dport, new Uint16Array(n));
    this.progs = move(this.progs, new Uint32Array(n));
    this.versions = move(this.versions, new Uint32Array(n));
    this.procs = move(this.procs, new Uint32Array(n));
    this.callFrames = move(this.callFrames, new Float64Array(n));
    this.replyFrames = move(this.replyFrames, new Float64Array(n));
    this.tsSec = move(this.tsSec, new Float64Array(n));
    this.tsNsec = move(this.tsNsec, new Uint32Array(n));
    this.endings = move(this.endings, new Uint8Array(n));
    this.seq = move(this.seq, new Float64Array(n));
    const src = new Array<string>(n).fill("");
    const dst = new Array<string>(n).fill("");
    order.forEach((from, to) => {
      src[to] = this.src[from]!;
      dst[to] = this.dst[from]!;
    });
    this.src = src;
    this.dst = dst;
    this.first = 0;
    this.mask = n - 1;
    this.shift = 32 - bits;
    // Rehash oldest first, so that every chain runs newest → oldest.
    this.next = new Int32Array(n).fill(-1);
    this.buckets = new Int32Array(n).fill(-1);
    for (let i = 0; i < this.rows; i++) {
      const b = this.bucketOf(this.xid[i]!);
      this.next[i] = this.buckets[b]!;
      this.buckets[b] = i;
    }
  }
}
