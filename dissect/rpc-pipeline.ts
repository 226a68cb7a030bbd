/**
 * Transport events in, RPC messages and exchanges out.
 *
 *   UDP datagram ── heuristics ─────────────────────────┐
 *   TCP chunk ── per-connection framing (probe, claim) ─┴─ header ── XID matching ── sink
 *
 * TCP connections are classified once: each registered StreamFraming is asked, in
 * order, whether the first bytes of a direction are its own; ONC-RPC record marking
 * (RFC 5531 §11) is always asked last. A claimed connection stays claimed. Other
 * framings (libvirt's, a later module) plug in with `registerFraming`.
 *
 * Ordering guarantees for the sink: messages in the order their last byte was seen;
 * exchangeResolved exactly once per exchange, after message() for the message that
 * resolved it (a reply, or the call whose arrival evicted an older one), and for
 * calls given up by time, before the message whose timestamp passed the timeout.
 * An exchange may still gain retransmits and issues after it was resolved (a late
 * retransmission or a duplicate reply points at it).
 */
import type { Limits } from "../capture/limits.js";
import {
  BufferChunk, type Direction, type FrameIssue, type FrameIssueCode, type TcpChunk, type TcpClose, type TcpConnection,
  type TransportSink, type UdpDatagram,
} from "../capture/transport.js";
import type { Issue, IssueCode } from "./malformed.js";
import { BufferBudget, RecordMarker, type MarkerIssueCode, type RecordHandler } from "./record-marking.js";
import { headerOrMalformedAt, RPC_VERSION } from "./rpc-header.js";
import { Malformed } from "./malformed.js";
import {
  checkRecordStart, isStartTlsVerifier, isWellKnownRpcPort, peekMsgType, peekXid, udpCallPlausible, udpReplyPlausible,
} from "./rpc-heuristics.js";
import { addIssue, NO_ISSUES, type Exchange, type LibvirtExchange, type LibvirtMessage, type RpcMessage } from "./rpc-types.js";
import { LearnedPorts, portQueryOf, portsInReply, PORTMAPPER_PROGRAM, type LearnedPort, type PortQuery } from "./learned-ports.js";
import { XidMatcher } from "./xid-matching.js";

export interface RpcSink {
  /**
   * Every RPC message, in the order its last byte was seen (frame order). record =
   * the RPC message bytes (no record marks), valid only during the call: the whole
   * message, or less when it was not all captured (truncatedAt says where the loss
   * is) or when the pipeline keeps only a prefix of records (PipelineOptions.recordPrefix).
   */
  message(msg: RpcMessage, record: Uint8Array, truncatedAt: number | null): void;
  /**
   * When given, called instead of message(): the same record as [start, end) of `data`,
   * where it lies (no view is made for it), valid only during the call.
   */
  messageAt?(msg: RpcMessage, data: Uint8Array, start: number, end: number, truncatedAt: number | null): void;
  /** An exchange is final: its reply arrived, or its call was evicted / timed out / left unanswered at finish. Called exactly once per exchange, after message() for the message that resolved it. */
  exchangeResolved(ex: Exchange): void;
  /** Stream-level anomalies not tied to one message (gap, resync, record-too-long…) and frame issues passed through from capture. */
  streamIssue(e: StreamIssue): void;
  /** Every libvirt message (when the libvirt framing is registered), in the same order as message(). `bytes` = the whole message, length word included, valid only during the call. */
  libvirtMessage?(msg: LibvirtMessage, bytes: Uint8Array, truncatedAt: number | null): void;
  /** A libvirt call/reply pair is final (reply seen, or call evicted / left unanswered); once per exchange, after libvirtMessage() for the message that resolved it. */
  libvirtExchangeResolved?(ex: LibvirtExchange): void;
}

export interface StreamIssue {
  frame: number;
  connId: number | null;
  dir: 0 | 1 | null;
  code: IssueCode | FrameIssueCode;
  detail: string;
  bytes?: number;
}

// ── Pluggable per-connection framing ──────────────────────────────────────────

