/**
 * Deterministic generator of the small hostile captures in samples/hostile/: files
 * cut in a header, a packet record or a pcapng block; an RPC record the capture
 * ends inside; snaplen-cut packets; a zero-length record fragment; a record mark
 * announcing 2 GB; a TCP stream with a hole; a union discriminant with no arm and
 * no default; strings carrying terminal escape sequences and invalid UTF-8.
 * Also builds, on demand, the big inputs used to measure peak memory (never
 * committed): many flows that each leave a hole, and floods of tiny IP fragments.
 *
 * It writes samples/hostile/README.md from the same data.
 *
 *   node dist/samples/make-hostile.js [OUTPUT_DIR]
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LinkType } from "../capture/frame.js";
import { MemorySink, PcapngWriter, PcapWriter, type ByteSink } from "../capture/capture-writer.js";
import { buildIpv4, buildIpUdp, IpProtocol, TcpConversation } from "../capture/packet-builder.js";

// ---------------------------------------------------------------------------
// XDR and ONC-RPC messages (RFC 4506, RFC 5531 §9), by hand

function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((w, i) => v.setUint32(i * 4, w >>> 0));
  return out;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function opaque(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ((bytes.length + 3) & ~3));
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

const latin = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

const AUTH_NONE = words(0, 0);

function authSys(machinename: Uint8Array, uid = 1000, gid = 1000): Uint8Array {
  return cat(words(1), opaque(cat(words(0x65000000), opaque(machinename), words(uid, gid, 1, gid))));
}

function call(xid: number, prog: number, vers: number, proc: number, args: Uint8Array, cred: Uint8Array = AUTH_NONE): Uint8Array {
  return cat(words(xid, 0, 2, prog, vers, proc), cred, AUTH_NONE, args);
}

function reply(xid: number, results: Uint8Array = new Uint8Array(0)): Uint8Array {
  return cat(words(xid, 1, 0), AUTH_NONE, words(0), results);
}

function marked(msg: Uint8Array): Uint8Array {
  return cat(words((0x80000000 | msg.length) >>> 0), msg);
}

const PMAP = 100000;
const NFS = 100003;
const DEMO = 0x20406080;
const getportArgs = words(NFS, 3, 6, 0);

// ---------------------------------------------------------------------------
// Captures

export interface HostileSample {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** What the file is. */
  readonly summary: string;
  /** What rpcscope reports for it (checked by test/hostile). */
  readonly expected: readonly string[];
  /** Extra command-line arguments it needs (a spec). */
  readonly args?: readonly string[];
}

const T0 = 1_700_000_000;

/** Raw-IP pcap (µs) of packets 1 ms apart. */
function pcap(packets: readonly Uint8Array[], snaplen = 262144): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.RAW, snaplen });
  packets.forEach((bytes, i) => w.writeFrame({ tsSec: T0, tsNsec: i * 1_000_000, bytes }));
  w.flush();
  return sink.bytes();
}

function conversation(serverPort: number, clientPort = 40100, client = "127.0.0.1", server = "127.0.0.1"): TcpConversation {
  return new TcpConversation({ client, server, clientPort, serverPort });
}

/** A portmapper TCP conversation: handshake, GETPORT ×n, close. */
function portmapperTcp(n: number): Uint8Array[] {
  const c = conversation(111);
  const packets = [...c.handshake()];
  for (let i = 0; i < n; i++) {
    packets.push(c.send("client", marked(call(0x100 + i, PMAP, 2, 3, getportArgs))));
    packets.push(c.send("server", marked(reply(0x100 + i, words(2049)))));
  }
  packets.push(...c.close());
  return packets;
}

function cutFileHeader(): HostileSample {
  const whole = pcap(portmapperTcp(1));
  return {
    name: "cut-in-file-header.pcap",
    bytes: whole.slice(0, 13),
    summary: "The first 13 bytes of a pcap file: the 24-byte file header is cut off.",
    expected: ["rpcscope: capture file header is cut off: the input ends after 13 bytes (at file offset 13); exit status 2"],
  };
}

function cutPacketRecord(): HostileSample {
  const packets = portmapperTcp(2);
  const whole = pcap(packets);
  // Cut inside the packet data of frame 7 (the second GETPORT call).
  let pos = 24;
  for (let i = 0; i < 6; i++) pos += 16 + packets[i]!.length;
  const cut = pos + 16 + 30;
  return {
    name: "cut-in-packet-record.pcap",
    bytes: whole.slice(0, cut),
    summary: "A portmapper TCP conversation whose file ends 30 bytes into the data of packet record 7.",
    expected: [
      "frames 1–6 decoded: one GETPORT exchange",
      `stderr: rpcscope: warning: capture file is cut short: capture is cut short: the file ends inside a packet record (46 of ${16 + packets[6]!.length} bytes present) after 6 complete frames (at file offset ${pos})`,
      "exit status 0",
    ],
  };
}

