/**
 * Ports learned from portmapper / rpcbind answers (RFC 1833). ONC-RPC services
 * listen wherever rpcbind says, so, as Wireshark does, a port that a portmapper
 * reply hands out is treated as an RPC port from then on, even where the byte
 * heuristic alone would not accept the traffic.
 *
 * The pipeline has no body decoder, so the few fields needed are read here straight
 * from the record bytes. Every read is bounds-checked against the bytes captured;
 * a short or odd body simply teaches nothing. Nothing here throws or recurses.
 */
import type { Transport } from "../capture/transport.js";
import type { RpcCall, RpcReply } from "./rpc-types.js";

export const PORTMAPPER_PROGRAM = 100000;

/** Transport bits of a learned port. */
const TCP_BIT = 1;
const UDP_BIT = 2;
const BOTH = TCP_BIT | UDP_BIT;

/** RFC 1833 §3.1 (v2) and §2.2 (v3, v4) procedure numbers used here. */
const PMAPPROC_GETPORT = 3;
const PMAPPROC_DUMP = 4;
const RPCBPROC_GETADDR = 3;
const RPCBPROC_DUMP = 4;
const RPCBPROC_GETVERSADDR = 9;
const RPCBPROC_GETADDRLIST = 11;

/** IPPROTO numbers in a v2 `mapping.prot`. */
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

/** Longest netid / universal address / protocol string read (RFC 5665 keeps them short). */
const MAX_SHORT_STRING = 255;
/** Owner strings and the like that are skipped, not read. */
const MAX_SKIPPED_STRING = 1024;
/** Entries read from one DUMP or GETADDRLIST answer. */
const MAX_LIST_ENTRIES = 4096;

/** What a portmapper call asked, kept until its reply arrives. */
export interface PortQuery {
  readonly kind: "getport" | "getaddr" | "getaddrlist" | "dump-v2" | "dump-rpcb";
  /** Transport bits the answer's address is for (GETPORT's prot, GETADDR's netid; both when unknown). */
  readonly transports: number;
}

export interface LearnedPort {
  readonly transport: Transport;
  readonly port: number;
}

/** The set of learned ports: two bits per port number, so it never grows. */
export class LearnedPorts {
  private readonly bits = new Uint8Array(65536);
  private size = 0;

  has(transport: Transport, port: number): boolean {
    const b = this.bits[port];
    return b !== undefined && (b & (transport === "tcp" ? TCP_BIT : UDP_BIT)) !== 0;
  }

  /** Adds `port` for the transports in `mask`; returns how many (transport, port) pairs were new. */
  add(mask: number, port: number): number {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return 0;
    const before = this.bits[port]!;
    const after = before | (mask & BOTH);
    if (after === before) return 0;
    this.bits[port] = after;
    const added = (after & ~before & TCP_BIT ? 1 : 0) + (after & ~before & UDP_BIT ? 1 : 0);
    this.size += added;
    return added;
  }

  get count(): number {
    return this.size;
  }

  list(): LearnedPort[] {
    const out: LearnedPort[] = [];
    if (this.size === 0) return out;
    for (let port = 1; port < 65536; port++) {
      const b = this.bits[port]!;
      if (b & TCP_BIT) out.push({ transport: "tcp", port });
      if (b & UDP_BIT) out.push({ transport: "udp", port });
    }
    return out;
  }
}

// ── Bounded XDR reads (return -1 when the bytes end) ──────────────────────────