/**
 * - "claim": mine, and a message starts at the first byte probed.
 * - "claim-unaligned": mine, but the bytes start inside a message (the handler resynchronises).
 * - "reject": not mine. - "more": cannot tell yet; ask again with more bytes.
 */
export type ProbeVerdict = "claim" | "claim-unaligned" | "reject" | "more";

export interface ProbeInput {
  readonly conn: TcpConnection;
  readonly dir: Direction;
  /** The first bytes of the direction (or, midstream, of a chunk). A view: do not keep. */
  readonly bytes: Uint8Array;
  /** True when the bytes do not start at the beginning of the direction's stream. */
  readonly midstream: boolean;
  /** False when bytes are known to be missing right after these (snaplen): "more" will not come. */
  readonly complete: boolean;
}

export interface StreamHandler {
  /** Every chunk of both directions from the claim on (the probed bytes first). */
  data(chunk: TcpChunk): void;
  close(close: TcpClose): void;
}

export interface FramingContext {
  readonly limits: Limits;
  readonly sink: RpcSink;
  /** Report a stream-level issue through the pipeline (counted there). */
  streamIssue(e: StreamIssue): void;
  /** The next message sequence number (RpcMessage.seq is shared by all framings). */
  nextSeq(): number;
}

export interface StreamFraming {
  readonly name: string;
  probe(input: ProbeInput): ProbeVerdict;
  /** Called once per connection the probe claimed; the handler then gets all its chunks. */
  open(conn: TcpConnection, ctx: FramingContext): StreamHandler;
}

// ── Counters ──────────────────────────────────────────────────────────────────

export interface RpcCounts {
  frames: number;
  /** Frames from which nothing reached an RPC dissector (not RPC, pure ACKs, frame issues). */
  notRpcFrames: number;
  messages: number;
  calls: number;
  replies: number;
  malformed: number;
  /** Messages not captured completely (snaplen, loss inside a record, end of stream). */
  truncated: number;
  exchanges: number;
  answered: number;
  /** Calls whose exchange ended without a reply (unanswered + evicted). */
  unmatchedCalls: number;
  unanswered: number;
  evicted: number;
  orphanReplies: number;
  retransmissions: number;
  retransmitMismatches: number;
  duplicateReplies: number;
  /** TCP connections claimed by a framing (ONC-RPC record marking or a registered one). */
  rpcConnections: number;
  /** TCP connections that closed without being claimed. */
  notRpcConnections: number;
  /** Chunks of RPC connections that came after missing bytes. */
  tcpGaps: number;
  gapBytes: number;
  resyncs: number;
  resyncBytes: number;
  recordsTooLong: number;
  tooLongBytes: number;
  zeroLengthFragments: number;
  udpNotRpc: number;
  encryptedBytes: number;
  frameIssues: number;
}

// ── The pipeline ──────────────────────────────────────────────────────────────

/** Slots of the recent-connection cache in front of the connection map (a power of two). */
const RECENT_CONN_SLOTS = 256;
/** Bytes of a direction's start kept while a probe says "more". */
const PROBE_MAX_BYTES = 4096;
/** Chunk starts tried on a connection caught midstream before it is declared not RPC. */
const MIDSTREAM_PROBES = 32;

interface HeldChunk {
  readonly frame: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  readonly gapBefore: number;
  readonly midstream: boolean;
  readonly truncatedAfter: number;
}

interface DirProbe {
  /** Still at the true beginning of the direction (nothing skipped or lost). */
  atStart: boolean;
  seen: boolean;
  held: HeldChunk[];
  heldBytes: number;
  /** Bytes dropped before the connection was classified. */
  dropped: number;
  droppedFrame: number;
}

interface ConnState {
  readonly conn: TcpConnection;
  mode: "probing" | "claimed" | "not-rpc";
  handler: StreamHandler | null;
  readonly dirs: [DirProbe, DirProbe];
  /** Per direction: the first chunk handed to the handler must say midstream (bytes were dropped). */
  forceMidstream: [boolean, boolean];
  probesLeft: number;
  lastFrame: number;
}

function newDirProbe(): DirProbe {
  return { atStart: true, seen: false, held: [], heldBytes: 0, dropped: 0, droppedFrame: 0 };
}

