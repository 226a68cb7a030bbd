/**
 * Pure formatters shared by the CLI and the TUI: one message → one summary line
 * or one NDJSON object. Everything from a packet is escaped.
 */
import type { Exchange, RpcMessage } from "../dissect/rpc-types.js";
import type { AnalyzedMessage } from "./analyze.js";
import { toJsonValue, type JsonValue } from "./body-format.js";
import { escapeForTerminal } from "./text-safety.js";

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

export function peerFrameOf(msg: RpcMessage): number | null {
  const ex = msg.exchange;
  if (!ex || !msg.header) return null;
  const peer = msg.header.kind === "call" ? ex.reply : ex.call;
  return peer ? peer.frame : null;
}

export function rttOf(msg: RpcMessage): number | null {
  return msg.header?.kind === "reply" && msg.exchange ? msg.exchange.rtt : null;
}

function endpoint(addr: string, port: number): string {
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

/** One text line per message, as `rpcscope summary` prints it. */
export function summaryLine(m: AnalyzedMessage, names: Names, extraInfo = ""): string {
  const { msg } = m;
  const parts: string[] = [
    String(msg.frame).padStart(6),
    m.time.toFixed(6).padStart(12),
    `${endpoint(msg.src, msg.sport)} → ${endpoint(msg.dst, msg.dport)}`,
    msg.transport.toUpperCase(),
  ];
  const h = msg.header;
  if (!h) {
    const why = msg.issues.map((i) => i.detail).join("; ");
    parts.push(`MALFORMED ${escapeForTerminal(why)}`);
    return parts.join("  ");
  }
  parts.push(`xid=0x${h.xid.toString(16).padStart(8, "0")}`);
  const triple = callTriple(msg);
  const what = triple
    ? `${programLabel(names, triple.prog, triple.vers)} ${names.procedureName(triple.prog, triple.vers, triple.proc)}`
    : "(no call seen)";
  if (h.kind === "call") {
    parts.push(`Call   ${what}`);
  } else {
    parts.push(`Reply  ${what}  ${h.status}`);
    if (h.mismatch) parts.push(`(supports ${h.mismatch.low}..${h.mismatch.high})`);
    const peer = peerFrameOf(msg);
    const rtt = rttOf(msg);
    if (peer !== null) parts.push(`call #${peer}${rtt !== null ? ` rtt ${formatSeconds(rtt)}` : ""}`);
  }
  if (extraInfo) parts.push(escapeForTerminal(extraInfo));
  const notes = msg.issues.filter((i) => i.code !== "malformed").map((i) => i.code);
  // A body that is undecoded for want of a spec is normal, not worth a note on every line.
  for (const i of m.bodyIssues) if (i.code !== "body-undecoded") notes.push(i.code);
  if (notes.length) parts.push(`[${[...new Set(notes)].join(", ")}]`);
  return parts.join("  ");
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

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** Whether an exchange ended badly (for colouring and counts). */
export function isErrorExchange(ex: Exchange): boolean {
  const h = ex.reply?.header;
  return !!h && h.kind === "reply" && h.status !== "SUCCESS";
}
