/** Test helpers for the capture layer: a sink that records everything, and frame builders. */
import type { Frame } from "../../capture/frame.js";
import { LinkType } from "../../capture/frame.js";
import type { FrameIssue, TcpChunk, TcpClose, TransportSink, UdpDatagram } from "../../capture/transport.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";

export interface RecordedChunk {
  readonly conn: number;
  readonly dir: 0 | 1;
  readonly frame: number;
  /** Copied: the original is only valid during the call. */
  readonly bytes: Uint8Array;
  readonly gapBefore: number;
  readonly midstream: boolean;
  readonly truncatedAfter: number;
  /** The view as delivered (only for zero-copy checks, read during the call). */
  readonly sameBufferAsFrame: boolean;
}

export class RecordingSink implements TransportSink {
  readonly udps: (UdpDatagram & { payloadCopy: Uint8Array })[] = [];
  readonly chunks: RecordedChunk[] = [];
  readonly closes: TcpClose[] = [];
  readonly issues: FrameIssue[] = [];
  readonly done: [number, boolean][] = [];
  currentFrameBytes: Uint8Array | null = null;

  udp(d: UdpDatagram): void {
    this.udps.push({ ...d, payloadCopy: new Uint8Array(d.payload) });
  }
  tcpData(c: TcpChunk): void {
    this.chunks.push({
      conn: c.conn.id,
      dir: c.dir,
      frame: c.frame,
      bytes: new Uint8Array(c.bytes),
      gapBefore: c.gapBefore,
      midstream: c.midstream,
      truncatedAfter: c.truncatedAfter,
      sameBufferAsFrame: this.currentFrameBytes !== null && c.bytes.length > 0 && c.bytes.buffer === this.currentFrameBytes.buffer,
    });
  }
  tcpClose(c: TcpClose): void {
    this.closes.push(c);
  }
  frameIssue(i: FrameIssue): void {
    this.issues.push(i);
  }
  frameDone(frame: number, carried: boolean): void {
    this.done.push([frame, carried]);
  }

  /** The reassembled stream of (conn, dir): bytes concatenated, gaps as counts. */
  stream(conn: number, dir: 0 | 1): { bytes: Uint8Array; gaps: number[] } {
    const parts = this.chunks.filter((c) => c.conn === conn && c.dir === dir);
    const total = parts.reduce((n, c) => n + c.bytes.length, 0);
    const bytes = new Uint8Array(total);
    let pos = 0;
    const gaps: number[] = [];
    for (const c of parts) {
      if (c.gapBefore > 0) gaps.push(c.gapBefore);
      bytes.set(c.bytes, pos);
      pos += c.bytes.length;
    }
    return { bytes, gaps };
  }

  issueCodes(): string[] {
    return this.issues.map((i) => `${i.frame}:${i.code}`);
  }
}

let clock = 1_700_000_000;

/** A frame around `bytes` with the next timestamp (1 ms apart) unless `ts` is given. */
export function frameOf(no: number, bytes: Uint8Array, linkType: number = LinkType.RAW, opts: { tsSec?: number; tsNsec?: number; originalLength?: number } = {}): Frame {
  const tsSec = opts.tsSec ?? clock;
  const tsNsec = opts.tsNsec ?? (no % 1000) * 1_000_000;
  return { no, tsSec, tsNsec, linkType, bytes, originalLength: opts.originalLength ?? bytes.length, fileOffset: 0, interfaceId: 0 };
}

export function resetClock(sec = 1_700_000_000): void {
  clock = sec;
}

/** Runs raw-IP packets (or link frames of `linkType`) through a decoder; returns the sink. */
export function decodeAll(packets: readonly Uint8Array[], options: { limits?: Partial<Limits>; linkType?: number; finish?: boolean; times?: readonly number[] } = {}): RecordingSink {
  const sink = new RecordingSink();
  const decoder = new PacketDecoder(options.limits ? withLimits(options.limits) : DEFAULT_LIMITS, sink);
  packets.forEach((p, i) => {
    const t = options.times?.[i];
    const frame = t === undefined ? frameOf(i + 1, p, options.linkType ?? LinkType.RAW) : frameOf(i + 1, p, options.linkType ?? LinkType.RAW, { tsSec: Math.floor(t), tsNsec: Math.round((t % 1) * 1e9) });
    sink.currentFrameBytes = p;
    decoder.push(frame);
  });
  sink.currentFrameBytes = null;
  if (options.finish ?? true) decoder.finish();
  return sink;
}

export function bytesOf(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Deterministic pseudo-random bytes. */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