export interface PipelineOptions {
  /**
   * Keep only this many bytes of each TCP record that spans segments, for consumers
   * that read headers (and a status word) but no bodies: the rest is counted, not
   * copied. Records on the portmapper port are always kept whole (their ports are learned).
   */
  readonly recordPrefix?: number;
}

export class RpcPipeline implements TransportSink {
  private readonly matcher: XidMatcher;
  private readonly framings: StreamFraming[] = [];
  private readonly onc: OncRpcFraming;
  private readonly conns = new Map<number, ConnState>();
  /** The state last found in each slot (by connection id): a chunk usually finds it here, before the map. */
  private readonly recentConns: (ConnState | null)[] = new Array<ConnState | null>(RECENT_CONN_SLOTS).fill(null);
  private readonly budget: BufferBudget;
  private readonly ctx: FramingContext;
  private seq = 0;
  private frameHadRpc = false;
  /** Ports handed out by portmapper/rpcbind replies: RPC ports from then on, as the well-known ones. */
  private readonly learned = new LearnedPorts();
  /** Portmapper calls waiting for the reply that will say which ports to learn. */
  private readonly portQueries = new WeakMap<Exchange, PortQuery>();
  private lastFrame = 0;
  private readonly resolvedToSink = (ex: Exchange): void => this.sink.exchangeResolved(ex);
  private readonly c: RpcCounts = {
    frames: 0, notRpcFrames: 0, messages: 0, calls: 0, replies: 0, malformed: 0, truncated: 0,
    exchanges: 0, answered: 0, unmatchedCalls: 0, unanswered: 0, evicted: 0, orphanReplies: 0,
    retransmissions: 0, retransmitMismatches: 0, duplicateReplies: 0, rpcConnections: 0, notRpcConnections: 0,
    tcpGaps: 0, gapBytes: 0, resyncs: 0, resyncBytes: 0, recordsTooLong: 0, tooLongBytes: 0,
    zeroLengthFragments: 0, udpNotRpc: 0, encryptedBytes: 0, frameIssues: 0,
  };

  /** See PipelineOptions.recordPrefix. */
  readonly recordPrefix: number;

  constructor(readonly limits: Limits, private readonly sink: RpcSink, options: PipelineOptions = {}) {
    this.recordPrefix = Math.max(0, options.recordPrefix ?? Number.MAX_SAFE_INTEGER);
    this.matcher = new XidMatcher(limits);
    // Record buffers over all connections share the capture layer's total buffering limit.
    this.budget = new BufferBudget(limits.maxTcpBufferedTotal);
    this.onc = new OncRpcFraming(this);
    const self = this;
    this.ctx = {
      limits,
      sink,
      streamIssue(e: StreamIssue) {
        self.streamIssue(e);
      },
      nextSeq() {
        return self.seq++;
      },
    };
  }

  /** Add a framing that is asked before ONC-RPC record marking (later registrations are asked later). */
  registerFraming(framing: StreamFraming): void {
    this.framings.push(framing);
  }

  counts(): RpcCounts {
    const m = this.matcher.counts;
    return {
      ...this.c,
      exchanges: m.exchanges,
      answered: m.answered,
      unanswered: m.unanswered,
      evicted: m.evicted,
      unmatchedCalls: m.unanswered + m.evicted,
      orphanReplies: m.orphanReplies,
      retransmissions: m.retransmissions,
      retransmitMismatches: m.retransmitMismatches,
      duplicateReplies: m.duplicateReplies,
    };
  }

  /** Ports learned so far from portmapper GETPORT / DUMP and rpcbind GETADDR / GETVERSADDR / GETADDRLIST / DUMP replies. */
  learnedPorts(): LearnedPort[] {
    return this.learned.list();
  }

  /** A well-known RPC port, or one a portmapper reply handed out for this transport. */
  isRpcPort(transport: "tcp" | "udp", port: number): boolean {
    return isWellKnownRpcPort(port) || this.learned.has(transport, port);
  }

  /**
   * Capture time has reached (tsSec, tsNsec) though no packet came (a live capture's
   * clock tick): calls waiting longer than replyTimeoutSeconds are given up now.
   */
  advanceTime(tsSec: number, tsNsec: number): void {
    this.advance(tsSec, tsNsec);
  }

