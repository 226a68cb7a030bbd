/** Hand-built RPC messages, exchanges and decoded bodies for filter and stats tests (ONC-RPC and libvirt). */
import type {
  Auth, Exchange, LibvirtExchange, LibvirtHeader, LibvirtMessage, RpcMessage, RpcStatus,
} from "../../dissect/rpc-types.js";
import { libvirtStatusName, libvirtTypeName } from "../../dissect/libvirt/constants.js";
import type { Issue } from "../../dissect/malformed.js";
import { Malformed } from "../../dissect/malformed.js";
import type { DecodedField, DecodedValue } from "../../dissect/xdr-types.js";
import type { FilterSubject, NameLookup } from "../../ui/filter/fields.js";

export const LV_REMOTE = 0x20008086;
export const LV_KEEPALIVE = 0x6b656570;

const PROGRAMS = new Map<number, string>([
  [100000, "PMAP_PROG"],
  [100003, "NFS_PROGRAM"],
  [100005, "MOUNTPROG"],
  [LV_REMOTE, "libvirt"],
  [LV_KEEPALIVE, "libvirt-keepalive"],
]);
const PROCEDURES = new Map<string, string>([
  ["100003/3/0", "NFSPROC3_NULL"],
  ["100003/3/3", "NFSPROC3_LOOKUP"],
  ["100003/3/6", "NFSPROC3_READ"],
  ["100003/3/7", "NFSPROC3_WRITE"],
  ["100003/3/16", "NFSPROC3_READDIR"],
  ["100003/4/1", "NFSPROC4_COMPOUND"],
  ["100005/3/1", "MOUNTPROC3_MNT"],
  // libvirt, named as the registry names them after binding remote_procedure.
  [`${LV_REMOTE}/1/16`, "DOMAIN_GET_INFO"],
  [`${LV_REMOTE}/1/23`, "DOMAIN_LOOKUP_BY_NAME"],
  [`${LV_REMOTE}/1/209`, "STORAGE_VOL_DOWNLOAD"],
  [`${LV_REMOTE}/1/318`, "DOMAIN_EVENT_CALLBACK_LIFECYCLE"],
]);

export const names: NameLookup = {
  programName: (prog) => PROGRAMS.get(prog),
  procedureName: (prog, vers, proc) => PROCEDURES.get(`${prog}/${vers}/${proc}`) ?? `proc-${proc}`,
  programNumber: (name) => {
    const lower = name.toLowerCase();
    if (lower === "nfs") return 100003;
    if (lower === "mount" || lower === "mountd") return 100005;
    if (lower === "portmap" || lower === "rpcbind") return 100000;
    if (lower === "remote") return LV_REMOTE;
    if (lower === "keepalive") return LV_KEEPALIVE;
    for (const [n, p] of PROGRAMS) if (p.toLowerCase() === lower) return n;
    return undefined;
  },
};

export const authNone: Auth = { kind: "none", flavor: 0, offset: 0, length: 0 };

export function authSys(uid: number, gid: number, machinename: string, gids: number[] = []): Auth {
  return { kind: "sys", flavor: 1, offset: 0, length: 0, stamp: 1, machinename, uid, gid, gids };
}

export interface MessageOptions {
  frame?: number;
  tsSec?: number;
  tsNsec?: number;
  transport?: "tcp" | "udp";
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  length?: number;
  issues?: Issue[];
}

let seq = 0;

function base(o: MessageOptions, defaults: Required<Pick<MessageOptions, "src" | "dst" | "sport" | "dport">>) {
  return {
    seq: seq++,
    protocol: "onc-rpc" as const,
    frame: o.frame ?? 1,
    frames: [o.frame ?? 1],
    tsSec: o.tsSec ?? 1_700_000_000,
    tsNsec: o.tsNsec ?? 0,
    transport: o.transport ?? "tcp",
    connId: (o.transport ?? "tcp") === "tcp" ? 0 : null,
    src: o.src ?? defaults.src,
    dst: o.dst ?? defaults.dst,
    sport: o.sport ?? defaults.sport,
    dport: o.dport ?? defaults.dport,
    length: o.length ?? 100,
    issues: o.issues ?? [],
    exchange: null,
  };
}

export function call(
  prog: number, vers: number, proc: number,
  o: MessageOptions & { xid?: number; cred?: Auth } = {},
): RpcMessage {
  return {
    ...base(o, { src: "10.0.0.5", dst: "10.0.0.1", sport: 800, dport: 2049 }),
    header: {
      kind: "call", xid: o.xid ?? 0x1234, rpcvers: 2, prog, vers, proc,
      cred: o.cred ?? authNone, verf: authNone, bodyOffset: 40,
    },
  };
}

export function reply(status: RpcStatus, o: MessageOptions & { xid?: number } = {}): RpcMessage {
  return {
    ...base(o, { src: "10.0.0.1", dst: "10.0.0.5", sport: 2049, dport: 800 }),
    header: {
      kind: "reply", xid: o.xid ?? 0x1234,
      replyStat: status === "RPC_MISMATCH" || status === "AUTH_ERROR" ? "denied" : "accepted",
      status, bodyOffset: 24,
    },
  };
}

