/**
 * Pairs replies with calls by XID (RFC 5531 §9: "the xid ... is only used for
 * clients matching reply messages with call messages"), as Wireshark learned to:
 *
 * - TCP: the connection, the caller's direction and the xid. Keying on the
 *   direction keeps NFSv4.1 backchannel calls (server → client on the same
 *   connection, RFC 8881 §2.10.3.1) apart from forechannel ones.
 * - UDP: (client addr, client port, server addr, server port, xid); a reply from
 *   another server address or port (multi-homed servers) is matched on the client
 *   endpoint and xid as a fallback.
 * - A second call with the same xid and key while the first waits, or shortly
 *   after it was answered (the reply crossed the retransmission), is a
 *   retransmission of it, not a new exchange.
 * - A reply with no call is an exchange of its own with `call: null`, never paired by guess.
 *
 * State is bounded: at most `maxPendingCalls` waiting calls (the oldest is evicted
 * with "pending-evicted"), each waiting at most `replyTimeoutSeconds` of capture
 * time ("unanswered"). Answered and given-up calls are remembered in a compact
 * ring (recent-calls.ts) within maxRecentAnswered and recentAnsweredSeconds; the
 * newest HELD_EXCHANGES of them keep their exchange, so that a retransmission
 * crossing the reply, or a duplicate reply, joins it. Past that a late message is
 * still named for what it is, with the frames of the call it refers to, but
 * stands in an exchange of its own.
 *
 * Waiting calls are found through a fixed array of buckets chained by xid hash,
 * compared field by field, xid included, so no key is built per message.
 */
import { secondsBetween } from "../capture/frame.js";
import type { Limits } from "../capture/limits.js";
import type { Issue } from "./malformed.js";
import { Ending, RecentCalls } from "./recent-calls.js";
import { addIssue, NO_ISSUES, type Exchange, type RpcCall, type RpcMessage, type RpcReply } from "./rpc-types.js";

/** Calls sharing one xid in one table beyond this many are treated as a flood: the oldest goes. */
const MAX_SAME_XID = 64;

/**
 * The bucket of an xid in a table of 2^bits buckets: a multiplicative hash, since
 * xids are often sequential or share their low bits between clients.
 */
function bucketOf(xid: number, multiplier: number, shift: number): number {
  return Math.imul(xid, multiplier) >>> shift;
}

/** Tables get at least this many buckets, and at most MAX_BUCKETS however large the limit. */
const MIN_BUCKET_BITS = 10;
const MAX_BUCKET_BITS = 20;

type GivenUp = "unanswered" | "pending-evicted";

/** Answered calls whose Exchange a late retransmission or duplicate reply can still join. */
const HELD_EXCHANGES = 512;

interface Entry {
  readonly ex: Exchange;
  readonly call: RpcMessage;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** The call's time. */
  readonly tsSec: number;
  readonly tsNsec: number;
  /** Next entry with the same xid in the same table (newest first). */
  next: Entry | null;
  /** Neighbours in the table's insertion order (an entry is in one table at a time). */
  older: Entry | null;
  newer: Entry | null;
}

/**
 * Entries by xid (chained) and in insertion order (for eviction and timeouts).
 * The buckets are an array, not a Map: a Map whose keys are inserted and deleted
 * for every message spends its time rehashing and allocating. The array starts
 * small and doubles while the entries outnumber the buckets, up to a size set by
 * the table's limit: a capture with a hundred calls in flight keeps a few KB of
 * buckets in the cache, not a megabyte sized for the limit. The order is an
 * intrusive doubly-linked list.
 */
class XidTable {
  private buckets: (Entry | null)[];
  private shift: number;
  private readonly maxBits: number;
  /** A random odd multiplier: no capture can choose xids that all land in one bucket. */
  private readonly multiplier = (Math.floor(Math.random() * 0x4000_0000) * 2 + 1) | 0;
  private oldestEntry: Entry | null = null;
  private newestEntry: Entry | null = null;
  private count = 0;

  /** `expected`: the most entries the table is meant to hold (its limit). */
  constructor(expected: number) {
    let bits = MIN_BUCKET_BITS;
    while (bits < MAX_BUCKET_BITS && 2 ** bits < expected) bits++;
    this.maxBits = bits;
    this.buckets = new Array<Entry | null>(2 ** MIN_BUCKET_BITS).fill(null);
    this.shift = 32 - MIN_BUCKET_BITS;
  }

