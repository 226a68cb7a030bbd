/**
 * Pure formatters shared by the CLI and the TUI: one message → one summary line
 * or one NDJSON object. Everything from a packet is escaped.
 */
import type { Exchange, RpcCall, RpcMessage } from "../dissect/rpc-types.js";
import type { AnalyzedMessage } from "./analyze.js";
import { toJsonValue, type JsonValue } from "./body-format.js";
import { escapeForTerminal, jsonSafeStringify } from "./text-safety.js";
import { constantPiece, LineBuilder, type BytePieces } from "./line-writer.js";

export interface Names {
  programName(prog: number): string | undefined;
  procedureName(prog: number, vers: number, proc: number): string;
}

/** prog/vers/proc of a message: its own for a call, its matched call's for a reply. */
export function callTriple(msg: RpcMessage): { prog: number; vers: number; proc: number } | null {
  const h = msg.header;
  if (!h) return null;
  if (h.kind === "call") return { prog: h.prog, vers: h.vers, proc: h.proc };
  const call = msg.exchange?.call?.header;
  return call && call.kind === "call" ? { prog: call.prog, vers: call.vers, proc: call.proc } : null;
}

/** The call header that names a message's procedure (its own, or its matched call's), without allocating. */
function callHeaderOf(msg: RpcMessage): RpcCall | null {
  const h = msg.header;
  if (!h) return null;
  if (h.kind === "call") return h;
  const call = msg.exchange?.call?.header;
  return call && call.kind === "call" ? call : null;
}

/** What peerFrameOf and rttOf read: an ONC-RPC or a libvirt message and its exchange. */
interface PairedMessage {
  readonly header: { readonly kind: string } | null;
  readonly exchange: { readonly call: { readonly frame: number } | null; readonly reply: { readonly frame: number } | null; readonly rtt: number | null } | null;
}

export function peerFrameOf(msg: PairedMessage): number | null {
  const ex = msg.exchange;
  if (!ex || !msg.header) return null;
  const peer = msg.header.kind === "call" ? ex.reply : ex.call;
  return peer ? peer.frame : null;
}

export function rttOf(msg: PairedMessage): number | null {
  return msg.header?.kind === "reply" && msg.exchange ? msg.exchange.rtt : null;
}

