/**
 * Pairs libvirt replies with calls and groups stream data, per virnetprotocol.x:
 * "serial is set by client, incrementing by 1 each time" on a CALL; a REPLY and
 * every STREAM message of the call carry the call's serial. So a reply answers
 * the call on the same connection, with the same program and serial, sent the
 * other way. MESSAGE (events, keepalive) stands alone.
 *
 * State is bounded: at most `maxPendingCalls` calls wait over all connections
 * (the oldest is given up with "pending-evicted"), and as many stream groups; a
 * connection's waiting calls are given up ("unanswered") when it closes. There is
 * no reply timeout: a libvirt call may legitimately run for a long time
 * (migration, block jobs) and the connection's end settles it.
 */
import { secondsBetween } from "../../capture/frame.js";
import type { Direction } from "../../capture/transport.js";
import type { Limits } from "../../capture/limits.js";
import type { LibvirtExchange, LibvirtMessage, LibvirtStream } from "../rpc-types.js";
import { LibvirtStatusCode } from "./constants.js";

export interface LibvirtMatchCounts {
  exchanges: number;
  answered: number;
  /** Calls whose connection ended (or the capture did) without a reply. */
  unanswered: number;
  /** Calls given up because too many were waiting. */
  evicted: number;
  orphanReplies: number;
  /** Calls that reused the serial of a call still waiting. */
  reusedSerials: number;
  streams: number;
  /** Stream groups forgotten because too many were open (a later message starts a new group). */
  streamsEvicted: number;
}

/** An entry in an age list: oldest first, unlinked in O(1) (an intrusive list, no per-removal scans). */
interface Aged {
  older: Aged | null;
  newer: Aged | null;
}

interface Pending extends Aged {
  readonly ex: LibvirtExchange;
  readonly dir: Direction;
  readonly proc: number;
  /** Next waiting call of the same connection with the same serial (other program or direction). */
  next: Pending | null;
}

interface StreamEntry extends Aged {
  readonly stream: LibvirtStream;
  next: StreamEntry | null;
}

interface ConnTables {
  readonly pending: Map<number, Pending>;
  readonly streams: Map<number, StreamEntry>;
}

class AgeList<T extends Aged> {
  private oldestEntry: T | null = null;
  private newestEntry: T | null = null;
  size = 0;

  get oldest(): T | null {
    return this.oldestEntry;
  }

  push(e: T): void {
    e.older = this.newestEntry;
    e.newer = null;
    if (this.newestEntry) this.newestEntry.newer = e;
    else this.oldestEntry = e;
    this.newestEntry = e;
    this.size++;
  }

  remove(e: T): void {
    if (e.older) e.older.newer = e.newer;
    else this.oldestEntry = e.newer as T | null;
    if (e.newer) e.newer.older = e.older;
    else this.newestEntry = e.older as T | null;
    e.older = null;
    e.newer = null;
    this.size--;
  }
}

export class LibvirtMatcher {
  readonly counts: LibvirtMatchCounts = {
    exchanges: 0, answered: 0, unanswered: 0, evicted: 0, orphanReplies: 0, reusedSerials: 0, streams: 0, streamsEvicted: 0,
  };
  private readonly conns = new Map<number, ConnTables>();
  private readonly pendingAge = new AgeList<Pending>();
  private readonly streamAge = new AgeList<StreamEntry>();
  private nextExchangeId = 0;
  private nextStreamId = 0;
  private resolved: LibvirtExchange[] = [];

  constructor(private readonly limits: Limits) {}

  get pendingCalls(): number {
    return this.pendingAge.size;
  }

  /** Fills in msg.exchange or msg.stream. `dir`: the direction the message travelled. */
  message(msg: LibvirtMessage, dir: Direction): void {
    const h = msg.header;
    if (!h) return;
    switch (h.kind) {
      case "call":
        this.call(msg, dir, h.prog, h.proc, h.serial);
        break;
      case "reply":
        this.reply(msg, dir, h.prog, h.proc, h.serial);
        break;
      case "stream":
        this.streamData(msg, h.prog, h.proc, h.serial, h.type === 6, h.status);
        break;
      default:
        break;
    }
  }

  /** The connection ended: its waiting calls will get no reply; its stream groups are done. */
  closeConnection(connId: number, frame: number): void {
    const t = this.conns.get(connId);
    if (!t) return;
    this.conns.delete(connId);
    // In call order, as the age list holds them.
    const given: Pending[] = [];
    for (const first of t.pending.values()) {
      for (let p: Pending | null = first; p; p = p.next) given.push(p);
    }
    given.sort((a, b) => a.ex.id - b.ex.id);
    for (const p of given) {
      this.pendingAge.remove(p);
      this.counts.unanswered++;
      p.ex.issues.push({ code: "unanswered", detail: `no reply before the connection ended (frame ${frame})` });
      this.resolved.push(p.ex);
    }
    for (const first of t.streams.values()) {
      for (let s: StreamEntry | null = first; s; s = s.next) this.streamAge.remove(s);
    }
  }

  /** Exchanges that became final since the last call, in order; null when none. */
  takeResolved(): LibvirtExchange[] | null {
    if (this.resolved.length === 0) return null;
    const out = this.resolved;
    this.resolved = [];
    return out;
  }

  private tables(connId: number): ConnTables {
    let t = this.conns.get(connId);
    if (!t) {
      t = { pending: new Map(), streams: new Map() };
      this.conns.set(connId, t);
    }
    return t;
  }