function cutPcapngBlock(): HostileSample {
  const packets = portmapperTcp(2);
  const sink = new MemorySink();
  const w = new PcapngWriter(sink);
  w.addInterface({ linkType: LinkType.RAW, tsResolution: 9 });
  packets.slice(0, 6).forEach((bytes, i) => w.writeFrame(0, { tsSec: T0, tsNsec: i * 1_000_000, bytes }));
  w.flush();
  const before = sink.bytes().length;
  w.writeFrame(0, { tsSec: T0, tsNsec: 6_000_000, bytes: packets[6]! });
  w.flush();
  const whole = sink.bytes();
  return {
    name: "cut-in-pcapng-block.pcapng",
    bytes: whole.slice(0, before + 20),
    summary: "A pcapng file (one interface, ns timestamps) whose 7th enhanced packet block is cut after 20 bytes.",
    expected: [
      "frames 1–6 decoded: one GETPORT exchange",
      `stderr: rpcscope: warning: capture file is cut short: capture is cut short: the file ends inside a pcapng block (20 of ${whole.length - before} bytes present) after 6 complete frames (at file offset ${before})`,
    ],
  };
}

function rpcRecordCut(): HostileSample {
  const c = conversation(2049, 40200);
  const packets = [...c.handshake()];
  // NFSv3 WRITE of 400 bytes; the capture ends after the first 120 bytes of its record.
  const fh = opaque(new Uint8Array(32).fill(0xab));
  const data = new Uint8Array(400).fill(0x61);
  const msg = call(0x2001, NFS, 3, 7, cat(fh, words(0, 0, 400, 0), opaque(data)));
  packets.push(c.send("client", marked(msg).subarray(0, 124)));
  return {
    name: "rpc-record-cut.pcap",
    bytes: pcap(packets),
    summary: `An NFSv3 WRITE call (record of ${msg.length} bytes) of which the capture holds the first 120 record bytes; the capture then ends (no FIN).`,
    expected: [
      `stream issue truncated: stream ended (end) inside a record: ${msg.length - 120} bytes of the current fragment never seen`,
      `the call is shown with issue truncated: only 120 of ${msg.length} bytes captured; its arguments decode up to the data, which is truncated`,
      "the exchange is unanswered (no reply before the end of the capture)",
    ],
  };
}

function snaplenCut(): HostileSample {
  const fh = opaque(new Uint8Array(32).fill(0xcd));
  const data = new Uint8Array(300).fill(0x62);
  const writeArgs = cat(fh, words(0, 4096, 300, 2), opaque(data));
  const udp = buildIpUdp({
    src: "127.0.0.1", dst: "127.0.0.1", sport: 40300, dport: 2049, payload: call(0x3001, NFS, 3, 7, writeArgs),
  });
  const c = conversation(2049, 40301);
  const packets = [udp, ...c.handshake(), c.send("client", marked(call(0x3002, NFS, 3, 7, writeArgs)))];
  return {
    name: "snaplen-120.pcap",
    bytes: pcap(packets, 120),
    summary: "Two NFSv3 WRITE calls of 300 data bytes (over UDP, then TCP) captured with a snaplen of 120 bytes.",
    expected: [
      "both calls decoded: RPC header, file handle, offset, count, stable; the data opaque is truncated",
      "UDP call: issue truncated: only 92 of 396 bytes captured; arguments: truncated at +92 (args.data): opaque<> needs 4 bytes, only 0 captured",
      "TCP call: issue truncated: only 76 of 396 bytes captured; arguments: truncated at +76 (args.offset): offset3 needs 8 bytes, only 0 captured; stream issue truncated (cut by the snaplen inside a record; record marking stays in step)",
    ],
  };
}

