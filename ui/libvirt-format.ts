/**
 * Pure formatters for libvirt messages, the counterpart of summary-format.ts:
 * one message → one summary line or one NDJSON object (keys documented below).
 * Everything from a packet is escaped.
 *
 * NDJSON keys: protocol ("libvirt"), frame, time, src, dst, sport, dport,
 * transport, prog, vers, proc, progName, procName, msgType, serial, status,
 * peerFrame (the reply's frame on a call, the call's on a reply), rtt (replies),
 * length; when they apply: frames, nfds, stream {id, messages, dataBytes, holes,
 * end}, dataBytes (raw stream data), issues; with bodies: args (CALL), res
 * (REPLY OK), msg (MESSAGE), error (remote_error of an ERROR reply or stream),
 * hole (STREAM_HOLE).
 */
import type { Limits } from "../capture/limits.js";
import type { FilterSubject, NameLookup } from "./filter/fields.js";
import { csvMessageCells, csvNumber, csvRow, csvText } from "./csv.js";
import type { ProgramRegistry } from "../dissect/registry.js";
import type { LibvirtHeader, LibvirtMessage } from "../dissect/rpc-types.js";
import { detachDecoded, type DecodedField } from "../dissect/xdr-types.js";
import { KeepaliveProc, LibvirtProgram } from "../dissect/libvirt/constants.js";
import { decodeLibvirtBody, type LibvirtBodyDecode } from "../dissect/libvirt/body.js";
import { toJsonValue, treeLines, type JsonValue } from "./body-format.js";
import { endpoint, formatSeconds, peerFrameOf, programLabel, rttOf, type Names } from "./summary-format.js";
import { escapeForTerminal, jsonSafeString } from "./text-safety.js";

export interface AnalyzedLibvirtMessage {
  readonly msg: LibvirtMessage;
  /** Seconds since the first frame of the capture. */
  readonly time: number;
  /** The decoded body; null when bodies are not decoded. */
  readonly body: LibvirtBodyDecode | null;
}

/** The message with its decoded body copied out of the message bytes, to keep after the handler returns. */
export function detachLibvirt(m: AnalyzedLibvirtMessage): AnalyzedLibvirtMessage {
  if (!m.body?.body) return m;
  return { ...m, body: { ...m.body, body: detachDecoded(m.body.body) } };
}

/** What a consumer does with each libvirt message the sink receives (bytes valid only during the call). */
export function analyzeLibvirtMessage(
  msg: LibvirtMessage, bytes: Uint8Array, truncatedAt: number | null, time: number,
  registry: ProgramRegistry | null, limits: Limits, decodeBodies: boolean,
): AnalyzedLibvirtMessage {
  const body = decodeBodies ? decodeLibvirtBody(msg.header, bytes, truncatedAt, registry, limits) : null;
  return { msg, time, body };
}

/** Procedure name from the registry; keepalive is named even when no spec bound it. */
export function libvirtProcName(names: Names, h: Pick<LibvirtHeader, "prog" | "vers" | "proc">): string {
  const name = names.procedureName(h.prog, h.vers, h.proc);
  if (h.prog === LibvirtProgram.KEEPALIVE && /^proc-\d+$/.test(name)) {
    if (h.proc === KeepaliveProc.PING) return "PING";
    if (h.proc === KeepaliveProc.PONG) return "PONG";
  }
  return name;
}

/** Frame of the matching call or reply (the same rule as for ONC-RPC). */
export const libvirtPeerFrame: (msg: LibvirtMessage) => number | null = peerFrameOf;
export const libvirtRtt: (msg: LibvirtMessage) => number | null = rttOf;

const VERB: Readonly<Record<LibvirtHeader["kind"], string>> = {
  call: "Call  ",
  reply: "Reply ",
  message: "Event ",
  stream: "Stream",
  unknown: "",
};

