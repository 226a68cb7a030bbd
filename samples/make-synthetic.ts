/**
 * Deterministic generator of the synthetic edge-case captures in samples/synthetic/:
 * ONC-RPC portmapper traffic (RFC 5531 messages, RFC 1833 portmapper v2 procedures)
 * between loopback addresses, shaped into the cases real software will not produce
 * on demand: records split over many segments, multi-fragment records, reordered and
 * retransmitted segments, a lost segment, IP fragments, VLAN tags, cooked and BSD
 * loopback link types, nanosecond pcap and pcapng, a capture starting mid-record.
 *
 * It also writes samples/synthetic/README.md, generated from the same data, so the
 * frame tables there always match the files.
 *
 *   node dist/samples/make-synthetic.js [OUTPUT_DIR]
 */
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LinkType } from "../capture/frame.js";
import { MemorySink, PcapWriter, PcapngWriter } from "../capture/capture-writer.js";
import {
  buildIpUdp, fragmentIpv4, fragmentIpv6, TcpConversation, wrapEthernet, wrapNull, wrapSll, wrapSll2,
  type EthernetOptions, type Side,
} from "../capture/packet-builder.js";

// ---------------------------------------------------------------------------
// ONC-RPC messages, encoded by hand (RFC 5531 §9, RFC 4506)

const PMAP_PROG = 100000;
const PMAP_VERS = 2;
const PMAPPROC_NULL = 0;
const PMAPPROC_GETPORT = 3;
const PMAPPROC_DUMP = 4;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const PROC_NAMES: Record<number, string> = { 0: "NULL", 3: "GETPORT", 4: "DUMP" };

class XdrWriter {
  private readonly parts: Uint8Array[] = [];
  uint(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0);
    this.parts.push(b);
    return this;
  }
  string(s: string): this {
    const bytes = new TextEncoder().encode(s);
    this.uint(bytes.length);
    const padded = new Uint8Array((bytes.length + 3) & ~3);
    padded.set(bytes);
    this.parts.push(padded);
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  bytes(): Uint8Array {
    return concat(this.parts);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

interface AuthSys {
  readonly stamp: number;
  readonly machine: string;
  readonly uid: number;
  readonly gid: number;
  readonly gids: readonly number[];
}

interface CallOptions {
  /** AUTH_SYS credential (default AUTH_NONE). */
  readonly sys?: AuthSys;
  /** Portmapper version (default 2). */
  readonly vers?: number;
  /** RPC protocol version (default 2; anything else is invalid). */
  readonly rpcvers?: number;
}

/** CALL header (RFC 5531 §9 call_body) + arguments. */
function rpcCall(xid: number, proc: number, args: Uint8Array, options: CallOptions = {}): Uint8Array {
  const w = new XdrWriter().uint(xid).uint(0).uint(options.rpcvers ?? 2).uint(PMAP_PROG).uint(options.vers ?? PMAP_VERS).uint(proc);
  const sys = options.sys;
  if (sys) {
    const body = new XdrWriter().uint(sys.stamp).string(sys.machine).uint(sys.uid).uint(sys.gid).uint(sys.gids.length);
    for (const g of sys.gids) body.uint(g);
    const b = body.bytes();
    w.uint(1).uint(b.length).raw(b);
  } else {
    w.uint(0).uint(0);
  }
  w.uint(0).uint(0); // verifier AUTH_NONE
  return concat([w.bytes(), args]);
}

/** MSG_ACCEPTED reply with accept_stat SUCCESS (0) and the results. */
function rpcReplySuccess(xid: number, results: Uint8Array): Uint8Array {
  return concat([new XdrWriter().uint(xid).uint(1).uint(0).uint(0).uint(0).uint(0).bytes(), results]);
}

/** MSG_ACCEPTED, PROG_MISMATCH (2) with the supported version range. */
function rpcReplyProgMismatch(xid: number, low: number, high: number): Uint8Array {
  return new XdrWriter().uint(xid).uint(1).uint(0).uint(0).uint(0).uint(2).uint(low).uint(high).bytes();
}

/** MSG_ACCEPTED, PROC_UNAVAIL (3). */
function rpcReplyProcUnavail(xid: number): Uint8Array {
  return new XdrWriter().uint(xid).uint(1).uint(0).uint(0).uint(0).uint(3).bytes();
}

/** MSG_DENIED (1), RPC_MISMATCH (0) with the supported RPC version range. */
function rpcReplyRpcMismatch(xid: number, low: number, high: number): Uint8Array {
  return new XdrWriter().uint(xid).uint(1).uint(1).uint(0).uint(low).uint(high).bytes();
}

function getportArgs(prog: number, vers: number, prot: number): Uint8Array {
  return new XdrWriter().uint(prog).uint(vers).uint(prot).uint(0).bytes();
}

function uintResult(v: number): Uint8Array {
  return new XdrWriter().uint(v).bytes();
}

type Mapping = readonly [prog: number, vers: number, prot: number, port: number];

/** pmaplist (RFC 1833 §3.2): a linked list encoded as value-follows booleans. */
function dumpResult(maps: readonly Mapping[]): Uint8Array {
  const w = new XdrWriter();
  for (const [prog, vers, prot, port] of maps) w.uint(1).uint(prog).uint(vers).uint(prot).uint(port);
  w.uint(0);
  return w.bytes();
}

const TYPICAL_MAPPINGS: readonly Mapping[] = [
  [100000, 4, 6, 111], [100000, 3, 6, 111], [100000, 2, 6, 111],
  [100000, 4, 17, 111], [100000, 3, 17, 111], [100000, 2, 17, 111],
  [100024, 1, 17, 662], [100024, 1, 6, 662],
  [100003, 3, 6, 2049], [100003, 4, 6, 2049],
  [100005, 3, 17, 20048], [100005, 3, 6, 20048],
  [100021, 4, 17, 32769], [100021, 4, 6, 32803],
];

/** A long registration list (160 entries) so a UDP DUMP reply exceeds one MTU. */
function manyMappings(): Mapping[] {
  const out: Mapping[] = [];
  for (let i = 0; i < 40; i++) {
    for (const vers of [1, 2]) {
      for (const prot of [IPPROTO_TCP, IPPROTO_UDP]) out.push([100000 + i, vers, prot, 600 + i * 4 + vers * 2 + (prot === IPPROTO_UDP ? 1 : 0)]);
    }
  }
  return out;
}

/** TCP record marking (RFC 5531 §11): the record cut into fragments of the given sizes. */
function recordMark(body: Uint8Array, fragmentSizes?: readonly number[]): Uint8Array {
  const sizes = fragmentSizes ?? [body.length];
  const parts: Uint8Array[] = [];
  let pos = 0;
  sizes.forEach((size, i) => {
    const last = i === sizes.length - 1;
    const n = last ? body.length - pos : size;
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, ((last ? 0x80000000 : 0) | n) >>> 0);
    parts.push(header, body.subarray(pos, pos + n));
    pos += n;
  });
  return concat(parts);
}

function hex(xid: number): string {
  return `0x${xid.toString(16).padStart(8, "0")}`;
}

// ---------------------------------------------------------------------------
// Capture assembly with per-frame notes for the README

interface BuiltFrame {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly bytes: Uint8Array;
  readonly interfaceId: number;
  readonly note: string;
}

class FrameLog {
  readonly frames: BuiltFrame[] = [];
  private sec: number;
  private nsec: number;

  constructor(startSec: number, startNsec: number, private readonly stepNsec: number) {
    this.sec = startSec;
    this.nsec = startNsec;
  }

  add(bytes: Uint8Array, note: string, interfaceId = 0): number {
    this.frames.push({ tsSec: this.sec, tsNsec: this.nsec, bytes, interfaceId, note });
    this.nsec += this.stepNsec;
    while (this.nsec >= 1e9) {
      this.nsec -= 1e9;
      this.sec++;
    }
    return this.frames.length;
  }
}

function writePcap(log: FrameLog, linkType: number, nanosecond = false): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType, nanosecond, snaplen: 262144 });
  for (const f of log.frames) w.writeFrame(f);
  w.flush();
  return sink.bytes();
}