export function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export function formatSeconds(s: number): string {
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)}µs`;
  if (s < 1) return `${(s * 1e3).toFixed(3)}ms`;
  return `${s.toFixed(3)}s`;
}

export function programLabel(names: Names, prog: number, vers: number): string {
  const name = names.programName(prog);
  return `${name ?? `prog-${prog}`} v${vers}`;
}

interface EndpointPiece {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly bytes: Uint8Array;
}

/** A TCP connection's endpoint pieces (up to one per direction). */
interface ConnectionPieces {
  readonly connId: number;
  readonly dirs: EndpointPiece[];
}

interface ProcedurePieces {
  readonly prog: number;
  /** vers · 0x10000 + proc. */
  readonly versProc: number;
  call: Uint8Array | null;
  /** The reply piece for SUCCESS, nearly every reply's, outside the map. */
  success: Uint8Array | null;
  readonly byStatus: Map<string, Uint8Array>;
  /** The text line's `  Call   nfs v3 READ`, and `  Reply  nfs v3 READ  SUCCESS` by status. */
  textCall: Uint8Array | null;
  readonly textByStatus: Map<string, Uint8Array>;
}

function newProcedurePieces(prog = -1, versProc = -1): ProcedurePieces {
  return { prog, versProc, call: null, success: null, byStatus: new Map(), textCall: null, textByStatus: new Map() };
}

/** What a text summary line is made of besides the message (LineCache.textLineParts; one object, reused). */
export interface TextLineParts {
  /** `m.time.toFixed(6)` when writeFixed6 cannot write it without the string; else "". */
  time: string;
  /** `127.0.0.1:747 → 127.0.0.1:2049  TCP`, UTF-8. */
  endpoints: Uint8Array;
  /** `  Call   nfs v3 READ` or `  Reply  nfs v3 READ  SUCCESS`, UTF-8. */
  procedure: Uint8Array;
  /** The extra info, escaped for the terminal ("" for none). */
  info: string;
  /** At most how many bytes writeSummaryText writes. */
  maxBytes: number;
}

const MALFORMED_PIECE = Buffer.from(
  ',"kind":"malformed","prog":null,"vers":null,"proc":null,"progName":null,"procName":null,"status":null,"peerFrame":',
  "utf8",
);

/** The piece made for `msg`'s direction among a connection's (at most two), if made. */
function pieceOfDirection(dirs: readonly EndpointPiece[], msg: RpcMessage): Uint8Array | undefined {
  for (let i = 0; i < dirs.length; i++) {
    const d = dirs[i]!;
    if (d.sport === msg.sport && d.dport === msg.dport && d.src === msg.src && d.dst === msg.dst) return d.bytes;
  }
  return undefined;
}

function buildEndpointPiece(msg: RpcMessage): Uint8Array {
  // Addresses are formatted by the capture layer from numbers: no escaping needed, but cheap to be sure.
  return Buffer.from(
    `,"src":${jsonSafeStringify(msg.src)},"dst":${jsonSafeStringify(msg.dst)},"sport":${msg.sport},"dport":${msg.dport},"transport":"${msg.transport}","xid":`,
    "utf8",
  );
}

function buildTextEndpointPiece(msg: RpcMessage): Uint8Array {
  return Buffer.from(`${endpoint(msg.src, msg.sport)} → ${endpoint(msg.dst, msg.dport)}  ${msg.transport === "tcp" ? "TCP" : "UDP"}`, "utf8");
}

/**
 * Strings that repeat on every line (endpoints, "nfs v3 READ") are built once and
 * reused: formatting, not decoding, is what a summary of a big capture spends on.
 */
export class LineCache {
  private readonly endpoints = new Map<string, Map<number, string>>();
  private readonly labels = new Map<number, Map<number, string>>();
  constructor(private readonly names: Names) {}

  endpoint(addr: string, port: number): string {
    let byPort = this.endpoints.get(addr);
    if (!byPort) {
      if (this.endpoints.size > 4096) this.endpoints.clear();
      byPort = new Map();
      this.endpoints.set(addr, byPort);
    }
    let s = byPort.get(port);
    if (s === undefined) {
      s = endpoint(addr, port);
      byPort.set(port, s);
    }
    return s;
  }

  // ── Cached pieces of the NDJSON line (UTF-8) ──

  /** Per TCP connection, its two directions' endpoint pieces; UDP pieces by address text. */
  private readonly tcpEndpointPieces = new Map<number, EndpointPiece[]>();
  private readonly recentEndpointPieces = new Array<ConnectionPieces | null>(256).fill(null);
  private readonly udpEndpointPieces = new Map<string, Uint8Array>();

  /** `,"src":…,"dst":…,"sport":…,"dport":…,"transport":…,"xid":` for the message's direction. */
  jsonEndpointPiece(msg: RpcMessage): Uint8Array {
    // The slot first, where it can be inlined into the line's parts: endpointPieceOf
    // takes the builder as an argument (the text line uses it too) and stays a call.
    const connId = msg.connId;
    if (connId !== null) {
      const held = this.recentEndpointPieces[connId & 255]!;
      if (held !== null && held.connId === connId) {
        const piece = pieceOfDirection(held.dirs, msg);
        if (piece !== undefined) return piece;
      }
    }
    return this.endpointPieceOf(msg, this.tcpEndpointPieces, this.udpEndpointPieces, buildEndpointPiece, this.recentEndpointPieces);
  }

  /** A piece made from the message's endpoints, cached per TCP connection and direction, or per UDP endpoint pair. */
  private endpointPieceOf(msg: RpcMessage, tcp: Map<number, EndpointPiece[]>, udp: Map<string, Uint8Array>,
    build: (msg: RpcMessage) => Uint8Array, recent: (ConnectionPieces | null)[]): Uint8Array {
    if (msg.connId === null) {
      const key = `${msg.src}|${msg.sport}|${msg.dst}|${msg.dport}|${msg.transport}`;
      let piece = udp.get(key);
      if (!piece) {
        if (udp.size > 8192) udp.clear();
        piece = build(msg);
        udp.set(key, piece);
      }
      return piece;
    }
    // The connection's pieces: from the slot of its id when they are there (connection
    // ids are never reused), else from the map, a few hundred instructions dearer.
    const slot = msg.connId & 255;
    const held = recent[slot]!;
    let dirs: EndpointPiece[];
    if (held !== null && held.connId === msg.connId) {
      dirs = held.dirs;
    } else {
      let found = tcp.get(msg.connId);
      if (!found) {
        if (tcp.size > 8192) tcp.clear();
        found = [];
        tcp.set(msg.connId, found);
      }
      dirs = found;
      recent[slot] = { connId: msg.connId, dirs };
    }
    const found = pieceOfDirection(dirs, msg);
    if (found !== undefined) return found;
    const bytes = build(msg);
    if (dirs.length >= 2) dirs.length = 0;
    dirs.push({ src: msg.src, dst: msg.dst, sport: msg.sport, dport: msg.dport, bytes });
    return bytes;
  }

  /** Per program → vers·proc → the pieces by kind and status. */
  private readonly procedurePieces = new Map<number, Map<number, ProcedurePieces>>();
  private readonly unnamedPieces: ProcedurePieces = newProcedurePieces();
  /**
   * The pieces used last, by a hash of the procedure, checked before the maps (a
   * message asks twice, for the line's size and to write it, and the procedures of a
   * capture interleave).
   */
  private readonly recentPieces = new Array<ProcedurePieces | null>(64).fill(null);

  /** `,"kind":…,"prog":…,"vers":…,"proc":…,"progName":…,"procName":…,"status":…,"peerFrame":` */
  jsonProcedurePiece(msg: RpcMessage): Uint8Array {
    const h = msg.header;
    if (!h) return MALFORMED_PIECE;
    const call = callHeaderOf(msg);
    const pieces = this.piecesOf(call);
    if (h.kind === "call") {
      pieces.call ??= this.buildProcedurePiece("call", call, null);
      return pieces.call;
    }
    if (h.status === "SUCCESS") return (pieces.success ??= this.buildProcedurePiece("reply", call, "SUCCESS"));
    let bytes = pieces.byStatus.get(h.status);
    if (!bytes) {
      // Statuses are a handful of names, but UNKNOWN_…(n) could be many: keep the map small.
      if (pieces.byStatus.size > 64) pieces.byStatus.clear();
      bytes = this.buildProcedurePiece("reply", call, h.status);
      pieces.byStatus.set(h.status, bytes);
    }
    return bytes;
  }

  /** The cached pieces of the procedure a message belongs to (its call's). */
  private piecesOf(call: RpcCall | null): ProcedurePieces {
    if (!call) return this.unnamedPieces;
    if (call.vers >= 0x10000 || call.proc >= 0x10000) return newProcedurePieces();
    const versProc = call.vers * 0x10000 + call.proc;
    const slot = (call.prog ^ (call.vers << 5) ^ call.proc) & 63;
    const recent = this.recentPieces[slot]!;
    if (recent !== null && recent.versProc === versProc && recent.prog === call.prog) return recent;
    let inner = this.procedurePieces.get(call.prog);
    if (!inner) {
      if (this.procedurePieces.size > 4096) this.procedurePieces.clear();
      inner = new Map();
      this.procedurePieces.set(call.prog, inner);
    }
    let found = inner.get(versProc);
    if (!found) {
      found = newProcedurePieces(call.prog, versProc);
      inner.set(versProc, found);
    }
    this.recentPieces[slot] = found;
    return found;
  }

  // ── Cached pieces of the text line (UTF-8) ──

  private readonly tcpTextPieces = new Map<number, EndpointPiece[]>();
  private readonly recentTextPieces = new Array<ConnectionPieces | null>(256).fill(null);
  private readonly udpTextPieces = new Map<string, Uint8Array>();
  private readonly parts: TextLineParts = { time: "", endpoints: new Uint8Array(0), procedure: new Uint8Array(0), info: "", maxBytes: 0 };
  private lastInfo = "";
  private lastInfoEscaped = "";

  /**
   * The parts of `m`'s text line for writeSummaryText; null when the line takes
   * summaryLine's string path (a malformed message, or notes to add).
   */
  textLineParts(m: AnalyzedMessage, extraInfo: string): TextLineParts | null {
    const { msg } = m;
    const h = msg.header;
    if (!h || msg.issues.length || m.bodyIssues.length) return null;
    const parts = this.parts;
    parts.time = fixed6Exact(m.time) ? "" : m.time.toFixed(6);
    parts.endpoints = this.textEndpointPiece(msg);
    const call = callHeaderOf(msg);
    const pieces = this.piecesOf(call);
    if (h.kind === "call") {
      pieces.textCall ??= Buffer.from(`  Call   ${this.what(call)}`, "utf8");
      parts.procedure = pieces.textCall;
    } else {
      let bytes = pieces.textByStatus.get(h.status);
      if (!bytes) {
        if (pieces.textByStatus.size > 64) pieces.textByStatus.clear();
        bytes = Buffer.from(`  Reply  ${this.what(call)}  ${h.status}`, "utf8");
        pieces.textByStatus.set(h.status, bytes);
      }
      parts.procedure = bytes;
    }
    if (extraInfo !== this.lastInfo) {
      this.lastInfo = extraInfo;
      this.lastInfoEscaped = extraInfo ? escapeForTerminal(extraInfo) : "";
    }
    parts.info = this.lastInfoEscaped;
    // Frame and peer frame (≤ 16 digits each), time, xid, mismatch and rtt texts, separators.
    parts.maxBytes = TEXT_LINE_FIXED_BYTES + parts.time.length + parts.endpoints.length + parts.procedure.length + parts.info.length * 3;
    return parts;
  }

  private what(call: RpcCall | null): string {
    return call ? this.label(call.prog, call.vers, call.proc) : "(no call seen)";
  }

  /** `src → dst  TCP` for the message's direction. */
  private textEndpointPiece(msg: RpcMessage): Uint8Array {
    return this.endpointPieceOf(msg, this.tcpTextPieces, this.udpTextPieces, buildTextEndpointPiece, this.recentTextPieces);
  }

  private buildProcedurePiece(kind: "call" | "reply", call: RpcCall | null, status: string | null): Uint8Array {
    const names = call
      ? `"prog":${call.prog},"vers":${call.vers},"proc":${call.proc},"progName":${jsonSafeStringify(this.names.programName(call.prog) ?? null)},"procName":${jsonSafeStringify(this.names.procedureName(call.prog, call.vers, call.proc))}`
      : `"prog":null,"vers":null,"proc":null,"progName":null,"procName":null`;
    return Buffer.from(`,"kind":"${kind}",${names},"status":${jsonSafeStringify(status)},"peerFrame":`, "utf8");
  }

  private issuesFor: AnalyzedMessage | null = null;
  private issuesBytes: Uint8Array = new Uint8Array(0);

  /** The JSON array of a message's issues (header and body), as UTF-8; kept for the message last asked about. */
  issuesJsonBytes(m: AnalyzedMessage): Uint8Array {
    if (this.issuesFor !== m) {
      const issues = [...m.msg.issues, ...m.bodyIssues].map((i) =>
        i.offset !== undefined ? { code: i.code, detail: i.detail, offset: i.offset } : { code: i.code, detail: i.detail },
      );
      this.issuesBytes = Buffer.from(jsonSafeStringify(issues), "utf8");
      this.issuesFor = m;
    }
    return this.issuesBytes;
  }


  /** "portmapper v2 GETPORT" (escaped: names may come from a user's .x file). */
  label(prog: number, vers: number, proc: number): string {
    const small = vers < 0x10000 && proc < 0x10000;
    if (!small) return escapeForTerminal(`${programLabel(this.names, prog, vers)} ${this.names.procedureName(prog, vers, proc)}`);
    let inner = this.labels.get(prog);
    if (!inner) {
      if (this.labels.size > 4096) this.labels.clear();
      inner = new Map();
      this.labels.set(prog, inner);
    }
    const key = vers * 0x10000 + proc;
    let s = inner.get(key);
    if (s === undefined) {
      s = escapeForTerminal(`${programLabel(this.names, prog, vers)} ${this.names.procedureName(prog, vers, proc)}`);
      inner.set(key, s);
    }
    return s;
  }
}

const xidHex = (xid: number) => {
  const h = xid.toString(16);
  return h.length >= 8 ? h : "00000000".slice(h.length) + h;
};

/** One text line per message, as `rpcscope summary` prints it. */
export function summaryLine(m: AnalyzedMessage, names: Names, extraInfo = "", cache: LineCache = new LineCache(names)): string {
  const { msg } = m;
  let line = `${String(msg.frame).padStart(6)}  ${m.time.toFixed(6).padStart(12)}  ${cache.endpoint(msg.src, msg.sport)} → ${cache.endpoint(msg.dst, msg.dport)}  ${msg.transport === "tcp" ? "TCP" : "UDP"}`;
  const h = msg.header;
  if (!h) {
    const why = msg.issues.map((i) => i.detail).join("; ");
    return `${line}  MALFORMED ${escapeForTerminal(why)}`;
  }
  line += `  xid=0x${xidHex(h.xid)}`;
  const triple = callTriple(msg);
  const what = triple ? cache.label(triple.prog, triple.vers, triple.proc) : "(no call seen)";
  if (h.kind === "call") {
    line += `  Call   ${what}`;
  } else {
    line += `  Reply  ${what}  ${h.status}`;
    if (h.mismatch) line += `  (supports ${h.mismatch.low}..${h.mismatch.high})`;
    const peer = peerFrameOf(msg);
    if (peer !== null) {
      const rtt = rttOf(msg);
      line += rtt !== null ? `  call #${peer} rtt ${formatSeconds(rtt)}` : `  call #${peer}`;
    }
  }
  if (extraInfo) line += `  ${escapeForTerminal(extraInfo)}`;
  if (msg.issues.length || m.bodyIssues.length) {
    const notes = new Set<string>();
    for (const i of msg.issues) if (i.code !== "malformed") notes.add(i.code);
    // A body that is undecoded for want of a spec is normal, not worth a note on every line.
    for (const i of m.bodyIssues) if (i.code !== "body-undecoded") notes.add(i.code);
    if (notes.size) line += `  [${[...notes].join(", ")}]`;
  }
  return line;
}

