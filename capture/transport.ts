/**
 * What the capture layer hands to the dissectors: UDP datagrams and in-order TCP
 * stream chunks, plus named issues for frames it could not take apart.
 *
 * Every `bytes`/`payload` may be a view into the frame's buffer and is valid only
 * during the sink call; a consumer that keeps bytes must copy them.
 */

export type Transport = "tcp" | "udp";

/** One TCP connection. `a` is the side that sent the SYN, or else the first sender seen. */
export interface TcpConnection {
  /** Unique per capture, in order of first appearance (0, 1, 2 …). */
  readonly id: number;
  readonly aAddr: string;
  readonly aPort: number;
  readonly bAddr: string;
  readonly bPort: number;
  /** Whether the SYN (dir 0) was seen, i.e. the stream starts at its true beginning. */
  readonly sawSyn: boolean;
}

/** 0: from `a` to `b`; 1: from `b` to `a`. */
export type Direction = 0 | 1;

export interface UdpDatagram {
  readonly frame: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly payload: Uint8Array;
  /** Bytes the UDP header declared beyond what was captured (snaplen); 0 when complete. */
  readonly missingBytes: number;
  /** Frames of the IP fragments this datagram was rebuilt from (empty when not fragmented). */
  readonly fragmentFrames: readonly number[];
}

/** Valid during the tcpData call only: the reassembler reuses the object (copy what is kept). */
export interface TcpChunk {
  readonly conn: TcpConnection;
  readonly dir: Direction;
  /** Frame whose arrival made these bytes deliverable (the segment, or the one that filled a hole). */
  readonly frame: number;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  /** Stream bytes known to be missing just before this chunk (loss, limit flush); 0 when contiguous. */
  readonly gapBefore: number;
  /** True on the first chunk of a direction whose start was not seen (capture began mid-stream). */
  readonly midstream: boolean;
  /** Bytes of this segment's payload cut by the snaplen (they follow `bytes` in the stream). */
  readonly truncatedAfter: number;
}

/**
 * A chunk whose bytes are [start, end) of `data` (a frame's or a reader's buffer): the
 * record marker reads them there in place, and `bytes` is a view made when asked for
 * (a view costs a few hundred instructions; most chunks need none).
 */
export class BufferChunk implements TcpChunk {
  constructor(
    readonly conn: TcpConnection,
    readonly dir: Direction,
    readonly frame: number,
    readonly tsSec: number,
    readonly tsNsec: number,
    readonly data: Uint8Array,
    readonly start: number,
    readonly end: number,
    readonly gapBefore: number,
    readonly midstream: boolean,
    readonly truncatedAfter: number,
  ) {}

  get bytes(): Uint8Array {
    return this.data.subarray(this.start, this.end);
  }

  /** The same bytes with other flags (a consumer's own view of where the chunk stands). */
  withFlags(midstream: boolean, gapBefore: number): BufferChunk {
    return new BufferChunk(this.conn, this.dir, this.frame, this.tsSec, this.tsNsec, this.data, this.start, this.end,
      gapBefore, midstream, this.truncatedAfter);
  }
}

export type TcpCloseReason = "fin" | "rst" | "idle" | "evicted" | "end";

export interface TcpClose {
  readonly conn: TcpConnection;
  readonly frame: number;
  readonly reason: TcpCloseReason;
  /** Bytes still buffered out of order (never delivered) when the flow was closed, per direction. */
  readonly undelivered: readonly [number, number];
}

/** Named reasons a frame, or part of one, was not handed on. */
export type FrameIssueCode =
  | "unsupported-link"
  | "not-ip"
  | "malformed-link"
  | "malformed-ip"
  | "malformed-tcp"
  | "malformed-udp"
  | "ip-checksum"
  | "fragment-timeout"
  | "fragment-overlap"
  | "fragment-limit"
  | "tcp-buffer-limit"
  | "flow-evicted"
  | "tcp-retransmission"
  | "tcp-overlap-mismatch"
  | "truncated";

export interface FrameIssue {
  readonly frame: number;
  readonly code: FrameIssueCode;
  readonly detail: string;
  /** Byte offset within the frame where the problem is, when known. */
  readonly offset?: number;
}

export interface TransportSink {
  udp(datagram: UdpDatagram): void;
  tcpData(chunk: TcpChunk): void;
  tcpClose(close: TcpClose): void;
  /** Called for frames (or parts) not handed on, and for notable events such as retransmissions. */
  frameIssue(issue: FrameIssue): void;
  /** Called once per frame after it has been fully processed; `carried` is false when nothing from it reached udp/tcpData. */
  frameDone?(frame: number, carried: boolean): void;
}
