/**
 * Builds a small classic pcap (LINKTYPE_RAW, IPv4) holding one TCP connection on
 * loopback that carries record-marked RPC messages (RFC 5531 §11), so tshark can
 * dissect messages generated from the specs. Checksums are left zero: tshark
 * does not verify them by default.
 */

export interface TcpConversation {
  readonly clientPort: number;
  readonly serverPort: number;
}

export class PcapBuilder {
  private readonly packets: Uint8Array[] = [];
  private clientSeq = 1000;
  private serverSeq = 5000;
  private usec = 0;

  constructor(private readonly conv: TcpConversation) {
    this.segment(true, new Uint8Array(0), 0x02);          // SYN
    this.clientSeq++;
    this.segment(false, new Uint8Array(0), 0x12);         // SYN, ACK
    this.serverSeq++;
    this.segment(true, new Uint8Array(0), 0x10);          // ACK
  }

  /** Sends one RPC message as a single last fragment; returns its frame number (1-based). */
  record(fromClient: boolean, message: Uint8Array): number {
    const payload = new Uint8Array(4 + message.length);
    new DataView(payload.buffer).setUint32(0, (0x80000000 | message.length) >>> 0);
    payload.set(message, 4);
    this.segment(fromClient, payload, 0x18);             // PSH, ACK
    return this.packets.length;
  }

  private segment(fromClient: boolean, payload: Uint8Array, flags: number): void {
    const ipLen = 20 + 20 + payload.length;
    if (ipLen > 0xffff) throw new Error("segment too large for one IPv4 packet");
    const pkt = new Uint8Array(ipLen);
    const v = new DataView(pkt.buffer);
    v.setUint8(0, 0x45);
    v.setUint16(2, ipLen);
    v.setUint16(4, this.packets.length & 0xffff);
    v.setUint16(6, 0x4000);
    v.setUint8(8, 64);
    v.setUint8(9, 6);
    v.setUint32(12, 0x7f000001);
    v.setUint32(16, 0x7f000001);
    const [sport, dport] = fromClient ? [this.conv.clientPort, this.conv.serverPort] : [this.conv.serverPort, this.conv.clientPort];
    const [seq, ack] = fromClient ? [this.clientSeq, this.serverSeq] : [this.serverSeq, this.clientSeq];
    v.setUint16(20, sport);
    v.setUint16(22, dport);
    v.setUint32(24, seq >>> 0);
    v.setUint32(28, flags === 0x02 ? 0 : ack >>> 0);
    v.setUint8(32, 5 << 4);
    v.setUint8(33, flags);
    v.setUint16(34, 65535);
    pkt.set(payload, 40);
    if (fromClient) this.clientSeq += payload.length;
    else this.serverSeq += payload.length;
    this.packets.push(pkt);
  }

  finish(): Uint8Array {
    const size = 24 + this.packets.reduce((n, p) => n + 16 + p.length, 0);
    const out = new Uint8Array(size);
    const v = new DataView(out.buffer);
    v.setUint32(0, 0xa1b2c3d4, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, 262144, true);
    v.setUint32(20, 101, true); // LINKTYPE_RAW
    let at = 24;
    for (const p of this.packets) {
      this.usec += 10;
      v.setUint32(at, 1_700_000_000, true);
      v.setUint32(at + 4, this.usec, true);
      v.setUint32(at + 8, p.length, true);
      v.setUint32(at + 12, p.length, true);
      out.set(p, at + 16);
      at += 16 + p.length;
    }
    return out;
  }
}

/** An RPC call header (RFC 5531 §9) with AUTH_NONE credential and verifier. */
export function callHeader(xid: number, prog: number, vers: number, proc: number): number[] {
  return [xid, 0, 2, prog, vers, proc, 0, 0, 0, 0];
}

/** An accepted, successful RPC reply header with an AUTH_NONE verifier. */
export function replyHeader(xid: number): number[] {
  return [xid, 1, 0, 0, 0, 0];
}