/** Fixed part of a text line: frame and peer frame (≤ 16 digits each), separators, xid, mismatch and rtt. */
const TEXT_LINE_FIXED_BYTES = 160;
/** "", " ", "  " … 16 spaces: padding as one short copy, with no view made per line. */
const T_SPACES: readonly Uint8Array[] = Array.from({ length: 17 }, (_, n) => Buffer.from(" ".repeat(n), "latin1"));
const T_SEP = Buffer.from("  ", "latin1");
const T_XID = Buffer.from("  xid=0x", "latin1");
const T_PEER = Buffer.from("  call #", "latin1");
const T_RTT = Buffer.from(" rtt ", "latin1");
const T_MICROSECONDS = Buffer.from("µs", "utf8");
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

function writeSpaces(out: BytePieces, n: number): void {
  for (; n > 16; n -= 16) out.bytes(T_SPACES[16]!);
  if (n > 0) out.bytes(T_SPACES[n]!);
}

/**
 * Writes the same line as `summaryLine(m, names, extraInfo, cache)`, piece by
 * piece, from `parts = cache.textLineParts(m, extraInfo)`: the hot path of
 * `rpcscope summary` (a test checks they agree on every sample).
 */
export function writeSummaryText(m: AnalyzedMessage, parts: TextLineParts, out: BytePieces): void {
  const { msg } = m;
  const h = msg.header!;
  const frame = msg.frame;
  if (Number.isSafeInteger(frame) && frame >= 0) {
    let digits = 1;
    for (let v = frame; v >= 10; v = Math.floor(v / 10)) digits++;
    writeSpaces(out, 6 - digits);
    out.int(frame);
  } else {
    out.ascii(String(frame).padStart(6));
  }
  out.bytes(T_SEP);
  if (parts.time) {
    writeSpaces(out, 12 - parts.time.length);
    out.ascii(parts.time);
  } else {
    writeFixed6(out, m.time, 12);
  }
  out.bytes(T_SEP);
  out.raw(parts.endpoints);
  out.bytes(T_XID);
  const xid = h.xid;
  for (let shift = 28; shift >= 0; shift -= 4) out.bytes(HEX_DIGIT_PIECES[(xid >>> shift) & 15]!);
  out.raw(parts.procedure);
  if (h.kind === "reply") {
    if (h.mismatch) out.ascii(`  (supports ${h.mismatch.low}..${h.mismatch.high})`);
    const peer = peerFrameOf(msg);
    if (peer !== null) {
      out.bytes(T_PEER);
      out.int(peer);
      const rtt = rttOf(msg);
      if (rtt !== null) {
        out.bytes(T_RTT);
        if (rtt >= 0 && rtt < 1e-3) {
          // formatSeconds' `${(s * 1e6).toFixed(0)}µs`: toFixed(0) and Math.round agree on non-negative numbers.
          out.int(Math.round(rtt * 1e6));
          out.bytes(T_MICROSECONDS);
        } else {
          out.utf8(formatSeconds(rtt));
        }
      }
    }
  }
  if (parts.info) {
    out.bytes(T_SEP);
    out.utf8(parts.info);
  }
}

