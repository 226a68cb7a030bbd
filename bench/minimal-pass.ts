/**
 * A bound, not a decoder: the least work a `stats` pass over a pcap file can do in
 * JavaScript, written as one loop with no object per frame or message. It reads the
 * file as the CLI's analysis does (on this thread, 128 KiB at a time, into one buffer),
 * takes Ethernet/IPv4/TCP apart, follows each direction's record marks, keeps the
 * first 24 bytes of every record, pairs replies with calls by connection and xid, and
 * sums response times per procedure.
 *
 * What it leaves out is what rpcscope is for: out-of-order and lost segments, UDP,
 * IPv6, VLANs, other link types, pcapng, checks of any length against the bytes
 * there, RPC detection, retransmissions, timeouts, names. It is in the bench only to
 * show how far the real pipeline is from the floor of the work itself: in the same
 * run, the time between this and `rpcscope stats` is what generality, checks and the
 * object model cost.
 *
 *   node dist/bench/minimal-pass.js FILE.pcap
 */
import { closeSync, openSync, readSync } from "node:fs";

const READ_BYTES = 128 * 1024;
/** The most of a record kept: xid, msg_type, rpcvers, prog, vers, proc. */
const HEAD_BYTES = 24;
const MAX_DIRECTIONS = 1 << 16;

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: minimal-pass FILE.pcap\n");
  process.exit(2);
}

// Per direction of a connection: where the record marker stands.
const fragmentLeft = new Float64Array(MAX_DIRECTIONS);
const lastFragment = new Uint8Array(MAX_DIRECTIONS);
const markBytes = new Uint8Array(MAX_DIRECTIONS);
const markValue = new Uint32Array(MAX_DIRECTIONS);
const headHave = new Uint8Array(MAX_DIRECTIONS);
const heads = new Uint8Array(MAX_DIRECTIONS * HEAD_BYTES);
/** Lower endpoint (address·2^16 + port) → higher endpoint → connection number. */
const connections = new Map<number, Map<number, number>>();
let connectionCount = 0;

/** Calls waiting for their reply: (xid·2^15 + connection) → procedure row·2^32 + call time in µs from the first frame. */
const waiting = new Map<number, number>();
/** Procedure rows: (prog, vers, proc) → row. */
const rowOf = new Map<string, number>();
const rowNames: string[] = [];
const calls: number[] = [];
const replies: number[] = [];
const rttSum: number[] = [];
const rttMax: number[] = [];

let frames = 0;
let messages = 0;
let firstMicros = -1;

