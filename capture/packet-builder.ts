/**
 * Small pure helpers that BUILD packets (for tests, synthetic samples and the
 * benchmark): IPv4/IPv6 + TCP/UDP with correct checksums, link-layer wrappers
 * (Ethernet with 802.1Q/802.1ad tags, Linux SLL and SLL2, BSD NULL/LOOP), IP
 * fragmentation, and a TCP conversation that keeps sequence numbers.
 *
 * Addresses are given as text ("127.0.0.1", "::1"). Nothing here reads packet data
 * from the outside, so these helpers throw on bad arguments.
 */
import { parseIpAddress, parseIpv4, parseIpv6 } from "./ip-address.js";

export const TcpFlags = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20 } as const;

export const EtherType = { IPV4: 0x0800, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, ARP: 0x0806 } as const;

export const IpProtocol = { TCP: 6, UDP: 17, ICMP: 1, ICMPV6: 58 } as const;

export interface TcpSegmentSpec {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack?: number;
  /** TcpFlags bits; default ACK (PSH|ACK when there is a payload). */
  readonly flags?: number;
  readonly window?: number;
  readonly payload?: Uint8Array;
  /** IPv4 identification; default 0. */
  readonly ipId?: number;
  /** TTL / hop limit; default 64. */
  readonly ttl?: number;
}

export interface UdpDatagramSpec {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly payload: Uint8Array;
  readonly ipId?: number;
  readonly ttl?: number;
}

function onesComplementSum(sum: number, bytes: Uint8Array, start: number, end: number): number {
  let s = sum;
  let i = start;
  for (; i + 1 < end; i += 2) s += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  if (i < end) s += (bytes[i] as number) << 8;
  return s;
}

function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** The Internet checksum (RFC 1071) over `bytes`. */
export function internetChecksum(bytes: Uint8Array): number {
  return foldChecksum(onesComplementSum(0, bytes, 0, bytes.length));
}

function transportChecksum(src: Uint8Array, dst: Uint8Array, protocol: number, segment: Uint8Array): number {
  // Pseudo-header: RFC 793 §3.1 (IPv4), RFC 8200 §8.1 (IPv6).
  let sum = onesComplementSum(0, src, 0, src.length);
  sum = onesComplementSum(sum, dst, 0, dst.length);
  sum += protocol + segment.length;
  sum = onesComplementSum(sum, segment, 0, segment.length);
  const c = foldChecksum(sum);
  // UDP: a computed 0 is sent as 0xffff (RFC 768).
  return protocol === IpProtocol.UDP && c === 0 ? 0xffff : c;
}

function tcpSegment(spec: TcpSegmentSpec, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(20 + payload.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, spec.sport);
  v.setUint16(2, spec.dport);
  v.setUint32(4, spec.seq >>> 0);
  v.setUint32(8, (spec.ack ?? 0) >>> 0);
  seg[12] = 5 << 4;
  seg[13] = spec.flags ?? (payload.length > 0 ? TcpFlags.PSH | TcpFlags.ACK : TcpFlags.ACK);
  v.setUint16(14, spec.window ?? 65535);
  seg.set(payload, 20);
  v.setUint16(16, transportChecksum(src, dst, IpProtocol.TCP, seg));
  return seg;
}

function udpSegment(spec: UdpDatagramSpec, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const seg = new Uint8Array(8 + spec.payload.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, spec.sport);
  v.setUint16(2, spec.dport);
  v.setUint16(4, seg.length);
  seg.set(spec.payload, 8);
  v.setUint16(6, transportChecksum(src, dst, IpProtocol.UDP, seg));
  return seg;
}

export interface Ipv4Options {
  readonly id?: number;
  readonly ttl?: number;
  readonly dontFragment?: boolean;
  readonly moreFragments?: boolean;
  /** In bytes (must be a multiple of 8). */
  readonly fragmentOffset?: number;
}

/** An IPv4 packet around `payload` (20-byte header, checksum set). */
export function buildIpv4(src: string | Uint8Array, dst: string | Uint8Array, protocol: number, payload: Uint8Array, options: Ipv4Options = {}): Uint8Array {
  const s = typeof src === "string" ? parseIpv4(src) : src;
  const d = typeof dst === "string" ? parseIpv4(dst) : dst;
  const pkt = new Uint8Array(20 + payload.length);
  const v = new DataView(pkt.buffer);
  pkt[0] = 0x45;
  v.setUint16(2, pkt.length);
  v.setUint16(4, options.id ?? 0);
  const offset = options.fragmentOffset ?? 0;
  if (offset % 8 !== 0) throw new RangeError("IPv4 fragment offset must be a multiple of 8");
  v.setUint16(6, (options.dontFragment ? 0x4000 : 0) | (options.moreFragments ? 0x2000 : 0) | (offset / 8));
  pkt[8] = options.ttl ?? 64;
  pkt[9] = protocol;
  pkt.set(s, 12);
  pkt.set(d, 16);
  v.setUint16(10, internetChecksum(pkt.subarray(0, 20)));
  pkt.set(payload, 20);
  return pkt;
}

