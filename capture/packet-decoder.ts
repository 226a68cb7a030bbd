/**
 * Frames → UDP datagrams and TCP stream chunks.
 *
 * Link types: Ethernet (with up to MAX_VLAN_TAGS 802.1Q / 802.1ad / QinQ tags),
 * Linux cooked SLL (113) and SLL2 (276), BSD NULL (0) and LOOP (108) in either byte
 * order, RAW (101), IPv4 (228), IPv6 (229). Then IPv4 (RFC 791, with fragment
 * reassembly), IPv6 (RFC 8200: hop-by-hop, routing, destination options, fragment,
 * AH skipped), UDP (RFC 768) and TCP (RFC 9293, see tcp-reassembly.ts).
 *
 * Every frame ends in exactly one sink.frameDone(no, carried) call. `carried` is true
 * when some of its payload was handed on or is held to be handed on later (an
 * out-of-order TCP segment, an IP fragment). Frames or parts that cannot be taken
 * apart produce a FrameIssue; IP packets of other protocols (ICMP, ESP…) are simply
 * not carried.
 *
 * Packet-derived lengths are checked against the captured bytes before use. When the
 * IP header declares more than was captured, what was captured is used and the rest
 * is reported downstream (UDP `missingBytes`, TCP `truncatedAfter`); an issue is
 * raised only when the shortfall is not explained by the snaplen.
 */
import { BufferFrame, LinkType, type Frame } from "./frame.js";
import type { Limits } from "./limits.js";
import type { FrameIssue, FrameIssueCode, TransportSink } from "./transport.js";
import { AddressTextCache } from "./ip-address.js";
import { FragmentReassembler, type FragmentStats } from "./ip-fragments.js";
import { TcpReassembler, type TcpStats } from "./tcp-reassembly.js";

/** Nested VLAN tags followed before a frame is called malformed. */
export const MAX_VLAN_TAGS = 8;
/** IPv6 extension headers followed before a packet is called malformed. */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;

const PROTO_TCP = 6;
const PROTO_UDP = 17;

const NO_FRAGMENTS: readonly number[] = Object.freeze([]);

export interface DecoderStats {
  readonly frames: number;
  /** Frames some of whose payload was handed on (or held for it). */
  readonly carried: number;
  readonly ipv4: number;
  readonly ipv6: number;
  readonly udpDatagrams: number;
  readonly notIp: number;
  readonly unsupportedLink: number;
  /** Frames with a malformed link, IP, UDP or TCP header. */
  readonly malformed: number;
  /** Packets whose IP payload was cut by the snaplen. */
  readonly truncated: number;
  readonly fragments: Readonly<FragmentStats>;
  readonly tcp: Readonly<TcpStats>;
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] as number) << 8) | (b[o + 1] as number);
}

