/** ONC-RPC message header shapes (RFC 5531 §9, §8.2 for authentication). */
import type { Issue } from "./malformed.js";
import type { Transport } from "../capture/transport.js";

export type RpcStatus =
  | "SUCCESS"
  | "PROG_UNAVAIL"
  | "PROG_MISMATCH"
  | "PROC_UNAVAIL"
  | "GARBAGE_ARGS"
  | "SYSTEM_ERR"
  | "RPC_MISMATCH"
  | "AUTH_ERROR"
  | `UNKNOWN_ACCEPT(${number})`
  | `UNKNOWN_REJECT(${number})`;

/** Decoded opaque_auth (credential or verifier). Offsets are within the record. */
export type Auth =
  | { readonly kind: "none"; readonly flavor: 0; readonly offset: number; readonly length: number }
  | {
      readonly kind: "sys"; readonly flavor: 1; readonly offset: number; readonly length: number;
      readonly stamp: number; readonly machinename: string; readonly uid: number; readonly gid: number;
      readonly gids: readonly number[];
    }
  | { readonly kind: "short"; readonly flavor: 2; readonly offset: number; readonly length: number; readonly body: Uint8Array }
  | {
      readonly kind: "dh"; readonly flavor: 3; readonly offset: number; readonly length: number;
      /** Credential: "fullname" (netname, key, window) or "nickname". Verifier contents are opaque. */
      readonly namekind?: "fullname" | "nickname";
      readonly netname?: string; readonly nickname?: number; readonly body: Uint8Array;
    }
  | {
      readonly kind: "gss"; readonly flavor: 6; readonly offset: number; readonly length: number;
      /** Present for credentials; verifiers of RPCSEC_GSS are a checksum (body). */
      readonly version?: number; readonly gssProc?: number; readonly seqNum?: number;
      readonly service?: number; readonly handle?: Uint8Array; readonly body: Uint8Array;
    }
  | { readonly kind: "tls"; readonly flavor: 7; readonly offset: number; readonly length: number; readonly body: Uint8Array }
  | { readonly kind: "opaque"; readonly flavor: number; readonly offset: number; readonly length: number; readonly body: Uint8Array };

export interface RpcCall {
  readonly kind: "call";
  readonly xid: number;
  readonly rpcvers: number;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly cred: Auth;
  readonly verf: Auth;
  /** Offset of the procedure arguments within the record. */
  readonly bodyOffset: number;
}

export interface RpcReply {
  readonly kind: "reply";
  readonly xid: number;
  readonly replyStat: "accepted" | "denied";
  readonly status: RpcStatus;
  /** Only on MSG_ACCEPTED. */
  readonly verf?: Auth;
  /** PROG_MISMATCH / RPC_MISMATCH supported range. */
  readonly mismatch?: { readonly low: number; readonly high: number };
  /** AUTH_ERROR reason (auth_stat number). */
  readonly authStat?: number;
  /** Offset of the results within the record (meaningful when status is SUCCESS). */
  readonly bodyOffset: number;
}

export type RpcHeader = RpcCall | RpcReply;

/**
 * One RPC message as the dissect pipeline emits it. The record bytes are passed
 * beside it to the sink (valid during the call only); the message itself keeps no bytes.
 */
export interface RpcMessage {
  /** Emission order, 0-based. */
  readonly seq: number;
  readonly protocol: "onc-rpc";
  /** Frame in which the message completes (Wireshark's numbering). */
  readonly frame: number;
  /** Frames the record's bytes came from, in stream order (just [frame] for one segment). */
  readonly frames: readonly number[];
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly transport: Transport;
  /** TCP connection id; null for UDP. */
  readonly connId: number | null;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** Length of the RPC message (record without marks). */
  readonly length: number;
  /** null when even the header could not be decoded (see issues). */
  readonly header: RpcHeader | null;
  /** Shared and empty until the first issue (see addIssue): most messages have none. */
  issues: readonly Issue[];
  /** Filled in by matching. */
  exchange: Exchange | null;
}

