/**
 * Pure formatters shared by the CLI and the TUI: one message → one summary line
 * or one NDJSON object. Everything from a packet is escaped.
 */
import type { Exchange, RpcMessage } from "../dissect/rpc-types.js";
import type { AnalyzedMessage } from "./analyze.js";
import { toJsonValue, type JsonValue } from "./body-format.js";
import { escapeForTerminal, jsonSafeStringify } from "./text-safety.js";

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

  private readonly jsonNames = new Map<number, Map<number, string>>();

  /** `"progName":…,"procName":…` for the NDJSON line, built once per procedure. */
  namesJson(prog: number, vers: number, proc: number): string {
    const build = () =>
      `"progName":${jsonSafeStringify(this.names.programName(prog) ?? null)},"procName":${jsonSafeStringify(this.names.procedureName(prog, vers, proc))}`;
    if (vers >= 0x10000 || proc >= 0x10000) return build();
    let inner = this.jsonNames.get(prog);
    if (!inner) {
      if (this.jsonNames.size > 4096) this.jsonNames.clear();
      inner = new Map();
      this.jsonNames.set(prog, inner);
    }
    const key = vers * 0x10000 + proc;
    let s = inner.get(key);
    if (s === undefined) {
      s = build();
      inner.set(key, s);
    }
    return s;
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
  const { msg } = m;
  const h = msg.header;
  const triple = callTriple(msg);
  let s =
    `{"protocol":"onc-rpc","frame":${msg.frame},"time":${round9(m.time)},"src":"${msg.src}","dst":"${msg.dst}",` +
    `"sport":${msg.sport},"dport":${msg.dport},"transport":"${msg.transport}","xid":${h ? h.xid : null},` +
    `"kind":"${h ? h.kind : "malformed"}",`;
  s += triple
    ? `"prog":${triple.prog},"vers":${triple.vers},"proc":${triple.proc},${cache.namesJson(triple.prog, triple.vers, triple.proc)},`
    : `"prog":null,"vers":null,"proc":null,"progName":null,"procName":null,`;
  const rtt = rttOf(msg);
  s += `"status":${h && h.kind === "reply" ? `"${h.status}"` : null},"peerFrame":${peerFrameOf(msg)},"rtt":${rtt === null ? null : round9(rtt)},"length":${msg.length}`;
  if (msg.frames.length > 1) s += `,"frames":[${msg.frames.join(",")}]`;
  if (h?.kind === "reply" && h.mismatch) s += `,"mismatch":{"low":${h.mismatch.low},"high":${h.mismatch.high}}`;
  if (h?.kind === "reply" && h.authStat !== undefined) s += `,"authStat":${h.authStat}`;
  if (msg.issues.length || m.bodyIssues.length) {
    const issues = [...msg.issues, ...m.bodyIssues].map((i) =>
      i.offset !== undefined ? { code: i.code, detail: i.detail, offset: i.offset } : { code: i.code, detail: i.detail },
    );
    s += `,"issues":${jsonSafeStringify(issues)}`;
  }
  return s + "}";
}

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Whether an exchange ended badly (for colouring and counts). */
export function isErrorExchange(ex: Exchange): boolean {
  const h = ex.reply?.header;
  return !!h && h.kind === "reply" && h.status !== "SUCCESS";
}
