/**
 * What a display filter looks at, and the fields it can name.
 *
 * The CLI evaluates a filter once per message (a call line or a reply line; the
 * exchange supplies what the other side knows: rtt, status…); the TUI evaluates
 * it once per exchange (message = null). Both hand in a FilterSubject.
 *
 * Two protocols share the fields: ONC-RPC (exchange / message) and libvirt's own
 * framing (the `libvirt` part of the subject). Generic fields (prog, proc, rtt,
 * status, client…) read whichever is there; a field of one protocol only (xid,
 * auth, libvirt.serial…) is simply false on a message of the other.
 */
import type {
  Exchange, LibvirtExchange, LibvirtHeader, LibvirtMessage, RpcCall, RpcMessage, RpcReply,
} from "../../dissect/rpc-types.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import { LIBVIRT_TCP_PORT, LIBVIRT_TLS_PORT, LibvirtProgram } from "../../dissect/libvirt/constants.js";

/** Program and procedure names, as the registry knows them. */
export interface NameLookup {
  programName(prog: number): string | undefined;
  /** Always a name; unknown procedures get a made-up one ("proc-17"). */
  procedureName(prog: number, vers: number, proc: number): string;
  programNumber(name: string): number | undefined;
}

/** What a filter sees of a libvirt message or exchange (see libvirtFilterSubject in ui/libvirt-format.ts). */
export interface LibvirtFilterSubject {
  /** The message being shown (CLI, and TUI rows of events and stream data), or null to look at the whole exchange. */
  readonly message: LibvirtMessage | null;
  /** The call/reply exchange; when null and `message` is set, `message.exchange` is used. */
  readonly exchange: LibvirtExchange | null;
}

export interface FilterSubject {
  /** The exchange; when null and `message` is set, `message.exchange` is used. */
  readonly exchange: Exchange | null;
  /** The message being shown (CLI), or null to look at the whole exchange (TUI). */
  readonly message: RpcMessage | null;
  /**
   * Decoded call arguments, or null when not decoded (or there is no call).
   * libvirt: a CALL's `_args`, or the `_msg` body of an event (MESSAGE).
   */
  readonly args: DecodedField | null;
  /**
   * Decoded reply results, or null when not decoded (or there is no reply).
   * libvirt: an OK REPLY's `_ret`, or the remote_error of an ERROR reply or stream message.
   */
  readonly res: DecodedField | null;
  readonly names: NameLookup;
  /**
   * Set for a libvirt message or exchange; `exchange` and `message` are then null,
   * so every ONC-RPC-only field is false. Absent (or null) for ONC-RPC.
   */
  readonly libvirt?: LibvirtFilterSubject | null;
}

/** How a field's values compare; decides which operators and values it accepts. */
export type FieldType =
  | "number" // integers: ==, <, … ; values 12, 0x1f, 4k
  | "duration" // seconds: values 5ms, 250us, 1.5s or a plain number of seconds
  | "name" // a number with a name (prog, proc, status, op, auth): by name or number
  | "keyword" // one of a few words (kind, transport, issue)
  | "text" // a string (machine)
  | "address" // an IP address with a port (client, server)
  | "flag" // true or false, used alone: `unmatched`, `!error`
  | "decoded"; // args.PATH / res.PATH: whatever the body holds

export interface FieldInfo {
  readonly name: string;
  readonly type: FieldType;
  /** Whether the field needs the decoded body (args/res) to be known. */
  readonly needsBody: boolean;
  readonly help: string;
  readonly example: string;
}