/** A message whose header could not be decoded. */
export function broken(o: MessageOptions = {}): RpcMessage {
  return { ...base(o, { src: "10.0.0.5", dst: "10.0.0.1", sport: 800, dport: 2049 }), header: null };
}

let exchangeId = 0;

/** An exchange linking both messages (message.exchange is set). */
export function exchange(
  c: RpcMessage | null, r: RpcMessage | null,
  o: { rtt?: number | null; retransmits?: number; issues?: Issue[] } = {},
): Exchange {
  const ex: Exchange = {
    id: exchangeId++,
    transport: (c ?? r)?.transport ?? "tcp",
    xid: c?.header?.xid ?? r?.header?.xid ?? 0,
    call: c,
    reply: r,
    retransmits: o.retransmits ?? 0,
    rtt: o.rtt !== undefined ? o.rtt : c && r ? 0.001 : null,
    issues: o.issues ?? [],
  };
  if (c) c.exchange = ex;
  if (r) r.exchange = ex;
  return ex;
}

export function subject(
  ex: Exchange | null, message: RpcMessage | null = null,
  args: DecodedField | null = null, res: DecodedField | null = null,
): FilterSubject {
  return { exchange: ex, message, args, res, names };
}

// Decoded fields -------------------------------------------------------------

function field(name: string, typeName: string, value: DecodedValue): DecodedField {
  return { name, typeName, offset: 0, length: 4, value };
}

export const d = {
  int: (name: string, value: number, typeName = "int") => field(name, typeName, { kind: "int", value }),
  uint: (name: string, value: number) => field(name, "unsigned int", { kind: "int", value }),
  hyper: (name: string, value: bigint) => field(name, "unsigned hyper", { kind: "hyper", value }),
  float: (name: string, value: number) => field(name, "double", { kind: "float", value }),
  bool: (name: string, value: boolean) => field(name, "bool", { kind: "bool", value, raw: value ? 1 : 0 }),
  enum: (name: string, typeName: string, value: number, label: string | null) =>
    field(name, typeName, { kind: "enum", value, name: label }),
  string: (name: string, text: string) =>
    field(name, "string", { kind: "string", bytes: new TextEncoder().encode(text), text }),
  opaque: (name: string, bytes: number[] | Uint8Array) =>
    field(name, "opaque<>", { kind: "opaque", bytes: Uint8Array.from(bytes) }),
  struct: (name: string, typeName: string, fields: DecodedField[]) => field(name, typeName, { kind: "struct", fields }),
  union: (name: string, typeName: string, disc: DecodedField, arm: DecodedField | null) =>
    field(name, typeName, { kind: "union", disc, arm }),
  array: (name: string, typeName: string, elements: DecodedField[]) =>
    field(name, typeName, { kind: "array", count: elements.length, elements }),
  optional: (name: string, typeName: string, value: DecodedField | null) =>
    field(name, typeName, { kind: "optional", value }),
  void: (name: string) => field(name, "void", { kind: "void" }),
  malformed: (name: string) =>
    field(name, "opaque<>", { kind: "malformed", error: new Malformed("truncated", 40, [name], "past the end") }),
};

// A few realistic bodies ------------------------------------------------------

/** NFSv3 LOOKUP3args { diropargs3 what { nfs_fh3 dir; filename3 name; } } */
export function lookupArgs(name: string): DecodedField {
  return d.struct("args", "LOOKUP3args", [
    d.struct("what", "diropargs3", [
      d.struct("dir", "nfs_fh3", [d.opaque("data", [1, 2, 3, 4])]),
      d.string("name", name),
    ]),
  ]);
}

export const NFS3_OK = 0;
export const NFS3ERR_NOENT = 2;

/** NFSv3 LOOKUP3res: union switch (nfsstat3 status). */
export function lookupRes(status: number, label: string): DecodedField {
  const disc = d.enum("status", "nfsstat3", status, label);
  const arm = status === 0
    ? d.struct("resok", "LOOKUP3resok", [d.struct("object", "nfs_fh3", [d.opaque("data", [9, 9])])])
    : d.struct("resfail", "LOOKUP3resfail", [d.union("dir_attributes", "post_op_attr", d.bool("attributes_follow", false), null)]);
  return d.union("res", "LOOKUP3res", disc, arm);
}

/** READ3res ok arm with count/eof/data. */
export function readRes(count: number, eof: boolean): DecodedField {
  return d.union("res", "READ3res", d.enum("status", "nfsstat3", 0, "NFS3_OK"),
    d.struct("resok", "READ3resok", [
      d.uint("count", count),
      d.bool("eof", eof),
      d.opaque("data", new Uint8Array(count)),
    ]));
}