  // ── TransportSink ──

  udp(d: UdpDatagram): void {
    this.lastFrame = d.frame;
    this.advance(d.tsSec, d.tsNsec);
    const payload = d.payload;
    const type = peekMsgType(payload);
    let accept = false;
    if (type === 0) {
      accept = udpCallPlausible(payload, d.missingBytes, this.isRpcPort("udp", d.sport) || this.isRpcPort("udp", d.dport));
    } else if (type === 1) {
      // A reply is recognised by its call; or, unseen call, by coming from a well-known RPC port.
      accept = this.matcher.expectsUdpReply(d.src, d.sport, d.dst, d.dport, peekXid(payload)) ||
        (this.isRpcPort("udp", d.sport) && udpReplyPlausible(payload, d.missingBytes));
    }
    if (!accept) {
      this.c.udpNotRpc++;
      return;
    }
    this.frameHadRpc = true;
    let frames: number[];
    if (d.fragmentFrames.length > 0) {
      frames = d.fragmentFrames.slice();
      if (frames[frames.length - 1] !== d.frame && !frames.includes(d.frame)) frames.push(d.frame);
    } else {
      frames = [d.frame];
    }
    this.handleMessage("udp", null, d.src, d.dst, d.sport, d.dport, d.frame, frames, d.tsSec, d.tsNsec,
      payload, 0, payload.length, payload.length + d.missingBytes, d.missingBytes > 0 ? payload.length : null);
  }

  tcpData(chunk: TcpChunk): void {
    this.lastFrame = chunk.frame;
    this.advance(chunk.tsSec, chunk.tsNsec);
    const id = chunk.conn.id;
    const slot = id & (RECENT_CONN_SLOTS - 1);
    let st: ConnState | null = this.recentConns[slot]!;
    if (st === null || st.conn.id !== id) {
      st = this.conns.get(id) ?? null;
      if (st === null) {
        st = {
          conn: chunk.conn, mode: "probing", handler: null, dirs: [newDirProbe(), newDirProbe()],
          forceMidstream: [false, false], probesLeft: MIDSTREAM_PROBES, lastFrame: chunk.frame,
        };
        this.conns.set(id, st);
      }
      this.recentConns[slot] = st;
    }
    st.lastFrame = chunk.frame;
    if (st.mode === "claimed") {
      this.forward(st, chunk);
      return;
    }
    if (st.mode === "not-rpc") return;
    this.probe(st, chunk);
  }

  tcpClose(close: TcpClose): void {
    this.lastFrame = Math.max(this.lastFrame, close.frame);
    const st = this.conns.get(close.conn.id);
    if (!st) return;
    this.conns.delete(close.conn.id);
    const slot = close.conn.id & (RECENT_CONN_SLOTS - 1);
    if (this.recentConns[slot] === st) this.recentConns[slot] = null;
    if (st.mode === "claimed") {
      st.handler!.close(close);
      return;
    }
    // Rejected, or still undecided (bytes held for a probe are let go): not RPC.
    this.c.notRpcConnections++;
  }

  frameIssue(issue: FrameIssue): void {
    this.c.frameIssues++;
    this.sink.streamIssue({ frame: issue.frame, connId: null, dir: null, code: issue.code, detail: issue.detail });
  }

  frameDone(frame: number, carried: boolean): void {
    this.c.frames++;
    this.lastFrame = Math.max(this.lastFrame, frame);
    if (!carried || !this.frameHadRpc) this.c.notRpcFrames++;
    this.frameHadRpc = false;
  }

  /** End of input: close connections still open, give up calls still waiting. */
  finish(): void {
    for (const st of [...this.conns.values()]) {
      this.tcpClose({ conn: st.conn, frame: Math.max(st.lastFrame, this.lastFrame), reason: "end", undelivered: [0, 0] });
    }
    this.matcher.finish();
    this.flushResolved();
  }

  // ── Internals shared with the ONC-RPC framing ──

  /** @internal */
  streamIssue(e: StreamIssue): void {
    this.sink.streamIssue(e);
  }