interface SampleFile {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly linkType: string;
  readonly summary: string;
  readonly expectations: readonly string[];
  /** Where tshark 4.0 decodes less than it should (for agreement tests). */
  readonly tshark?: string;
  readonly frames: readonly BuiltFrame[];
}

const LOOPBACK_V4 = "127.0.0.1";
const LOOPBACK_V6 = "::1";
const START_SEC = 1_700_000_000;

function describeCall(xid: number, proc: number, extra = ""): string {
  return `CALL xid ${hex(xid)} PMAP ${PROC_NAMES[proc] ?? proc}${extra}`;
}

function conv(clientPort: number, client = LOOPBACK_V4, server = client, clientIsn = 0x1a2b3c00, serverIsn = 0x5e6f7000): TcpConversation {
  return new TcpConversation({ client, server, clientPort, serverPort: 111, clientIsn, serverIsn });
}

/** Adds handshake frames. */
function handshake(log: FrameLog, c: TcpConversation, wrap: (ip: Uint8Array) => Uint8Array, iface = 0): void {
  const [syn, synAck, ack] = c.handshake() as [Uint8Array, Uint8Array, Uint8Array];
  log.add(wrap(syn), "TCP SYN (client → server)", iface);
  log.add(wrap(synAck), "TCP SYN-ACK", iface);
  log.add(wrap(ack), "TCP ACK", iface);
}

function closeConn(log: FrameLog, c: TcpConversation, wrap: (ip: Uint8Array) => Uint8Array, iface = 0): void {
  const [a, b, ack] = c.close() as [Uint8Array, Uint8Array, Uint8Array];
  log.add(wrap(a), "TCP FIN (client)", iface);
  log.add(wrap(b), "TCP FIN (server)", iface);
  log.add(wrap(ack), "TCP ACK", iface);
}

function send(log: FrameLog, c: TcpConversation, side: Side, payload: Uint8Array, note: string, wrap: (ip: Uint8Array) => Uint8Array, iface = 0): void {
  log.add(wrap(c.send(side, payload)), note, iface);
}

const eth = (options: EthernetOptions = {}) => (ip: Uint8Array): Uint8Array => wrapEthernet(ip, options);

function udpPair(
  log: FrameLog, wrap: (ip: Uint8Array) => Uint8Array, src: string, sport: number, call: Uint8Array, reply: Uint8Array,
  callNote: string, replyNote: string, iface = 0,
): void {
  log.add(wrap(buildIpUdp({ src, dst: src, sport, dport: 111, payload: call })), callNote, iface);
  log.add(wrap(buildIpUdp({ src, dst: src, sport: 111, dport: sport, payload: reply })), replyNote, iface);
}