/** An IPv6 packet (40-byte header) whose payload starts with `nextHeader`. */
export function buildIpv6(src: string | Uint8Array, dst: string | Uint8Array, nextHeader: number, payload: Uint8Array, hopLimit = 64): Uint8Array {
  const s = typeof src === "string" ? parseIpv6(src) : src;
  const d = typeof dst === "string" ? parseIpv6(dst) : dst;
  const pkt = new Uint8Array(40 + payload.length);
  const v = new DataView(pkt.buffer);
  v.setUint32(0, 0x60000000);
  v.setUint16(4, payload.length);
  pkt[6] = nextHeader;
  pkt[7] = hopLimit;
  pkt.set(s, 8);
  pkt.set(d, 24);
  pkt.set(payload, 40);
  return pkt;
}

export function buildIpv4Tcp(spec: TcpSegmentSpec): Uint8Array {
  const s = parseIpv4(spec.src);
  const d = parseIpv4(spec.dst);
  return buildIpv4(s, d, IpProtocol.TCP, tcpSegment(spec, s, d), { id: spec.ipId ?? 0, ttl: spec.ttl ?? 64, dontFragment: true });
}

export function buildIpv6Tcp(spec: TcpSegmentSpec): Uint8Array {
  const s = parseIpv6(spec.src);
  const d = parseIpv6(spec.dst);
  return buildIpv6(s, d, IpProtocol.TCP, tcpSegment(spec, s, d), spec.ttl ?? 64);
}

export function buildIpv4Udp(spec: UdpDatagramSpec): Uint8Array {
  const s = parseIpv4(spec.src);
  const d = parseIpv4(spec.dst);
  return buildIpv4(s, d, IpProtocol.UDP, udpSegment(spec, s, d), { id: spec.ipId ?? 0, ttl: spec.ttl ?? 64 });
}

export function buildIpv6Udp(spec: UdpDatagramSpec): Uint8Array {
  const s = parseIpv6(spec.src);
  const d = parseIpv6(spec.dst);
  return buildIpv6(s, d, IpProtocol.UDP, udpSegment(spec, s, d), spec.ttl ?? 64);
}

/** IPv4 or IPv6 by the source address's family. */
export function buildIpTcp(spec: TcpSegmentSpec): Uint8Array {
  return spec.src.includes(":") ? buildIpv6Tcp(spec) : buildIpv4Tcp(spec);
}

export function buildIpUdp(spec: UdpDatagramSpec): Uint8Array {
  return spec.src.includes(":") ? buildIpv6Udp(spec) : buildIpv4Udp(spec);
}

// ---------------------------------------------------------------------------
// Link layers

export interface VlanTag {
  /** 0x8100 (802.1Q, the default), 0x88a8 (802.1ad S-tag) or 0x9100. */
  readonly tpid?: number;
  readonly vid: number;
  readonly pcp?: number;
}

export interface EthernetOptions {
  readonly srcMac?: string;
  readonly dstMac?: string;
  /** Tags from the outermost in. */
  readonly vlans?: readonly VlanTag[];
  /** Overrides the EtherType (default from the IP version nibble). */
  readonly etherType?: number;
}