  /** @internal Count an issue from a record marker and pass it on. */
  markerIssue(conn: TcpConnection, dir: Direction, code: MarkerIssueCode, frame: number, detail: string, bytes: number): void {
    switch (code) {
      case "resync":
        this.c.resyncBytes += bytes;
        break;
      case "record-too-long":
        this.c.recordsTooLong++;
        this.c.tooLongBytes += bytes;
        break;
      case "zero-length-fragment":
        this.c.zeroLengthFragments++;
        break;
      default:
        break;
    }
    this.sink.streamIssue({ frame, connId: conn.id, dir, code, detail, bytes });
  }

  /** @internal */
  countEncrypted(bytes: number): void {
    this.c.encryptedBytes += bytes;
  }

  /** @internal */
  get recordBudget(): BufferBudget {
    return this.budget;
  }

  /** @internal Decode, match and emit one RPC message, whose captured bytes are [start, end) of `data`. */
  handleMessage(
    transport: "tcp" | "udp", connId: number | null, src: string, dst: string, sport: number, dport: number,
    frame: number, frames: number[], tsSec: number, tsNsec: number, data: Uint8Array, start: number, end: number,
    declaredLength: number, truncatedAt: number | null,
  ): RpcMessage {
    const decoded = headerOrMalformedAt(data, start, end, declaredLength);
    const ok = !(decoded instanceof Malformed);
    const msg: RpcMessage = {
      seq: this.seq++, protocol: "onc-rpc", frame, frames, tsSec, tsNsec, transport, connId,
      src, dst, sport, dport, length: declaredLength, header: ok ? decoded : null, issues: NO_ISSUES, exchange: null,
    };
    this.c.messages++;
    if (truncatedAt !== null) this.c.truncated++;
    if (!ok) {
      this.c.malformed++;
      addIssue(msg, { code: "malformed", detail: decoded.message, offset: decoded.offset });
    } else {
      if (truncatedAt !== null) {
        addIssue(msg, { code: "truncated", detail: `only ${truncatedAt} of ${declaredLength} bytes captured`, offset: truncatedAt });
      }
      const h = decoded;
      if (h.kind === "call") {
        this.c.calls++;
        if (h.rpcvers !== RPC_VERSION) {
          addIssue(msg, {
            code: "malformed", offset: 8,
            detail: `rpcvers ${h.rpcvers}: only version 2 is defined (RFC 5531 §9); the rest was read with the version 2 layout`,
          });
        }
        this.matcher.call(msg, h);
        if (h.prog === PORTMAPPER_PROGRAM && msg.exchange?.call === msg) {
          const query = portQueryOf(h, data.subarray(start, end));
          if (query) this.portQueries.set(msg.exchange, query);
        }
      } else {
        this.c.replies++;
        this.matcher.reply(msg, h);
        // Queries are kept for portmapper calls only: other replies skip the WeakMap lookup.
        const callHeader = msg.exchange?.call?.header;
        const query = callHeader?.kind === "call" && callHeader.prog === PORTMAPPER_PROGRAM ? this.portQueries.get(msg.exchange!) : undefined;
        if (query) {
          this.portQueries.delete(msg.exchange!);
          for (const { mask, port } of portsInReply(query, h, data.subarray(start, end))) this.learned.add(mask, port);
        }
      }
    }
    if (this.sink.messageAt) this.sink.messageAt(msg, data, start, end, truncatedAt);
    else this.sink.message(msg, data.subarray(start, end), truncatedAt);
    this.flushResolved();
    return msg;
  }

  private advance(tsSec: number, tsNsec: number): void {
    if (this.matcher.pendingCount > 0) this.matcher.advance(tsSec, tsNsec);
    this.flushResolved();
  }

  private flushResolved(): void {
    this.matcher.drainResolved(this.resolvedToSink);
  }