/** Below 2^22 (seconds), x·1e6 is within 0.001 of the exact product: far from a tie, Math.round rounds as toFixed does. */
const FIXED6_LIMIT = 4_194_304;

/** Whether writeFixed6 writes `x.toFixed(6)` exactly (else use the string). */
export function fixed6Exact(x: number): boolean {
  if (!(x >= 0 && x < FIXED6_LIMIT)) return false;
  const scaled = x * 1e6;
  return Math.abs(scaled - Math.floor(scaled) - 0.5) > 0.01;
}

/**
 * Writes `x.toFixed(6).padStart(width)` without making the string, when
 * fixed6Exact(x): toFixed rounds the exact value of x, half away from zero, and
 * Math.round(x·1e6) does the same unless x·1e6 lies within its rounding error of
 * a tie (those take the string).
 */
export function writeFixed6(out: BytePieces, x: number, width: number): void {
  const n = Math.round(x * 1e6);
  const whole = Math.floor(n / 1e6);
  const frac = n - whole * 1e6;
  let digits = 1;
  for (let v = whole; v >= 10; v = Math.floor(v / 10)) digits++;
  writeSpaces(out, width - digits - 7);
  out.int(whole);
  out.bytes(FRACTION_POINTS[6 - fractionDigits(frac)]!);
  if (frac > 0) out.int(frac);
}

