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
  readonly issues: Issue[];
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
  readonly issues: Issue[];
}
