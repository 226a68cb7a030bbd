/**
 * libvirt's RPC protocol as a StreamFraming of the RPC pipeline:
 *
 *   TCP chunk ── probe (port 16509, or a plausible header on any port) ── LibvirtFramer per direction
 *     ── header ── matching (connection, program, serial) ── sink.libvirtMessage / libvirtExchangeResolved
 *
 * TLS (port 16514, or TLS records at the start of libvirt's or an ONC-RPC port)
 * is claimed as well, so an encrypted conversation is shown as one "encrypted"
 * issue with its byte count instead of as garbage the ONC-RPC framing resyncs on.
 *
 * Bodies are not decoded here: like ONC-RPC bodies they are decoded by the
 * consumer (body.ts `decodeLibvirtBody`) with the message bytes handed to the sink.
 */
import type { TcpChunk, TcpClose, TcpConnection, Direction } from "../../capture/transport.js";
import type { Issue } from "../malformed.js";
import type {
  FramingContext, ProbeInput, ProbeVerdict, RpcPipeline, StreamFraming, StreamHandler,
} from "../rpc-pipeline.js";
import type { BufferBudget } from "../record-marking.js";
import { isWellKnownRpcPort } from "../rpc-heuristics.js";
import type { LibvirtMessage } from "../rpc-types.js";
import {
  isKnownLibvirtStatus, isKnownLibvirtType, KeepaliveProc, LIBVIRT_HEADER_BYTES, LIBVIRT_MAX_FDS, LIBVIRT_TCP_PORT,
  LIBVIRT_TLS_PORT, LibvirtProgram, LibvirtStatusCode, LibvirtType,
} from "./constants.js";
import { LibvirtFramer, type FramerIssueCode, type LibvirtFrame } from "./framer.js";
import { checkLibvirtStart, checkTlsRecord, decodeLibvirtHeader } from "./header.js";
import { LibvirtMatcher, type LibvirtMatchCounts } from "./matching.js";

export interface LibvirtOptions {
  /** TCP ports where libvirt is expected besides 16509 (a libvirtd `tcp_port`). */
  readonly ports?: readonly number[];
  /** TCP ports whose connections are TLS besides 16514 (a libvirtd `tls_port`). */
  readonly tlsPorts?: readonly number[];
  /** Recognise libvirt on any port by a plausible first header (default true). */
  readonly heuristic?: boolean;
}

export interface LibvirtCounts extends LibvirtMatchCounts {
  /** Connections claimed as libvirt (plain). */
  connections: number;
  /** Connections claimed as TLS (not dissected). */
  encryptedConnections: number;
  encryptedBytes: number;
  messages: number;
  calls: number;
  replies: number;
  /** MESSAGE type: events and keepalive. */
  events: number;
  keepalives: number;
  streamMessages: number;
  streamHoles: number;
  /** Payload bytes of STREAM messages with status CONTINUE. */
  streamDataBytes: number;
  /** REPLY (and STREAM) messages with status ERROR. */
  errors: number;
  /** Messages with a header problem (too short to hold one, undefined type or status). */
  malformed: number;
  /** Messages not captured completely. */
  truncated: number;
  resyncs: number;
  resyncBytes: number;
  /** Length words over maxLibvirtMessageBytes (or refused by the buffer budget). */
  tooLong: number;
}

/** Bytes of one direction kept while deciding a midstream connection. */
const MIDSTREAM_SEARCH_BYTES = 4096;

export class LibvirtFraming implements StreamFraming {
  readonly name = "libvirt";
  private readonly ports: ReadonlySet<number>;
  private readonly tlsPorts: ReadonlySet<number>;
  private readonly heuristic: boolean;
  private readonly matcher: LibvirtMatcher;
  /** The connection probe() last claimed as TLS (-1: none); the open() that follows a claim reads it. */
  private claimedTls = -1;
  private readonly c = {
    connections: 0, encryptedConnections: 0, encryptedBytes: 0, messages: 0, calls: 0, replies: 0, events: 0,
    keepalives: 0, streamMessages: 0, streamHoles: 0, streamDataBytes: 0, errors: 0, malformed: 0, truncated: 0,
    resyncs: 0, resyncBytes: 0, tooLong: 0,
  };