function parseMac(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`not a MAC address: ${text}`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

function etherTypeOf(ipPacket: Uint8Array): number {
  return ((ipPacket[0] ?? 0) >> 4) === 6 ? EtherType.IPV6 : EtherType.IPV4;
}

export function wrapEthernet(payload: Uint8Array, options: EthernetOptions = {}): Uint8Array {
  const vlans = options.vlans ?? [];
  const out = new Uint8Array(14 + 4 * vlans.length + payload.length);
  const v = new DataView(out.buffer);
  out.set(parseMac(options.dstMac ?? "00:00:00:00:00:00"), 0);
  out.set(parseMac(options.srcMac ?? "00:00:00:00:00:00"), 6);
  let pos = 12;
  for (const tag of vlans) {
    v.setUint16(pos, tag.tpid ?? EtherType.VLAN);
    v.setUint16(pos + 2, ((tag.pcp ?? 0) << 13) | (tag.vid & 0x0fff));
    pos += 4;
  }
  v.setUint16(pos, options.etherType ?? etherTypeOf(payload));
  out.set(payload, pos + 2);
  return out;
}

export interface SllOptions {
  /** 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing (default 0). */
  readonly packetType?: number;
  /** ARPHRD_ type; default 772 (ARPHRD_LOOPBACK). */
  readonly arphrd?: number;
  /** Link-layer address (up to 8 bytes); default none. */
  readonly address?: Uint8Array;
  readonly protocol?: number;
  /** SLL2 only: interface index (default 1). */
  readonly interfaceIndex?: number;
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 16-byte header). */
export function wrapSll(payload: Uint8Array, options: SllOptions = {}): Uint8Array {
  const address = options.address ?? new Uint8Array(0);
  const out = new Uint8Array(16 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, options.packetType ?? 0);
  v.setUint16(2, options.arphrd ?? 772);
  v.setUint16(4, Math.min(address.length, 8));
  out.set(address.subarray(0, 8), 6);
  v.setUint16(14, options.protocol ?? etherTypeOf(payload));
  out.set(payload, 16);
  return out;
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 20-byte header). */
export function wrapSll2(payload: Uint8Array, options: SllOptions = {}): Uint8Array {
  const address = options.address ?? new Uint8Array(0);
  const out = new Uint8Array(20 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, options.protocol ?? etherTypeOf(payload));
  v.setUint16(2, 0);
  v.setUint32(4, options.interfaceIndex ?? 1);
  v.setUint16(8, options.arphrd ?? 772);
  out[10] = options.packetType ?? 0;
  out[11] = Math.min(address.length, 8);
  out.set(address.subarray(0, 8), 12);
  out.set(payload, 20);
  return out;
}

export interface NullOptions {
  /** Address family; default 2 (AF_INET) or 24 (BSD AF_INET6) from the IP version. */
  readonly family?: number;
  /** LINKTYPE_NULL uses the capturing host's order (default little-endian); LOOP is big-endian. */
  readonly bigEndian?: boolean;
}

/** BSD loopback (LINKTYPE_NULL, or LINKTYPE_LOOP with bigEndian). */
export function wrapNull(payload: Uint8Array, options: NullOptions = {}): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  const family = options.family ?? (etherTypeOf(payload) === EtherType.IPV6 ? 24 : 2);
  new DataView(out.buffer).setUint32(0, family, !(options.bigEndian ?? false));
  out.set(payload, 4);
  return out;
}

export function buildEthernetIpv4Tcp(spec: TcpSegmentSpec & EthernetOptions): Uint8Array {
  return wrapEthernet(buildIpv4Tcp(spec), spec);
}

export function buildEthernetIpv4Udp(spec: UdpDatagramSpec & EthernetOptions): Uint8Array {
  return wrapEthernet(buildIpv4Udp(spec), spec);
}

export function buildEthernetIpv6Tcp(spec: TcpSegmentSpec & EthernetOptions): Uint8Array {
  return wrapEthernet(buildIpv6Tcp(spec), spec);
}

export function buildEthernetIpv6Udp(spec: UdpDatagramSpec & EthernetOptions): Uint8Array {
  return wrapEthernet(buildIpv6Udp(spec), spec);
}

// ---------------------------------------------------------------------------
// Fragmentation

/**
 * Splits an IPv4 packet (20-byte header, no options) into fragments of at most
 * `mtu` bytes each (RFC 791 §3.2: every fragment but the last carries a multiple of
 * 8 payload bytes). Fragments come back in order; tests reorder them as they like.
 */
export function fragmentIpv4(packet: Uint8Array, mtu: number): Uint8Array[] {
  const headerLength = ((packet[0] ?? 0) & 0x0f) * 4;
  const src = packet.subarray(12, 16);
  const dst = packet.subarray(16, 20);
  const id = ((packet[4] ?? 0) << 8) | (packet[5] ?? 0);
  const protocol = packet[9] ?? 0;
  const ttl = packet[8] ?? 64;
  const payload = packet.subarray(headerLength);
  const step = Math.floor((mtu - 20) / 8) * 8;
  if (step <= 0) throw new RangeError(`MTU ${mtu} too small`);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < payload.length; offset += step) {
    const piece = payload.subarray(offset, Math.min(payload.length, offset + step));
    out.push(buildIpv4(src, dst, protocol, piece, { id, ttl, fragmentOffset: offset, moreFragments: offset + step < payload.length }));
  }
  return out;
}

/**
 * Splits an IPv6 packet (40-byte header, no extension headers) into fragments with a
 * Fragment header (RFC 8200 §4.5) of at most `mtu` bytes each.
 */
export function fragmentIpv6(packet: Uint8Array, mtu: number, identification: number): Uint8Array[] {
  const src = packet.subarray(8, 24);
  const dst = packet.subarray(24, 40);
  const nextHeader = packet[6] ?? 0;
  const hopLimit = packet[7] ?? 64;
  const payload = packet.subarray(40);
  const step = Math.floor((mtu - 48) / 8) * 8;
  if (step <= 0) throw new RangeError(`MTU ${mtu} too small`);
  const out: Uint8Array[] = [];
  for (let offset = 0; offset < payload.length; offset += step) {
    const piece = payload.subarray(offset, Math.min(payload.length, offset + step));
    const more = offset + step < payload.length;
    const frag = new Uint8Array(8 + piece.length);
    const v = new DataView(frag.buffer);
    frag[0] = nextHeader;
    v.setUint16(2, offset | (more ? 1 : 0));
    v.setUint32(4, identification >>> 0);
    frag.set(piece, 8);
    out.push(buildIpv6(src, dst, 44, frag, hopLimit));
  }
  return out;
}

