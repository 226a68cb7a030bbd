/**
 * XDR encodings of the RPC messages the benchmark capture carries: NFSv3 calls
 * and replies (RFC 1813), NFSv4 COMPOUNDs (RFC 7531) and portmapper GETPORT
 * (RFC 1833). Written for speed: one preallocated buffer per message.
 */

/** Small deterministic PRNG (mulberry32) so the same seed gives the same file. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Append-only XDR writer over a growable buffer. */
export class XdrWriter {
  buf: Buffer;
  pos = 0;
  constructor(initial = 512) {
    this.buf = Buffer.allocUnsafe(initial);
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / 4294967296) >>> 0, this.pos);
    this.buf.writeUInt32BE(v >>> 0, this.pos + 4);
    this.pos += 8;
    return this;
  }
  /** Variable-length opaque: length, bytes, zero padding to 4. */
  opaque(data: Uint8Array): this {
    this.u32(data.length);
    return this.fixed(data);
  }
  /** Fixed-length opaque: bytes and zero padding to 4. */
  fixed(data: Uint8Array): this {
    const padded = (data.length + 3) & ~3;
    this.ensure(padded);
    this.buf.set(data, this.pos);
    this.buf.fill(0, this.pos + data.length, this.pos + padded);
    this.pos += padded;
    return this;
  }
  /** Opaque of `length` filler bytes (file data), without building it first. */
  filler(length: number, byte: number): this {
    this.u32(length);
    const padded = (length + 3) & ~3;
    this.ensure(padded);
    this.buf.fill(byte, this.pos, this.pos + length);
    this.buf.fill(0, this.pos + length, this.pos + padded);
    this.pos += padded;
    return this;
  }
  string(s: string): this {
    return this.opaque(Buffer.from(s, "utf8"));
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

const AUTH_SYS = 1;
const MACHINE = "bench-client";

function callHeader(w: XdrWriter, xid: number, prog: number, vers: number, proc: number, uid: number): void {
  w.u32(xid).u32(0).u32(2).u32(prog).u32(vers).u32(proc);
  // AUTH_SYS credential (RFC 5531 appendix A): stamp, machinename, uid, gid, gids.
  const credLen = 4 + 4 + ((MACHINE.length + 3) & ~3) + 4 + 4 + 4 + 4;
  w.u32(AUTH_SYS).u32(credLen).u32(0x5eed).string(MACHINE).u32(uid).u32(100).u32(1).u32(100);
  w.u32(0).u32(0); // verifier AUTH_NONE
}

function acceptedReply(w: XdrWriter, xid: number): void {
  w.u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0); // REPLY, MSG_ACCEPTED, verf NONE, SUCCESS
}

export function fileHandle(n: number): Buffer {
  const fh = Buffer.alloc(32);
  fh.writeUInt32BE(0x01000701, 0);
  fh.writeUInt32BE(n >>> 0, 8);
  fh.writeUInt32BE(Math.imul(n, 2654435761) >>> 0, 12);
  return fh;
}

/** fattr3 (RFC 1813 §2.6): 21 words. */
function fattr3(w: XdrWriter, fileid: number, size: number, now: number): void {
  w.u32(1).u32(0o644).u32(1).u32(1000).u32(1000);
  w.u64(size).u64(size).u32(0).u32(0).u64(0x1234).u64(fileid);
  w.u32(now).u32(0).u32(now).u32(0).u32(now).u32(0);
}

function postOpAttr(w: XdrWriter, fileid: number, size: number, now: number): void {
  w.u32(1);
  fattr3(w, fileid, size, now);
}

export type Nfs3Proc = "GETATTR" | "LOOKUP" | "ACCESS" | "READ" | "WRITE";
const NFS3_PROC: Record<Nfs3Proc, number> = { GETATTR: 1, LOOKUP: 3, ACCESS: 4, READ: 6, WRITE: 7 };
const NFS_PROG = 100003;

export interface Message {
  call: Buffer;
  reply: Buffer;
}

/** One NFSv3 exchange: call and reply RPC messages (without record marks). */
export function nfs3Exchange(proc: Nfs3Proc, xid: number, file: number, size: number, now: number, errorReply: boolean): Message {
  const fh = fileHandle(file);
  const c = new XdrWriter(size + 256);
  callHeader(c, xid, NFS_PROG, 3, NFS3_PROC[proc], 1000);
  const r = new XdrWriter(size + 256);
  acceptedReply(r, xid);
  switch (proc) {
    case "GETATTR":
      c.opaque(fh);
      r.u32(0);
      fattr3(r, file, 4096, now);
      break;
    case "LOOKUP":
      c.opaque(fileHandle(1)).string(`file-${file}.dat`);
      if (errorReply) {
        r.u32(2); // NFS3ERR_NOENT
        postOpAttr(r, 1, 4096, now);
      } else {
        r.u32(0).opaque(fh);
        postOpAttr(r, file, 4096, now);
        postOpAttr(r, 1, 4096, now);
      }
      break;
    case "ACCESS":
      c.opaque(fh).u32(0x1f);
      r.u32(0);
      postOpAttr(r, file, 4096, now);
      r.u32(0x1f);
      break;
    case "READ":
      c.opaque(fh).u64(file * 65536).u32(size);
      r.u32(0);
      postOpAttr(r, file, size, now);
      r.u32(size).u32(0).filler(size, 0x61 + (file % 26));
      break;
    case "WRITE":
      c.opaque(fh).u64(file * 65536).u32(size).u32(2).filler(size, 0x41 + (file % 26));
      r.u32(0);
      // wcc_data: pre_op_attr (size, mtime, ctime) then post_op_attr.
      r.u32(1).u64(size).u32(now).u32(0).u32(now).u32(0);
      postOpAttr(r, file, size, now);
      r.u32(size).u32(2).u32(0xcafe).u32(0xf00d);
      break;
  }
  return { call: c.bytes(), reply: r.bytes() };
}

/** An NFSv4.0 COMPOUND: PUTFH, READ, GETATTR (RFC 7531). */
export function nfs4ReadCompound(xid: number, file: number, size: number): Message {
  const fh = fileHandle(file);
  const c = new XdrWriter(256);
  callHeader(c, xid, NFS_PROG, 4, 1, 1000);
  c.string("").u32(0).u32(3); // tag, minorversion, 3 ops
  c.u32(22).opaque(fh); // OP_PUTFH
  c.u32(25).u32(0).fixed(Buffer.alloc(12)).u64(0).u32(size); // OP_READ: stateid4, offset, count
  c.u32(9).u32(1).u32(0x18); // OP_GETATTR: bitmap4 {type|change? size}
  const r = new XdrWriter(size + 256);
  acceptedReply(r, xid);
  r.u32(0).string("").u32(3); // NFS4_OK, tag, 3 results
  r.u32(22).u32(0);
  r.u32(25).u32(0).u32(1).filler(size, 0x62);
  r.u32(9).u32(0).u32(1).u32(0x18).filler(16, 0);
  return { call: c.bytes(), reply: r.bytes() };
}

/** Portmapper v2 GETPORT of NFS v3 over TCP (RFC 1833). */
export function pmapGetport(xid: number): Message {
  const c = new XdrWriter(128);
  callHeader(c, xid, 100000, 2, 3, 0);
  c.u32(NFS_PROG).u32(3).u32(6).u32(0);
  const r = new XdrWriter(64);
  acceptedReply(r, xid);
  r.u32(2049);
  return { call: c.bytes(), reply: r.bytes() };
}