function zeroLengthFragment(): HostileSample {
  const c = conversation(111, 40400);
  const all = [...c.handshake()];
  all.push(c.send("client", marked(call(0x400, PMAP, 2, 3, getportArgs))));
  all.push(c.send("server", marked(reply(0x400, words(2049)))));
  const msg = call(0x401, PMAP, 2, 3, getportArgs);
  // An empty fragment (not last), then the message as the last fragment.
  all.push(c.send("client", cat(words(0), marked(msg))));
  all.push(c.send("server", marked(reply(0x401, words(2049)))));
  all.push(...c.close());
  return {
    name: "zero-length-fragment.pcap",
    bytes: pcap(all),
    summary: "A portmapper TCP conversation whose second call is sent as an empty fragment followed by the whole message.",
    expected: [
      "stream issue zero-length-fragment: record mark 0x00000000 announces an empty fragment",
      "both GETPORT exchanges still decoded and matched",
    ],
  };
}

function recordMark2GB(): HostileSample {
  const c = conversation(2049, 40500);
  const packets = [...c.handshake()];
  packets.push(c.send("client", marked(call(0x500, NFS, 3, 0, new Uint8Array(0)))));
  packets.push(c.send("server", marked(reply(0x500))));
  // A record mark announcing 2^31 - 1 bytes in its last fragment, then 100 bytes.
  packets.push(c.send("client", cat(words(0xffffffff), new Uint8Array(100).fill(0x41))));
  packets.push(...c.close());
  return {
    name: "record-mark-2gb.pcap",
    bytes: pcap(packets),
    summary: "An NFS NULL exchange over TCP, then a record mark 0xffffffff (last fragment, 2147483647 bytes) followed by 100 bytes and FIN.",
    expected: [
      "stream issue record-too-long: record of 2147483647 bytes exceeds maxRecordBytes (16777216); 100 bytes skipped before the record was cut off",
      "nothing is allocated for the announced size (peak memory stays flat)",
    ],
  };
}

function tcpHole(): HostileSample {
  const c = conversation(111, 40600);
  const packets = [...c.handshake()];
  packets.push(c.send("client", marked(call(0x600, PMAP, 2, 3, getportArgs))));
  packets.push(c.send("server", marked(reply(0x600, words(2049)))));
  // The second call in three segments; the middle one (8 bytes of its arguments) is lost.
  const second = marked(call(0x601, PMAP, 2, 3, getportArgs));
  packets.push(c.send("client", second.subarray(0, 48)));
  c.send("client", second.subarray(48, 56));
  packets.push(c.send("client", second.subarray(56)));
  packets.push(c.send("server", marked(reply(0x601, words(2049)))));
  packets.push(c.send("client", marked(call(0x602, PMAP, 2, 3, getportArgs))));
  packets.push(c.send("server", marked(reply(0x602, words(2049)))));
  packets.push(...c.close());
  return {
    name: "tcp-hole.pcap",
    bytes: pcap(packets),
    summary: "A portmapper TCP conversation whose second call lost a segment of 8 bytes inside its arguments (record bytes 44–51).",
    expected: [
      "stream issue gap: 8 bytes missing from the stream (loss or buffer limit) inside a record; record marking stays in step",
      "the second call keeps its header and is matched with its reply; issue truncated: only 44 of 56 bytes captured; its arguments stop at vers (truncated at +44)",
      "the first and third exchanges decode normally",
    ],
  };
}

function tcpHoleResync(): HostileSample {
  const c = conversation(111, 40650);
  const packets = [...c.handshake()];
  packets.push(c.send("client", marked(call(0x650, PMAP, 2, 3, getportArgs))));
  packets.push(c.send("server", marked(reply(0x650, words(2049)))));
  // Two calls back to back; a lost segment takes the end of the first and the mark of the second.
  const two = cat(marked(call(0x651, PMAP, 2, 3, getportArgs)), marked(call(0x652, PMAP, 2, 3, getportArgs)));
  packets.push(c.send("client", two.subarray(0, 50)));
  c.send("client", two.subarray(50, 62));
  packets.push(c.send("client", two.subarray(62)));
  packets.push(c.send("server", cat(marked(reply(0x651, words(2049))), marked(reply(0x652, words(2049))))));
  packets.push(c.send("client", marked(call(0x653, PMAP, 2, 3, getportArgs))));
  packets.push(c.send("server", marked(reply(0x653, words(2049)))));
  packets.push(...c.close());
  return {
    name: "tcp-hole-resync.pcap",
    bytes: pcap(packets),
    summary: "A portmapper TCP conversation where a lost segment of 12 bytes takes the end of one call and the record mark of the next.",
    expected: [
      "stream issue gap: 12 bytes missing from the stream (loss or buffer limit); resynchronising",
      "stream issue resync: the bytes up to the next plausible record mark are skipped, and counted",
      "the cut call is shown truncated; replies whose call was lost are shown unpaired; the exchange after the hole decodes normally",
    ],
  };
}

