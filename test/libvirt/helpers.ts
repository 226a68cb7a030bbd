/** Builders for libvirt tests: messages, transport events, a recording sink. */
import type { TcpChunk, TcpConnection } from "../../capture/transport.js";
import type { RpcSink, StreamIssue } from "../../dissect/rpc-pipeline.js";
import type { Exchange, LibvirtExchange, LibvirtMessage, RpcMessage } from "../../dissect/rpc-types.js";

export const REMOTE = 0x20008086;
export const KEEPALIVE = 0x6b656570;

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

export function xdrString(s: string): number[] {
  const b = Array.from(s, (c) => c.charCodeAt(0));
  const pad = (4 - (b.length & 3)) & 3;
  return [...u32(b.length), ...b, ...new Array<number>(pad).fill(0)];
}

export interface LvSpec {
  prog?: number;
  vers?: number;
  proc?: number;
  /** 0 CALL, 1 REPLY, 2 MESSAGE, 3 STREAM, 4 CALL_WITH_FDS, 5 REPLY_WITH_FDS, 6 STREAM_HOLE. */
  type?: number;
  serial?: number;
  /** 0 OK, 1 ERROR, 2 CONTINUE. */
  status?: number;
  body?: number[];
  /** Overrides the length word (to build bad ones). */
  length?: number;
}

/** One libvirt message: length word (counting itself), six header words, body. */
export function lv(spec: LvSpec = {}): Uint8Array {
  const body = spec.body ?? [];
  const header = [
    ...u32(spec.prog ?? REMOTE), ...u32(spec.vers ?? 1), ...u32(spec.proc ?? 1), ...u32(spec.type ?? 0),
    ...u32(spec.serial ?? 0), ...u32(spec.status ?? 0),
  ];
  return Uint8Array.from([...u32(spec.length ?? 4 + header.length + body.length), ...header, ...body]);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

let nextConnId = 5000;

export function connection(aPort = 40000, bPort = 16509, aAddr = "127.0.0.1", bAddr = "127.0.0.2"): TcpConnection {
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

/** Records everything and checks the sink's ordering promises for libvirt. */
export class LibvirtSink implements RpcSink {
  readonly rpc: RpcMessage[] = [];
  readonly messages: LibvirtMessage[] = [];
  readonly bytes: Uint8Array[] = [];
  readonly truncated: (number | null)[] = [];
  readonly resolved: LibvirtExchange[] = [];
  readonly issues: StreamIssue[] = [];
  readonly events: string[] = [];

  message(msg: RpcMessage): void {
    this.rpc.push(msg);
    this.events.push(`rpc ${msg.frame}`);
  }

  exchangeResolved(_ex: Exchange): void {}

  streamIssue(e: StreamIssue): void {
    this.issues.push(e);
    this.events.push(`issue ${e.code}`);
  }

  libvirtMessage(msg: LibvirtMessage, bytes: Uint8Array, truncatedAt: number | null): void {
    this.messages.push(msg);
    this.bytes.push(bytes.slice());
    this.truncated.push(truncatedAt);
    this.events.push(`lv ${msg.frame} ${msg.header?.typeName ?? "none"}`);
  }

  libvirtExchangeResolved(ex: LibvirtExchange): void {
    if (this.resolved.includes(ex)) throw new Error(`libvirt exchange ${ex.id} resolved twice`);
    for (const m of [ex.call, ex.reply]) {
      if (m && !this.messages.includes(m)) throw new Error(`libvirt exchange ${ex.id} resolved before its message`);
    }
    this.resolved.push(ex);
    this.events.push(`resolved ${ex.id}`);
  }

  codes(): string[] {
    return this.issues.map((i) => i.code);
  }
}