/** ".", ".0", ".00" … ".000000": the point and a fraction's leading zeros (writeFixed6). */
const FRACTION_POINTS: readonly Uint8Array[] = Array.from({ length: 7 }, (_, zeros) => Buffer.from(`.${"0".repeat(zeros)}`, "latin1"));

/** Digits of 0 ≤ v < 1e6 without leading zeros (0 has none: ".000000" is all point and zeros). */
function fractionDigits(v: number): number {
  if (v === 0) return 0;
  return v >= 100_000 ? 6 : v >= 10_000 ? 5 : v >= 1000 ? 4 : v >= 100 ? 3 : v >= 10 ? 2 : 1;
}

/** The single hex digit pieces, so a digit is one short copy. */
const HEX_DIGIT_PIECES: readonly Uint8Array[] = Array.from({ length: 16 }, (_, d) => HEX_DIGITS.subarray(d, d + 1));

/** The NDJSON object for one message (keys documented in the README). */
export function summaryJson(m: AnalyzedMessage, names: Names, withBodies: boolean): { [key: string]: JsonValue } {
  const { msg } = m;
  const h = msg.header;
  const triple = callTriple(msg);
  const obj: { [key: string]: JsonValue } = {
    protocol: msg.protocol,
    frame: msg.frame,
    time: round9(m.time),
    src: msg.src,
    dst: msg.dst,
    sport: msg.sport,
    dport: msg.dport,
    transport: msg.transport,
    xid: h ? h.xid : null,
    kind: h ? h.kind : "malformed",
    prog: triple ? triple.prog : null,
    vers: triple ? triple.vers : null,
    proc: triple ? triple.proc : null,
    progName: triple ? names.programName(triple.prog) ?? null : null,
    procName: triple ? names.procedureName(triple.prog, triple.vers, triple.proc) : null,
    status: h && h.kind === "reply" ? h.status : null,
    peerFrame: peerFrameOf(msg),
    rtt: (() => {
      const r = rttOf(msg);
      return r === null ? null : round9(r);
    })(),
    length: msg.length,
  };
  if (msg.frames.length > 1) obj["frames"] = [...msg.frames];
  if (h?.kind === "reply" && h.mismatch) obj["mismatch"] = { low: h.mismatch.low, high: h.mismatch.high };
  if (h?.kind === "reply" && h.authStat !== undefined) obj["authStat"] = h.authStat;
  const issues = [...msg.issues, ...m.bodyIssues];
  if (issues.length) {
    obj["issues"] = issues.map((i) => {
      const o: { [key: string]: JsonValue } = { code: i.code, detail: i.detail };
      if (i.offset !== undefined) o["offset"] = i.offset;
      return o;
    });
  }
  if (withBodies) {
    if (m.args) obj["args"] = toJsonValue(m.args.value);
    if (m.res) obj["res"] = toJsonValue(m.res.value);
  }
  return obj;
}