function u32(b: Uint8Array, o: number): number {
  return (((b[o] as number) << 24) | ((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number)) >>> 0;
}

export class PacketDecoder {
  private readonly tcp: TcpReassembler;
  private readonly fragments: FragmentReassembler;
  private readonly addresses = new AddressTextCache();

  // The frame being decoded (set once per frame; no closures on the hot path).
  private frameNo = 0;
  private tsSec = 0;
  private tsNsec = 0;
  private now = 0;
  private wireShortfall = 0;
  private carried = false;
  private issueRaised = false;
  /**
   * Where the frame's bytes start in the buffer being decoded (offsets are absolute in
   * it; issues give them from the frame's start), and where they end.
   */
  private base = 0;
  private frameEnd = 0;

  private counts = { frames: 0, carried: 0, ipv4: 0, ipv6: 0, udpDatagrams: 0, notIp: 0, unsupportedLink: 0, malformed: 0, truncated: 0 };

  constructor(
    limits: Limits,
    private readonly sink: TransportSink,
  ) {
    this.tcp = new TcpReassembler(limits, sink);
    this.fragments = new FragmentReassembler(limits, (issue: FrameIssue) => sink.frameIssue(issue));
  }

  push(frame: Frame): void {
    this.counts.frames++;
    this.frameNo = frame.no;
    this.tsSec = frame.tsSec;
    this.tsNsec = frame.tsNsec;
    this.now = frame.tsSec + frame.tsNsec / 1e9;
    // A reader's frame is read in place in its buffer, with no view of its own.
    let data: Uint8Array;
    let start = 0;
    let end: number;
    if (frame instanceof BufferFrame) {
      data = frame.data;
      start = frame.start;
      end = frame.end;
    } else {
      data = frame.bytes;
      end = data.length;
    }
    this.base = start;
    this.frameEnd = end;
    // Bytes the wire had that the capture did not keep (snaplen): explains short IP payloads.
    this.wireShortfall = frame.originalLength - (end - start);
    this.carried = false;
    this.issueRaised = false;
    this.tcp.expire(this.now, frame.no, frame.tsSec, frame.tsNsec);
    this.fragments.expire(this.now, frame.no);
    this.decodeLink(data, start, end, frame.linkType);
    if (this.carried) this.counts.carried++;
    this.sink.frameDone?.(frame.no, this.carried);
  }

  /**
   * Capture time has reached (tsSec, tsNsec) though no frame came (a live capture's
   * clock tick): idle flows close and stale fragment buffers are dropped now, so
   * state times out on an idle interface too. Times before the last frame's are ignored.
   */
  advanceTime(tsSec: number, tsNsec: number): void {
    const now = tsSec + tsNsec / 1e9;
    if (now <= this.now) return;
    this.now = now;
    this.tcp.expire(now, this.frameNo, tsSec, tsNsec);
    this.fragments.expire(now, this.frameNo);
  }

  /** End of input: closes every flow (reason "end") and drops incomplete fragment buffers. */
  finish(): void {
    this.fragments.finish(this.frameNo);
    this.tcp.finish(this.frameNo);
  }

  stats(): DecoderStats {
    return { ...this.counts, fragments: { ...this.fragments.stats }, tcp: { ...this.tcp.stats } };
  }

  private issue(code: FrameIssueCode, detail: string, offset: number): void {
    if (!this.issueRaised && (code.startsWith("malformed") || code === "truncated")) {
      this.counts.malformed++;
      this.issueRaised = true;
    }
    this.sink.frameIssue({ frame: this.frameNo, code, detail, offset: offset - this.base });
  }

  /** "truncated" when the snaplen explains a short header, else the malformed code. */
  private short(malformed: FrameIssueCode, what: string, offset: number, needed: number, have: number): void {
    if (this.wireShortfall > 0) this.issue("truncated", `${what} cut by the snaplen: ${have} of ${needed} bytes captured`, offset);
    else this.issue(malformed, `${what} needs ${needed} bytes, only ${have} present`, offset);
  }

  private decodeLink(b: Uint8Array, start: number, end: number, linkType: number): void {
    const length = end - start;
    let off: number;
    let etherType: number;
    switch (linkType) {
      case LinkType.ETHERNET:
        if (length < 14) return this.short("malformed-link", "Ethernet header", start, 14, length);
        etherType = u16(b, start + 12);
        off = start + 14;
        break;
      case LinkType.LINUX_SLL:
        if (length < 16) return this.short("malformed-link", "Linux cooked (SLL) header", start, 16, length);
        etherType = u16(b, start + 14);
        off = start + 16;
        break;
      case LinkType.LINUX_SLL2:
        if (length < 20) return this.short("malformed-link", "Linux cooked (SLL2) header", start, 20, length);
        etherType = u16(b, start);
        off = start + 20;
        break;
      case LinkType.NULL:
      case LinkType.LOOP: {
        if (length < 4) return this.short("malformed-link", "BSD loopback header", start, 4, length);
        // The family is in the capturing host's byte order (NULL) or big-endian (LOOP);
        // families are small, so a value with high bits set is the other order.
        let family = u32(b, start);
        if (family > 0xffff) {
          family = (((b[start + 3] as number) << 24) | ((b[start + 2] as number) << 16) | ((b[start + 1] as number) << 8) | (b[start] as number)) >>> 0;
        }
        if (family === 2) return this.ipv4(b, start + 4);
        // AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
        if (family === 24 || family === 28 || family === 30) return this.ipv6(b, start + 4);
        this.counts.notIp++;
        return this.issue("not-ip", `BSD loopback address family ${family}`, start);
      }
      case LinkType.RAW: {
        if (length < 1) return this.short("malformed-ip", "raw IP header", start, 1, 0);
        const version = (b[start] as number) >> 4;
        if (version === 4) return this.ipv4(b, start);
        if (version === 6) return this.ipv6(b, start);
        this.counts.notIp++;
        return this.issue("not-ip", `raw IP link but IP version ${version}`, start);
      }
      case LinkType.IPV4:
        return this.ipv4(b, start);
      case LinkType.IPV6:
        return this.ipv6(b, start);
      default:
        this.counts.unsupportedLink++;
        return this.issue("unsupported-link", `link type ${linkType} is not supported`, start);
    }
    for (let tags = 0; etherType === ETHERTYPE_VLAN || etherType === ETHERTYPE_QINQ || etherType === ETHERTYPE_QINQ_OLD; tags++) {
      if (tags >= MAX_VLAN_TAGS) return this.issue("malformed-link", `more than ${MAX_VLAN_TAGS} nested VLAN tags`, off);
      if (off + 4 > end) return this.short("malformed-link", "VLAN tag", off, 4, end - off);
      etherType = u16(b, off + 2);
      off += 4;
    }
    if (etherType === ETHERTYPE_IPV4) return this.ipv4(b, off);
    if (etherType === ETHERTYPE_IPV6) return this.ipv6(b, off);
    this.counts.notIp++;
    this.issue("not-ip", etherType <= 1500 ? `802.3 frame (length ${etherType}), not IP` : `EtherType 0x${etherType.toString(16).padStart(4, "0")}, not IP`, off - 2);
  }

  private ipv4(b: Uint8Array, off: number): void {
    const avail = this.frameEnd - off;
    if (avail < 20) return this.short("malformed-ip", "IPv4 header", off, 20, avail);
    const first = b[off] as number;
    if (first >> 4 !== 4) return this.issue("malformed-ip", `IP version ${first >> 4} where IPv4 was expected`, off);
    const headerLength = (first & 0x0f) * 4;
    if (headerLength < 20) return this.issue("malformed-ip", `IPv4 header length ${headerLength} is below 20`, off);
    if (headerLength > avail) return this.short("malformed-ip", "IPv4 header with options", off, headerLength, avail);
    this.counts.ipv4++;
    let totalLength = u16(b, off + 2);
    // 0 is what TCP segmentation offload leaves in captures of outgoing packets.
    if (totalLength === 0) totalLength = avail;
    if (totalLength < headerLength) return this.issue("malformed-ip", `IPv4 total length ${totalLength} is shorter than its header (${headerLength})`, off + 2);
    let end = off + totalLength;
    let missing = 0;
    if (end > this.frameEnd) {
      missing = end - this.frameEnd;
      end = this.frameEnd;
      this.noteMissing("IPv4", missing, off + 2);
    }
    const protocol = b[off + 9] as number;
    const flagsOffset = u16(b, off + 6);
    const more = (flagsOffset & 0x2000) !== 0;
    const fragmentOffset = (flagsOffset & 0x1fff) * 8;
    if (more || fragmentOffset !== 0) {
      const src = this.addresses.ipv4(b, off + 12);
      const dst = this.addresses.ipv4(b, off + 16);
      const key = `IPv4 ${src} > ${dst} proto ${protocol} id ${u16(b, off + 4)}`;
      const whole = this.fragments.add(key, fragmentOffset, more, b.subarray(off + headerLength, end), this.frameNo, this.now, protocol);
      this.carried = true;
      if (whole) {
        // Offsets in a reassembled datagram are its own (as before the frame's bytes were read in place).
        this.base = 0;
        this.transport(whole.protocol, whole.payload, 0, whole.payload.length, 0, b, off + 12, off + 16, 4, whole.frames);
      }
      return;
    }
    this.transport(protocol, b, off + headerLength, end, missing, b, off + 12, off + 16, 4, NO_FRAGMENTS);
  }

  private ipv6(b: Uint8Array, off: number): void {
    const avail = this.frameEnd - off;
    if (avail < 40) return this.short("malformed-ip", "IPv6 header", off, 40, avail);
    const first = b[off] as number;
    if (first >> 4 !== 6) return this.issue("malformed-ip", `IP version ${first >> 4} where IPv6 was expected`, off);
    this.counts.ipv6++;
    const payloadLength = u16(b, off + 4);
    const next = b[off + 6] as number;
    let end = off + 40 + payloadLength;
    // Payload length 0 without a hop-by-hop header: segmentation offload, use what is there.
    if (payloadLength === 0 && next !== 0) end = this.frameEnd;
    let missing = 0;
    if (end > this.frameEnd) {
      missing = end - this.frameEnd;
      end = this.frameEnd;
      this.noteMissing("IPv6", missing, off + 4);
    }
    this.ipv6Chain(next, b, off + 40, end, missing, b, off + 8, off + 24, NO_FRAGMENTS, true);
  }

  /** Follows the IPv6 extension header chain (a bounded loop) to the upper-layer header. */
  private ipv6Chain(
    firstNext: number, buf: Uint8Array, start: number, end: number, missing: number,
    addrBuf: Uint8Array, srcOff: number, dstOff: number, fragmentFrames: readonly number[], allowFragment: boolean,
  ): void {
    let next = firstNext;
    let o = start;
    for (let i = 0; i < MAX_IPV6_EXTENSION_HEADERS; i++) {
      switch (next) {
        case 0: // hop-by-hop options
        case 43: // routing
        case 60: // destination options
        case 51: {
          // AH: length in 4-byte units minus 2 (RFC 4302 §2.2); the others in 8-byte units minus 1.
          if (o + 2 > end) return this.short("malformed-ip", "IPv6 extension header", o, 2, end - o);
          const length = next === 51 ? ((buf[o + 1] as number) + 2) * 4 : ((buf[o + 1] as number) + 1) * 8;
          if (o + length > end) return this.short("malformed-ip", "IPv6 extension header", o, length, end - o);
          next = buf[o] as number;
          o += length;
          continue;
        }
        case 44: {
          // Fragment header (RFC 8200 §4.5).
          if (o + 8 > end) return this.short("malformed-ip", "IPv6 fragment header", o, 8, end - o);
          const fragNext = buf[o] as number;
          const field = u16(buf, o + 2);
          const fragmentOffset = field & 0xfff8;
          const more = (field & 1) !== 0;
          o += 8;
          if (fragmentOffset === 0 && !more) {
            next = fragNext; // an atomic fragment (RFC 6946): just a header
            continue;
          }
          if (!allowFragment) return this.issue("malformed-ip", "a fragment header inside a reassembled IPv6 datagram", o - 8);
          const src = this.addresses.ipv6(addrBuf, srcOff);
          const dst = this.addresses.ipv6(addrBuf, dstOff);
          const key = `IPv6 ${src} > ${dst} id ${u32(buf, o - 4)}`;
          const whole = this.fragments.add(key, fragmentOffset, more, buf.subarray(o, end), this.frameNo, this.now, fragNext);
          this.carried = true;
          if (whole) {
            this.base = 0;
            this.ipv6Chain(whole.protocol, whole.payload, 0, whole.payload.length, 0, addrBuf, srcOff, dstOff, whole.frames, false);
          }
          return;
        }
        default:
          return this.transport(next, buf, o, end, missing, addrBuf, srcOff, dstOff, 16, fragmentFrames);
      }
    }
    this.issue("malformed-ip", `more than ${MAX_IPV6_EXTENSION_HEADERS} IPv6 extension headers`, o);
  }

  private noteMissing(what: string, missing: number, offset: number): void {
    this.counts.truncated++;
    // The snaplen explains the shortfall when the wire had at least that many more bytes.
    if (missing > this.wireShortfall) {
      this.issue("malformed-ip", `${what} length field declares ${missing} bytes more than the frame carried on the wire`, offset);
    }
  }

  private transport(
    protocol: number, buf: Uint8Array, o: number, end: number, missing: number,
    addrBuf: Uint8Array, srcOff: number, dstOff: number, addrLen: number, fragmentFrames: readonly number[],
  ): void {
    const avail = end - o;
    if (protocol === PROTO_TCP) {
      if (avail < 20) return this.short("malformed-tcp", "TCP header", o, 20, avail);
      const dataOffset = ((buf[o + 12] as number) >> 4) * 4;
      if (dataOffset < 20) return this.issue("malformed-tcp", `TCP data offset ${dataOffset} is below 20`, o + 12);
      if (dataOffset > avail) return this.short("malformed-tcp", "TCP header with options", o, dataOffset, avail);
      const carried = this.tcp.segment(
        this.frameNo, this.tsSec, this.tsNsec, this.now,
        addrBuf, srcOff, dstOff, addrLen,
        u16(buf, o), u16(buf, o + 2), u32(buf, o + 4), u32(buf, o + 8), buf[o + 13] as number,
        buf, o + dataOffset, end, missing,
      );
      if (carried) this.carried = true;
      return;
    }
    if (protocol === PROTO_UDP) {
      if (avail < 8) return this.short("malformed-udp", "UDP header", o, 8, avail);
      const udpLength = u16(buf, o + 4);
      if (udpLength < 8) return this.issue("malformed-udp", `UDP length ${udpLength} is below 8`, o + 4);
      const declared = avail + missing;
      let length = udpLength;
      if (udpLength > declared) {
        this.issue("malformed-udp", `UDP length ${udpLength} exceeds the ${declared} bytes of its IP payload`, o + 4);
        length = declared;
      }
      const payloadEnd = Math.min(o + length, end);
      const src = addrLen === 4 ? this.addresses.ipv4(addrBuf, srcOff) : this.addresses.ipv6(addrBuf, srcOff);
      const dst = addrLen === 4 ? this.addresses.ipv4(addrBuf, dstOff) : this.addresses.ipv6(addrBuf, dstOff);
      this.counts.udpDatagrams++;
      this.carried = true;
      this.sink.udp({
        frame: this.frameNo,
        tsSec: this.tsSec,
        tsNsec: this.tsNsec,
        src,
        dst,
        sport: u16(buf, o),
        dport: u16(buf, o + 2),
        payload: buf.subarray(o + 8, payloadEnd),
        missingBytes: o + length - payloadEnd,
        fragmentFrames,
      });
    }
    // Other protocols (ICMP, ESP, SCTP…) carry no ONC-RPC we decode: not carried, not an issue.
  }
}