  constructor(private readonly pipeline: RpcPipeline, options: LibvirtOptions = {}) {
    this.ports = new Set([LIBVIRT_TCP_PORT, ...(options.ports ?? [])]);
    this.tlsPorts = new Set([LIBVIRT_TLS_PORT, ...(options.tlsPorts ?? [])]);
    this.heuristic = options.heuristic ?? true;
    this.matcher = new LibvirtMatcher(pipeline.limits);
  }

  counts(): LibvirtCounts {
    return { ...this.c, ...this.matcher.counts };
  }

  probe(input: ProbeInput): ProbeVerdict {
    const { conn, bytes, midstream } = input;
    this.claimedTls = -1;
    const max = this.pipeline.limits.maxLibvirtMessageBytes;
    const v = checkLibvirtStart(bytes, 0, bytes.length, max);
    const libvirtPort = this.onServerPort(conn, this.ports);
    if (v === "yes" && (libvirtPort || this.heuristic)) return "claim";
    const tlsPort = this.onServerPort(conn, this.tlsPorts);
    // Encrypted: everything on a TLS port; TLS records on libvirt's or an ONC-RPC port (RPC-with-TLS
    // caught after STARTTLS, or a TLS listener on the plain port).
    const tls = checkTlsRecord(bytes, 0, bytes.length, true);
    if (tlsPort || (tls === "yes" && (libvirtPort || isWellKnownRpcPort(conn.aPort) || isWellKnownRpcPort(conn.bPort)))) {
      this.claimedTls = conn.id;
      return "claim";
    }
    if (libvirtPort) {
      if (midstream) return "claim-unaligned";
      if (v === "more") return input.complete ? "more" : "claim";
      return "reject";
    }
    if (!this.heuristic) return "reject";
    if (v === "more") return input.complete ? "more" : "reject";
    if (midstream && findHeader(bytes, max)) return "claim-unaligned";
    return "reject";
  }

  /**
   * Whether the connection's server side uses one of `ports`. With the SYN seen the
   * server is `b`; without it either side may be, but a client's ephemeral port may
   * equal 16509/16514 too, so a well-known ONC-RPC port on the other side wins.
   */
  private onServerPort(conn: TcpConnection, ports: ReadonlySet<number>): boolean {
    if (conn.sawSyn) return ports.has(conn.bPort);
    if (ports.has(conn.aPort)) return !isWellKnownRpcPort(conn.bPort);
    if (ports.has(conn.bPort)) return !isWellKnownRpcPort(conn.aPort);
    return false;
  }

  open(conn: TcpConnection, ctx: FramingContext): StreamHandler {
    if (this.claimedTls === conn.id) {
      this.claimedTls = -1;
      this.c.encryptedConnections++;
      return new EncryptedConnection(this, conn, ctx);
    }
    this.c.connections++;
    return new LibvirtConnection(this, conn, ctx);
  }

  // ── Shared with the connection handlers ──

  /** @internal Message buffers share the pipeline's budget with ONC-RPC record buffers. */
  get budget(): BufferBudget {
    return this.pipeline.recordBudget;
  }

  /** @internal */
  countEncrypted(bytes: number): void {
    this.c.encryptedBytes += bytes;
    this.pipeline.countEncrypted(bytes);
  }

  /** @internal A framer issue: counted, then passed to the sink. */
  framerIssue(ctx: FramingContext, conn: TcpConnection, dir: Direction, code: FramerIssueCode, frame: number, detail: string, bytes: number): void {
    if (code === "resync") {
      this.c.resyncs++;
      this.c.resyncBytes += bytes;
    } else if (code === "record-too-long") {
      this.c.tooLong++;
    }
    ctx.streamIssue({ frame, connId: conn.id, dir, code, detail, bytes });
  }