/**
 * The same line as `jsonSafeStringify(summaryJson(m, names, false))`, built
 * directly: this is the hot path of `summary --json` (a test checks they agree).
 */
export function summaryJsonLine(m: AnalyzedMessage, cache: LineCache): string {
  const parts = jsonLineParts(m, cache, sharedParts);
  const line = new LineBuilder(jsonLineStartMaxBytes(parts));
  writeJsonLine(parts, line, null);
  return line.text();
}

/** Fixed part of a JSON line: keys, punctuation, and up to 8 numbers of at most 24 characters each. */
const JSON_LINE_FIXED_BYTES = 320;

const P_START = constantPiece('{"protocol":"onc-rpc","frame":');
const P_TIME = constantPiece(',"time":');
const P_NULL = constantPiece("null");
const P_RTT_NULL = constantPiece(',"rtt":null,"length":');
const P_RTT = constantPiece(',"rtt":');
const P_LENGTH = constantPiece(',"length":');
const P_END = constantPiece("}");

/**
 * Writes the NDJSON line of `m` (without the newline) piece by piece: at most
 * jsonLineStartMaxBytes of its parts, plus the length of `tail` (written before the
 * final brace). The parts that repeat from line to line (a connection's endpoints; a
 * procedure's numbers, names and status) are cached as bytes, so a line is a dozen
 * copies and a few numbers.
 */