// 1 -------------------------------------------------------------------------
function recordSplit(): SampleFile {
  const log = new FrameLog(START_SEC, 100_000_000, 250_000);
  const w = eth();
  const c = conv(40001);
  handshake(log, c, w);

  const sys: AuthSys = { stamp: 0x65536a00, machine: "rpcclient", uid: 1000, gid: 1000, gids: [1000, 27] };
  const call1 = recordMark(rpcCall(0x1001, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_TCP), { sys }));
  const pieces = Math.ceil(call1.length / 8);
  for (let i = 0; i < call1.length; i += 8) {
    send(log, c, "client", call1.subarray(i, i + 8), `${describeCall(0x1001, 3, " (prog 100003 vers 3 tcp, AUTH_SYS)")}: bytes ${i}–${Math.min(i + 8, call1.length) - 1} of the ${call1.length}-byte record (segment ${i / 8 + 1}/${pieces})`, w);
  }
  log.add(w(c.ack("server")), "TCP ACK (server)");
  send(log, c, "server", recordMark(rpcReplySuccess(0x1001, uintResult(2049))), `REPLY xid ${hex(0x1001)} SUCCESS port 2049 (one segment)`, w);

  const call2Body = rpcCall(0x1002, PMAPPROC_DUMP, new Uint8Array(0));
  send(log, c, "client", recordMark(call2Body, [28, 8, 4]), `${describeCall(0x1002, 4)}: one ${call2Body.length}-byte record as 3 record-marking fragments (28, 8 and 4 bytes; last-fragment bit only on the third), one segment`, w);
  const reply2 = recordMark(rpcReplySuccess(0x1002, dumpResult(TYPICAL_MAPPINGS)), [100, 120, 100]);
  // Cut so that the second fragment header (at offset 104) is split 2 + 2 across segments.
  const cuts = [0, 60, 106, 230, reply2.length];
  for (let i = 0; i + 1 < cuts.length; i++) {
    send(log, c, "server", reply2.subarray(cuts[i], cuts[i + 1]), `REPLY xid ${hex(0x1002)} SUCCESS DUMP (14 mappings), record of 3 fragments: stream bytes ${cuts[i]}–${(cuts[i + 1] as number) - 1} of ${reply2.length} (segment ${i + 1}/4${i === 1 ? "; ends inside the 2nd fragment header" : ""})`, w);
  }
  const nulls = concat([0x1003, 0x1004, 0x1005].map((x) => recordMark(rpcCall(x, PMAPPROC_NULL, new Uint8Array(0)))));
  send(log, c, "client", nulls, `three whole records in one segment: ${describeCall(0x1003, 0)}, ${describeCall(0x1004, 0)}, ${describeCall(0x1005, 0)}`, w);
  const nullReplies = concat([0x1003, 0x1004, 0x1005].map((x) => recordMark(rpcReplySuccess(x, new Uint8Array(0)))));
  send(log, c, "server", nullReplies, `three whole records in one segment: REPLY xid ${hex(0x1003)}, ${hex(0x1004)}, ${hex(0x1005)} SUCCESS (void)`, w);
  send(log, c, "client", recordMark(rpcCall(0x1006, PMAPPROC_GETPORT, getportArgs(100005, 3, IPPROTO_UDP))), `${describeCall(0x1006, 3, " (prog 100005 vers 3 udp)")}`, w);
  send(log, c, "server", recordMark(rpcReplySuccess(0x1006, uintResult(20048))), `REPLY xid ${hex(0x1006)} SUCCESS port 20048`, w);
  closeConn(log, c, w);
  return {
    name: "record-split.pcap",
    bytes: writePcap(log, LinkType.ETHERNET),
    linkType: "Ethernet (1), pcap µs",
    summary: "One TCP connection 127.0.0.1:40001 → 127.0.0.1:111 (TCP connection id 0, SYN seen). A record spread over many 8-byte segments, a record of several record-marking fragments (one in a single segment, one across segments with a fragment header split between segments), and several whole records in one segment.",
    expectations: [
      "6 exchanges, all matched: 0x00001001 GETPORT → 2049, 0x00001002 DUMP → 14 mappings, 0x00001003/4/5 NULL, 0x00001006 GETPORT → 20048.",
      "No gaps, no retransmissions, no issues. The TCP streams are contiguous from the SYN; the connection ends with FIN (close reason \"fin\").",
    ],
    tshark: "tshark 4.0 does not decode the reply to 0x00001002 (frames 20–23): it cannot reassemble a record-marking header split across segments and shows \"Continuation data\".",
    frames: log.frames,
  };
}