  private forward(st: ConnState, chunk: TcpChunk): void {
    this.frameHadRpc = true;
    if (chunk.gapBefore > 0) {
      this.c.tcpGaps++;
      this.c.gapBytes += chunk.gapBefore;
    }
    if (st.forceMidstream[chunk.dir]) {
      st.forceMidstream[chunk.dir] = false;
      const dropped = st.dirs[chunk.dir].dropped;
      if (dropped > 0) {
        this.c.resyncBytes += dropped;
        this.sink.streamIssue({
          frame: st.dirs[chunk.dir].droppedFrame, connId: st.conn.id, dir: chunk.dir, code: "resync",
          detail: `${dropped} bytes skipped before the connection was recognised`, bytes: dropped,
        });
        st.dirs[chunk.dir].dropped = 0;
      }
      st.handler!.data(chunk.midstream ? chunk : withFlags(chunk, true, chunk.gapBefore));
      return;
    }
    st.handler!.data(chunk);
  }

  private probe(st: ConnState, chunk: TcpChunk): void {
    const d = st.dirs[chunk.dir];
    if (!d.seen) {
      d.seen = true;
      d.atStart = !chunk.midstream && chunk.gapBefore === 0;
    } else if (chunk.gapBefore > 0) {
      d.atStart = false;
      this.dropHeld(d);
    }
    // The bytes to probe: what is held for this direction, then this chunk.
    let bytes = chunk.bytes;
    if (d.heldBytes > 0) {
      const room = Math.max(0, PROBE_MAX_BYTES - d.heldBytes);
      const take = Math.min(room, chunk.bytes.length);
      bytes = new Uint8Array(d.heldBytes + take);
      let at = 0;
      for (const h of d.held) {
        bytes.set(h.bytes, at);
        at += h.bytes.length;
      }
      bytes.set(chunk.bytes.subarray(0, take), at);
    }
    const input: ProbeInput = {
      conn: st.conn, dir: chunk.dir, bytes, midstream: !d.atStart, complete: chunk.truncatedAfter === 0,
    };
    let verdict: ProbeVerdict = "reject";
    let claimer: StreamFraming | null = null;
    let waiting = false;
    for (const f of this.framings) {
      const v = f.probe(input);
      if (v === "more") waiting = true;
      else if (v !== "reject" && !waiting) {
        verdict = v;
        claimer = f;
        break;
      }
    }
    if (!claimer && !waiting) {
      const v = this.onc.probe(input);
      if (v === "more") waiting = true;
      else if (v !== "reject") {
        verdict = v;
        claimer = this.onc;
      }
    }
    if (!claimer && waiting && bytes.length < PROBE_MAX_BYTES && chunk.truncatedAfter === 0) {
      d.held.push({
        frame: chunk.frame, tsSec: chunk.tsSec, tsNsec: chunk.tsNsec, bytes: chunk.bytes.slice(),
        gapBefore: chunk.gapBefore, midstream: chunk.midstream, truncatedAfter: chunk.truncatedAfter,
      });
      d.heldBytes += chunk.bytes.length;
      return;
    }
    if (claimer) {
      this.claim(st, claimer, chunk, verdict === "claim");
      return;
    }
    // Rejected. At the true start of a direction that settles it; midstream, try a later chunk start.
    if (d.atStart) {
      this.notRpc(st);
      return;
    }
    this.dropHeld(d);
    d.dropped += chunk.bytes.length;
    d.droppedFrame = d.droppedFrame || chunk.frame;
    if (--st.probesLeft <= 0) this.notRpc(st);
  }

  private dropHeld(d: DirProbe): void {
    if (d.heldBytes === 0) return;
    d.dropped += d.heldBytes;
    d.droppedFrame = d.droppedFrame || d.held[0]!.frame;
    d.held = [];
    d.heldBytes = 0;
  }

  private notRpc(st: ConnState): void {
    st.mode = "not-rpc";
    st.dirs[0].held = [];
    st.dirs[1].held = [];
    st.dirs[0].heldBytes = 0;
    st.dirs[1].heldBytes = 0;
  }