export function writeSummaryJsonLine(m: AnalyzedMessage, cache: LineCache, out: BytePieces, tail: Uint8Array | null = null): void {
  writeJsonLine(jsonLineParts(m, cache, sharedParts), out, tail);
}

/** The whole line from its parts (at most jsonLineStartMaxBytes(p) + the length of `tail` bytes). */
export function writeJsonLine(p: JsonLineParts, out: BytePieces, tail: Uint8Array | null): void {
  writeJsonLineStart(p, out);
  // Keys written beforehand (`,"args":…,"res":…,"info":…` for -V): room for them is the caller's.
  if (tail !== null) out.raw(tail);
  out.constant(P_END);
}

/**
 * What an NDJSON line is made of, as plain values: the line can be written from them
 * here or on the render thread (ui/render-ring.ts), which gets them in a binary entry.
 * One object is filled again for every line.
 */
export interface JsonLineParts {
  frame: number;
  time: number;
  /** `,"src":…,"xid":` (LineCache.jsonEndpointPiece). */
  endpointPiece: Uint8Array;
  /**
   * -1 when the header was not read. Numbers with a sentinel, not `number | null`: a
   * field that may hold null keeps a double as a new heap object, one per line.
   */
  xid: number;
  /** `,"kind":…,"peerFrame":` (LineCache.jsonProcedurePiece). */
  procedurePiece: Uint8Array;
  peerFrame: number | null;
  /** NaN when the line has none (see `xid`). */
  rtt: number;
  length: number;
  /** Only when the record spans several frames. */
  frames: readonly number[] | null;
  mismatchLow: number | null;
  mismatchHigh: number;
  authStat: number | null;
  /** The `issues` array as JSON bytes, when there are any. */
  issues: Uint8Array | null;
}

export function newJsonLineParts(): JsonLineParts {
  return {
    frame: 0, time: 0, endpointPiece: NO_BYTES, xid: -1, procedurePiece: NO_BYTES, peerFrame: null, rtt: Number.NaN,
    length: 0, frames: null, mismatchLow: null, mismatchHigh: 0, authStat: null, issues: null,
  };
}

const NO_BYTES = new Uint8Array(0);
const sharedParts = newJsonLineParts();