// 2 -------------------------------------------------------------------------
function tcpOutOfOrder(): SampleFile {
  const log = new FrameLog(START_SEC, 200_000_000, 300_000);
  const w = eth();
  const c = conv(40002);
  handshake(log, c, w);

  const call1 = recordMark(rpcCall(0x2001, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_TCP)));
  const q = Math.ceil(call1.length / 4);
  const s = [0, 1, 2, 3].map((i) => {
    const seq = c.nextSeq("client");
    const bytes = call1.subarray(i * q, Math.min(call1.length, (i + 1) * q));
    return { pkt: w(c.send("client", bytes)), seq, bytes, i };
  });
  const order = [0, 2, 1, 3];
  for (const i of order) {
    const seg = s[i] as (typeof s)[number];
    log.add(seg.pkt, `${describeCall(0x2001, 3, " (prog 100003 vers 3 tcp)")}: segment ${i + 1}/4 (stream bytes ${i * q}–${i * q + seg.bytes.length - 1})${i === 2 ? " — arrives before segment 2 (out of order)" : i === 1 ? " — fills the hole" : ""}`);
  }
  const s2 = s[1] as (typeof s)[number];
  log.add(w(c.segmentAt("client", s2.seq, s2.bytes)), `retransmission of segment 2/4 (fully duplicate: "tcp-retransmission")`);

  const reply1 = recordMark(rpcReplySuccess(0x2001, uintResult(2049)));
  const r1 = reply1.subarray(0, 16);
  const r2 = reply1.subarray(16);
  const p1 = w(c.send("server", r1));
  const p2 = w(c.send("server", r2));
  log.add(p2, `REPLY xid ${hex(0x2001)} SUCCESS port 2049: segment 2/2 (arrives first, buffered)`);
  log.add(p1, `REPLY xid ${hex(0x2001)}: segment 1/2 (fills the hole; both delivered)`);

  send(log, c, "client", recordMark(rpcCall(0x2002, PMAPPROC_DUMP, new Uint8Array(0))), describeCall(0x2002, 4), w);
  const reply2 = recordMark(rpcReplySuccess(0x2002, dumpResult(TYPICAL_MAPPINGS)));
  const n = Math.ceil(reply2.length / 5);
  const rs = [0, 1, 2, 3, 4].map((i) => {
    const seq = c.nextSeq("server");
    const bytes = reply2.subarray(i * n, Math.min(reply2.length, (i + 1) * n));
    return { pkt: w(c.send("server", bytes)), seq, bytes };
  });
  for (const i of [4, 3]) log.add((rs[i] as (typeof rs)[number]).pkt, `REPLY xid ${hex(0x2002)} DUMP: segment ${i + 1}/5 (reverse order, buffered)`);
  // A retransmission that overlaps buffered segments 4 and 5 (same bytes): fully duplicate.
  const r4 = rs[3] as (typeof rs)[number];
  const overlapA = reply2.subarray(3 * n + 10, Math.min(reply2.length, 4 * n + 10));
  log.add(w(c.segmentAt("server", (r4.seq + 10) >>> 0, overlapA)), `retransmission overlapping segments 4 and 5 (identical bytes, all still buffered: "tcp-retransmission")`);
  for (const i of [2, 1, 0]) log.add((rs[i] as (typeof rs)[number]).pkt, `REPLY xid ${hex(0x2002)} DUMP: segment ${i + 1}/5${i === 0 ? " (fills the last hole; the whole reply is delivered in order)" : " (buffered)"}`);
  const r2seg = rs[1] as (typeof rs)[number];
  const overlapB = reply2.subarray(n + 5, 2 * n + 5);
  log.add(w(c.segmentAt("server", (r2seg.seq + 5) >>> 0, overlapB)), `retransmission of bytes already delivered (segments 2–3 overlap, identical: "tcp-retransmission")`);

  send(log, c, "client", recordMark(rpcCall(0x2003, PMAPPROC_NULL, new Uint8Array(0))), describeCall(0x2003, 0), w);
  send(log, c, "server", recordMark(rpcReplySuccess(0x2003, new Uint8Array(0))), `REPLY xid ${hex(0x2003)} SUCCESS (void)`, w);
  closeConn(log, c, w);
  return {
    name: "tcp-out-of-order.pcap",
    bytes: writePcap(log, LinkType.ETHERNET),
    linkType: "Ethernet (1), pcap µs",
    summary: "One TCP connection 127.0.0.1:40002 → 127.0.0.1:111 (id 0, SYN seen) whose segments arrive out of order and are retransmitted; the reassembled streams are identical to what was sent.",
    expectations: [
      "3 exchanges, all matched: 0x00002001 GETPORT → 2049, 0x00002002 DUMP → 14 mappings, 0x00002003 NULL.",
      "No gaps and no overlap mismatches. Three \"tcp-retransmission\" frame issues (the frames noted below). Close reason \"fin\".",
    ],
    tshark: "tshark decodes the replies to 0x00002001 and 0x00002002 only with `-o tcp.reassemble_out_of_order:TRUE` (off by default in 4.0).",
    frames: log.frames,
  };
}

// 3 -------------------------------------------------------------------------
function tcpLostSegment(): SampleFile {
  const log = new FrameLog(START_SEC, 300_000_000, 400_000);
  const w = eth();
  const c = conv(40003);
  handshake(log, c, w);
  const queries: [number, number, number, number][] = [
    [0x3001, 100003, 3, 2049],
    [0x3002, 100005, 3, 20048],
    [0x3003, 100021, 4, 32803],
    [0x3004, 100024, 1, 662],
  ];
  let lostBytes = 0;
  for (const [xid, prog, vers, port] of queries) {
    send(log, c, "client", recordMark(rpcCall(xid, PMAPPROC_GETPORT, getportArgs(prog, vers, IPPROTO_TCP))), describeCall(xid, 3, ` (prog ${prog} vers ${vers} tcp)`), w);
    const reply = recordMark(rpcReplySuccess(xid, uintResult(port)));
    if (xid === 0x3002) {
      send(log, c, "server", reply.subarray(0, 20), `REPLY xid ${hex(xid)} SUCCESS port ${port}: first 20 of ${reply.length} bytes`, w);
      c.send("server", reply.subarray(20)); // lost: never captured
      lostBytes = reply.length - 20;
      log.add(w(c.ack("client")), `TCP ACK (client) acknowledging the ${lostBytes} bytes the capture never saw`);
    } else {
      send(log, c, "server", reply, `REPLY xid ${hex(xid)} SUCCESS port ${port}${xid === 0x3003 ? ` — delivered with gapBefore = ${lostBytes}` : ""}`, w);
    }
  }
  closeConn(log, c, w);
  return {
    name: "tcp-lost-segment.pcap",
    bytes: writePcap(log, LinkType.ETHERNET),
    linkType: "Ethernet (1), pcap µs",
    summary: `One TCP connection 127.0.0.1:40003 → 127.0.0.1:111 (id 0, SYN seen). The second segment of the reply to 0x00003002 (its last ${lostBytes} bytes) is missing from the capture; the client's ACK covers it, so the capture lost it, not the network.`,
    expectations: [
      `Server→client stream (dir 1): one gap of ${lostBytes} bytes, reported as gapBefore = ${lostBytes} on the chunk of the reply to 0x00003003. The dissector must report the gap and resynchronise on that reply, which starts a new record.`,
      "Calls 0x00003001–0x00003004 (GETPORT for 100003/3, 100005/3, 100021/4, 100024/1, tcp) are complete. Replies 0x00003001 → 2049, 0x00003003 → 32803, 0x00003004 → 662 are complete; the reply to 0x00003002 is cut by the gap (only its first 20 bytes — the record mark and 16 header bytes — exist).",
      "The client's ACK of the lost bytes precedes the reply to 0x00003003, so the reassembler skips the hole as soon as that reply arrives (no buffering until the end). Both FINs are then reached in order: close reason \"fin\".",
    ],
    frames: log.frames,
  };
}