/** NFSv4 COMPOUND4args with the given operations (enum names OP_…). */
export function compoundArgs(ops: [number, string][], tag = ""): DecodedField {
  return d.struct("args", "COMPOUND4args", [
    d.string("tag", tag),
    d.uint("minorversion", 1),
    d.array("argarray", "nfs_argop4<>", ops.map(([num, label], i) =>
      d.union(`[${i}]`, "nfs_argop4", d.enum("argop", "nfs_opnum4", num, label),
        label === "OP_LOOKUP" ? d.struct("oplookup", "LOOKUP4args", [d.string("objname", "etc")]) : null))),
  ]);
}

export function compoundRes(status: number, label: string, ops: [number, string][]): DecodedField {
  return d.struct("res", "COMPOUND4res", [
    d.enum("status", "nfsstat4", status, label),
    d.string("tag", ""),
    d.array("resarray", "nfs_resop4<>", ops.map(([num, l], i) =>
      d.union(`[${i}]`, "nfs_resop4", d.enum("resop", "nfs_opnum4", num, l), null))),
  ]);
}

/** A READDIR-like linked list: entry3 *entries with nextentry. */
export function entryList(namesList: string[]): DecodedField {
  let next: DecodedField | null = null;
  for (let i = namesList.length - 1; i >= 0; i--) {
    next = d.struct("*", "entry3", [
      d.hyper("fileid", BigInt(i + 1)),
      d.string("name", namesList[i]!),
      d.optional("nextentry", "entry3 *", next),
    ]);
  }
  return d.optional("entries", "entry3 *", next);
}

// libvirt messages ------------------------------------------------------------

const LV_KIND: readonly LibvirtHeader["kind"][] = ["call", "reply", "message", "stream", "call", "reply", "stream"];

export const LvType = { CALL: 0, REPLY: 1, MESSAGE: 2, STREAM: 3, CALL_WITH_FDS: 4, REPLY_WITH_FDS: 5, STREAM_HOLE: 6 } as const;

export interface LvOptions extends MessageOptions {
  prog?: number;
  vers?: number;
  serial?: number;
  /** 0 OK, 1 ERROR, 2 CONTINUE. */
  status?: number;
  connId?: number;
}

/** A libvirt message; its direction defaults to what its type implies (calls from the client). */
export function lvMessage(type: number, proc: number, o: LvOptions = {}): LibvirtMessage {
  const fromClient = type === LvType.CALL || type === LvType.CALL_WITH_FDS;
  const client = { addr: "10.0.0.5", port: 40000 };
  const server = { addr: "10.0.0.1", port: 16509 };
  const from = fromClient ? client : server;
  const to = fromClient ? server : client;
  const status = o.status ?? 0;
  return {
    seq: seq++, protocol: "libvirt", frame: o.frame ?? 1, frames: [o.frame ?? 1], tsSec: o.tsSec ?? 1_700_000_000,
    tsNsec: o.tsNsec ?? 0, transport: "tcp", connId: o.connId ?? 7, src: o.src ?? from.addr, dst: o.dst ?? to.addr,
    sport: o.sport ?? from.port, dport: o.dport ?? to.port, length: o.length ?? 28,
    header: {
      kind: LV_KIND[type] ?? "unknown", prog: o.prog ?? LV_REMOTE, vers: o.vers ?? 1, proc, type, typeName: libvirtTypeName(type),
      serial: o.serial ?? 1, status, statusName: libvirtStatusName(status), bodyOffset: 28,
    },
    issues: o.issues ?? [], exchange: null, stream: null,
  };
}

/** A libvirt message whose header was not captured. */
export function lvBroken(o: LvOptions = {}): LibvirtMessage {
  return { ...lvMessage(0, 0, o), header: null };
}

/** A libvirt call/reply exchange linking both messages. */
export function lvExchange(
  c: LibvirtMessage | null, r: LibvirtMessage | null, o: { rtt?: number | null; issues?: Issue[] } = {},
): LibvirtExchange {
  const h = (c ?? r)?.header;
  const ex: LibvirtExchange = {
    id: exchangeId++, connId: (c ?? r)?.connId ?? 7, prog: h?.prog ?? LV_REMOTE, serial: h?.serial ?? 0, call: c, reply: r,
    rtt: o.rtt !== undefined ? o.rtt : c && r ? 0.001 : null, issues: o.issues ?? [],
  };
  if (c) c.exchange = ex;
  if (r) r.exchange = ex;
  return ex;
}

/** A libvirt subject: one message (CLI) or a whole exchange (TUI, stats). */
export function lvSubject(
  message: LibvirtMessage | null, ex: LibvirtExchange | null = null,
  args: DecodedField | null = null, res: DecodedField | null = null,
): FilterSubject {
  return { exchange: null, message: null, args, res, names, libvirt: { message, exchange: ex } };
}

/** remote_error as libvirt sends it in an ERROR reply (virNetMessageError). */
export function remoteError(code: number, message: string | null): DecodedField {
  return d.struct("error", "remote_error", [
    d.int("code", code),
    d.int("domain", 10),
    d.optional("message", "remote_string", message === null ? null : d.string("*", message)),
    d.int("level", 2),
  ]);
}