const FIELD_LIST: readonly FieldInfo[] = [
  { name: "prog", type: "name", needsBody: false, help: "program, by name (case-insensitive; libvirt: remote, qemu, lxc, admin, keepalive) or number", example: "prog == nfs" },
  { name: "vers", type: "number", needsBody: false, help: "program version", example: "vers == 3" },
  { name: "proc", type: "name", needsBody: false, help: "procedure, by name (NFSPROC3_READ or just READ; libvirt DOMAIN_GET_INFO) or number", example: "proc == READ" },
  { name: "xid", type: "number", needsBody: false, help: "transaction id", example: "xid == 0x5f3a01c2" },
  { name: "kind", type: "keyword", needsBody: false, help: "call or reply (for an exchange: the sides present); libvirt also message (or event) and stream", example: "kind == reply" },
  { name: "status", type: "name", needsBody: true, help: "reply status (SUCCESS … AUTH_ERROR) or body status (NFS3ERR_NOENT); a number: the body's code; libvirt: the reply's OK or ERROR (events, streams: their own)", example: "status == NFS3ERR_NOENT" },
  { name: "auth", type: "name", needsBody: false, help: "credential flavor: none, sys, short, dh, gss, tls (or a number)", example: "auth == gss" },
  { name: "uid", type: "number", needsBody: false, help: "AUTH_SYS uid", example: "uid == 0" },
  { name: "gid", type: "number", needsBody: false, help: "AUTH_SYS gid or any supplementary gid", example: "gid == 100" },
  { name: "machine", type: "text", needsBody: false, help: "AUTH_SYS machine name", example: "machine contains \"build\"" },
  { name: "client", type: "address", needsBody: false, help: "client address, or address:port ([v6]:port)", example: "client == 10.0.0.5" },
  { name: "server", type: "address", needsBody: false, help: "server address, or address:port ([v6]:port)", example: "server == 10.0.0.1:2049" },
  { name: "port", type: "number", needsBody: false, help: "either port (source or destination)", example: "port == 2049" },
  { name: "rtt", type: "duration", needsBody: false, help: "response time (reply minus call), in seconds or with a unit (ns, us, ms, s)", example: "rtt > 5ms" },
  { name: "size", type: "number", needsBody: false, help: "bytes of the RPC message (for an exchange: call plus reply); k/m/g suffixes are ×1024", example: "size > 64k" },
  { name: "frame", type: "number", needsBody: false, help: "frame number (for an exchange: the call's or the reply's)", example: "frame == 1234" },
  { name: "transport", type: "keyword", needsBody: false, help: "tcp or udp", example: "transport == udp" },
  { name: "issue", type: "keyword", needsBody: false, help: "a named anomaly on the message or exchange (gap, resync, trailing-bytes, …)", example: "issue == trailing-bytes" },
  { name: "op", type: "name", needsBody: true, help: "an NFSv4 COMPOUND operation (true if any operation matches); with or without OP_", example: "op == READ" },
  { name: "unmatched", type: "flag", needsBody: false, help: "a call without a reply, or a reply without a call", example: "unmatched" },
  { name: "malformed", type: "flag", needsBody: true, help: "the header or the body could not be fully decoded", example: "malformed" },
  { name: "retransmission", type: "flag", needsBody: false, help: "the call was sent more than once", example: "retransmission" },
  { name: "error", type: "flag", needsBody: true, help: "reply status not SUCCESS, or a body status that is an error (libvirt: status ERROR)", example: "error && prog == nfs" },
  { name: "rpc", type: "flag", needsBody: false, help: "an ONC-RPC (SunRPC) message", example: "rpc && rtt > 10ms" },
  { name: "libvirt", type: "flag", needsBody: false, help: "a libvirt message (libvirt's own framing: remote, qemu, lxc, admin, keepalive)", example: "libvirt && proc == DOMAIN_GET_INFO" },
  { name: "libvirt.type", type: "name", needsBody: false, help: "libvirt message type: CALL, REPLY, MESSAGE, STREAM, CALL_WITH_FDS, REPLY_WITH_FDS, STREAM_HOLE (or a number)", example: "libvirt.type == MESSAGE" },
  { name: "libvirt.serial", type: "number", needsBody: false, help: "libvirt serial (a call, its reply and its stream data share it)", example: "libvirt.serial == 42" },
  { name: "libvirt.status", type: "name", needsBody: false, help: "the libvirt header's own status: OK, ERROR, CONTINUE (or a number); for an exchange, the reply's", example: "libvirt.status == ERROR" },
  { name: "libvirt.error", type: "text", needsBody: true, help: "the message text of a libvirt error (ERROR reply or stream)", example: "libvirt.error contains \"not found\"" },
];

const FIELD_MAP: ReadonlyMap<string, FieldInfo> = new Map(FIELD_LIST.map((f) => [f.name, f]));

export function builtinField(name: string): FieldInfo | undefined {
  return FIELD_MAP.get(name);
}

export function builtinFieldNames(): readonly string[] {
  return FIELD_LIST.map((f) => f.name);
}

/** One line of help per field, for `--help` and the TUI help screen. */
export function describeFields(): readonly FieldInfo[] {
  return [
    ...FIELD_LIST,
    { name: "args.PATH", type: "decoded", needsBody: true, help: "a decoded argument field by dotted name; an array matches if any element matches", example: "args.what.name == \"foo.txt\"" },
    { name: "res.PATH", type: "decoded", needsBody: true, help: "a decoded result field (res alone: the result's discriminant)", example: "res.status == NFS3ERR_NOENT" },
    { name: "len(PATH)", type: "number", needsBody: true, help: "length of a decoded string or opaque (bytes) or array (elements)", example: "len(args.data) > 1000" },
  ];
}

/** `name` padded to 16 columns, then `help` wrapped at `width` with a hanging indent. */
function helpLines(name: string, help: string, width = 80): string {
  const indent = " ".repeat(18);
  const lines: string[] = [];
  let line = `  ${name.padEnd(16)}`;
  let empty = true;
  for (const word of help.split(" ")) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join("\n");
}