// 4 -------------------------------------------------------------------------
function ipFragments(): SampleFile {
  const log = new FrameLog(START_SEC, 400_000_000, 200_000);
  const w = eth();
  const maps = manyMappings();
  const big = (xid: number) => rpcReplySuccess(xid, dumpResult(maps));

  log.add(w(buildIpUdp({ src: LOOPBACK_V4, dst: LOOPBACK_V4, sport: 40004, dport: 111, payload: rpcCall(0x4001, PMAPPROC_DUMP, new Uint8Array(0)), ipId: 0x0101 })), `UDP ${describeCall(0x4001, 4)} (127.0.0.1:40004 → :111)`);
  const reply1 = buildIpUdp({ src: LOOPBACK_V4, dst: LOOPBACK_V4, sport: 111, dport: 40004, payload: big(0x4001), ipId: 0x2a2a });
  const frags = fragmentIpv4(reply1, 1500);
  const fragOrder = [2, 0, 1];
  for (const i of fragOrder) {
    const f = frags[i] as Uint8Array;
    log.add(w(f), `UDP REPLY xid ${hex(0x4001)} DUMP (${maps.length} mappings, ${big(0x4001).length}-byte RPC message): IPv4 fragment ${i + 1}/${frags.length} (id 0x2a2a, offset ${i * 1480}${i === frags.length - 1 ? ", last" : ", MF"})${i === 1 ? " — completes the datagram" : ""}`);
  }
  udpPair(log, w, LOOPBACK_V4, 40004,
    rpcCall(0x4002, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_UDP)),
    rpcReplySuccess(0x4002, uintResult(2049)),
    `UDP ${describeCall(0x4002, 3, " (prog 100003 vers 3 udp)")}`, `UDP REPLY xid ${hex(0x4002)} SUCCESS port 2049 (not fragmented)`);

  log.add(w(buildIpUdp({ src: LOOPBACK_V6, dst: LOOPBACK_V6, sport: 40005, dport: 111, payload: rpcCall(0x4003, PMAPPROC_DUMP, new Uint8Array(0)) })), `UDP ${describeCall(0x4003, 4)} ([::1]:40005 → [::1]:111)`);
  const reply3 = buildIpUdp({ src: LOOPBACK_V6, dst: LOOPBACK_V6, sport: 111, dport: 40005, payload: big(0x4003) });
  const frags6 = fragmentIpv6(reply3, 1280, 0x0badcafe);
  for (const i of [0, 2, 1]) {
    log.add(w(frags6[i] as Uint8Array), `UDP REPLY xid ${hex(0x4003)} DUMP over IPv6: fragment ${i + 1}/${frags6.length} (Fragment header id 0x0badcafe, offset ${i * 1232})${i === 1 ? " — completes the datagram" : ""}`);
  }
  return {
    name: "ip-fragments.pcap",
    bytes: writePcap(log, LinkType.ETHERNET),
    linkType: "Ethernet (1), pcap µs",
    summary: `UDP portmapper traffic whose DUMP replies (${maps.length} mappings, ${big(0).length} bytes of RPC) exceed the 1500-byte MTU: an IPv4 datagram in ${frags.length} fragments arriving in the order 3, 1, 2, and an IPv6 datagram in ${frags6.length} fragments (MTU 1280) arriving in the order 1, 3, 2.`,
    expectations: [
      `3 exchanges, all matched: 0x00004001 DUMP → ${maps.length} mappings (reassembled reply delivered at the frame of the fragment that completes it, fragmentFrames = its ${frags.length} frames), 0x00004002 GETPORT → 2049, 0x00004003 DUMP over IPv6 → ${maps.length} mappings.`,
      "No fragment overlaps, timeouts or other issues.",
    ],
    frames: log.frames,
  };
}

// 5 -------------------------------------------------------------------------
function vlan(): SampleFile {
  const log = new FrameLog(START_SEC, 500_000_000, 200_000);
  const dot1q = eth({ vlans: [{ vid: 100 }] });
  const qinq = eth({ vlans: [{ tpid: 0x88a8, vid: 200 }, { vid: 300 }] });
  const old = eth({ vlans: [{ tpid: 0x9100, vid: 10 }, { vid: 20, pcp: 5 }] });
  udpPair(log, dot1q, LOOPBACK_V4, 40051,
    rpcCall(0x5001, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_UDP)), rpcReplySuccess(0x5001, uintResult(2049)),
    `802.1Q vid 100: UDP ${describeCall(0x5001, 3, " (prog 100003 vers 3 udp)")}`, `802.1Q vid 100: UDP REPLY xid ${hex(0x5001)} SUCCESS port 2049`);
  const c = conv(40052);
  handshake(log, c, qinq);
  send(log, c, "client", recordMark(rpcCall(0x5002, PMAPPROC_NULL, new Uint8Array(0))), `QinQ 802.1ad vid 200 / 802.1Q vid 300: ${describeCall(0x5002, 0)}`, qinq);
  send(log, c, "server", recordMark(rpcReplySuccess(0x5002, new Uint8Array(0))), `QinQ: REPLY xid ${hex(0x5002)} SUCCESS (void)`, qinq);
  send(log, c, "client", recordMark(rpcCall(0x5003, PMAPPROC_GETPORT, getportArgs(100003, 4, IPPROTO_TCP))), `QinQ: ${describeCall(0x5003, 3, " (prog 100003 vers 4 tcp)")}`, qinq);
  send(log, c, "server", recordMark(rpcReplySuccess(0x5003, uintResult(2049))), `QinQ: REPLY xid ${hex(0x5003)} SUCCESS port 2049`, qinq);
  closeConn(log, c, qinq);
  udpPair(log, old, LOOPBACK_V4, 40053,
    rpcCall(0x5004, 7, new Uint8Array(0)), rpcReplyProcUnavail(0x5004),
    `0x9100 outer tag vid 10 / 802.1Q vid 20: UDP CALL xid ${hex(0x5004)} PMAP proc 7 (no such procedure)`, `0x9100/802.1Q: UDP REPLY xid ${hex(0x5004)} PROC_UNAVAIL`);
  return {
    name: "vlan.pcap",
    bytes: writePcap(log, LinkType.ETHERNET),
    linkType: "Ethernet (1), pcap µs",
    summary: "Ethernet frames with VLAN tags: 802.1Q (one tag), QinQ (802.1ad S-tag 0x88a8 + 802.1Q C-tag) and the pre-standard 0x9100 outer tag. TCP connection id 0 is 127.0.0.1:40052 → :111.",
    expectations: [
      "4 exchanges, all matched: 0x00005001 GETPORT/udp → 2049, 0x00005002 NULL (TCP), 0x00005003 GETPORT → 2049 (TCP), 0x00005004 proc 7 → PROC_UNAVAIL.",
      "No not-ip or malformed-link issues.",
    ],
    frames: log.frames,
  };
}