  /** Twice the buckets, each chain rebuilt newest first (from the order list, oldest to newest). */
  private grow(): void {
    const bits = 32 - this.shift + 1;
    this.buckets = new Array<Entry | null>(2 ** bits).fill(null);
    this.shift = 32 - bits;
    for (let e = this.oldestEntry; e; e = e.newer) {
      const key = bucketOf(e.ex.xid, this.multiplier, this.shift);
      e.next = this.buckets[key]!;
      this.buckets[key] = e;
    }
  }

  get size(): number {
    return this.count;
  }

  /** The newest entry of the xid's bucket; the chain may hold other xids. */
  head(xid: number): Entry | null {
    return this.buckets[bucketOf(xid, this.multiplier, this.shift)]!;
  }

  oldest(): Entry | null {
    return this.oldestEntry;
  }

  /** Inserts; returns the entry pushed out of a full bucket (already removed), if any. */
  insert(e: Entry): Entry | null {
    if (this.count >= this.buckets.length && 32 - this.shift < this.maxBits) this.grow();
    const xid = e.ex.xid;
    const key = bucketOf(xid, this.multiplier, this.shift);
    const first = this.buckets[key]!;
    e.next = first;
    this.buckets[key] = e;
    e.older = this.newestEntry;
    e.newer = null;
    if (this.newestEntry) this.newestEntry.newer = e;
    else this.oldestEntry = e;
    this.newestEntry = e;
    this.count++;
    if (!first) return null;
    // Count the entries of this very xid; the oldest of them goes past the limit.
    let n = 0;
    let oldestSame: Entry | null = null;
    let prevOfOldest: Entry | null = null;
    let prev: Entry | null = null;
    for (let cur: Entry | null = e; cur; prev = cur, cur = cur.next) {
      if (cur.ex.xid !== xid) continue;
      n++;
      oldestSame = cur;
      prevOfOldest = prev;
    }
    if (n <= MAX_SAME_XID || !oldestSame || !prevOfOldest) return null;
    prevOfOldest.next = oldestSame.next;
    oldestSame.next = null;
    this.unlinkOrder(oldestSame);
    return oldestSame;
  }

  remove(e: Entry): void {
    const key = bucketOf(e.ex.xid, this.multiplier, this.shift);
    let cur: Entry | null = this.buckets[key]!;
    let prev: Entry | null = null;
    while (cur) {
      if (cur === e) {
        if (prev) prev.next = cur.next;
        else this.buckets[key] = cur.next;
        e.next = null;
        this.unlinkOrder(e);
        return;
      }
      prev = cur;
      cur = cur.next;
    }
  }

  private unlinkOrder(e: Entry): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldestEntry = e.newer;
    if (e.newer) e.newer.older = e.older;
    else this.newestEntry = e.older;
    e.older = null;
    e.newer = null;
    this.count--;
  }
}

export interface MatchCounts {
  exchanges: number;
  answered: number;
  unanswered: number;
  evicted: number;
  orphanReplies: number;
  retransmissions: number;
  retransmitMismatches: number;
  duplicateReplies: number;
}

function sameCallKey(a: RpcMessage, b: RpcMessage): boolean {
  if (a.transport !== b.transport) return false;
  if (a.transport === "tcp") return a.connId === b.connId && a.sport === b.sport && a.src === b.src;
  return a.sport === b.sport && a.dport === b.dport && a.src === b.src && a.dst === b.dst;
}

/** Reply `r` answers call `c` on the exact key (TCP: same connection, opposite direction). */
function replyMatchesExactly(c: RpcMessage, r: RpcMessage): boolean {
  if (c.transport !== r.transport) return false;
  if (c.transport === "tcp") return c.connId === r.connId && c.sport === r.dport && c.src === r.dst;
  return c.sport === r.dport && c.dport === r.sport && c.src === r.dst && c.dst === r.src;
}

/** UDP fallback: the reply went back to the client endpoint, from some other server address or port. */
function replyMatchesClient(c: RpcMessage, r: RpcMessage): boolean {
  return c.transport === "udp" && r.transport === "udp" && c.sport === r.dport && c.src === r.dst;
}