  /** @internal Header, matching and emission of one framed message. */
  handleFrame(ctx: FramingContext, conn: TcpConnection, dir: Direction, f: LibvirtFrame): void {
    const header = decodeLibvirtHeader(f.bytes);
    const issues: Issue[] = [];
    const msg: LibvirtMessage = {
      seq: ctx.nextSeq(), protocol: "libvirt", frame: f.frame, frames: f.frames, tsSec: f.tsSec, tsNsec: f.tsNsec,
      transport: "tcp", connId: conn.id,
      src: dir === 0 ? conn.aAddr : conn.bAddr, dst: dir === 0 ? conn.bAddr : conn.aAddr,
      sport: dir === 0 ? conn.aPort : conn.bPort, dport: dir === 0 ? conn.bPort : conn.aPort,
      length: f.length, header, issues, exchange: null, stream: null,
    };
    const c = this.c;
    c.messages++;
    if (f.truncatedAt !== null) {
      c.truncated++;
      issues.push({ code: "truncated", detail: `only ${f.truncatedAt} of ${f.length} bytes captured`, offset: f.truncatedAt });
    }
    if (!header) {
      c.malformed++;
      issues.push({ code: "malformed", detail: `fewer than the ${LIBVIRT_HEADER_BYTES} header bytes captured`, offset: f.bytes.length });
    } else {
      this.checkHeader(msg, issues);
      switch (header.type) {
        case LibvirtType.CALL:
        case LibvirtType.CALL_WITH_FDS:
          c.calls++;
          break;
        case LibvirtType.REPLY:
        case LibvirtType.REPLY_WITH_FDS:
          c.replies++;
          break;
        case LibvirtType.MESSAGE:
          c.events++;
          if (header.prog === LibvirtProgram.KEEPALIVE) c.keepalives++;
          break;
        case LibvirtType.STREAM:
          c.streamMessages++;
          if (header.status === LibvirtStatusCode.CONTINUE) c.streamDataBytes += Math.max(0, f.length - header.bodyOffset);
          break;
        case LibvirtType.STREAM_HOLE:
          c.streamMessages++;
          c.streamHoles++;
          break;
        default:
          break;
      }
      if (header.status === LibvirtStatusCode.ERROR) c.errors++;
      this.matcher.message(msg, dir);
    }
    ctx.sink.libvirtMessage?.(msg, f.bytes, f.truncatedAt);
    this.flushResolved(ctx);
  }

  /** @internal */
  connectionClosed(ctx: FramingContext, conn: TcpConnection, frame: number): void {
    this.matcher.closeConnection(conn.id, frame);
    this.flushResolved(ctx);
  }

  private flushResolved(ctx: FramingContext): void {
    const done = this.matcher.takeResolved();
    if (!done) return;
    const sink = ctx.sink;
    if (!sink.libvirtExchangeResolved) return;
    for (const ex of done) sink.libvirtExchangeResolved(ex);
  }

  /** Named problems of a header that was read: undefined values, rules of virnetprotocol.x. */
  private checkHeader(msg: LibvirtMessage, issues: Issue[]): void {
    const h = msg.header!;
    let bad = false;
    if (!isKnownLibvirtType(h.type)) {
      issues.push({ code: "malformed", detail: `type ${h.type} is not a libvirt message type`, offset: 16 });
      bad = true;
    }
    if (!isKnownLibvirtStatus(h.status)) {
      issues.push({ code: "malformed", detail: `status ${h.status} is not a libvirt message status`, offset: 24 });
      bad = true;
    } else if ((h.kind === "call" || h.kind === "message") && h.status !== LibvirtStatusCode.OK) {
      issues.push({ code: "malformed", detail: `a ${h.typeName} must have status OK, not ${h.statusName}`, offset: 24 });
      bad = true;
    } else if (h.kind === "reply" && h.status === LibvirtStatusCode.CONTINUE) {
      issues.push({ code: "malformed", detail: `a ${h.typeName} has status OK or ERROR, not CONTINUE`, offset: 24 });
      bad = true;
    }
    if (h.nfds !== undefined && h.nfds > LIBVIRT_MAX_FDS) {
      issues.push({ code: "malformed", detail: `${h.nfds} file descriptors announced, more than libvirt passes (${LIBVIRT_MAX_FDS})`, offset: 28 });
      bad = true;
    }
    if (h.prog === LibvirtProgram.KEEPALIVE && h.proc !== KeepaliveProc.PING && h.proc !== KeepaliveProc.PONG) {
      issues.push({ code: "malformed", detail: `keepalive procedure ${h.proc} is neither PING (1) nor PONG (2)`, offset: 12 });
      bad = true;
    }
    if (bad) this.c.malformed++;
  }
}