// 6 -------------------------------------------------------------------------
function cookedAndNull(kind: "sll2" | "sll" | "null"): SampleFile {
  const base = kind === "sll2" ? 0x6001 : kind === "sll" ? 0x6101 : 0x6201;
  const log = new FrameLog(START_SEC, 600_000_000 + (base & 0xff) * 1000, 150_000);
  const wrap4 = kind === "sll2" ? (ip: Uint8Array) => wrapSll2(ip) : kind === "sll" ? (ip: Uint8Array) => wrapSll(ip) : (ip: Uint8Array) => wrapNull(ip);
  const label = kind === "sll2" ? "SLL2" : kind === "sll" ? "SLL" : "NULL family 2";
  udpPair(log, wrap4, LOOPBACK_V4, 40061,
    rpcCall(base, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_UDP)), rpcReplySuccess(base, uintResult(2049)),
    `${label}: UDP ${describeCall(base, 3, " (prog 100003 vers 3 udp)")}`, `${label}: UDP REPLY xid ${hex(base)} SUCCESS port 2049`);
  const c = conv(40062);
  handshake(log, c, wrap4);
  send(log, c, "client", recordMark(rpcCall(base + 1, PMAPPROC_DUMP, new Uint8Array(0))), `${label}: ${describeCall(base + 1, 4)}`, wrap4);
  send(log, c, "server", recordMark(rpcReplySuccess(base + 1, dumpResult(TYPICAL_MAPPINGS))), `${label}: REPLY xid ${hex(base + 1)} SUCCESS DUMP (14 mappings)`, wrap4);
  closeConn(log, c, wrap4);
  const expectations: string[] = [];
  if (kind === "null") {
    const wrap6 = (ip: Uint8Array) => wrapNull(ip, { family: 30 });
    udpPair(log, wrap6, LOOPBACK_V6, 40063,
      rpcCall(base + 2, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_UDP)), rpcReplySuccess(base + 2, uintResult(2049)),
      `NULL family 30 (macOS AF_INET6): UDP ${describeCall(base + 2, 3, " (prog 100003 vers 3 udp) [::1]:40063 → [::1]:111")}`, `NULL family 30: UDP REPLY xid ${hex(base + 2)} SUCCESS port 2049`);
    const wrapBe = (ip: Uint8Array) => wrapNull(ip, { bigEndian: true });
    udpPair(log, wrapBe, LOOPBACK_V4, 40064,
      rpcCall(base + 3, PMAPPROC_NULL, new Uint8Array(0)), rpcReplySuccess(base + 3, new Uint8Array(0)),
      `NULL family 2 written big-endian: UDP ${describeCall(base + 3, 0)}`, `NULL family 2 big-endian: UDP REPLY xid ${hex(base + 3)} SUCCESS (void)`);
    expectations.push(`4 exchanges, all matched: ${hex(base)} GETPORT/udp → 2049, ${hex(base + 1)} DUMP → 14 mappings (TCP connection id 0, 127.0.0.1:40062 → :111), ${hex(base + 2)} GETPORT/udp over IPv6 ([::1]:40063) → 2049, ${hex(base + 3)} NULL/udp.`);
  } else {
    expectations.push(`2 exchanges, all matched: ${hex(base)} GETPORT/udp → 2049, ${hex(base + 1)} DUMP → 14 mappings (TCP connection id 0, 127.0.0.1:40062 → :111).`);
  }
  expectations.push("No issues.");
  const linkType = kind === "sll2" ? LinkType.LINUX_SLL2 : kind === "sll" ? LinkType.LINUX_SLL : LinkType.NULL;
  return {
    name: kind === "sll2" ? "sll2.pcap" : kind === "sll" ? "sll.pcap" : "null-loopback.pcap",
    bytes: writePcap(log, linkType),
    linkType: kind === "sll2" ? "Linux cooked v2 (276), pcap µs" : kind === "sll" ? "Linux cooked v1 (113), pcap µs" : "BSD loopback NULL (0), pcap µs",
    summary:
      kind === "null"
        ? "BSD loopback encapsulation: the 4-byte address family in little-endian (2 = AF_INET, 30 = macOS AF_INET6) and, for the last two frames, written big-endian."
        : `Linux cooked capture ${kind === "sll2" ? "v2 (20-byte header, as `tcpdump -i any` writes today)" : "v1 (16-byte header)"}, ARPHRD_LOOPBACK.`,
    expectations,
    frames: log.frames,
  };
}