function issue(holder: { issues: readonly Issue[] }, code: Issue["code"], detail: string): void {
  addIssue(holder, { code, detail });
}

export class XidMatcher {
  private readonly pending: XidTable;
  private readonly recent: RecentCalls;
  /**
   * Exchanges resolved and not yet drained: the first `resolvedCount` entries. The
   * arrays are reused, never truncated (setting an array's length is a call into
   * the runtime, and the next push would grow it again).
   */
  private resolvedQueue: (Exchange | undefined)[] = [];
  private resolvedCount = 0;
  /** The other half of the resolved queue's double buffer (see drainResolved). */
  private resolvedSpare: (Exchange | undefined)[] = [];
  private nextId = 0;
  /**
   * advance() has nothing to do while capture time's whole seconds stay at or below
   * this: the oldest waiting call cannot pass the reply timeout, nor the oldest
   * remembered call its window, before then (advance looks at no other). Lowered
   * whenever either oldest changes (in a capture whose clock went back, the next may be earlier).
   */
  private quietUntilSec = -Infinity;
  readonly counts: MatchCounts = {
    exchanges: 0, answered: 0, unanswered: 0, evicted: 0, orphanReplies: 0,
    retransmissions: 0, retransmitMismatches: 0, duplicateReplies: 0,
  };