/** Fills `parts` with the line of `m` (the cached pieces are made as needed). */
export function jsonLineParts(m: AnalyzedMessage, cache: LineCache, parts: JsonLineParts): JsonLineParts {
  const { msg } = m;
  const h = msg.header;
  parts.frame = msg.frame;
  parts.time = m.time;
  parts.endpointPiece = cache.jsonEndpointPiece(msg);
  parts.xid = h ? h.xid : -1;
  parts.procedurePiece = cache.jsonProcedurePiece(msg);
  parts.peerFrame = peerFrameOf(msg);
  parts.rtt = rttOf(msg) ?? Number.NaN;
  parts.length = msg.length;
  parts.frames = msg.frames.length > 1 ? msg.frames : null;
  const reply = h?.kind === "reply" ? h : null;
  parts.mismatchLow = reply?.mismatch ? reply.mismatch.low : null;
  parts.mismatchHigh = reply?.mismatch ? reply.mismatch.high : 0;
  parts.authStat = reply?.authStat ?? null;
  parts.issues = msg.issues.length || m.bodyIssues.length ? cache.issuesJsonBytes(m) : null;
  return parts;
}

/** Writes a line from its parts up to where the -V keys go (the caller writes them and the closing brace). */
export function writeJsonLineStart(p: JsonLineParts, out: BytePieces): void {
  out.constant(P_START);
  out.int(p.frame);
  out.constant(P_TIME);
  writeRounded9(out, p.time);
  out.raw(p.endpointPiece);
  if (p.xid >= 0) out.int(p.xid);
  else out.constant(P_NULL);
  out.raw(p.procedurePiece);
  if (p.peerFrame === null) out.constant(P_NULL);
  else out.int(p.peerFrame);
  if (Number.isNaN(p.rtt)) {
    out.constant(P_RTT_NULL);
  } else {
    out.constant(P_RTT);
    writeRounded9(out, p.rtt);
    out.constant(P_LENGTH);
  }
  out.int(p.length);
  const frames = p.frames;
  if (frames !== null) {
    out.ascii(',"frames":[');
    for (let i = 0; i < frames.length; i++) {
      if (i > 0) out.ascii(",");
      out.int(frames[i]!);
    }
    out.ascii("]");
  }
  if (p.mismatchLow !== null) {
    out.ascii(',"mismatch":{"low":');
    out.int(p.mismatchLow);
    out.ascii(',"high":');
    out.int(p.mismatchHigh);
    out.ascii("}");
  }
  if (p.authStat !== null) {
    out.ascii(',"authStat":');
    out.int(p.authStat);
  }
  if (p.issues !== null) {
    out.ascii(',"issues":');
    out.raw(p.issues);
  }
}

/** The closing brace of a line. */
export const JSON_LINE_END = P_END.bytes;

/** At most how many bytes writeJsonLineStart writes. */
export function jsonLineStartMaxBytes(p: JsonLineParts): number {
  return JSON_LINE_FIXED_BYTES + p.endpointPiece.length + p.procedurePiece.length + (p.frames?.length ?? 0) * 17 +
    (p.issues?.length ?? 0);
}

/** 2^22 seconds: below it a double resolves 1 ns, so n/1e9 prints as n's digits (see writeRounded9). */
const EXACT_NS_LIMIT = 4_194_304 * 1e9;

/**
 * Writes `String(round9(x))` without making the string: for n = round(x·1e9) with
 * 1000 ≤ n < 2^22·1e9, the double n/1e9 is within half an ulp (< 0.5 ns) of the
 * decimal n·10⁻⁹ and of no other 9-decimal number, so JavaScript's shortest
 * round-trip form is exactly n's digits with the point placed and trailing zeros
 * dropped (below 1e-6 JavaScript switches to exponent form: left to String).
 */
export function writeRounded9(out: BytePieces, x: number): void {
  const n = Math.round(x * 1e9);
  if (!(n >= 1000 && n < EXACT_NS_LIMIT)) {
    out.ascii(String(n / 1e9));
    return;
  }
  const whole = Math.floor(n / 1e9);
  // n - whole·1e9 is an exact integer below 1e9 < 2^31: made an int32 here, so that
  // the loops below divide and take remainders as integers (as doubles, each % was a
  // call to fmod: a third of the cost of a JSON line).
  const frac = (n - whole * 1e9) | 0;
  out.int(whole);
  if (frac !== 0) out.fraction9(frac);
}

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Whether an exchange ended badly (for colouring and counts). */
export function isErrorExchange(ex: Exchange): boolean {
  const h = ex.reply?.header;
  return !!h && h.kind === "reply" && h.status !== "SUCCESS";
}