/** A call and its reply. */
export interface Exchange {
  readonly id: number;
  readonly transport: Transport;
  readonly xid: number;
  call: RpcMessage | null;
  reply: RpcMessage | null;
  /** Calls with the same xid seen after the first (retransmissions). */
  retransmits: number;
  /** Reply time minus call time in seconds, when both are present. */
  rtt: number | null;
  /** Shared and empty until the first issue (see addIssue). */
  issues: readonly Issue[];
}

/** The empty issue list every message and exchange starts with (frozen: add with addIssue). */
export const NO_ISSUES: readonly Issue[] = Object.freeze([]);

/** Adds an issue to a message or exchange (a new list: the empty one is shared). */
export function addIssue(holder: { issues: readonly Issue[] }, issue: Issue): void {
  holder.issues = holder.issues.length === 0 ? [issue] : [...holder.issues, issue];
}

// ── libvirt's RPC protocol (its own framing, not ONC-RPC) ───────────────────────

/** libvirt message types (virnetprotocol.x `virNetMessageType`). */
export type LibvirtMessageType =
  | "CALL" | "REPLY" | "MESSAGE" | "STREAM" | "CALL_WITH_FDS" | "REPLY_WITH_FDS" | "STREAM_HOLE";

/** libvirt message status (virnetprotocol.x `virNetMessageStatus`). */
export type LibvirtStatus = "OK" | "ERROR" | "CONTINUE";

/** The six header words after the length word (virNetMessageHeader). */
export interface LibvirtHeader {
  /** The header's role, as RpcHeader.kind: CALL(_WITH_FDS) "call", REPLY(_WITH_FDS) "reply", MESSAGE "message", STREAM(_HOLE) "stream"; "unknown" for other types. */
  readonly kind: "call" | "reply" | "message" | "stream" | "unknown";
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly type: number;
  readonly typeName: LibvirtMessageType | `UNKNOWN(${number})`;
  readonly serial: number;
  readonly status: number;
  readonly statusName: LibvirtStatus | `UNKNOWN(${number})`;
  /** File descriptors announced by CALL_WITH_FDS / REPLY_WITH_FDS (they travel out of band). */
  readonly nfds?: number;
  /** Offset of the body within the message (28, or 32 after the nfds word). */
  readonly bodyOffset: number;
}

/** One libvirt message. The message bytes (length word included) go beside it to the sink. */
export interface LibvirtMessage {
  /** Emission order, shared with RpcMessage.seq. */
  readonly seq: number;
  readonly protocol: "libvirt";
  /** Frame in which the message completes. */
  readonly frame: number;
  readonly frames: readonly number[];
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly transport: Transport;
  readonly connId: number;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  /** Declared total length (the length word included, as libvirt counts it). */
  readonly length: number;
  /** null when fewer than the 28 header bytes were captured. */
  readonly header: LibvirtHeader | null;
  readonly issues: Issue[];
  /** CALL/REPLY pairing, filled in by matching (null for events and stream data). */
  exchange: LibvirtExchange | null;
  /** STREAM / STREAM_HOLE messages: the stream (per connection, program and serial) they belong to. */
  stream: LibvirtStream | null;
}

/** A libvirt call and its reply, paired by (connection, program, serial). */
export interface LibvirtExchange {
  readonly id: number;
  readonly connId: number;
  readonly prog: number;
  readonly serial: number;
  call: LibvirtMessage | null;
  reply: LibvirtMessage | null;
  /** Reply time minus call time in seconds, when both are present. */
  rtt: number | null;
  readonly issues: Issue[];
}

/** Stream data of one call (STREAM and STREAM_HOLE messages sharing its serial). */
export interface LibvirtStream {
  readonly id: number;
  readonly connId: number;
  readonly prog: number;
  readonly proc: number;
  readonly serial: number;
  /** STREAM and STREAM_HOLE messages so far. */
  messages: number;
  /** Payload bytes of STREAM messages with status CONTINUE (declared lengths). */
  dataBytes: number;
  holes: number;
  readonly firstFrame: number;
  lastFrame: number;
  /** "OK" once a side finished the stream, "ERROR" once one aborted it; null while open. */
  end: "OK" | "ERROR" | null;
}

/** Any message a view may show. */
export type AnyMessage = RpcMessage | LibvirtMessage;
