/**
 * `rpcscope write -Y EXPR IN OUT`: saves the frames of the exchanges a
 * display filter selects, as pcap or pcapng (by OUT's extension, or
 * --format), keeping timestamps, link types and original lengths.
 *
 * Two passes over IN. The first runs the normal analysis and evaluates the
 * filter once per exchange (as the terminal UI does: `kind`, `status`, `rtt`,
 * args.*, res.* all see the whole exchange); a selected exchange contributes
 * every frame its call, retransmitted calls and reply came from (a record
 * spread over TCP segments or IP fragments brings all of them). The second
 * pass copies those frames in file order.
 *
 * TCP: so that the output stays dissectable (tshark follows the stream from
 * its SYN; our own reader knows the connection's start), the connections that
 * carried a selected exchange also keep their control frames: every segment
 * with SYN, FIN or RST, the ACK that completes the handshake and the ACK that
 * answers the last FIN. Pure ACKs in between and data of exchanges not
 * selected are left out: the stream then has holes, which tshark shows as
 * "previous segment not captured" and rpcscope as a gap before a record it
 * resynchronises on. A frame that carries a selected record and bytes of
 * another is kept whole.
 */
import { closeSync, fstatSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import { LinkType } from "../../capture/frame.js";
import type { Limits } from "../../capture/limits.js";
import { formatIpv4, formatIpv6 } from "../../capture/ip-address.js";
import { readFrameBatches, type CaptureSource } from "../../capture/open-capture.js";
import { fdSink, PcapngWriter, PcapWriter, type ByteSink } from "../../capture/capture-writer.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import type { RpcPipeline } from "../../dissect/rpc-pipeline.js";
import type { Exchange, RpcMessage } from "../../dissect/rpc-types.js";
import { detachDecoded, type DecodedField } from "../../dissect/xdr-types.js";
import { analyzeCapture, InputError } from "../analyze.js";
import { COMMON_OPTIONS, commonOptions, registryFor, sourceFor, UsageError } from "../cli-options.js";
import type { CompiledFilter } from "../filter/evaluate.js";
import type { NameLookup } from "../filter/fields.js";
import { LineWriter } from "../line-writer.js";
import { namesFor } from "../names.js";
import { escapeForTerminal } from "../text-safety.js";

export const WRITE_USAGE = `Usage: rpcscope write -Y EXPR IN OUT [--format pcap|pcapng]

Saves the frames of the exchanges the display filter selects (call, reply,
retransmissions, every frame a record came from) to OUT, as pcap (.pcap, .cap)
or pcapng (.pcapng), keeping timestamps, link types and original lengths. For
TCP the connections involved keep their SYN, FIN and RST segments and the ACKs
that complete the handshake and the close, so the file stays dissectable.
The filter is evaluated once per exchange, as in the terminal UI.

Options:
  -Y, --filter EXPR      which exchanges (required), e.g. 'status == PROG_MISMATCH'
  --format pcap|pcapng   output format when OUT's extension does not say (OUT '-': stdout, pcapng)
  --spec, --define, --limit   as for summary`;

export type OutputFormat = "pcap" | "pcapng";

const WRITE_OPTIONS = {
  format: { type: "string" },
} as const;

/** The format OUT's extension names, or null. */
export function formatForPath(path: string): OutputFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === ".pcapng" || ext === ".ntar") return "pcapng";
  if (ext === ".pcap" || ext === ".cap" || ext === ".dmp") return "pcap";
  return null;
}

// ---------------------------------------------------------------------------
// Pass 1: which frames.

/**
 * A set of frame numbers as one bit per frame of the capture: a Set of the frames of
 * 300,000 selected exchanges took about 30 MB (write peaked at 157 MB on the
 * 1,000,000-exchange bench capture), their bits take 300 KB.
 */
export class FrameBitmap {
  private bits = new Uint8Array(4096);
  /** Frame numbers in the set. */
  size = 0;