function unionNoArm(): HostileSample {
  // NFSv3 SETATTR3args: object, new_attributes (six "don't set" arms), guard (sattrguard3:
  // switch (bool) with arms TRUE and FALSE and no default) whose discriminant is 5.
  const fh = opaque(new Uint8Array(8).fill(0x11));
  const args = cat(fh, words(0, 0, 0, 0, 0, 0), words(5));
  const udpCall = buildIpUdp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 40700, dport: 2049, payload: call(0x700, NFS, 3, 2, args) });
  return {
    name: "union-no-arm.pcap",
    bytes: pcap([udpCall]),
    summary: "An NFSv3 SETATTR call whose guard (union sattrguard3, bool discriminant, no default arm) has discriminant 5.",
    expected: [
      "body issue malformed: arguments: invalid at +76 (args.guard.arm): no arm of sattrguard3 for discriminant 5 and no default",
      "body issue malformed: invalid at +76 (args.guard.check): bool is 5, not 0 or 1 (the discriminant itself)",
    ],
  };
}

/** Bytes that would drive a terminal if printed raw: OSC title, clear screen, bell, backspace, CSI, invalid UTF-8. */
export const HOSTILE_MACHINENAME = latin("\x1b]0;pwned\x07\x1b[2J\x08\x08evil\xff\xfe\xc2\x9b31m\x9b2J");
/** At most 16 bytes (name_t is string<16>): clear screen, OSC title with bell, backspace, a stray 0xff. */
export const HOSTILE_GREET_NAME = latin("\x1b[2J\x1b]0;t\x07\x08\xff");
/** An NFS file name: OSC title with bell, cursor home, backspaces, DEL, an RLO override. */
export const HOSTILE_FILE_NAME = latin("\x1b]2;hacked\x07\x1b[H\x08\x08\x7fgnp.\xe2\x80\xaeexe");
export const HOSTILE_GREET_REPLY = latin("hi \x1b[31mred\x1b[0m\xc2\x85\xe2\x80\xae!");

function hostileStrings(): HostileSample {
  const cred = authSys(HOSTILE_MACHINENAME);
  const c = conversation(611, 40800);
  const packets = [...c.handshake()];
  packets.push(c.send("client", marked(call(0x800, DEMO, 1, 2, opaque(HOSTILE_GREET_NAME), cred))));
  packets.push(c.send("server", marked(reply(0x800, opaque(HOSTILE_GREET_REPLY)))));
  // Portmapper over UDP with the same credential: decoded with the built-in specs.
  packets.push(buildIpUdp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 40801, dport: 111, payload: call(0x801, PMAP, 2, 3, getportArgs, cred) }));
  packets.push(buildIpUdp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 111, dport: 40801, payload: reply(0x801, words(2049)) }));
  // NFSv3 LOOKUP of a file whose name is an escape sequence (the TUI shows it in the row's info).
  const lookup = cat(opaque(new Uint8Array(8).fill(0x22)), opaque(HOSTILE_FILE_NAME));
  packets.push(buildIpUdp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 40802, dport: 2049, payload: call(0x802, NFS, 3, 3, lookup, cred) }));
  packets.push(buildIpUdp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 2049, dport: 40802, payload: reply(0x802, words(2, 0)) }));
  packets.push(...c.close());
  return {
    name: "hostile-strings.pcap",
    bytes: pcap(packets),
    args: ["--spec", "samples/demo-service/demo.x"],
    summary:
      "Terminal escape sequences and invalid UTF-8 in packet strings: an AUTH_SYS machinename (OSC title, clear screen, " +
      "bell, backspaces, bytes ff fe, C1 CSI as c2 9b and as a raw 9b), a demo-service GREET argument (clear screen, OSC " +
      "title, bell, backspace, ff) and its reply (SGR colour, NEL c2 85, RLO e2 80 ae), an NFSv3 LOOKUP file name (OSC " +
      "title, cursor home, backspaces, DEL, RLO).",
    expected: [
      "text, -V text, --json: no byte 0x1b, 0x07, 0x08, no C1 control (c2 80–c2 9f), no raw 0x9b; the strings appear escaped (\\x1b[2J, \\x07, \\u{85}, \\u{202e})",
      "TUI rows and detail tree (machinename) pass through escapeForTerminal to text with no control character",
    ],
  };
}

