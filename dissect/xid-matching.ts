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
 * time ("unanswered"); recently answered calls are kept within their own, smaller
 * bounds (maxRecentAnswered, recentAnsweredSeconds), since each holds its exchange.
 * Lookups go through a map keyed by the xid's low 30 bits (a small integer, which
 * V8 hashes and stores without allocating; a full 32-bit xid is a heap number),
 * whose buckets are chained entries compared field by field, xid included, so no
 * key string is built per message.
 */
import { secondsBetween } from "../capture/frame.js";
import type { Limits } from "../capture/limits.js";
import type { Issue } from "./malformed.js";
import { addIssue, NO_ISSUES, type Exchange, type RpcCall, type RpcMessage, type RpcReply } from "./rpc-types.js";

/** Calls sharing one xid in one table beyond this many are treated as a flood: the oldest goes. */
const MAX_SAME_XID = 64;

/**
 * The bucket of an xid in a table of 2^bits buckets: a multiplicative hash, since
 * xids are often sequential or share their low bits between clients.
 */
function bucketOf(xid: number, shift: number): number {
  return Math.imul(xid, 0x9e37_79b1) >>> shift;
}

/** Tables get at least this many buckets, and at most MAX_BUCKETS however large the limit. */
const MIN_BUCKET_BITS = 10;
const MAX_BUCKET_BITS = 20;

type GivenUp = "unanswered" | "pending-evicted";

interface Entry {
  readonly ex: Exchange;
  readonly call: RpcMessage;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** Time the entry entered its table: the call's time (pending), or the reply's / give-up time (recent). */
  tsSec: number;
  tsNsec: number;
  /** Set in the recent table for calls that were given up rather than answered. */
  givenUp: GivenUp | null;
  /** Next entry with the same xid in the same table (newest first). */
  next: Entry | null;
  /** Neighbours in the table's insertion order (an entry is in one table at a time). */
  older: Entry | null;
  newer: Entry | null;
}

/**
 * Entries by xid (chained) and in insertion order (for eviction and timeouts).
 * The buckets are a fixed array sized from the table's limit, not a Map: a Map
 * whose keys are inserted and deleted for every message spends its time
 * rehashing and allocating. The order is an intrusive doubly-linked list.
 */
class XidTable {
  private readonly buckets: (Entry | null)[];
  private readonly shift: number;
  private oldestEntry: Entry | null = null;
  private newestEntry: Entry | null = null;
  private count = 0;

  /** `expected`: the most entries the table is meant to hold (its limit). */
  constructor(expected: number) {
    let bits = MIN_BUCKET_BITS;
    while (bits < MAX_BUCKET_BITS && 2 ** bits < expected) bits++;
    this.buckets = new Array<Entry | null>(2 ** bits).fill(null);
    this.shift = 32 - bits;
  }

  get size(): number {
    return this.count;
  }

  /** The newest entry of the xid's bucket; the chain may hold other xids. */
  head(xid: number): Entry | null {
    return this.buckets[bucketOf(xid, this.shift)]!;
  }

  oldest(): Entry | null {
    return this.oldestEntry;
  }