  add(frame: number): void {
    if (!Number.isSafeInteger(frame) || frame < 0) throw new RangeError(`frame number ${frame}`);
    const at = Math.floor(frame / 8);
    if (at >= this.bits.length) {
      const grown = new Uint8Array(Math.max(at + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    const bit = 1 << (frame % 8);
    if ((this.bits[at]! & bit) === 0) {
      this.bits[at] = this.bits[at]! | bit;
      this.size++;
    }
  }

  has(frame: number): boolean {
    const at = Math.floor(frame / 8);
    return at >= 0 && at < this.bits.length && (this.bits[at]! & (1 << (frame % 8))) !== 0;
  }
}

export interface FrameSelection {
  /** Frame numbers carrying selected exchanges' messages. */
  readonly frames: FrameBitmap;
  /** TCP connections (connectionKey) that carried a selected exchange. */
  readonly tcpConnections: Set<string>;
  readonly exchanges: number;
  /** Link types of the whole input (an empty pcap gets the first). */
  readonly linkTypes: ReadonlySet<number>;
  /** True when every timestamp is a whole number of microseconds (the output then uses µs too). */
  readonly microsecondTimestamps: boolean;
  /** Largest captured length in the input. */
  readonly maxCapturedLength: number;
  readonly totalFrames: number;
}

export interface SelectOptions {
  readonly limits: Limits;
  readonly registry: ProgramRegistry | null;
  readonly names: NameLookup;
  readonly filter: CompiledFilter;
  readonly configurePipeline?: (pipeline: RpcPipeline) => void;
}

/** A TCP connection by its two endpoints, the same whichever side sends. */
export function connectionKey(addrA: string, portA: number, addrB: string, portB: number): string {
  const a = `${addrA}|${portA}`;
  const b = `${addrB}|${portB}`;
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

interface PendingExchange {
  readonly frames: number[];
  readonly connections: string[];
  args: DecodedField | null;
  res: DecodedField | null;
}

export async function selectFrames(source: CaptureSource, options: SelectOptions): Promise<FrameSelection> {
  const { filter, names } = options;
  const needsBody = filter.needsBody;
  const frames = new FrameBitmap();
  const tcpConnections = new Set<string>();
  const linkTypes = new Set<number>();
  let microsecondTimestamps = true;
  let maxCapturedLength = 0;
  let exchanges = 0;
  const pending = new Map<Exchange, PendingExchange>();
  // Messages that arrive after their exchange was decided (a duplicate reply) follow the decision.
  const decided = new WeakMap<Exchange, boolean>();
  const addMessage = (msg: RpcMessage, into: { frames: number[] | FrameBitmap; connections: string[] | Set<string> }): void => {
    for (const f of msg.frames) {
      if (into.frames instanceof FrameBitmap) into.frames.add(f);
      else into.frames.push(f);
    }
    if (msg.transport === "tcp") {
      const key = connectionKey(msg.src, msg.sport, msg.dst, msg.dport);
      if (into.connections instanceof Set) into.connections.add(key);
      else if (!into.connections.includes(key)) into.connections.push(key);
    }
  };
  const result = await analyzeCapture(
    source,
    { limits: options.limits, registry: options.registry, decodeBodies: needsBody && options.registry !== null,
      ...(options.configurePipeline ? { configurePipeline: options.configurePipeline } : {}) },
    {
      frame(frame) {
        linkTypes.add(frame.linkType);
        if (frame.tsNsec % 1000 !== 0) microsecondTimestamps = false;
        if (frame.bytes.length > maxCapturedLength) maxCapturedLength = frame.bytes.length;
      },
      message(m) {
        const msg = m.msg;
        const ex = msg.exchange;
        if (!ex) return; // a message without a decodable header is part of no exchange
        const verdict = decided.get(ex);
        if (verdict !== undefined) {
          if (verdict) addMessage(msg, { frames, connections: tcpConnections });
          return;
        }
        let p = pending.get(ex);
        if (!p) pending.set(ex, (p = { frames: [], connections: [], args: null, res: null }));
        addMessage(msg, p);
        if (needsBody) {
          // Kept until the exchange is resolved: copied out of the record.
          if (msg.header?.kind === "call" && ex.call === msg) p.args = m.args && detachDecoded(m.args);
          else if (msg.header?.kind === "reply" && ex.reply === msg) p.res = m.res && detachDecoded(m.res);
        }
      },
      exchangeResolved(ex) {
        const p = pending.get(ex);
        pending.delete(ex);
        const selected = filter({ exchange: ex, message: null, args: p?.args ?? null, res: p?.res ?? null, names });
        decided.set(ex, selected);
        if (!selected || !p) return;
        exchanges++;
        for (const f of p.frames) frames.add(f);
        for (const c of p.connections) tcpConnections.add(c);
      },
    },
  );
  return { frames, tcpConnections, exchanges, linkTypes, microsecondTimestamps, maxCapturedLength, totalFrames: result.frames };
}

// ---------------------------------------------------------------------------
// Pass 2: the TCP header of a frame (to keep the control segments).

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

interface TcpSegmentInfo {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  payload: number;
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

/** Offset of the IP header in a frame of `linkType`, and its version; null when not IP. */
function ipStart(b: Uint8Array, linkType: number): { off: number; version: number } | null {
  let off: number;
  let etherType: number;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (b.length < 14) return null;
      etherType = u16(b, 12);
      off = 14;
      break;
    case LinkType.LINUX_SLL:
      if (b.length < 16) return null;
      etherType = u16(b, 14);
      off = 16;
      break;
    case LinkType.LINUX_SLL2:
      if (b.length < 20) return null;
      etherType = u16(b, 0);
      off = 20;
      break;
    case LinkType.NULL:
    case LinkType.LOOP:
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6: {
      off = linkType === LinkType.NULL || linkType === LinkType.LOOP ? 4 : 0;
      if (b.length <= off) return null;
      const version = (b[off] ?? 0) >> 4;
      return version === 4 || version === 6 ? { off, version } : null;
    }
    default:
      return null;
  }
  // 802.1Q / 802.1ad / QinQ tags, at most 8 as in the decoder.
  for (let tags = 0; (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) && tags < 8; tags++) {
    if (off + 4 > b.length) return null;
    etherType = u16(b, off + 2);
    off += 4;
  }
  if (etherType === 0x0800) return { off, version: 4 };
  if (etherType === 0x86dd) return { off, version: 6 };
  return null;
}

/** The TCP segment a frame carries (first fragment or unfragmented only), or null. Every length is checked. */
export function tcpSegmentOf(b: Uint8Array, linkType: number): TcpSegmentInfo | null {
  const ip = ipStart(b, linkType);
  if (!ip) return null;
  let o = ip.off;
  let src: string;
  let dst: string;
  let ipPayload: number;
  if (ip.version === 4) {
    if (o + 20 > b.length) return null;
    const ihl = ((b[o] ?? 0) & 0x0f) * 4;
    if (ihl < 20 || o + ihl > b.length || b[o + 9] !== 6) return null;
    if ((u16(b, o + 6) & 0x1fff) !== 0) return null; // a later fragment: no TCP header
    let total = u16(b, o + 2);
    if (total === 0) total = b.length - o;
    ipPayload = total - ihl;
    src = formatIpv4(b, o + 12);
    dst = formatIpv4(b, o + 16);
    o += ihl;
  } else {
    if (o + 40 > b.length) return null;
    ipPayload = u16(b, o + 4);
    let next = b[o + 6] ?? 0;
    src = formatIpv6(b, o + 8);
    dst = formatIpv6(b, o + 24);
    if (ipPayload === 0 && next !== 0) ipPayload = b.length - o - 40;
    o += 40;
    for (let i = 0; i < 16 && next !== 6; i++) {
      if (next !== 0 && next !== 43 && next !== 60 && next !== 51 && next !== 44) return null;
      if (o + 8 > b.length) return null;
      const length = next === 51 ? ((b[o + 1] ?? 0) + 2) * 4 : next === 44 ? 8 : ((b[o + 1] ?? 0) + 1) * 8;
      if (next === 44 && (u16(b, o + 2) & 0xfff8) !== 0) return null;
      next = b[o] ?? 0;
      o += length;
      ipPayload -= length;
    }
    if (next !== 6) return null;
  }
  if (o + 20 > b.length) return null;
  const dataOffset = ((b[o + 12] ?? 0) >> 4) * 4;
  if (dataOffset < 20) return null;
  return {
    src, dst, sport: u16(b, o), dport: u16(b, o + 2), flags: b[o + 13] ?? 0, payload: Math.max(0, ipPayload - dataOffset),
  };
}

interface ConnectionState {
  synSender: string | null;
  synAckSeen: boolean;
  handshakeAckKept: boolean;
  /** Bit 1: FIN from the first side seen, bit 2: from the other. */
  finSides: number;
  finSender: string | null;
  closingAckKept: boolean;
}

/** Decides, frame by frame, which control segments of the selected connections to keep. */
class ControlSegments {
  private readonly states = new Map<string, ConnectionState>();
  constructor(private readonly connections: ReadonlySet<string>) {}

  /** Whether to keep this frame for its TCP control role (updates the connection's state either way). */
  keep(b: Uint8Array, linkType: number): boolean {
    if (this.connections.size === 0) return false;
    const seg = tcpSegmentOf(b, linkType);
    if (!seg) return false;
    const key = connectionKey(seg.src, seg.sport, seg.dst, seg.dport);
    if (!this.connections.has(key)) return false;
    let st = this.states.get(key);
    if (!st) {
      st = { synSender: null, synAckSeen: false, handshakeAckKept: false, finSides: 0, finSender: null, closingAckKept: false };
      this.states.set(key, st);
    }
    const from = `${seg.src}|${seg.sport}`;
    const f = seg.flags;
    if (f & TCP_SYN) {
      if (f & TCP_ACK) st.synAckSeen = true;
      else {
        // A new SYN starts the connection (again): its handshake and close are kept afresh.
        st.synSender = from;
        st.synAckSeen = false;
        st.handshakeAckKept = false;
        st.finSides = 0;
        st.finSender = null;
        st.closingAckKept = false;
      }
      return true;
    }
    if (f & TCP_FIN) {
      if (st.finSender === null) st.finSender = from;
      st.finSides |= st.finSender === from ? 1 : 2;
      return true;
    }
    if (f & TCP_RST) return true;
    if (!(f & TCP_ACK) || seg.payload !== 0) return false;
    if (st.synAckSeen && !st.handshakeAckKept && from === st.synSender) {
      st.handshakeAckKept = true;
      return true;
    }
    if (st.finSides === 3 && !st.closingAckKept) {
      st.closingAckKept = true;
      return true;
    }
    return false;
  }
}

export interface CopyResult {
  readonly framesWritten: number;
}

/**
 * Copies the selected frames (and control segments) from `source` to `sink`
 * in `format`. Throws InputError when pcap is asked for frames of two link
 * types (the caller writes to a temporary file, so nothing is left behind).
 */
export async function copyFrames(source: CaptureSource, selection: FrameSelection, format: OutputFormat, sink: ByteSink): Promise<CopyResult> {
  const control = new ControlSegments(selection.tcpConnections);
  const nanosecond = !selection.microsecondTimestamps;
  let pcap: PcapWriter | null = null;
  let pcapng: PcapngWriter | null = null;
  const interfaces = new Map<string, number>();
  if (format === "pcapng") pcapng = new PcapngWriter(sink, { application: "rpcscope write" });
  let pcapLinkType = -1;
  let written = 0;
  for await (const batch of readFrameBatches(source, {})) {
    for (const frame of batch) {
      // Control segments are looked at in every frame so the connection state follows the stream.
      const isControl = control.keep(frame.bytes, frame.linkType);
      if (!isControl && !selection.frames.has(frame.no)) continue;
      const out = { tsSec: frame.tsSec, tsNsec: frame.tsNsec, bytes: frame.bytes, originalLength: frame.originalLength };
      if (pcapng) {
        const ifKey = `${frame.interfaceId}/${frame.linkType}`;
        let id = interfaces.get(ifKey);
        if (id === undefined) {
          id = pcapng.addInterface({ linkType: frame.linkType, snaplen: 0, tsResolution: nanosecond ? 9 : 6 });
          interfaces.set(ifKey, id);
        }
        pcapng.writeFrame(id, out);
      } else {
        pcap ??= new PcapWriter(sink, {
          linkType: frame.linkType, nanosecond, snaplen: Math.max(262_144, selection.maxCapturedLength),
        });
        if (frame.linkType !== pcapLinkType) {
          if (pcapLinkType !== -1) {
            throw new InputError(`frame ${frame.no} has link type ${frame.linkType}, earlier ones ${pcapLinkType}; pcap holds one link type: write .pcapng`);
          }
          pcapLinkType = frame.linkType;
        }
        pcap.writeFrame(out);
      }
      written++;
    }
  }
  if (format === "pcap" && !pcap) {
    // Nothing selected: still a valid, empty capture with the input's link type.
    const linkType = selection.linkTypes.values().next().value ?? LinkType.ETHERNET;
    pcap = new PcapWriter(sink, { linkType, nanosecond, snaplen: Math.max(262_144, selection.maxCapturedLength) });
  }
  pcap?.flush();
  pcapng?.flush();
  return { framesWritten: written };
}

// ---------------------------------------------------------------------------
// The command.

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

export interface CommandOutput {
  write(text: string): void;
}

export async function run(argv: string[], output?: CommandOutput): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...WRITE_OPTIONS },
  });
  const say = (text: string): void => {
    if (output) output.write(text);
    else {
      const w = new LineWriter(1);
      w.line(text.endsWith("\n") ? text.slice(0, -1) : text);
      w.flush();
    }
  };
  if (values.help) {
    say(`${WRITE_USAGE}\n`);
    return 0;
  }
  const opts = commonOptions(values);
  if (positionals.length !== 2) throw new UsageError("write takes an input and an output file: write -Y EXPR IN OUT (see rpcscope write --help)");
  const [inPath, outPath] = positionals as [string, string];
  if (!opts.filter) throw new UsageError("write needs -Y EXPR: the exchanges to save");
  if (inPath === "-") throw new UsageError("write reads its input twice, so it needs a file, not '-'");
  let format: OutputFormat;
  if (values.format !== undefined) {
    if (values.format !== "pcap" && values.format !== "pcapng") {
      throw new UsageError(`--format is pcap or pcapng; got '${escapeForTerminal(values.format)}'`);
    }
    format = values.format;
  } else if (outPath === "-") format = "pcapng";
  else {
    const byName = formatForPath(outPath);
    if (!byName) throw new UsageError(`cannot tell the format from '${escapeForTerminal(outPath)}': name it .pcap or .pcapng, or give --format`);
    format = byName;
  }
  const source = sourceFor(inPath);
  if (outPath !== "-" && sameFile(inPath, outPath)) throw new UsageError("the output file is the input file");