/** A plausible header (followed by another when its end is in the bytes) somewhere in a midstream chunk. */
function findHeader(bytes: Uint8Array, max: number): boolean {
  const n = Math.min(bytes.length, MIDSTREAM_SEARCH_BYTES);
  for (let p = 1; p + LIBVIRT_HEADER_BYTES <= n; p++) {
    if (checkLibvirtStart(bytes, p, n, max) !== "yes") continue;
    const length = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
    const next = p + length;
    if (next + LIBVIRT_HEADER_BYTES > n || checkLibvirtStart(bytes, next, n, max) === "yes") return true;
  }
  return false;
}

class LibvirtConnection implements StreamHandler {
  private readonly framers: [LibvirtFramer, LibvirtFramer];

  constructor(private readonly owner: LibvirtFraming, private readonly conn: TcpConnection, private readonly ctx: FramingContext) {
    const limits = ctx.limits;
    this.framers = [
      new LibvirtFramer(limits, this.handlerFor(0), owner.budget),
      new LibvirtFramer(limits, this.handlerFor(1), owner.budget),
    ];
  }

  private handlerFor(dir: Direction) {
    return {
      message: (f: LibvirtFrame) => this.owner.handleFrame(this.ctx, this.conn, dir, f),
      issue: (code: FramerIssueCode, frame: number, detail: string, bytes: number) =>
        this.owner.framerIssue(this.ctx, this.conn, dir, code, frame, detail, bytes),
    };
  }

  data(chunk: TcpChunk): void {
    this.framers[chunk.dir].push(chunk);
  }

  close(close: TcpClose): void {
    for (const dir of [0, 1] as const) {
      this.framers[dir].close(close.frame, close.reason);
      const undelivered = close.undelivered[dir];
      if (undelivered > 0) {
        this.ctx.streamIssue({
          frame: close.frame, connId: this.conn.id, dir, code: "gap",
          detail: `${undelivered} bytes were buffered out of order and never delivered (connection ${close.reason})`,
          bytes: undelivered,
        });
      }
    }
    this.owner.connectionClosed(this.ctx, this.conn, close.frame);
  }
}

/** A TLS connection: its bytes are counted, and reported once when it closes. */
class EncryptedConnection implements StreamHandler {
  private readonly bytes: [number, number] = [0, 0];
  private firstFrame = 0;

  constructor(private readonly owner: LibvirtFraming, private readonly conn: TcpConnection, private readonly ctx: FramingContext) {}

  data(chunk: TcpChunk): void {
    if (this.firstFrame === 0) this.firstFrame = chunk.frame;
    const n = chunk.bytes.length + chunk.gapBefore;
    this.bytes[chunk.dir] += n;
    this.owner.countEncrypted(n);
  }

  close(close: TcpClose): void {
    const [a, b] = this.bytes;
    const c = this.conn;
    this.ctx.streamIssue({
      frame: close.frame, connId: c.id, dir: null, code: "encrypted",
      detail: `TLS between ${c.aAddr}:${c.aPort} and ${c.bAddr}:${c.bPort} from frame ${this.firstFrame || close.frame}: ${a + b} bytes (${a} and ${b} each way) not dissected`,
      bytes: a + b,
    });
  }
}

/** Adds libvirt's framing to a pipeline (asked before ONC-RPC record marking). */
export function registerLibvirt(pipeline: RpcPipeline, options: LibvirtOptions = {}): LibvirtFraming {
  const framing = new LibvirtFraming(pipeline, options);
  pipeline.registerFraming(framing);
  return framing;
}