function word(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** Position after an XDR string/opaque at p (length word, bytes, padding), or -1. */
function skipString(b: Uint8Array, p: number, end: number, max: number): number {
  if (p < 0 || p + 4 > end) return -1;
  const len = word(b, p);
  if (len > max) return -1;
  const next = p + 4 + ((len + 3) & ~3);
  return next <= end ? next : -1;
}

/** The transports a netid ("tcp", "udp", "tcp6", "udp6", …) names; BOTH when it names neither (RFC 5665 §3). */
function transportsOfNetid(b: Uint8Array, p: number, end: number): number {
  if (p + 4 > end) return BOTH;
  const len = word(b, p);
  if (len < 3 || len > MAX_SHORT_STRING || p + 4 + len > end) return BOTH;
  const s = p + 4;
  const c0 = b[s]!, c1 = b[s + 1]!, c2 = b[s + 2]!;
  const suffixOk = len === 3 || (len === 4 && b[s + 3] === 0x36 /* '6' */);
  if (!suffixOk) return BOTH;
  if (c0 === 0x74 && c1 === 0x63 && c2 === 0x70) return TCP_BIT; // "tcp"
  if (c0 === 0x75 && c1 === 0x64 && c2 === 0x70) return UDP_BIT; // "udp"
  return BOTH;
}

/** Transports of an r_nc_proto string ("tcp" / "udp"); 0 for anything else (e.g. a local transport). */
function transportsOfProto(b: Uint8Array, p: number, end: number): number {
  if (p + 4 > end) return 0;
  const len = word(b, p);
  if (len !== 3 || p + 7 > end) return 0;
  const c0 = b[p + 4]!, c1 = b[p + 5]!, c2 = b[p + 6]!;
  if (c0 === 0x74 && c1 === 0x63 && c2 === 0x70) return TCP_BIT;
  if (c0 === 0x75 && c1 === 0x64 && c2 === 0x70) return UDP_BIT;
  return 0;
}

/**
 * The port of a universal address (RFC 5665 §5.2.3.3 for IPv4, §5.2.3.4 for IPv6):
 * the address, then ".p1.p2" with port = p1 * 256 + p2. The string is the XDR string
 * at p. Returns 0 when it is not an IP universal address (e.g. a local socket path).
 */
export function universalAddressPort(b: Uint8Array, p: number, end: number): number {
  if (p + 4 > end) return 0;
  const len = word(b, p);
  if (len < 7 || len > MAX_SHORT_STRING || p + 4 + len > end) return 0;
  const start = p + 4;
  let q = start + len;
  const parts = [0, 0];
  for (let k = 1; k >= 0; k--) {
    let value = 0;
    let digits = 0;
    while (q > start && b[q - 1]! >= 0x30 && b[q - 1]! <= 0x39) {
      if (digits === 3) return 0;
      value += (b[q - 1]! - 0x30) * (digits === 0 ? 1 : digits === 1 ? 10 : 100);
      digits++;
      q--;
    }
    if (digits === 0 || value > 255 || q <= start || b[q - 1] !== 0x2e /* '.' */) return 0;
    parts[k] = value;
    q--;
  }
  // What is left must look like an address: a dotted quad (three more dots) or IPv6 (a colon).
  let dots = 0;
  let colon = false;
  for (let i = start; i < q; i++) {
    const c = b[i]!;
    if (c === 0x2e) dots++;
    else if (c === 0x3a) colon = true;
    else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))) return 0;
  }
  if (!colon && dots !== 3) return 0;
  return parts[0]! * 256 + parts[1]!;
}

// ── Calls and replies ─────────────────────────────────────────────────────────

/**
 * Whether `call` (a portmapper call) is one whose reply hands out ports, and for
 * which transports. `record` is the call's bytes as captured.
 */
export function portQueryOf(call: RpcCall, record: Uint8Array): PortQuery | null {
  if (call.prog !== PORTMAPPER_PROGRAM) return null;
  const b = record;
  const p = call.bodyOffset;
  const end = record.length;
  if (call.vers === 2) {
    if (call.proc === PMAPPROC_DUMP) return { kind: "dump-v2", transports: BOTH };
    if (call.proc !== PMAPPROC_GETPORT) return null;
    // struct mapping { prog, vers, prot, port } (RFC 1833 §3.1)
    if (p + 16 > end) return { kind: "getport", transports: BOTH };
    const prot = word(b, p + 8);
    const transports = prot === IPPROTO_TCP ? TCP_BIT : prot === IPPROTO_UDP ? UDP_BIT : 0;
    return transports === 0 ? null : { kind: "getport", transports };
  }
  if (call.vers === 3 || call.vers === 4) {
    if (call.proc === RPCBPROC_DUMP) return { kind: "dump-rpcb", transports: BOTH };
    if (call.vers === 4 && call.proc === RPCBPROC_GETADDRLIST) return { kind: "getaddrlist", transports: BOTH };
    if (call.proc === RPCBPROC_GETADDR || (call.vers === 4 && call.proc === RPCBPROC_GETVERSADDR)) {
      // struct rpcb { r_prog, r_vers, r_netid, r_addr, r_owner } (RFC 1833 §2.1)
      return { kind: "getaddr", transports: transportsOfNetid(b, p + 8, end) };
    }
  }
  return null;
}