let filterHelpText: string | null = null;

/** The display filter's help text (made on first use: its field list is laid out word by word). */
export function filterHelp(): string {
  filterHelpText ??= `Display filter (rpcscope -Y EXPR, and / in the terminal UI)

  FIELD OP VALUE    OP: == != < <= > >= contains matches (also eq ne lt le gt ge, ~)
  FIELD in {V1, V2} true if FIELD == any of the values
  FIELD             a flag (unmatched, malformed, retransmission, error, rpc,
                    libvirt), or for args./res. paths: the field is present
  A && B, A || B, !A   also: and, or, not; ! binds tightest, then &&, then ||; (…) to group

Values: numbers (42, 0x1f), durations (250us, 2.5ms, 1s; a plain number is seconds),
sizes (1k = 1024, 4m, 1g), words (nfs, READ, NFS3ERR_NOENT, 10.0.0.1:2049),
"quoted strings" (escapes \\" \\\\ \\n \\t \\r \\xNN \\u{XXXX}; any other \\c is kept
as is, so "\\d+" works in a regular expression). matches takes a quoted JavaScript
regular expression (at most 1024 characters; a leading (?i) ignores case).

Absent fields: a comparison with a field that is absent (no reply, no body, no
such path) is false, and A != B is exactly !(A == B), so it is true then. A field
with several values (port, frame, an array element in a path, op) compares true
if ANY value does; so != means "no value equals".
Names (prog, proc, status, op, auth, kind, transport, issue, enum values in
bodies) compare case-insensitively, with == and contains alike; proc == READ
also matches NFSPROC3_READ, op == READ matches OP_READ. Text (machine, strings
in bodies) compares exactly; addresses ignore case.

Paths: args.a.b / res.a.b follow decoded field names; arrays, optional data
and union arms are stepped through (res.count finds resok.count); a union
compares as its discriminant. len(PATH) is the length of a string, opaque or array.

libvirt messages (their own framing, e.g. on port 16509) are filtered with the
same generic fields: prog (remote, qemu, lxc, admin, keepalive), vers, proc
(DOMAIN_GET_INFO, or a number), kind, status (a call and its reply are selected
by the reply's OK/ERROR), rtt, size, frame, client, server, port, transport,
issue, unmatched, malformed, error; args.PATH is a call's arguments or an
event's body, res.PATH an OK reply's results or an ERROR's remote_error (code,
domain, message…). ONC-RPC-only fields (xid, auth, uid, gid, machine, op,
retransmission) are false on libvirt messages, and libvirt.* fields are false
on ONC-RPC ones. rpc selects ONC-RPC messages, libvirt selects libvirt ones.

Examples:
  prog == nfs && proc in {READ, WRITE} && rtt > 10ms
  error && !(status == NFS3ERR_NOENT)
  op == OPEN || args.what.name == "foo.txt"
  client == 10.0.0.5 && transport == udp
  machine matches "(?i)^build-[0-9]+$"
  libvirt && proc == DOMAIN_LOOKUP_BY_NAME && libvirt.status == ERROR
  libvirt.type == MESSAGE || (rpc && rtt > 5ms)

Fields:
${FIELD_LIST.map((f) => helpLines(f.name, f.help)).join("\n")}
  args.PATH       decoded argument field, e.g. args.what.name == "foo.txt"
  res.PATH        decoded result field, e.g. res.status == NFS3ERR_NOENT
  len(PATH)       length of a decoded string/opaque (bytes) or array (elements)
`;
  return filterHelpText;
}

// ---------------------------------------------------------------------------
// Accessors shared by the evaluator (and, for the body status, by stats callers).

export function exchangeOf(s: FilterSubject): Exchange | null {
  return s.exchange ?? s.message?.exchange ?? null;
}

/** The call header: the message's own if it is a call, else the exchange's call. */
export function callHeaderOf(s: FilterSubject): RpcCall | null {
  const h = s.message?.header;
  if (h && h.kind === "call") return h;
  const c = exchangeOf(s)?.call?.header;
  return c && c.kind === "call" ? c : null;
}

export function replyHeaderOf(s: FilterSubject): RpcReply | null {
  const h = s.message?.header;
  if (h && h.kind === "reply") return h;
  const r = exchangeOf(s)?.reply?.header;
  return r && r.kind === "reply" ? r : null;
}

export interface BodyStatus {
  readonly name: string | null;
  readonly value: number;
  readonly field: DecodedField;
}