/** One text line per libvirt message, in the style of summaryLine. */
export function libvirtSummaryLine(m: AnalyzedLibvirtMessage, names: Names, extraInfo = ""): string {
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
  parts.push(`serial=${h.serial}`);
  const what = `${programLabel(names, h.prog, h.vers)} ${escapeForTerminal(libvirtProcName(names, h))}`;
  const verb = VERB[h.kind] || h.typeName;
  switch (h.kind) {
    case "call":
      parts.push(`${verb} ${what}${h.nfds !== undefined ? `  fds=${h.nfds}` : ""}`);
      break;
    case "reply": {
      parts.push(`${verb} ${what}  ${h.statusName}`);
      const peer = libvirtPeerFrame(msg);
      const rtt = libvirtRtt(msg);
      if (peer !== null) parts.push(`call #${peer}${rtt !== null ? ` rtt ${formatSeconds(rtt)}` : ""}`);
      else parts.push("(no call seen)");
      break;
    }
    case "stream": {
      const kind = h.typeName === "STREAM_HOLE" ? "hole" : h.statusName;
      let detail = `${verb} ${what}  ${kind}`;
      if (m.body?.role === "data" && m.body.dataBytes !== undefined) detail += ` ${m.body.dataBytes} bytes`;
      parts.push(detail);
      break;
    }
    default:
      parts.push(`${verb} ${what}`);
      break;
  }
  const errorText = errorMessageOf(m.body);
  if (errorText !== null) parts.push(`"${escapeForTerminal(errorText)}"`);
  if (extraInfo) parts.push(escapeForTerminal(extraInfo));
  const notes = msg.issues.map((i) => i.code as string);
  if (m.body) for (const i of m.body.issues) notes.push(i.code);
  if (msg.exchange) for (const i of msg.exchange.issues) notes.push(i.code);
  if (notes.length) parts.push(`[${[...new Set(notes)].join(", ")}]`);
  return parts.join("  ");
}

/** The NDJSON object for one libvirt message. */
export function libvirtSummaryJson(m: AnalyzedLibvirtMessage, names: Names, withBodies: boolean): { [key: string]: JsonValue } {
  const { msg } = m;
  const h = msg.header;
  const rtt = libvirtRtt(msg);
  const obj: { [key: string]: JsonValue } = {
    protocol: "libvirt",
    frame: msg.frame,
    time: round9(m.time),
    src: msg.src,
    dst: msg.dst,
    sport: msg.sport,
    dport: msg.dport,
    transport: msg.transport,
    prog: h ? h.prog : null,
    vers: h ? h.vers : null,
    proc: h ? h.proc : null,
    progName: h ? names.programName(h.prog) ?? null : null,
    procName: h ? jsonSafeString(libvirtProcName(names, h)) : null,
    msgType: h ? h.typeName : null,
    serial: h ? h.serial : null,
    status: h ? h.statusName : null,
    peerFrame: libvirtPeerFrame(msg),
    rtt: rtt === null ? null : round9(rtt),
    length: msg.length,
  };
  if (msg.frames.length > 1) obj["frames"] = [...msg.frames];
  if (h?.nfds !== undefined) obj["nfds"] = h.nfds;
  const s = msg.stream;
  if (s) obj["stream"] = { id: s.id, messages: s.messages, dataBytes: s.dataBytes, holes: s.holes, end: s.end };
  const body = m.body;
  if (body?.role === "data" && body.dataBytes !== undefined) obj["dataBytes"] = body.dataBytes;
  const issues = [...msg.issues, ...(body?.issues ?? [])];
  if (msg.exchange) issues.push(...msg.exchange.issues);
  if (issues.length) {
    obj["issues"] = issues.map((i) => {
      const o: { [key: string]: JsonValue } = { code: i.code, detail: jsonSafeString(i.detail) };
      if (i.offset !== undefined) o["offset"] = i.offset;
      return o;
    });
  }
  if (withBodies && body?.body && body.role !== "none" && body.role !== "data") {
    obj[body.role] = toJsonValue(body.body.value);
  }
  return obj;
}