/**
 * The ports a successful reply to `query` hands out. `record` is the reply's bytes
 * as captured; a cut or odd body yields what could be read before the problem.
 */
export function portsInReply(query: PortQuery, reply: RpcReply, record: Uint8Array): { mask: number; port: number }[] {
  const out: { mask: number; port: number }[] = [];
  if (reply.status !== "SUCCESS") return out;
  const b = record;
  const end = record.length;
  let p = reply.bodyOffset;
  switch (query.kind) {
    case "getport": {
      // unsigned int port; 0 means "not registered".
      if (p + 4 <= end) {
        const port = word(b, p);
        if (port > 0 && port <= 65535) out.push({ mask: query.transports, port });
      }
      return out;
    }
    case "getaddr": {
      // string: the universal address; "" means "not registered".
      const port = universalAddressPort(b, p, end);
      if (port > 0) out.push({ mask: query.transports, port });
      return out;
    }
    case "dump-v2": {
      // pmaplist: *next-style list of struct mapping { prog, vers, prot, port } (RFC 1833 §3.1).
      for (let n = 0; n < MAX_LIST_ENTRIES && p + 4 <= end && word(b, p) === 1; n++) {
        p += 4;
        if (p + 16 > end) break;
        const prot = word(b, p + 8);
        const port = word(b, p + 12);
        const mask = prot === IPPROTO_TCP ? TCP_BIT : prot === IPPROTO_UDP ? UDP_BIT : 0;
        if (mask && port > 0 && port <= 65535) out.push({ mask, port });
        p += 16;
      }
      return out;
    }
    case "dump-rpcb": {
      // rpcblist: *next-style list of struct rpcb { r_prog, r_vers, r_netid, r_addr, r_owner }.
      for (let n = 0; n < MAX_LIST_ENTRIES && p + 4 <= end && word(b, p) === 1; n++) {
        p += 4;
        if (p + 8 > end) break;
        const netidAt = p + 8;
        const addrAt = skipString(b, netidAt, end, MAX_SHORT_STRING);
        const ownerAt = skipString(b, addrAt, end, MAX_SHORT_STRING);
        const next = skipString(b, ownerAt, end, MAX_SKIPPED_STRING);
        if (next < 0) break;
        const mask = transportsOfNetid(b, netidAt, end);
        const port = universalAddressPort(b, addrAt, end);
        // A netid that names neither tcp nor udp (e.g. "local") teaches nothing.
        if (mask !== BOTH && port > 0) out.push({ mask, port });
        p = next;
      }
      return out;
    }
    case "getaddrlist": {
      // rpcb_entry_list: *next-style list of struct rpcb_entry { r_maddr, r_nc_netid,
      // r_nc_semantics, r_nc_protofmly, r_nc_proto } (RFC 1833 §2.1).
      for (let n = 0; n < MAX_LIST_ENTRIES && p + 4 <= end && word(b, p) === 1; n++) {
        p += 4;
        const maddrAt = p;
        const netidAt = skipString(b, maddrAt, end, MAX_SHORT_STRING);
        const semanticsAt = skipString(b, netidAt, end, MAX_SHORT_STRING);
        if (semanticsAt < 0 || semanticsAt + 4 > end) break;
        const protoAt = skipString(b, semanticsAt + 4, end, MAX_SHORT_STRING);
        const next = skipString(b, protoAt, end, MAX_SHORT_STRING);
        if (next < 0) break;
        const mask = transportsOfProto(b, protoAt, end);
        const port = universalAddressPort(b, maddrAt, end);
        if (mask && port > 0) out.push({ mask, port });
        p = next;
      }
      return out;
    }
  }
}
