/**
 * Deterministic generator of large, realistic ONC-RPC captures for the benchmark:
 * NFSv3 (GETATTR, LOOKUP, ACCESS, READ, WRITE of varied sizes) and NFSv4 COMPOUNDs
 * over many TCP connections, with records split across segments and several records
 * per segment, plus a UDP portmapper mix. Streams to disk; memory stays flat.
 *
 *   node dist/bench/generate-capture.js --exchanges 250000 --out /tmp/nfs.pcap
 */
import { openSync, writeSync, closeSync } from "node:fs";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { nfs3Exchange, nfs4ReadCompound, pmapGetport, Rng, type Message, type Nfs3Proc } from "./nfs-workload.js";

const SNAPLEN = 262144;

/** Buffered pcap writer (microsecond magic, Ethernet), 4 MiB per write. */
class FastPcap {
  private readonly buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  private pos = 0;
  packets = 0;
  bytes = 0;
  constructor(private readonly fd: number) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(1, 20);
    this.raw(h);
  }
  private raw(data: Uint8Array): void {
    if (this.pos + data.length > this.buf.length) this.flush();
    if (data.length > this.buf.length) {
      writeSync(this.fd, data);
    } else {
      this.buf.set(data, this.pos);
      this.pos += data.length;
    }
    this.bytes += data.length;
  }
  packet(tsUsec: number, frame: Buffer): void {
    const rec = Buffer.allocUnsafe(16);
    rec.writeUInt32LE(Math.floor(tsUsec / 1e6), 0);
    rec.writeUInt32LE(tsUsec % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    this.raw(rec);
    this.raw(frame);
    this.packets++;
  }
  flush(): void {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.pos = 0;
  }
}