function word(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function rowFor(prog: number, vers: number, proc: number): number {
  const key = `${prog}/${vers}/${proc}`;
  let row = rowOf.get(key);
  if (row === undefined) {
    row = rowNames.length;
    rowOf.set(key, row);
    rowNames.push(key);
    calls.push(0);
    replies.push(0);
    rttSum.push(0);
    rttMax.push(0);
  }
  return row;
}

function record(connection: number, direction: number, micros: number): void {
  messages++;
  const at = direction * HEAD_BYTES;
  if (headHave[direction]! < 8) return;
  const key = word(heads, at) * 32768 + connection;
  if (word(heads, at + 4) === 0) {
    if (headHave[direction]! < HEAD_BYTES) return;
    const row = rowFor(word(heads, at + 12), word(heads, at + 16), word(heads, at + 20));
    calls[row]!++;
    waiting.set(key, row * 2 ** 32 + micros);
    return;
  }
  const entry = waiting.get(key);
  if (entry === undefined) return;
  waiting.delete(key);
  const row = Math.floor(entry / 2 ** 32);
  const rtt = micros - (entry - row * 2 ** 32);
  replies[row]!++;
  rttSum[row]! += rtt;
  if (rtt > rttMax[row]!) rttMax[row] = rtt;
}

function streamBytes(connection: number, direction: number, b: Uint8Array, from: number, to: number, micros: number): void {
  let i = from;
  while (i < to) {
    if (fragmentLeft[direction] === 0) {
      while (markBytes[direction]! < 4 && i < to) {
        markValue[direction] = ((markValue[direction]! << 8) | b[i]!) >>> 0;
        markBytes[direction]!++;
        i++;
      }
      if (markBytes[direction]! < 4) return;
      const mark = markValue[direction]!;
      markBytes[direction] = 0;
      markValue[direction] = 0;
      fragmentLeft[direction] = mark & 0x7fff_ffff;
      lastFragment[direction] = mark >>> 31;
      if (fragmentLeft[direction] === 0 && lastFragment[direction] === 1) {
        record(connection, direction, micros);
        headHave[direction] = 0;
      }
      continue;
    }
    const take = Math.min(to - i, fragmentLeft[direction]!);
    const have = headHave[direction]!;
    if (have < HEAD_BYTES) {
      const copy = Math.min(HEAD_BYTES - have, take);
      const base = direction * HEAD_BYTES + have;
      for (let k = 0; k < copy; k++) heads[base + k] = b[i + k]!;
      headHave[direction] = have + copy;
    }
    i += take;
    fragmentLeft[direction]! -= take;
    if (fragmentLeft[direction] === 0 && lastFragment[direction] === 1) {
      record(connection, direction, micros);
      headHave[direction] = 0;
    }
  }
}

function connectionOf(low: number, high: number): number {
  let inner = connections.get(low);
  if (!inner) {
    inner = new Map();
    connections.set(low, inner);
  }
  let c = inner.get(high);
  if (c === undefined) {
    c = connectionCount++;
    if (2 * connectionCount > MAX_DIRECTIONS) throw new Error(`more than ${MAX_DIRECTIONS / 2} TCP connections: beyond this bound's tables`);
    inner.set(high, c);
  }
  return c;
}

/** Parses the whole pcap records in b[from, to); returns where the first incomplete one starts. */
function parseRecords(b: Uint8Array, from: number, to: number): number {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = from;
  while (p + 16 <= to) {
    const captured = view.getUint32(p + 8, true);
    if (p + 16 + captured > to) break;
    const micros = view.getUint32(p, true) * 1e6 + view.getUint32(p + 4, true);
    if (firstMicros < 0) firstMicros = micros;
    frames++;
    const f = p + 16;
    p += 16 + captured;
    if (captured < 54 || ((b[f + 12]! << 8) | b[f + 13]!) !== 0x0800 || b[f + 23] !== 6) continue;
    const ip = f + 14;
    const tcp = ip + (b[ip]! & 15) * 4;
    const payload = tcp + (b[tcp + 12]! >> 4) * 4;
    const end = Math.min(ip + ((b[ip + 2]! << 8) | b[ip + 3]!), p);
    if (payload >= end) continue;
    const src = word(b, ip + 12) * 65536 + ((b[tcp]! << 8) | b[tcp + 1]!);
    const dst = word(b, ip + 16) * 65536 + ((b[tcp + 2]! << 8) | b[tcp + 3]!);
    const connection = src < dst ? connectionOf(src, dst) : connectionOf(dst, src);
    streamBytes(connection, 2 * connection + (src < dst ? 0 : 1), b, payload, end, micros - firstMicros);
  }
  return p;
}

function main(file: string): void {
  const fd = openSync(file, "r");
  try {
    // Room before the data for the start of a record cut by the previous read.
    const carryRoom = 256 * 1024;
    const buf = new Uint8Array(carryRoom + READ_BYTES);
    let carry: Uint8Array = new Uint8Array(0);
    let first = true;
    for (;;) {
      const bytesRead = readSync(fd, buf, carryRoom, READ_BYTES, null);
      if (bytesRead === 0) break;
      if (carry.length > carryRoom) throw new Error("a pcap record longer than 256 KiB: beyond this bound");
      const start = carryRoom - carry.length;
      buf.set(carry, start);
      let from = start;
      if (first) {
        if (word(buf, start) !== 0xd4c3b2a1) throw new Error("only little-endian microsecond pcap files");
        from += 24;
        first = false;
      }
      const stop = parseRecords(buf, from, carryRoom + bytesRead);
      carry = buf.slice(stop, carryRoom + bytesRead);
    }
  } finally {
    closeSync(fd);
  }
  const lines = [`${frames} frames, ${messages} records, ${connectionCount} TCP connections`];
  for (let row = 0; row < rowNames.length; row++) {
    const avg = replies[row]! > 0 ? rttSum[row]! / replies[row]! / 1000 : 0;
    lines.push(`${rowNames[row]!.padEnd(16)} calls ${calls[row]}  replies ${replies[row]}  avg ${avg.toFixed(3)} ms  max ${(rttMax[row]! / 1000).toFixed(3)} ms`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

try {
  main(path);
} catch (err) {
  process.stderr.write(`minimal-pass: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