  private claim(st: ConnState, framing: StreamFraming, chunk: TcpChunk, aligned: boolean): void {
    st.mode = "claimed";
    this.c.rpcConnections++;
    st.handler = framing.open(st.conn, this.ctx);
    const dir = chunk.dir;
    const d = st.dirs[dir];
    // Claiming direction: what was dropped before is reported; then the held bytes and this
    // chunk, starting in step when the probe found a message start at the first byte.
    this.reportDropped(st, dir);
    const held = d.held;
    d.held = [];
    d.heldBytes = 0;
    let first = true;
    for (const h of held) {
      this.forward(st, this.rebuild(st.conn, dir, h, first ? !aligned : h.midstream, first ? 0 : h.gapBefore));
      first = false;
    }
    if (first) this.forward(st, chunk.midstream === !aligned && chunk.gapBefore === 0 ? chunk : withFlags(chunk, !aligned, 0));
    else this.forward(st, chunk);

    // The other direction: replay what it held from its start; if it lost bytes, it starts midstream.
    const o: Direction = dir === 0 ? 1 : 0;
    const od = st.dirs[o];
    const oheld = od.held;
    od.held = [];
    od.heldBytes = 0;
    const lost = od.dropped > 0 || (od.seen && !od.atStart);
    if (oheld.length === 0) {
      if (lost) st.forceMidstream[o] = true;
      return;
    }
    this.reportDropped(st, o);
    first = true;
    for (const h of oheld) {
      this.forward(st, this.rebuild(st.conn, o, h, first ? lost || h.midstream : h.midstream, h.gapBefore));
      first = false;
    }
  }

  private rebuild(conn: TcpConnection, dir: Direction, h: HeldChunk, midstream: boolean, gapBefore: number): TcpChunk {
    return {
      conn, dir, frame: h.frame, tsSec: h.tsSec, tsNsec: h.tsNsec, bytes: h.bytes,
      gapBefore, midstream, truncatedAfter: h.truncatedAfter,
    };
  }

  private reportDropped(st: ConnState, dir: Direction): void {
    const d = st.dirs[dir];
    if (d.dropped === 0) return;
    this.c.resyncBytes += d.dropped;
    this.sink.streamIssue({
      frame: d.droppedFrame, connId: st.conn.id, dir, code: "resync",
      detail: `${d.dropped} bytes skipped before the connection was recognised`, bytes: d.dropped,
    });
    d.dropped = 0;
  }
}

/** The chunk with other flags; a BufferChunk stays one (a spread would drop its `bytes`). */
function withFlags(chunk: TcpChunk, midstream: boolean, gapBefore: number): TcpChunk {
  if (chunk instanceof BufferChunk) return chunk.withFlags(midstream, gapBefore);
  return { ...chunk, midstream, gapBefore };
}

// ── ONC-RPC over a byte stream ────────────────────────────────────────────────

/** rpcbind / portmapper (RFC 1833). */
const PORTMAPPER_PORT = 111;

class OncRpcFraming implements StreamFraming {
  readonly name = "onc-rpc";
  constructor(private readonly pipeline: RpcPipeline) {}

  probe(input: ProbeInput): ProbeVerdict {
    const { conn, bytes, midstream } = input;
    const wellKnown = this.pipeline.isRpcPort("tcp", conn.aPort) || this.pipeline.isRpcPort("tcp", conn.bPort);
    const v = checkRecordStart(bytes, 0, bytes.length, this.pipeline.limits.maxRecordBytes, !wellKnown);
    if (v === "yes") return "claim";
    // On an RPC port a connection caught midstream is RPC all the same: resynchronise inside it.
    if (midstream && wellKnown) return "claim-unaligned";
    if (v === "more") {
      if (input.complete) return "more";
      return wellKnown ? "claim" : "reject";
    }
    return "reject";
  }

  open(conn: TcpConnection): StreamHandler {
    return new OncRpcStream(this.pipeline, conn);
  }
}

class OncRpcStream implements StreamHandler {
  private readonly markers: [RecordMarker, RecordMarker];
  private encrypted = false;
  private readonly encryptedBytes: [number, number] = [0, 0];
  private encryptedFrom = 0;