// 7 -------------------------------------------------------------------------
function nanosecondPcapng(): SampleFile {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { application: "rpcscope make-synthetic" });
  w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 9, name: "lo" });
  w.addInterface({ linkType: LinkType.RAW, tsResolution: 9, name: "tun0" });
  const log = new FrameLog(START_SEC, 700_000_001, 123_456_789);
  const e = eth();
  const raw = (ip: Uint8Array) => ip;
  udpPair(log, e, LOOPBACK_V4, 40071,
    rpcCall(0x7001, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_UDP)), rpcReplySuccess(0x7001, uintResult(2049)),
    `interface 0 (Ethernet): UDP ${describeCall(0x7001, 3, " (prog 100003 vers 3 udp)")}`, `interface 0: UDP REPLY xid ${hex(0x7001)} SUCCESS port 2049`, 0);
  const c = conv(40072);
  handshake(log, c, raw, 1);
  send(log, c, "client", recordMark(rpcCall(0x7002, PMAPPROC_NULL, new Uint8Array(0))), `interface 1 (raw IP): ${describeCall(0x7002, 0)}`, raw, 1);
  send(log, c, "server", recordMark(rpcReplySuccess(0x7002, new Uint8Array(0))), `interface 1: REPLY xid ${hex(0x7002)} SUCCESS (void)`, raw, 1);
  closeConn(log, c, raw, 1);
  const firstSection = log.frames.length;
  // Second section, big-endian: interfaces start again from 0.
  udpPair(log, e, LOOPBACK_V4, 40073,
    rpcCall(0x7003, PMAPPROC_NULL, new Uint8Array(0), { vers: 5 }), rpcReplyProgMismatch(0x7003, 2, 4),
    `section 2 (big-endian), interface 0: UDP CALL xid ${hex(0x7003)} PMAP vers 5 NULL`, `section 2: UDP REPLY xid ${hex(0x7003)} PROG_MISMATCH (low 2, high 4)`, 0);
  udpPair(log, e, LOOPBACK_V4, 40074,
    rpcCall(0x7004, PMAPPROC_NULL, new Uint8Array(0), { rpcvers: 3 }), rpcReplyRpcMismatch(0x7004, 2, 2),
    `section 2: UDP CALL xid ${hex(0x7004)} with RPC version 3 (invalid)`, `section 2: UDP REPLY xid ${hex(0x7004)} MSG_DENIED RPC_MISMATCH (low 2, high 2)`, 0);

  log.frames.forEach((f, i) => {
    if (i === firstSection) {
      w.startSection(false);
      w.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 9, name: "lo" });
    }
    w.writeFrame(f.interfaceId, f);
  });
  w.flush();
  return {
    name: "nanosecond.pcapng",
    bytes: sink.bytes(),
    linkType: "pcapng: section 1 little-endian with interface 0 Ethernet and interface 1 raw IPv4 (both if_tsresol 9); section 2 big-endian with interface 0 Ethernet (if_tsresol 9)",
    summary: `Nanosecond timestamps (sub-microsecond digits are non-zero), two interfaces and two sections in opposite byte orders. Frames 1–${firstSection} are in section 1, the rest in section 2.`,
    expectations: [
      "4 exchanges, all matched (0x00007004 is a call that is not valid RPC, rpcvers 3, answered with MSG_DENIED): 0x00007001 GETPORT/udp → 2049, 0x00007002 NULL over TCP (connection id 0, 127.0.0.1:40072 → :111, interface 1), 0x00007003 PMAP vers 5 NULL → PROG_MISMATCH (low 2, high 4), 0x00007004 (rpcvers 3) → MSG_DENIED RPC_MISMATCH (low 2, high 2).",
      "Timestamps start at 1700000000.700000001 and advance by 0.123456789 s per frame.",
    ],
    frames: log.frames,
  };
}

function nanosecondPcap(): SampleFile {
  const log = new FrameLog(START_SEC, 800_000_007, 1_000_003);
  const e = eth();
  udpPair(log, e, LOOPBACK_V4, 40081,
    rpcCall(0x7101, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_UDP)), rpcReplySuccess(0x7101, uintResult(2049)),
    `UDP ${describeCall(0x7101, 3, " (prog 100003 vers 3 udp)")}`, `UDP REPLY xid ${hex(0x7101)} SUCCESS port 2049`);
  udpPair(log, e, LOOPBACK_V4, 40081,
    rpcCall(0x7102, PMAPPROC_DUMP, new Uint8Array(0)), rpcReplySuccess(0x7102, dumpResult(TYPICAL_MAPPINGS)),
    `UDP ${describeCall(0x7102, 4)}`, `UDP REPLY xid ${hex(0x7102)} SUCCESS DUMP (14 mappings)`);
  return {
    name: "nanosecond.pcap",
    bytes: writePcap(log, LinkType.ETHERNET, true),
    linkType: "Ethernet (1), pcap with the nanosecond magic a1b23c4d",
    summary: "UDP portmapper exchanges with nanosecond timestamps (1700000000.800000007, then +0.001000003 s per frame).",
    expectations: ["2 exchanges, all matched: 0x00007101 GETPORT → 2049, 0x00007102 DUMP → 14 mappings. No issues."],
    frames: log.frames,
  };
}