// ---------------------------------------------------------------------------
// A TCP conversation with sequence bookkeeping

export type Side = "client" | "server";

export interface TcpConversationOptions {
  readonly client: string;
  readonly server: string;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly clientIsn?: number;
  readonly serverIsn?: number;
}

/**
 * Builds the IP packets of one TCP connection, keeping each side's next sequence
 * number, so a test can write "client sends X, server sends Y" and then reorder,
 * drop or duplicate the packets it got back.
 */
export class TcpConversation {
  private seq: Record<Side, number>;
  private ipId: Record<Side, number> = { client: 1, server: 1 };

  constructor(readonly options: TcpConversationOptions) {
    // Validate addresses once.
    parseIpAddress(options.client);
    parseIpAddress(options.server);
    this.seq = { client: (options.clientIsn ?? 1000) >>> 0, server: (options.serverIsn ?? 5000) >>> 0 };
  }

  /** The next sequence number `side` will send. */
  nextSeq(side: Side): number {
    return this.seq[side];
  }

  private other(side: Side): Side {
    return side === "client" ? "server" : "client";
  }

  /** A segment from `side` at an explicit sequence number (does not advance anything). */
  segmentAt(side: Side, seq: number, payload: Uint8Array, flags?: number): Uint8Array {
    // The acknowledgment field is only meaningful with ACK set; a bare SYN carries 0.
    const ack = flags !== undefined && (flags & TcpFlags.ACK) === 0 ? 0 : this.seq[this.other(side)];
    const o = this.options;
    const fromClient = side === "client";
    const spec: TcpSegmentSpec = {
      src: fromClient ? o.client : o.server,
      dst: fromClient ? o.server : o.client,
      sport: fromClient ? o.clientPort : o.serverPort,
      dport: fromClient ? o.serverPort : o.clientPort,
      seq: seq >>> 0,
      ack,
      payload,
      ipId: this.ipId[side]++ & 0xffff,
      ...(flags !== undefined ? { flags } : {}),
    };
    return buildIpTcp(spec);
  }

  /** SYN, SYN-ACK, ACK; each SYN consumes one sequence number. */
  handshake(): Uint8Array[] {
    const syn = this.segmentAt("client", this.seq.client, new Uint8Array(0), TcpFlags.SYN);
    this.seq.client = (this.seq.client + 1) >>> 0;
    const o = this.options;
    const synAck = buildIpTcp({
      src: o.server, dst: o.client, sport: o.serverPort, dport: o.clientPort,
      seq: this.seq.server, ack: this.seq.client, flags: TcpFlags.SYN | TcpFlags.ACK, ipId: this.ipId.server++,
    });
    this.seq.server = (this.seq.server + 1) >>> 0;
    const ack = this.segmentAt("client", this.seq.client, new Uint8Array(0), TcpFlags.ACK);
    return [syn, synAck, ack];
  }

  /** Data from `side` at its next sequence number; advances it. */
  send(side: Side, payload: Uint8Array, flags?: number): Uint8Array {
    const pkt = this.segmentAt(side, this.seq[side], payload, flags);
    this.seq[side] = (this.seq[side] + payload.length) >>> 0;
    return pkt;
  }

  /** Data from `side` cut into segments of at most `mss` bytes. */
  sendSegmented(side: Side, payload: Uint8Array, mss: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < payload.length; i += mss) out.push(this.send(side, payload.subarray(i, Math.min(payload.length, i + mss))));
    return out;
  }

  /** A pure ACK from `side`. */
  ack(side: Side): Uint8Array {
    return this.segmentAt(side, this.seq[side], new Uint8Array(0), TcpFlags.ACK);
  }

  /** FIN from `side` (consumes one sequence number). */
  fin(side: Side): Uint8Array {
    const pkt = this.segmentAt(side, this.seq[side], new Uint8Array(0), TcpFlags.FIN | TcpFlags.ACK);
    this.seq[side] = (this.seq[side] + 1) >>> 0;
    return pkt;
  }

  /** RST from `side`. */
  rst(side: Side): Uint8Array {
    return this.segmentAt(side, this.seq[side], new Uint8Array(0), TcpFlags.RST | TcpFlags.ACK);
  }

  /** FIN from the client, FIN from the server, final ACK. */
  close(): Uint8Array[] {
    const a = this.fin("client");
    const b = this.fin("server");
    return [a, b, this.ack("client")];
  }
}