  private call(msg: LibvirtMessage, dir: Direction, prog: number, proc: number, serial: number): void {
    const t = this.tables(msg.connId);
    const ex: LibvirtExchange = {
      id: this.nextExchangeId++, connId: msg.connId, prog, serial, call: msg, reply: null, rtt: null, issues: [],
    };
    this.counts.exchanges++;
    msg.exchange = ex;
    const head = t.pending.get(serial) ?? null;
    // A call reusing the serial of one still waiting: the old one will not be answered as itself.
    for (let p = head, prev: Pending | null = null; p; prev = p, p = p.next) {
      if (p.dir !== dir || p.ex.prog !== prog) continue;
      this.unlink(t, serial, p, prev);
      this.counts.reusedSerials++;
      this.counts.unanswered++;
      p.ex.issues.push({ code: "unanswered", detail: `serial ${serial} was reused by a later call (frame ${msg.frame}) before a reply` });
      this.resolved.push(p.ex);
      break;
    }
    const entry: Pending = { ex, dir, proc, next: t.pending.get(serial) ?? null, older: null, newer: null };
    t.pending.set(serial, entry);
    this.pendingAge.push(entry);
    if (this.pendingAge.size > this.limits.maxPendingCalls) this.evictOldestCall(msg.frame);
  }

  private reply(msg: LibvirtMessage, dir: Direction, prog: number, proc: number, serial: number): void {
    const t = this.conns.get(msg.connId);
    let prev: Pending | null = null;
    let p: Pending | null = t?.pending.get(serial) ?? null;
    while (p && (p.dir === dir || p.ex.prog !== prog)) {
      prev = p;
      p = p.next;
    }
    if (!t || !p) {
      const ex: LibvirtExchange = {
        id: this.nextExchangeId++, connId: msg.connId, prog, serial, call: null, reply: msg, rtt: null,
        issues: [{ code: "unpaired-reply", detail: `no call with serial ${serial} seen on this connection` }],
      };
      this.counts.exchanges++;
      this.counts.orphanReplies++;
      msg.exchange = ex;
      this.resolved.push(ex);
      return;
    }
    this.unlink(t, serial, p, prev);
    const ex = p.ex;
    ex.reply = msg;
    msg.exchange = ex;
    const call = ex.call!;
    ex.rtt = secondsBetween(call.tsSec, call.tsNsec, msg.tsSec, msg.tsNsec);
    if (p.proc !== proc) {
      msg.issues.push({ code: "malformed", detail: `reply names procedure ${proc}, its call (frame ${call.frame}) procedure ${p.proc}`, offset: 12 });
    }
    this.counts.answered++;
    this.resolved.push(ex);
  }

  private streamData(msg: LibvirtMessage, prog: number, proc: number, serial: number, hole: boolean, status: number): void {
    const t = this.tables(msg.connId);
    let s = t.streams.get(serial) ?? null;
    while (s && s.stream.prog !== prog) s = s.next;
    if (!s) {
      const stream: LibvirtStream = {
        id: this.nextStreamId++, connId: msg.connId, prog, proc, serial,
        messages: 0, dataBytes: 0, holes: 0, firstFrame: msg.frame, lastFrame: msg.frame, end: null,
      };
      s = { stream, next: t.streams.get(serial) ?? null, older: null, newer: null };
      t.streams.set(serial, s);
      this.streamAge.push(s);
      this.counts.streams++;
      if (this.streamAge.size > this.limits.maxPendingCalls) this.evictOldestStream();
    }
    const stream = s.stream;
    stream.messages++;
    stream.lastFrame = msg.frame;
    if (hole) stream.holes++;
    else if (status === LibvirtStatusCode.CONTINUE) stream.dataBytes += Math.max(0, msg.length - (msg.header?.bodyOffset ?? 28));
    if (status === LibvirtStatusCode.ERROR) stream.end = "ERROR";
    else if (status === LibvirtStatusCode.OK && !hole && stream.end === null) stream.end = "OK";
    msg.stream = stream;
  }

  private unlink(t: ConnTables, serial: number, p: Pending, prev: Pending | null): void {
    if (prev) prev.next = p.next;
    else if (p.next) t.pending.set(serial, p.next);
    else t.pending.delete(serial);
    p.next = null;
    this.pendingAge.remove(p);
  }

  private evictOldestCall(frame: number): void {
    const victim = this.pendingAge.oldest;
    if (!victim) return;
    const t = this.conns.get(victim.ex.connId)!;
    const serial = victim.ex.serial;
    let prev: Pending | null = null;
    for (let p = t.pending.get(serial) ?? null; p; prev = p, p = p.next) {
      if (p === victim) {
        this.unlink(t, serial, p, prev);
        break;
      }
    }
    this.counts.evicted++;
    victim.ex.issues.push({
      code: "pending-evicted",
      detail: `given up at frame ${frame}: more than ${this.limits.maxPendingCalls} libvirt calls were waiting`,
    });
    this.resolved.push(victim.ex);
  }

  private evictOldestStream(): void {
    const victim = this.streamAge.oldest;
    if (!victim) return;
    this.streamAge.remove(victim);
    this.counts.streamsEvicted++;
    const t = this.conns.get(victim.stream.connId);
    if (!t) return;
    const serial = victim.stream.serial;
    let prev: StreamEntry | null = null;
    for (let s = t.streams.get(serial) ?? null; s; prev = s, s = s.next) {
      if (s !== victim) continue;
      if (prev) prev.next = s.next;
      else if (s.next) t.streams.set(serial, s.next);
      else t.streams.delete(serial);
      return;
    }
  }
}