  constructor(private readonly pipeline: RpcPipeline, private readonly conn: TcpConnection) {
    const limits = pipeline.limits;
    const strict = !(pipeline.isRpcPort("tcp", conn.aPort) || pipeline.isRpcPort("tcp", conn.bPort));
    const max = limits.maxRecordBytes;
    // Used only to resynchronise after a gap. On RPC ports the check is lenient (any
    // rpcvers, so a server's RPC_MISMATCH can pair with its call), but a resync that
    // lands on a "call" of another version is almost surely a phantom inside data,
    // and its bogus length would swallow the real records after it.
    const check = (b: Uint8Array, off: number, end: number) => {
      const v = checkRecordStart(b, off, end, max, strict);
      if (v !== "yes" || strict || off + 16 > end) return v;
      const word = (at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
      return word(off + 8) === 0 && word(off + 12) !== 2 ? "no" : v;
    };
    // Portmapper replies are read whole (the ports they hand out are learned).
    const portmapper = conn.aPort === PORTMAPPER_PORT || conn.bPort === PORTMAPPER_PORT;
    const keep = portmapper ? Number.MAX_SAFE_INTEGER : pipeline.recordPrefix;
    this.markers = [
      new RecordMarker(limits, this.handlerFor(0), check, pipeline.recordBudget, keep),
      new RecordMarker(limits, this.handlerFor(1), check, pipeline.recordBudget, keep),
    ];
  }

  private handlerFor(dir: Direction): RecordHandler {
    const conn = this.conn;
    const pipeline = this.pipeline;
    const src = dir === 0 ? conn.aAddr : conn.bAddr;
    const dst = dir === 0 ? conn.bAddr : conn.aAddr;
    const sport = dir === 0 ? conn.aPort : conn.bPort;
    const dport = dir === 0 ? conn.bPort : conn.aPort;
    return {
      record: (data, start, end, length, truncatedAt, _elided, _fragments, frames, frame, tsSec, tsNsec) => {
        const msg = pipeline.handleMessage("tcp", conn.id, src, dst, sport, dport, frame, frames,
          tsSec, tsNsec, data, start, end, length, truncatedAt);
        this.afterMessage(msg, data, start, end);
      },
      issue: (code, frame, detail, bytes) => {
        pipeline.markerIssue(conn, dir, code, frame, detail, bytes);
      },
    };
  }

  /** RFC 9289 §4.1: a NULL call with AUTH_TLS answered by a "STARTTLS" verifier switches the connection to TLS. */
  private afterMessage(msg: RpcMessage, data: Uint8Array, start: number, end: number): void {
    const h = msg.header;
    if (!h || h.kind !== "reply" || h.status !== "SUCCESS" || !h.verf || h.verf.kind !== "none" || h.verf.length !== 8) return;
    const call = msg.exchange?.call?.header;
    if (!call || call.kind !== "call" || call.cred.kind !== "tls") return;
    if (!isStartTlsVerifier(data, start + h.verf.offset + 8, end)) return;
    this.encrypted = true;
    this.encryptedFrom = msg.frame;
    this.pipeline.streamIssue({
      frame: msg.frame, connId: this.conn.id, dir: null, code: "encrypted",
      detail: "RPC-with-TLS (RFC 9289): the server accepted STARTTLS; the rest of the connection is TLS and not dissected",
    });
  }

  data(chunk: TcpChunk): void {
    if (this.encrypted) {
      const n = chunk.bytes.length + chunk.gapBefore;
      this.encryptedBytes[chunk.dir] += n;
      this.pipeline.countEncrypted(n);
      return;
    }
    this.markers[chunk.dir].push(chunk);
  }

  close(close: TcpClose): void {
    for (const dir of [0, 1] as const) {
      this.markers[dir].close(close.frame, close.reason);
      const undelivered = close.undelivered[dir];
      if (undelivered > 0) {
        this.pipeline.streamIssue({
          frame: close.frame, connId: this.conn.id, dir, code: "gap",
          detail: `${undelivered} bytes were buffered out of order and never delivered (connection ${close.reason})`,
          bytes: undelivered,
        });
      }
      if (this.encryptedBytes[dir] > 0) {
        this.pipeline.streamIssue({
          frame: close.frame, connId: this.conn.id, dir, code: "encrypted",
          detail: `${this.encryptedBytes[dir]} bytes of TLS after STARTTLS (frame ${this.encryptedFrom}) not dissected`,
          bytes: this.encryptedBytes[dir],
        });
      }
    }
  }
}