  /** Inserts; returns the entry pushed out of a full bucket (already removed), if any. */
  insert(e: Entry): Entry | null {
    const xid = e.ex.xid;
    const key = bucketOf(xid, this.shift);
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
    const key = bucketOf(e.ex.xid, this.shift);
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
  private readonly recent: XidTable;
  private resolvedQueue: Exchange[] = [];
  /** The other half of the resolved queue's double buffer (see takeResolved). */
  private resolvedSpare: Exchange[] = [];
  private nextId = 0;
  readonly counts: MatchCounts = {
    exchanges: 0, answered: 0, unanswered: 0, evicted: 0, orphanReplies: 0,
    retransmissions: 0, retransmitMismatches: 0, duplicateReplies: 0,
  };

  constructor(private readonly limits: Limits) {
    this.pending = new XidTable(limits.maxPendingCalls);
    this.recent = new XidTable(limits.maxRecentAnswered);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Capture time has reached (tsSec, tsNsec): calls waiting longer than the reply
   * timeout are given up ("unanswered"), and old entries leave the recent table.
   */
  advance(tsSec: number, tsNsec: number): void {
    const timeout = this.limits.replyTimeoutSeconds;
    for (;;) {
      const e = this.pending.oldest();
      if (!e || secondsBetween(e.tsSec, e.tsNsec, tsSec, tsNsec) <= timeout) break;
      this.giveUp(e, "unanswered", `no reply within ${timeout} s of capture time`, tsSec, tsNsec);
    }
    const window = this.limits.recentAnsweredSeconds;
    for (;;) {
      const e = this.recent.oldest();
      if (!e || secondsBetween(e.tsSec, e.tsNsec, tsSec, tsNsec) <= window) break;
      this.recent.remove(e);
    }
  }

  /** A decoded call: sets `msg.exchange` (a new exchange, or the one it retransmits). */
  call(msg: RpcMessage, call: RpcCall): void {
    for (let e = this.pending.head(call.xid); e; e = e.next) {
      if (e.ex.xid === call.xid && sameCallKey(e.call, msg)) {
        this.retransmission(msg, call, e);
        return;
      }
    }
    // A retransmission that crossed the reply: same key and procedure, shortly after the answer.
    for (let e = this.recent.head(call.xid); e; e = e.next) {
      if (e.givenUp === null && e.ex.xid === call.xid && sameCallKey(e.call, msg) &&
          e.prog === call.prog && e.vers === call.vers && e.proc === call.proc) {
        this.retransmission(msg, call, e);
        return;
      }
    }
    const ex: Exchange = {
      id: this.nextId++, transport: msg.transport, xid: call.xid,
      call: msg, reply: null, retransmits: 0, rtt: null, issues: NO_ISSUES,
    };
    this.counts.exchanges++;
    msg.exchange = ex;
    const entry: Entry = {
      ex, call: msg, prog: call.prog, vers: call.vers, proc: call.proc,
      tsSec: msg.tsSec, tsNsec: msg.tsNsec, givenUp: null, next: null, older: null, newer: null,
    };
    const pushedOut = this.pending.insert(entry);
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
    const e = this.findReply(this.pending, msg, reply.xid);
    if (e) {
      this.pending.remove(e);
      const ex = e.ex;
      ex.reply = msg;
      ex.rtt = secondsBetween(e.call.tsSec, e.call.tsNsec, msg.tsSec, msg.tsNsec);
      msg.exchange = ex;
      this.counts.answered++;
      this.remember(e, msg.tsSec, msg.tsNsec);
      this.resolvedQueue.push(ex);
      return;
    }
    const r = this.findReply(this.recent, msg, reply.xid);
    if (r && r.givenUp === null) {
      const ex = r.ex;
      const first = ex.reply;
      msg.exchange = ex;
      this.counts.duplicateReplies++;
      const detail = `another reply to the call in frame ${ex.call?.frame ?? "?"} (first reply in frame ${first?.frame ?? "?"})`;
      issue(msg, "duplicate-reply", detail);
      if (!ex.issues.some((i) => i.code === "duplicate-reply")) issue(ex, "duplicate-reply", detail);
      return;
    }
    const detail = r
      ? `late reply: the call in frame ${r.call.frame} had been given up (${r.givenUp})`
      : "no call with this xid was seen";
    const ex: Exchange = {
      id: this.nextId++, transport: msg.transport, xid: reply.xid,
      call: null, reply: msg, retransmits: 0, rtt: null, issues: NO_ISSUES,
    };
    this.counts.exchanges++;
    this.counts.orphanReplies++;
    msg.exchange = ex;
    issue(msg, "unpaired-reply", detail);
    issue(ex, "unpaired-reply", detail);
    this.resolvedQueue.push(ex);
  }

  /**
   * Whether a datagram from (src, sport) to (dst, dport) with this xid would be a
   * reply to a call we saw (waiting or recently answered). The UDP heuristic uses this.
   */
  expectsUdpReply(src: string, sport: number, dst: string, dport: number, xid: number): boolean {
    return this.expectsIn(this.pending, src, sport, dst, dport, xid) ||
      this.expectsIn(this.recent, src, sport, dst, dport, xid);
  }

  private expectsIn(table: XidTable, src: string, sport: number, dst: string, dport: number, xid: number): boolean {
    // The client endpoint decides, as in reply matching's fallback; the server side may differ.
    void src;
    void sport;
    for (let e = table.head(xid); e; e = e.next) {
      const c = e.call;
      if (e.ex.xid === xid && c.transport === "udp" && c.sport === dport && c.src === dst) return true;
    }
    return false;
  }

  /** Give up every waiting call (end of capture). */
  finish(): void {
    for (;;) {
      const e = this.pending.oldest();
      if (!e) break;
      this.giveUp(e, "unanswered", "no reply before the end of the capture", e.tsSec, e.tsNsec);
    }
  }

  /**
   * Exchanges resolved since the last call, in the order they were resolved. The
   * array is the matcher's own and is reused: it is valid until the next call.
   */
  takeResolved(): readonly Exchange[] | null {
    if (this.resolvedQueue.length === 0) return null;
    const done = this.resolvedQueue;
    this.resolvedQueue = this.resolvedSpare;
    this.resolvedQueue.length = 0;
    this.resolvedSpare = done;
    return done;
  }

  private findReply(table: XidTable, msg: RpcMessage, xid: number): Entry | null {
    let fallback: Entry | null = null;
    for (let e = table.head(xid); e; e = e.next) {
      if (e.ex.xid !== xid) continue;
      if (replyMatchesExactly(e.call, msg)) return e;
      // The oldest client-endpoint match wins the fallback (entries run newest first).
      if (replyMatchesClient(e.call, msg)) fallback = e;
    }
    return fallback;
  }

  private retransmission(msg: RpcMessage, call: RpcCall, e: Entry): void {
    const ex = e.ex;
    ex.retransmits++;
    msg.exchange = ex;
    this.counts.retransmissions++;
    issue(msg, "retransmission", `retransmission of the call in frame ${e.call.frame}`);
    if (e.prog !== call.prog || e.vers !== call.vers || e.proc !== call.proc) {
      this.counts.retransmitMismatches++;
      const detail = `same xid as the call in frame ${e.call.frame} but ${call.prog}/${call.vers}/${call.proc} instead of ${e.prog}/${e.vers}/${e.proc}`;
      issue(msg, "retransmit-mismatch", detail);
      if (!ex.issues.some((i) => i.code === "retransmit-mismatch")) issue(ex, "retransmit-mismatch", detail);
    }
  }

  private giveUp(e: Entry, why: GivenUp, detail: string, tsSec: number, tsNsec: number): void {
    this.pending.remove(e);
    if (why === "unanswered") this.counts.unanswered++;
    else this.counts.evicted++;
    issue(e.ex, why, detail);
    e.givenUp = why;
    // Remembered so that a late reply can say which call it answers.
    this.remember(e, tsSec, tsNsec);
    this.resolvedQueue.push(e.ex);
  }

  private remember(e: Entry, tsSec: number, tsNsec: number): void {
    e.tsSec = tsSec;
    e.tsNsec = tsNsec;
    this.recent.insert(e);
    if (this.recent.size > this.limits.maxRecentAnswered) {
      const oldest = this.recent.oldest();
      if (oldest) this.recent.remove(oldest);
    }
  }
}