function ipv4Checksum(h: Buffer, off: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += h.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const ETH_IP_LEN = 14 + 20;

function ethIpv4(total: number, proto: number, src: number, dst: number, id: number, payloadLen: number): Buffer {
  const f = Buffer.allocUnsafe(ETH_IP_LEN + total - 20);
  f.fill(0, 0, 12); // loopback: zero MACs
  f.writeUInt16BE(0x0800, 12);
  f.writeUInt8(0x45, 14);
  f.writeUInt8(0, 15);
  f.writeUInt16BE(total, 16);
  f.writeUInt16BE(id & 0xffff, 18);
  f.writeUInt16BE(0x4000, 20);
  f.writeUInt8(64, 22);
  f.writeUInt8(proto, 23);
  f.writeUInt16BE(0, 24);
  f.writeUInt32BE(src, 26);
  f.writeUInt32BE(dst, 30);
  f.writeUInt16BE(ipv4Checksum(f, 14), 24);
  void payloadLen;
  return f;
}

const LOOPBACK = 0x7f000001;

interface Side {
  seq: number;
  pending: Buffer[];
  pendingBytes: number;
}

class TcpConn {
  readonly client: Side;
  readonly server: Side;
  constructor(
    readonly clientPort: number,
    readonly serverPort: number,
    readonly mss: number,
    rng: Rng,
  ) {
    this.client = { seq: rng.int(0, 0xffffffff), pending: [], pendingBytes: 0 };
    this.server = { seq: rng.int(0, 0xffffffff), pending: [], pendingBytes: 0 };
  }
}

class Generator {
  private ts: number;
  private ipId = 1;
  constructor(private readonly out: FastPcap, private readonly rng: Rng, startSec: number) {
    this.ts = startSec * 1e6;
  }

  private tick(minUs: number, maxUs: number): number {
    this.ts += this.rng.int(minUs, maxUs);
    return this.ts;
  }

  segment(conn: TcpConn, fromClient: boolean, flags: number, payload: Buffer | null): void {
    const me = fromClient ? conn.client : conn.server;
    const peer = fromClient ? conn.server : conn.client;
    const len = payload ? payload.length : 0;
    const f = ethIpv4(20 + 20 + len, 6, LOOPBACK, LOOPBACK, this.ipId++, len);
    const t = ETH_IP_LEN;
    f.writeUInt16BE(fromClient ? conn.clientPort : conn.serverPort, t);
    f.writeUInt16BE(fromClient ? conn.serverPort : conn.clientPort, t + 2);
    f.writeUInt32BE(me.seq >>> 0, t + 4);
    f.writeUInt32BE(peer.seq >>> 0, t + 8);
    f.writeUInt8(0x50, t + 12);
    f.writeUInt8(flags, t + 13);
    f.writeUInt16BE(65535, t + 14);
    f.writeUInt32BE(0, t + 16);
    if (payload) payload.copy(f, t + 20);
    me.seq = (me.seq + len + (flags & 0x03 ? 1 : 0)) >>> 0; // SYN and FIN take a sequence number
    this.out.packet(this.tick(2, 15), f);
  }

  handshake(conn: TcpConn): void {
    this.segment(conn, true, 0x02, null);
    this.segment(conn, false, 0x12, null);
    this.segment(conn, true, 0x10, null);
  }

  close(conn: TcpConn): void {
    this.segment(conn, true, 0x11, null);
    this.segment(conn, false, 0x11, null);
    this.segment(conn, true, 0x10, null);
  }

  /** Queue one RPC record (with its record mark) on a side. */
  queue(side: Side, message: Buffer): void {
    const mark = Buffer.allocUnsafe(4);
    mark.writeUInt32BE((0x80000000 | message.length) >>> 0, 0);
    side.pending.push(mark, message);
    side.pendingBytes += 4 + message.length;
  }

  /** Send everything queued on a side in segments of at most MSS bytes. */
  flush(conn: TcpConn, fromClient: boolean): void {
    const side = fromClient ? conn.client : conn.server;
    if (side.pendingBytes === 0) return;
    const all = Buffer.concat(side.pending, side.pendingBytes);
    side.pending = [];
    side.pendingBytes = 0;
    for (let off = 0; off < all.length; off += conn.mss) {
      this.segment(conn, fromClient, off + conn.mss >= all.length ? 0x18 : 0x10, all.subarray(off, off + conn.mss));
    }
  }

  udp(clientPort: number, fromClient: boolean, payload: Buffer): void {
    const f = ethIpv4(20 + 8 + payload.length, 17, LOOPBACK, LOOPBACK, this.ipId++, payload.length);
    const u = ETH_IP_LEN;
    f.writeUInt16BE(fromClient ? clientPort : 111, u);
    f.writeUInt16BE(fromClient ? 111 : clientPort, u + 2);
    f.writeUInt16BE(8 + payload.length, u + 4);
    f.writeUInt16BE(0, u + 6);
    payload.copy(f, u + 8);
    this.out.packet(this.tick(2, 15), f);
  }

  /** Let time pass between a call and its reply. */
  serverThinks(): void {
    this.tick(20, 400);
  }
}

const SIZES = [512, 1024, 4096, 8192, 16384] as const;
const MIX: readonly [Nfs3Proc | "V4" | "PMAP", number][] = [
  ["GETATTR", 30], ["LOOKUP", 15], ["ACCESS", 15], ["READ", 24], ["WRITE", 10], ["V4", 5], ["PMAP", 1],
];
const MIX_TOTAL = MIX.reduce((s, [, w]) => s + w, 0);

function pickKind(rng: Rng): Nfs3Proc | "V4" | "PMAP" {
  let r = rng.next() * MIX_TOTAL;
  for (const [k, w] of MIX) {
    if ((r -= w) < 0) return k;
  }
  return "GETATTR";
}

/** The default mix of segment sizes: Ethernet, jumbo frames, loopback. */
export const DEFAULT_MSS: readonly number[] = [1448, 8948, 65483];

export function generate(
  outPath: string, exchanges: number, connections: number, seed: number, mssChoices: readonly number[] = DEFAULT_MSS,
): { packets: number; bytes: number } {
  const fd = openSync(outPath, "w");
  const out = new FastPcap(fd);
  const rng = new Rng(seed);
  const gen = new Generator(out, rng, 1_700_000_000);
  const conns: TcpConn[] = [];
  for (let i = 0; i < connections; i++) {
    const c = new TcpConn(700 + i, 2049, mssChoices[i % mssChoices.length]!, rng);
    conns.push(c);
    gen.handshake(c);
  }
  let xid = (seed * 7919) >>> 0;
  let done = 0;
  while (done < exchanges) {
    const conn = conns[rng.int(0, conns.length - 1)]!;
    // A burst of 1–4 outstanding calls on one connection: several records per
    // segment when small, one record over many segments when large.
    const burst = Math.min(rng.int(1, 4), exchanges - done);
    const replies: Buffer[] = [];
    for (let b = 0; b < burst; b++) {
      const kind = pickKind(rng);
      const file = rng.int(2, 5000);
      xid = (xid + 1) >>> 0;
      const now = 1_700_000_000;
      let m: Message;
      if (kind === "PMAP") {
        m = pmapGetport(xid);
        const port = 600 + rng.int(0, 300);
        gen.udp(port, true, m.call);
        gen.serverThinks();
        gen.udp(port, false, m.reply);
        done++;
        continue;
      }
      if (kind === "V4") m = nfs4ReadCompound(xid, file, rng.pick(SIZES));
      else m = nfs3Exchange(kind, xid, file, rng.pick(SIZES), now, kind === "LOOKUP" && rng.next() < 0.1);
      gen.queue(conn.client, m.call);
      replies.push(m.reply);
      done++;
    }
    gen.flush(conn, true);
    if (replies.length === 0) continue;
    gen.serverThinks();
    for (const r of replies) gen.queue(conn.server, r);
    gen.flush(conn, false);
  }
  for (const c of conns) gen.close(c);
  out.flush();
  closeSync(fd);
  return { packets: out.packets, bytes: out.bytes };
}

/** "1448,8948" → [1448, 8948]; each connection takes the next size in turn. */
export function parseMssList(text: string): number[] {
  const sizes = text.split(",").map((t) => Number(t.trim()));
  for (const n of sizes) {
    if (!Number.isInteger(n) || n < 64 || n > 65483) throw new Error(`--mss: ${JSON.stringify(text)} is not a list of sizes from 64 to 65483`);
  }
  return sizes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      exchanges: { type: "string", default: "250000" },
      connections: { type: "string", default: "64" },
      seed: { type: "string", default: "1" },
      mss: { type: "string", default: DEFAULT_MSS.join(",") },
    },
  });
  const mss = parseMssList(values.mss);
  if (!values.out) {
    process.stderr.write("usage: generate-capture --out FILE [--exchanges N] [--connections N] [--seed N] [--mss N,N,…]\n");
    process.exit(2);
  }
  const t = Date.now();
  const r = generate(values.out, Number(values.exchanges), Number(values.connections), Number(values.seed), mss);
  process.stdout.write(`${values.out}: ${r.packets} packets, ${(r.bytes / 1e6).toFixed(1)} MB in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}
