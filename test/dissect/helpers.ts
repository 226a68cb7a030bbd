/** Builders for dissector tests: annotated hex, RPC messages, record marks, transport events. */
import type { TcpChunk, TcpConnection, UdpDatagram } from "../../capture/transport.js";
import type { RpcSink, StreamIssue } from "../../dissect/rpc-pipeline.js";
import type { Exchange, RpcMessage } from "../../dissect/rpc-types.js";

/**
 * Annotated hex: one XDR word per row, `0x00000000 // CALL`. Anything after `//` is a
 * comment; a row may also hold fewer than 8 hex digits (a partial word, for prefixes).
 */
export function hex(table: string): Uint8Array {
  const out: number[] = [];
  for (const rawLine of table.split("\n")) {
    const line = rawLine.replace(/\/\/.*$/, "").trim();
    if (!line) continue;
    for (const tok of line.split(/\s+/)) {
      const digits = tok.replace(/^0x/i, "");
      if (!/^[0-9a-f]*$/i.test(digits) || digits.length % 2 !== 0) throw new Error(`bad hex token ${tok}`);
      for (let i = 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
    }
  }
  return Uint8Array.from(out);
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function opaque(bytes: Uint8Array | number[]): number[] {
  const b = Array.from(bytes);
  const pad = (4 - (b.length & 3)) & 3;
  return [...u32(b.length), ...b, ...new Array<number>(pad).fill(0)];
}

export function ascii(s: string): number[] {
  return Array.from(s, (c) => c.charCodeAt(0));
}

export function authNone(): number[] {
  return [...u32(0), ...u32(0)];
}

export function authSys(machine = "client", uid = 1000, gid = 1000, gids: number[] = [1000]): number[] {
  const body = [...u32(0x5f000001), ...opaque(ascii(machine)), ...u32(uid), ...u32(gid), ...u32(gids.length), ...gids.flatMap(u32)];
  return [...u32(1), ...opaque(body)];
}

export function authGss(gssProc = 0, seq = 1, service = 1, handle: number[] = [1, 2, 3, 4]): number[] {
  const body = [...u32(1), ...u32(gssProc), ...u32(seq), ...u32(service), ...opaque(handle)];
  return [...u32(6), ...opaque(body)];
}

export interface CallSpec {
  xid: number;
  prog?: number;
  vers?: number;
  proc?: number;
  cred?: number[];
  verf?: number[];
  args?: number[];
}

export function call(spec: CallSpec): Uint8Array {
  return Uint8Array.from([
    ...u32(spec.xid), ...u32(0), ...u32(2),
    ...u32(spec.prog ?? 100003), ...u32(spec.vers ?? 3), ...u32(spec.proc ?? 0),
    ...(spec.cred ?? authNone()), ...(spec.verf ?? authNone()), ...(spec.args ?? []),
  ]);
}

export function reply(xid: number, results: number[] = [], acceptStat = 0, verf: number[] = authNone()): Uint8Array {
  return Uint8Array.from([...u32(xid), ...u32(1), ...u32(0), ...verf, ...u32(acceptStat), ...results]);
}

/** One record with a single last fragment (RFC 5531 §11). */
export function record(msg: Uint8Array): Uint8Array {
  return concat(Uint8Array.from(u32((0x8000_0000 | msg.length) >>> 0)), msg);
}

/** One record split into fragments of the given sizes (the rest goes in the last). */
export function fragments(msg: Uint8Array, sizes: number[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    parts.push(Uint8Array.from(u32(size)), msg.subarray(at, at + size));
    at += size;
  }
  parts.push(Uint8Array.from(u32((0x8000_0000 | (msg.length - at)) >>> 0)), msg.subarray(at));
  return concat(...parts);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let nextConnId = 1000;

export function connection(aPort = 800, bPort = 2049, aAddr = "10.0.0.1", bAddr = "10.0.0.2"): TcpConnection {
  return { id: nextConnId++, aAddr, aPort, bAddr, bPort, sawSyn: true };
}

export function chunk(
  conn: TcpConnection, dir: 0 | 1, frame: number, bytes: Uint8Array,
  opts: { gapBefore?: number; midstream?: boolean; truncatedAfter?: number; ts?: number } = {},
): TcpChunk {
  const ts = opts.ts ?? frame;
  return {
    conn, dir, frame, tsSec: Math.floor(ts), tsNsec: Math.round((ts - Math.floor(ts)) * 1e9), bytes,
    gapBefore: opts.gapBefore ?? 0, midstream: opts.midstream ?? false, truncatedAfter: opts.truncatedAfter ?? 0,
  };
}

export function datagram(
  frame: number, src: string, sport: number, dst: string, dport: number, payload: Uint8Array,
  opts: { ts?: number; missingBytes?: number } = {},
): UdpDatagram {
  const ts = opts.ts ?? frame;
  return {
    frame, tsSec: Math.floor(ts), tsNsec: Math.round((ts - Math.floor(ts)) * 1e9), src, dst, sport, dport, payload,
    missingBytes: opts.missingBytes ?? 0, fragmentFrames: [],
  };
}

/** A sink that records everything, checking the ordering promises as it goes. */
export class RecordingSink implements RpcSink {
  readonly messages: RpcMessage[] = [];
  readonly records: Uint8Array[] = [];
  readonly truncated: (number | null)[] = [];
  readonly resolved: Exchange[] = [];
  readonly issues: StreamIssue[] = [];
  readonly events: string[] = [];
  private readonly seenMessages = new Set<RpcMessage>();

  message(msg: RpcMessage, rec: Uint8Array, truncatedAt: number | null): void {
    this.messages.push(msg);
    this.seenMessages.add(msg);
    this.records.push(rec.slice());
    this.truncated.push(truncatedAt);
    this.events.push(`msg ${msg.frame} ${msg.header?.kind ?? "malformed"}`);
  }

  exchangeResolved(ex: Exchange): void {
    if (this.resolved.includes(ex)) throw new Error(`exchange ${ex.id} resolved twice`);
    for (const m of [ex.call, ex.reply]) {
      if (m && !this.seenMessages.has(m)) throw new Error(`exchange ${ex.id} resolved before its message was emitted`);
    }
    this.resolved.push(ex);
    this.events.push(`resolved ${ex.id}`);
  }

  streamIssue(e: StreamIssue): void {
    this.issues.push(e);
    this.events.push(`issue ${e.code}`);
  }

  issueCodes(): string[] {
    return this.issues.map((i) => i.code);
  }
}