// 8 -------------------------------------------------------------------------
function midstream(): SampleFile {
  const log = new FrameLog(START_SEC, 900_000_000, 250_000);
  const w = eth();
  // Server ISN chosen so the first captured segment starts just below 2^32 and crosses it.
  const c = conv(40008, LOOPBACK_V4, LOOPBACK_V4, 0x0ffffff0, 0xfffffecf);
  // The capture starts here: the SYN and the DUMP call were not captured.
  c.handshake();
  c.send("client", recordMark(rpcCall(0x8000, PMAPPROC_DUMP, new Uint8Array(0))));
  const reply0 = recordMark(rpcReplySuccess(0x8000, dumpResult(TYPICAL_MAPPINGS)));
  c.send("server", reply0.subarray(0, reply0.length - 40)); // not captured
  const tail = reply0.subarray(reply0.length - 40);
  const tailSeq = c.nextSeq("server");
  send(log, c, "server", tail, `first captured frame: the last 40 bytes of the ${reply0.length}-byte record of REPLY xid ${hex(0x8000)} (DUMP); no record header visible (seq 0x${tailSeq.toString(16)}: the sequence numbers wrap past 2^32 inside this segment)`, w);
  send(log, c, "client", recordMark(rpcCall(0x8001, PMAPPROC_GETPORT, getportArgs(100003, 3, IPPROTO_TCP))), `${describeCall(0x8001, 3, " (prog 100003 vers 3 tcp)")} — first client bytes seen (midstream, but at a record boundary)`, w);
  send(log, c, "server", recordMark(rpcReplySuccess(0x8001, uintResult(2049))), `REPLY xid ${hex(0x8001)} SUCCESS port 2049`, w);
  send(log, c, "client", recordMark(rpcCall(0x8002, PMAPPROC_NULL, new Uint8Array(0))), describeCall(0x8002, 0), w);
  send(log, c, "server", recordMark(rpcReplySuccess(0x8002, new Uint8Array(0))), `REPLY xid ${hex(0x8002)} SUCCESS (void)`, w);
  closeConn(log, c, w);
  return {
    name: "midstream.pcap",
    bytes: writePcap(log, LinkType.ETHERNET),
    linkType: "Ethernet (1), pcap µs",
    summary: "A TCP capture that starts in the middle of a connection (127.0.0.1:111 → 127.0.0.1:40008 is the first frame; no SYN): the first server bytes are the tail of a DUMP reply record. The server's sequence numbers cross 2^32 inside the first captured segment.",
    expectations: [
      "TCP connection id 0 with sawSyn = false; a = 127.0.0.1:111 (first sender), so dir 0 is server → client here; the first chunk of each direction has midstream: true.",
      "The dissector must skip the 40-byte record tail (not RPC it can frame) and then find 2 exchanges, both matched: 0x00008001 GETPORT → 2049, 0x00008002 NULL. The tail of 0x00008000 has no call: no exchange may be invented from it.",
    ],
    tshark: "tshark 4.0 takes the first 4 tail bytes for a record mark and then does not decode the replies to 0x00008001 and 0x00008002.",
    frames: log.frames,
  };
}

// ---------------------------------------------------------------------------

export function makeSyntheticSamples(): SampleFile[] {
  return [
    recordSplit(),
    tcpOutOfOrder(),
    tcpLostSegment(),
    ipFragments(),
    vlan(),
    cookedAndNull("sll2"),
    cookedAndNull("sll"),
    cookedAndNull("null"),
    nanosecondPcapng(),
    nanosecondPcap(),
    midstream(),
  ];
}

function formatTime(f: BuiltFrame): string {
  return `${f.tsSec}.${String(f.tsNsec).padStart(9, "0")}`;
}

export function renderReadme(samples: readonly SampleFile[]): string {
  const lines: string[] = [
    "# Synthetic edge-case captures",
    "",
    "Generated by `samples/make-synthetic.ts` (`npm run build && node dist/samples/make-synthetic.js`); deterministic, so regenerating",
    "gives identical bytes (a test checks this). Do not edit by hand: this README is generated too.",
    "",
    "All traffic is ONC-RPC (RFC 5531) portmapper version 2 (program 100000, RFC 1833) between loopback addresses",
    "(127.0.0.1, ::1), server port 111. Messages are built by hand: AUTH_NONE credentials unless noted, TCP record marking",
    "per RFC 5531 §11. GETPORT arguments are (prog, vers, prot, 0); DUMP replies are pmaplist chains.",
    "Frame numbers count from 1; times are seconds since the epoch. \"dir 0\" is from the connection's `a` side (the SYN",
    "sender, or the first sender seen when there is no SYN).",
    "",
  ];
  for (const s of samples) {
    lines.push(`## ${s.name}`, "", `Link type: ${s.linkType}. ${s.bytes.length} bytes, ${s.frames.length} frames.`, "", s.summary, "", "Expected:", "");
    for (const e of s.expectations) lines.push(`- ${e}`);
    if (s.tshark) lines.push(`- Reference decoders: ${s.tshark}`);
    lines.push("", "| frame | time | bytes | what |", "|---:|---|---:|---|");
    s.frames.forEach((f, i) => lines.push(`| ${i + 1} | ${formatTime(f)} | ${f.bytes.length} | ${f.note.replaceAll("|", "\\|")} |`));
    lines.push("");
  }
  return lines.join("\n");
}

function findRepoRoot(start: string): string {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json"))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${start}`);
}

export function writeSyntheticSamples(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const samples = makeSyntheticSamples();
  for (const s of samples) writeFileSync(join(outDir, s.name), s.bytes);
  writeFileSync(join(outDir, "README.md"), renderReadme(samples));
  return samples.map((s) => s.name);
}

if (process.argv[1] && import.meta.url.endsWith("/samples/make-synthetic.js")) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : join(findRepoRoot(dirname(fileURLToPath(import.meta.url))), "samples", "synthetic");
  const names = writeSyntheticSamples(outDir);
  process.stdout.write(`wrote ${names.length} captures and README.md to ${outDir}\n`);
}