/** Header and body as indented lines, for a detail view (`summary -V`). */
export function libvirtDetailLines(m: AnalyzedLibvirtMessage, names: Names, indent = "    "): string[] {
  const h = m.msg.header;
  if (!h) return [`${indent}(no header: ${m.msg.length} bytes declared, fewer than 28 captured)`];
  const lines = [
    `${indent}length: ${m.msg.length}`,
    `${indent}prog: 0x${h.prog.toString(16).padStart(8, "0")} (${escapeForTerminal(names.programName(h.prog) ?? "unknown")})  vers: ${h.vers}  proc: ${h.proc} (${escapeForTerminal(libvirtProcName(names, h))})`,
    `${indent}type: ${h.typeName}  serial: ${h.serial}  status: ${h.statusName}${h.nfds !== undefined ? `  nfds: ${h.nfds}` : ""}`,
  ];
  const body = m.body?.body;
  if (body) lines.push(...treeLines(body, indent));
  return lines;
}

/** The `message` text of a decoded remote_error, or null. */
export function errorMessageOf(body: LibvirtBodyDecode | null): string | null {
  if (!body || body.role !== "error" || !body.body) return null;
  const v = body.body.value;
  if (v.kind !== "struct") return null;
  const field = v.fields.find((f: DecodedField) => f.name === "message");
  if (!field || field.value.kind !== "optional" || !field.value.value) return null;
  const inner = field.value.value.value;
  return inner.kind === "string" ? inner.text : null;
}

/**
 * A decoded body as the display filter reaches it: `args` holds a CALL's
 * arguments or an event's (MESSAGE) body, `res` an OK REPLY's results or the
 * remote_error of an ERROR reply or stream message. Raw stream data and holes
 * are reachable through neither.
 */
export function libvirtFilterBodies(body: LibvirtBodyDecode | null): { args: DecodedField | null; res: DecodedField | null } {
  const decoded = body?.body ?? null;
  switch (body?.role) {
    case "args":
    case "msg":
      return { args: decoded, res: null };
    case "res":
    case "error":
      return { args: null, res: decoded };
    default:
      return { args: null, res: null };
  }
}

/** What the display filter looks at for one libvirt message (CLI: one subject per line). */
export function libvirtFilterSubject(m: AnalyzedLibvirtMessage, names: NameLookup): FilterSubject {
  const { args, res } = libvirtFilterBodies(m.body);
  return { exchange: null, message: null, args, res, names, libvirt: { message: m.msg, exchange: null } };
}

/**
 * One `summary --csv` row for a libvirt message, in the columns of
 * SUMMARY_CSV_COLUMNS (ui/csv.ts), so one file holds both protocols:
 * xid holds the libvirt serial (0x + 8 hex digits: it plays the xid's part);
 * kind is call, reply, message (events) or stream; status is the header's
 * status (OK, ERROR, CONTINUE) on replies and stream data, empty on calls and
 * events; body_status is empty; program is the registry's name (libvirt,
 * libvirt-qemu…), so a reader tells the protocols apart by it.
 */
export function libvirtCsvRow(m: AnalyzedLibvirtMessage, names: Names): string {
  const { msg } = m;
  const h = msg.header;
  const issues: string[] = [];
  for (const i of msg.issues) issues.push(i.code);
  if (m.body) for (const i of m.body.issues) if (i.code !== "body-undecoded") issues.push(i.code);
  const withStatus = h !== null && (h.kind === "reply" || h.kind === "stream");
  return csvRow([
    ...csvMessageCells(msg, m.time, h ? h.serial : null),
    h ? h.kind : "malformed",
    csvNumber(h?.prog),
    csvNumber(h?.vers),
    csvNumber(h?.proc),
    h ? csvText(names.programName(h.prog) ?? "") : "",
    h ? csvText(libvirtProcName(names, h)) : "",
    withStatus ? csvText(h.statusName) : "",
    "",
    csvNumber(libvirtPeerFrame(msg)),
    csvNumber(libvirtRtt(msg), 9),
    csvNumber(msg.length),
    csvText([...new Set(issues)].join(";")),
  ]);
}

function round9(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
