/**
 * Building ONC-RPC messages and the captures that carry them (RFC 5531 §9 layouts,
 * §11 record marking), for fuzzers and hostile samples. Plain byte arrays; nothing
 * here reads hostile input.
 */
import { LinkType, type Frame } from "../../capture/frame.js";
import { buildIpUdp, TcpConversation } from "../../capture/packet-builder.js";
import { MemorySink, PcapWriter } from "../../capture/capture-writer.js";

export function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((w, i) => v.setUint32(i * 4, w >>> 0));
  return out;
}

export function xdrOpaque(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ((bytes.length + 3) & ~3));
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

export function xdrString(text: string | Uint8Array): Uint8Array {
  return xdrOpaque(typeof text === "string" ? new TextEncoder().encode(text) : text);
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export const AUTH_NONE = words(0, 0);

/** AUTH_SYS credential (RFC 5531 appendix A) with raw machinename bytes. */
export function authSys(machinename: string | Uint8Array, uid = 0, gid = 0, gids: number[] = []): Uint8Array {
  const body = cat(words(0x5f5e0f00), xdrString(machinename), words(uid, gid, gids.length, ...gids));
  return cat(words(1), xdrOpaque(body));
}

export interface CallOptions {
  readonly cred?: Uint8Array;
  readonly verf?: Uint8Array;
}

export function rpcCall(xid: number, prog: number, vers: number, proc: number, args: Uint8Array = new Uint8Array(0), o: CallOptions = {}): Uint8Array {
  return cat(words(xid, 0, 2, prog, vers, proc), o.cred ?? AUTH_NONE, o.verf ?? AUTH_NONE, args);
}

/** MSG_ACCEPTED reply with accept_stat (0 = SUCCESS) and results. */
export function rpcReply(xid: number, results: Uint8Array = new Uint8Array(0), acceptStat = 0): Uint8Array {
  return cat(words(xid, 1, 0), AUTH_NONE, words(acceptStat), results);
}

/** One record, one fragment (last-fragment bit set). */
export function recordMarked(msg: Uint8Array): Uint8Array {
  return cat(words((0x80000000 | msg.length) >>> 0), msg);
}

export interface Endpoints {
  readonly client: string;
  readonly server: string;
  readonly clientPort: number;
  readonly serverPort: number;
}

export const LOOPBACK: Endpoints = { client: "127.0.0.1", server: "127.0.0.1", clientPort: 800, serverPort: 2049 };

/**
 * Frames of one TCP connection: handshake, then each (side, stream bytes) as one
 * segment, then FIN/FIN/ACK. Raw IP link type, 1 ms apart.
 */
export function tcpFrames(
  e: Endpoints, segments: readonly { readonly side: "client" | "server"; readonly bytes: Uint8Array }[],
  options: { readonly mss?: number; readonly close?: boolean; readonly startSec?: number } = {},
): Uint8Array[] {
  const conv = new TcpConversation({ client: e.client, server: e.server, clientPort: e.clientPort, serverPort: e.serverPort });
  const packets: Uint8Array[] = [...conv.handshake()];
  for (const s of segments) {
    if (options.mss) packets.push(...conv.sendSegmented(s.side, s.bytes, options.mss));
    else packets.push(conv.send(s.side, s.bytes));
  }
  if (options.close ?? true) packets.push(...conv.close());
  return packets;
}

export function udpPacket(e: Endpoints, fromClient: boolean, payload: Uint8Array): Uint8Array {
  return buildIpUdp({
    src: fromClient ? e.client : e.server, dst: fromClient ? e.server : e.client,
    sport: fromClient ? e.clientPort : e.serverPort, dport: fromClient ? e.serverPort : e.clientPort, payload,
  });
}

/** IP packets as frames (raw IP link type), numbered from 1, 1 ms apart. */
export function framesOf(packets: readonly Uint8Array[], startSec = 1_700_000_000, linkType: number = LinkType.RAW): Frame[] {
  return packets.map((bytes, i) => ({
    no: i + 1, tsSec: startSec, tsNsec: i * 1_000_000, linkType, bytes, originalLength: bytes.length,
    fileOffset: 0, interfaceId: 0,
  }));
}

/** IP packets as a pcap file (raw IP), optionally with a snaplen. */
export function pcapOf(packets: readonly Uint8Array[], options: { readonly snaplen?: number; readonly startSec?: number } = {}): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.RAW, ...(options.snaplen ? { snaplen: options.snaplen } : {}) });
  const start = options.startSec ?? 1_700_000_000;
  packets.forEach((bytes, i) => w.writeFrame({ tsSec: start, tsNsec: i * 1_000_000, bytes }));
  w.flush();
  return sink.bytes();
}