  const registry = await registryFor(opts);
  const names = namesFor(registry);
  const selection = await selectFrames(source, { limits: opts.limits, registry, names, filter: opts.filter });

  let result: CopyResult;
  if (outPath === "-") {
    if (fstatSync(1).isCharacterDevice()) throw new UsageError("not writing a capture to a terminal: redirect standard output or name a file");
    result = await copyFrames(source, selection, format, fdSink(1));
  } else {
    // Written beside OUT and renamed at the end: a failure leaves no half-written OUT.
    const temp = `${outPath}.rpcscope-${process.pid}.tmp`;
    let fd: number;
    try {
      fd = openSync(temp, "w");
    } catch (err) {
      throw new InputError(`${outPath}: cannot create (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    try {
      result = await copyFrames(source, selection, format, fdSink(fd));
      closeSync(fd);
      renameSync(temp, outPath);
    } catch (err) {
      try { closeSync(fd); } catch { /* already closed */ }
      rmSync(temp, { force: true });
      throw err;
    }
    say(`${result.framesWritten} frames (${selection.exchanges} exchange${selection.exchanges === 1 ? "" : "s"}, ` +
      `${selection.tcpConnections.size} TCP connection${selection.tcpConnections.size === 1 ? "" : "s"}) of ${selection.totalFrames} ` +
      `written to ${escapeForTerminal(outPath)} (${format})\n`);
  }
  return 0;
}