export function makeHostileSamples(): HostileSample[] {
  return [
    cutFileHeader(), cutPacketRecord(), cutPcapngBlock(), rpcRecordCut(), snaplenCut(), zeroLengthFragment(),
    recordMark2GB(), tcpHole(), tcpHoleResync(), unionNoArm(), hostileStrings(),
  ];
}

// ---------------------------------------------------------------------------
// Big inputs for peak-memory measurements (written at test time, never committed)

/**
 * `flows` TCP connections on port 2049, each of which sends a record mark and the
 * first bytes of a call, skips `holeBytes` of sequence space, then sends
 * `afterHole` bytes that must wait out of order for the hole to be filled. Written
 * straight to `sink` so the generator's own memory stays flat.
 */
export function writeManyFlowsWithHoles(sink: ByteSink, flows: number, afterHole = 4000, holeBytes = 1000): void {
  const w = new PcapWriter(sink, { linkType: LinkType.RAW });
  const data = new Uint8Array(afterHole).fill(0x5a);
  const head = marked(call(1, NFS, 3, 7, new Uint8Array(afterHole + holeBytes + 200)));
  let frame = 0;
  for (let f = 0; f < flows; f++) {
    const c = new TcpConversation({
      client: `10.${(f >> 16) & 255}.${(f >> 8) & 255}.${f & 255}`, server: "10.255.255.254",
      clientPort: 1024 + (f % 60000), serverPort: 2049,
    });
    const packets = [...c.handshake(), c.send("client", head.subarray(0, 64))];
    packets.push(c.segmentAt("client", (c.nextSeq("client") + holeBytes) >>> 0, data));
    for (const p of packets) {
      w.writeFrame({ tsSec: T0 + Math.floor(frame / 1000), tsNsec: (frame % 1000) * 1_000_000, bytes: p });
      frame++;
    }
  }
  w.flush();
}

/**
 * `count` IPv4 fragments of 8 bytes each, spread over `datagrams` datagrams that are
 * never completed (the last fragment never comes), 1 µs apart.
 */
export function writeTinyFragments(sink: ByteSink, count: number, datagrams = 4000): void {
  const w = new PcapWriter(sink, { linkType: LinkType.RAW, nanosecond: true });
  const piece = new Uint8Array(8).fill(0x33);
  const perDatagram = Math.max(1, Math.floor(count / datagrams));
  for (let i = 0; i < count; i++) {
    const d = i % datagrams;
    const k = Math.floor(i / datagrams) % perDatagram;
    const pkt = buildIpv4(`10.1.${(d >> 8) & 255}.${d & 255}`, "10.2.0.1", IpProtocol.UDP, piece, {
      id: d & 0xffff, moreFragments: true, fragmentOffset: (k + 1) * 8,
    });
    w.writeFrame({ tsSec: T0, tsNsec: i * 1000, bytes: pkt });
  }
  w.flush();
}

// ---------------------------------------------------------------------------

function renderReadme(samples: readonly HostileSample[]): string {
  const lines = [
    "# Hostile captures",
    "",
    "Generated by `samples/make-hostile.ts` (`npm run build && node dist/samples/make-hostile.js`); deterministic, so",
    "regenerating gives identical bytes (test/hostile checks this). Do not edit by hand: this README is generated too.",
    "",
    "Each file is a known-bad shape with a test in test/hostile/known-bad.test.ts that asserts the exact issue",
    "rpcscope reports. Link type raw IP (101), pcap µs unless noted, loopback addresses.",
    "",
  ];
  for (const s of samples) {
    lines.push(`## ${s.name}`, "", `${s.bytes.length} bytes. ${s.summary}`, "");
    if (s.args) lines.push(`Run with: \`rpcscope summary ${s.args.join(" ")} samples/hostile/${s.name}\``, "");
    lines.push("Expected:", "");
    for (const e of s.expected) lines.push(`- ${e}`);
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

export function writeHostileSamples(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const samples = makeHostileSamples();
  for (const s of samples) writeFileSync(join(outDir, s.name), s.bytes);
  writeFileSync(join(outDir, "README.md"), renderReadme(samples));
  return samples.map((s) => s.name);
}

export { renderReadme as renderHostileReadme };

// Only when run as a program (importing this module, as the tests do, writes nothing).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : join(findRepoRoot(dirname(fileURLToPath(import.meta.url))), "samples", "hostile");
  const names = writeHostileSamples(outDir);
  process.stdout.write(`wrote ${names.length} captures and README.md to ${outDir}\n`);
}