/** Whether `s` contains "stat" in any letter case (no regex or allocation: this runs per filter evaluation). */
function hasStat(s: string): boolean {
  for (let i = 0; i + 4 <= s.length; i++) {
    if ((s.charCodeAt(i) | 0x20) === 0x73 && (s.charCodeAt(i + 1) | 0x20) === 0x74 &&
        (s.charCodeAt(i + 2) | 0x20) === 0x61 && (s.charCodeAt(i + 3) | 0x20) === 0x74) return true;
  }
  return false;
}

function looksLikeStatus(f: DecodedField): boolean {
  return f.value.kind === "enum" && (hasStat(f.name) || hasStat(f.typeName));
}

/**
 * The status enum of a decoded result, found the way NFS, MOUNT and NLM lay it
 * out: the discriminant of a result union (READ3res: `switch (nfsstat3 status)`),
 * or the first top-level enum field of a result struct (COMPOUND4res.status,
 * nlm4_res.stat). Only enums whose field or type name contains "stat" count.
 */
export function findBodyStatus(res: DecodedField | null): BodyStatus | null {
  if (!res) return null;
  const v = res.value;
  if (v.kind === "union") {
    return looksLikeStatus(v.disc) && v.disc.value.kind === "enum"
      ? { name: v.disc.value.name, value: v.disc.value.value, field: v.disc }
      : null;
  }
  if (v.kind === "struct") {
    for (const f of v.fields) {
      if (looksLikeStatus(f) && f.value.kind === "enum") return { name: f.value.name, value: f.value.value, field: f };
    }
    return null;
  }
  if (looksLikeStatus(res) && v.kind === "enum") return { name: v.name, value: v.value, field: res };
  return null;
}

/**
 * The body status when it is an error (its value is not 0: NFS3_OK, NFS4_OK,
 * MNT3_OK and nlm4_granted are all 0), as a name (`UNKNOWN(n)` when the enum
 * has no name for it); else null. Suits StatsCollector.add's bodyStatus.
 */
export function bodyErrorName(res: DecodedField | null): string | null {
  const st = findBodyStatus(res);
  if (!st || st.value === 0) return null;
  return st.name ?? `UNKNOWN(${st.value})`;
}

// ---------------------------------------------------------------------------
// libvirt accessors. A libvirt subject never has an ONC-RPC exchange or
// message, so the accessors above return null for it.

export function libvirtExchangeOf(lv: LibvirtFilterSubject): LibvirtExchange | null {
  return lv.exchange ?? lv.message?.exchange ?? null;
}

/**
 * The header that names the procedure: the message's own (a libvirt reply,
 * event or stream message carries prog/vers/proc itself), else the exchange's
 * call's, else its reply's.
 */
export function libvirtHeaderOf(lv: LibvirtFilterSubject): LibvirtHeader | null {
  const m = lv.message;
  if (m) return m.header;
  const ex = lv.exchange;
  if (!ex) return null;
  return ex.call?.header ?? ex.reply?.header ?? null;
}

/**
 * The header whose status says how the exchange went: the reply's for a call
 * or reply (so a call is selected by its reply's status, as in ONC-RPC), the
 * message's own for events and stream data; a call without a reply has none.
 */
export function libvirtOutcomeHeaderOf(lv: LibvirtFilterSubject): LibvirtHeader | null {
  const m = lv.message;
  if (m && m.header && m.header.kind !== "call" && m.header.kind !== "reply") return m.header;
  return libvirtExchangeOf(lv)?.reply?.header ?? (m?.header?.kind === "reply" ? m.header : null);
}

/** The message whose endpoints describe the conversation: the one shown, else the call, else the reply. */
export function libvirtEndpointMessage(lv: LibvirtFilterSubject): LibvirtMessage | null {
  if (lv.message) return lv.message;
  const ex = lv.exchange;
  return ex ? ex.call ?? ex.reply : null;
}

/** libvirtd's well-known ports (plain TCP and TLS). */
const LIBVIRT_SERVER_PORTS: ReadonlySet<number> = new Set([LIBVIRT_TCP_PORT, LIBVIRT_TLS_PORT]);

/**
 * Whether the client sent this message: a call yes, a reply and an event
 * (server to client, virnetprotocol.x) no. Stream data (upload or download)
 * and keepalive PING/PONG go either way, so for them the side on libvirtd's
 * port is taken for the server, else the lower port.
 */
export function libvirtClientIsSource(msg: LibvirtMessage): boolean {
  const h = msg.header;
  if (h?.kind === "call") return true;
  if (h?.kind === "reply" || (h?.kind === "message" && h.prog !== LibvirtProgram.KEEPALIVE)) return false;
  if (LIBVIRT_SERVER_PORTS.has(msg.dport)) return true;
  if (LIBVIRT_SERVER_PORTS.has(msg.sport)) return false;
  return msg.sport >= msg.dport;
}