  constructor(private readonly limits: Limits) {
    this.pending = new XidTable(limits.maxPendingCalls);
    this.recent = new RecentCalls(limits.maxRecentAnswered, Math.min(HELD_EXCHANGES, limits.maxRecentAnswered));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Capture time has reached (tsSec, tsNsec): calls waiting longer than the reply
   * timeout are given up ("unanswered"), and old calls are forgotten.
   */
  advance(tsSec: number, tsNsec: number): void {
    // Called for every packet: most calls end here, at one comparison.
    if (tsSec <= this.quietUntilSec) return;
    const timeout = this.limits.replyTimeoutSeconds;
    for (;;) {
      const e = this.pending.oldest();
      if (!e || secondsBetween(e.tsSec, e.tsNsec, tsSec, tsNsec) <= timeout) break;
      this.giveUp(e, "unanswered", `no reply within ${timeout} s of capture time`, tsSec, tsNsec);
    }
    const recentSeconds = this.limits.recentAnsweredSeconds;
    if (this.recent.size > 0) this.recent.expire(tsSec, tsNsec, recentSeconds);
    // Until when both checks above are sure to find nothing. A time t seconds after a
    // call, nanoseconds apart, is less than t + 1 seconds later, so while the whole
    // seconds stay at or below call + limit − 1 the limit is not passed (whatever the
    // nanoseconds, and for limits with fractions too).
    const oldest = this.pending.oldest();
    let quiet = oldest ? oldest.tsSec + timeout - 1 : Infinity;
    if (this.recent.size > 0) quiet = Math.min(quiet, this.recent.oldestSec() + recentSeconds - 1);
    this.quietUntilSec = quiet;
  }

  /** A decoded call: sets `msg.exchange` (a new exchange, or the one it retransmits). */
  call(msg: RpcMessage, call: RpcCall): void {
    for (let e = this.pending.head(call.xid); e; e = e.next) {
      if (e.ex.xid === call.xid && sameCallKey(e.call, msg)) {
        this.retransmission(msg, call, e.ex, e.call.frame, e.prog, e.vers, e.proc);
        return;
      }
    }
    // A retransmission that crossed the reply: same key and procedure, shortly after the answer.
    let retransmits = -1;
    if (this.recent.size > 0) {
      const row = this.recent.findAnsweredCall(msg, call.xid, call.prog, call.vers, call.proc);
      if (row >= 0) {
        const ex = this.recent.exchangeOf(row);
        if (ex) {
          this.retransmission(msg, call, ex, this.recent.callFrame(row), call.prog, call.vers, call.proc);
          return;
        }
        retransmits = row;
      }
    }
    const ex: Exchange = {
      id: this.nextId++, transport: msg.transport, xid: call.xid,
      call: msg, reply: null, retransmits: 0, rtt: null, issues: NO_ISSUES,
    };
    this.counts.exchanges++;
    msg.exchange = ex;
    if (retransmits >= 0) {
      // Its exchange is no longer held: the call starts a new one, still flagged for what it is.
      this.counts.retransmissions++;
      issue(msg, "retransmission",
        `retransmission of the call in frame ${this.recent.callFrame(retransmits)}, answered in frame ${this.recent.replyFrame(retransmits)}; that exchange is no longer held, so this call starts a new one`);
    }
    const entry: Entry = {
      ex, call: msg, prog: call.prog, vers: call.vers, proc: call.proc,
      tsSec: msg.tsSec, tsNsec: msg.tsNsec, next: null, older: null, newer: null,
    };
    const pushedOut = this.pending.insert(entry);
    // The oldest waiting call may now be this one, or (the bucket was full) another.
    this.quietUntilSec = Math.min(this.quietUntilSec, this.pending.oldest()!.tsSec + this.limits.replyTimeoutSeconds - 1);
    if (pushedOut) {
      this.giveUp(pushedOut, "pending-evicted",
        `more than ${MAX_SAME_XID} waiting calls share xid 0x${call.xid.toString(16)}; the oldest was given up`,
        msg.tsSec, msg.tsNsec);
    }
    if (this.pending.size > this.limits.maxPendingCalls) {
      const oldest = this.pending.oldest();
      if (oldest) {
        this.giveUp(oldest, "pending-evicted",
          `more than ${this.limits.maxPendingCalls} calls waiting for replies (maxPendingCalls); the oldest was given up`,
          msg.tsSec, msg.tsNsec);
      }
    }
  }

  /** A decoded reply: sets `msg.exchange` (the call's exchange, or a new one with call null). */
  reply(msg: RpcMessage, reply: RpcReply): void {
    const e = this.findPendingCall(msg, reply.xid);
    if (e) {
      this.removePending(e);
      const ex = e.ex;
      ex.reply = msg;
      ex.rtt = secondsBetween(e.call.tsSec, e.call.tsNsec, msg.tsSec, msg.tsNsec);
      msg.exchange = ex;
      this.counts.answered++;
      this.remember(ex, e, Ending.Answered, msg.frame, msg.tsSec, msg.tsNsec);
      this.resolvedQueue[this.resolvedCount++] = ex;
      return;
    }
    const row = this.recent.size > 0 ? this.recent.findCallOfReply(msg, reply.xid) : -1;
    let detail = "no call with this xid was seen";
    let code: "unpaired-reply" | "duplicate-reply" = "unpaired-reply";
    if (row >= 0) {
      const callFrame = this.recent.callFrame(row);
      const ending = this.recent.ending(row);
      if (ending === Ending.Answered) {
        const held = this.recent.exchangeOf(row);
        const first = `another reply to the call in frame ${callFrame} (first reply in frame ${this.recent.replyFrame(row)})`;
        this.counts.duplicateReplies++;
        if (held) {
          msg.exchange = held;
          issue(msg, "duplicate-reply", first);
          if (!held.issues.some((i) => i.code === "duplicate-reply")) issue(held, "duplicate-reply", first);
          return;
        }
        code = "duplicate-reply";
        detail = `${first}; that exchange is no longer held, so this reply stands alone`;
      } else {
        detail = `late reply: the call in frame ${callFrame} had been given up (${ending === Ending.Unanswered ? "unanswered" : "pending-evicted"})`;
      }
    }
    const ex: Exchange = {
      id: this.nextId++, transport: msg.transport, xid: reply.xid,
      call: null, reply: msg, retransmits: 0, rtt: null, issues: NO_ISSUES,
    };
    this.counts.exchanges++;
    this.counts.orphanReplies++;
    msg.exchange = ex;
    issue(msg, code, detail);
    issue(ex, code, detail);
    this.resolvedQueue[this.resolvedCount++] = ex;
  }

  /**
   * Whether a datagram from (src, sport) to (dst, dport) with this xid would be a
   * reply to a call we saw (waiting or recently remembered). The UDP heuristic uses this.
   */
  expectsUdpReply(src: string, sport: number, dst: string, dport: number, xid: number): boolean {
    // The client endpoint decides, as in reply matching's fallback; the server side may differ.
    void src;
    void sport;
    for (let e = this.pending.head(xid); e; e = e.next) {
      const c = e.call;
      if (e.ex.xid === xid && c.transport === "udp" && c.sport === dport && c.src === dst) return true;
    }
    return this.recent.size > 0 && this.recent.hasUdpCallFrom(dst, dport, xid);
  }

  /** Give up every waiting call (end of capture). */
  finish(): void {
    for (;;) {
      const e = this.pending.oldest();
      if (!e) break;
      this.giveUp(e, "unanswered", "no reply before the end of the capture", e.tsSec, e.tsNsec);
    }
  }

  /** Hands each exchange resolved since the last drain to `each`, in the order they were resolved. */
  drainResolved(each: (ex: Exchange) => void): void {
    while (this.resolvedCount > 0) {
      const batch = this.resolvedQueue;
      const n = this.resolvedCount;
      this.resolvedQueue = this.resolvedSpare;
      this.resolvedCount = 0;
      this.resolvedSpare = batch;
      for (let i = 0; i < n; i++) {
        const ex = batch[i]!;
        batch[i] = undefined;
        each(ex);
      }
    }
  }

  /** The exchanges resolved since the last drain, as a new array (for tests and tools). */
  takeResolved(): Exchange[] {
    const done: Exchange[] = [];
    this.drainResolved((ex) => done.push(ex));
    return done;
  }

  private findPendingCall(msg: RpcMessage, xid: number): Entry | null {
    let fallback: Entry | null = null;
    for (let e = this.pending.head(xid); e; e = e.next) {
      if (e.ex.xid !== xid) continue;
      if (replyMatchesExactly(e.call, msg)) return e;
      // The oldest client-endpoint match wins the fallback (entries run newest first).
      if (replyMatchesClient(e.call, msg)) fallback = e;
    }
    return fallback;
  }

  private retransmission(
    msg: RpcMessage, call: RpcCall, ex: Exchange, firstFrame: number, prog: number, vers: number, proc: number,
  ): void {
    ex.retransmits++;
    msg.exchange = ex;
    this.counts.retransmissions++;
    issue(msg, "retransmission", `retransmission of the call in frame ${firstFrame}`);
    if (prog !== call.prog || vers !== call.vers || proc !== call.proc) {
      this.counts.retransmitMismatches++;
      const detail = `same xid as the call in frame ${firstFrame} but ${call.prog}/${call.vers}/${call.proc} instead of ${prog}/${vers}/${proc}`;
      issue(msg, "retransmit-mismatch", detail);
      if (!ex.issues.some((i) => i.code === "retransmit-mismatch")) issue(ex, "retransmit-mismatch", detail);
    }
  }

  /** Remembers an ended call among the recent ones (and when advance must look at it). */
  private remember(ex: Exchange, e: Entry, ending: Ending, replyFrame: number, tsSec: number, tsNsec: number): void {
    this.recent.add(ex, e.call, e.prog, e.vers, e.proc, ending, replyFrame, tsSec, tsNsec);
    // The oldest row may now be this one, or the next (the oldest made room for it).
    if (this.recent.size > 0) this.quietUntilSec = Math.min(this.quietUntilSec, this.recent.oldestSec() + this.limits.recentAnsweredSeconds - 1);
  }

  /**
   * Takes a waiting call out. When it was the oldest, the next oldest (which, in a
   * capture whose clock went back, may be earlier) sets when advance must look again.
   */
  private removePending(e: Entry): void {
    const wasOldest = this.pending.oldest() === e;
    this.pending.remove(e);
    if (!wasOldest) return;
    const next = this.pending.oldest();
    if (next) this.quietUntilSec = Math.min(this.quietUntilSec, next.tsSec + this.limits.replyTimeoutSeconds - 1);
  }

  private giveUp(e: Entry, why: GivenUp, detail: string, tsSec: number, tsNsec: number): void {
    this.removePending(e);
    if (why === "unanswered") this.counts.unanswered++;
    else this.counts.evicted++;
    issue(e.ex, why, detail);
    // Remembered so that a late reply can say which call it answers.
    this.remember(e.ex, e, why === "unanswered" ? Ending.Unanswered : Ending.Evicted, -1, tsSec, tsNsec);
    this.resolvedQueue[this.resolvedCount++] = e.ex;
  }
}
