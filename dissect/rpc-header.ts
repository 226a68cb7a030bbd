/**
 * The ONC-RPC message header (RFC 5531 §9):
 *
 *   struct rpc_msg { unsigned int xid; union switch (msg_type mtype) {
 *       case CALL: call_body cbody; case REPLY: reply_body rbody; } body; };
 *
 * Decoding stops where the procedure arguments or results begin (`bodyOffset`);
 * the body is decoded later, by the schema-driven decoder, once the reply is
 * matched with its call.
 */
import { commonAuthAt, decodeOpaqueAuth, MAX_AUTH_BYTES } from "./auth.js";
import { Malformed } from "./malformed.js";
import { acceptStatName, rejectStatName } from "./rpc-names.js";
import type { RpcCall, RpcHeader, RpcReply, RpcStatus } from "./rpc-types.js";
import { wordAt as word, XdrCursor } from "./xdr-cursor.js";

/** RFC 5531 §9: "rpcvers ... MUST be equal to 2". */
export const RPC_VERSION = 2;

/**
 * The longest header: a call's six words, then a credential and a verifier of
 * at most 400 bytes each (RFC 5531 §8.2), each with its flavor and length.
 */
export const MAX_RPC_HEADER_BYTES = 24 + 2 * (8 + MAX_AUTH_BYTES);

export interface DecodedHeader {
  readonly header: RpcHeader;
  /**
   * Offset of the first byte the capture did not keep (snaplen) when the message is
   * incomplete, else null. The header itself was complete; the body may not be.
   */
  readonly truncatedAt: number | null;
}

export type HeaderOutcome =
  | { readonly ok: true; readonly header: RpcHeader; readonly truncatedAt: number | null }
  | { readonly ok: false; readonly error: Malformed; readonly truncatedAt: number | null };

/**
 * Decode the header of one RPC message. `record` holds the captured bytes of the
 * message (no record marks); `declaredLength` is its full length as declared by the
 * record marks or the UDP length (≥ record.length). Throws only Malformed.
 */
export function decodeRpcHeader(record: Uint8Array, declaredLength: number = record.length): DecodedHeader {
  const header = commonHeader(record) ?? decodeHeaderWith(new XdrCursor(record, 0, record.length, declaredLength));
  const truncatedAt = record.length < declaredLength ? record.length : null;
  return { header, truncatedAt };
}

/** The same, with a Malformed turned into a value (any other exception is a bug and propagates). */
export function tryDecodeRpcHeader(record: Uint8Array, declaredLength: number = record.length): HeaderOutcome {
  const truncatedAt = record.length < declaredLength ? record.length : null;
  const out = headerOrMalformed(record, declaredLength);
  return out instanceof Malformed ? { ok: false, error: out, truncatedAt } : { ok: true, header: out, truncatedAt };
}

/** One cursor for every message the pipeline decodes: headers are decoded one at a time. */
const sharedCursor = new XdrCursor(new Uint8Array(0));

/**
 * The pipeline's form: the header, or the Malformed that stopped it, with no
 * wrapper object (any other exception is a bug and propagates).
 */
export function headerOrMalformed(record: Uint8Array, declaredLength: number): RpcHeader | Malformed {
  return commonHeaderAt(record, 0, record.length) ?? cursorHeaderOrMalformed(record, declaredLength);
}

/**
 * The same for a record lying at [start, end) of `data`, read there: a view of it is
 * made only for the cursor decoder (an uncommon header, or a malformed one).
 */
export function headerOrMalformedAt(data: Uint8Array, start: number, end: number, declaredLength: number): RpcHeader | Malformed {
  return commonHeaderAt(data, start, end) ?? cursorHeaderOrMalformed(data.subarray(start, end), declaredLength);
}

/** @internal The same with the cursor decoder alone (tests compare the two ways). */
export function cursorHeaderOrMalformed(record: Uint8Array, declaredLength: number): RpcHeader | Malformed {
  const cur = sharedCursor;
  cur.reset(record, 0, record.length, declaredLength);
  try {
    return decodeHeaderWith(cur);
  } catch (err) {
    if (err instanceof Malformed) return err;
    throw err;
  } finally {
    // Let go of the record: it is only valid during the caller's handling.
    cur.reset(EMPTY, 0, 0, 0);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The header read straight from the bytes when it is a common one: a call whose
 * credential is AUTH_NONE or AUTH_SYS and whose verifier is an empty AUTH_NONE, or
 * an accepted reply with an empty AUTH_NONE verifier and any accept_stat but
 * PROG_MISMATCH; then the value the cursor decoder gives, after the same checks
 * (each word within the captured bytes, the auth lengths and limits). Null for
 * anything else, which the cursor decoder then decodes and, when it must, locates
 * what is wrong. (The cursor's calls, scopes and try blocks cost a header about
 * 1,700 instructions; this about a third.) Exported for the tests only.
 */
export function commonHeader(b: Uint8Array): RpcHeader | null {
  return commonHeaderAt(b, 0, b.length);
}

/** commonHeader of the record lying at [start, end) of `data` (offsets in the result are the record's own). */
export function commonHeaderAt(data: Uint8Array, start: number, end: number): RpcHeader | null {
  const length = end - start;
  if (length < 24) return null;
  const msgType = word(data, start + 4);
  if (msgType === 0) {
    const cred = commonAuthAt(data, 24, length, "cred", start);
    if (cred === null) return null;
    const verfAt = 32 + ((cred.length + 3) & ~3);
    const verf = commonAuthAt(data, verfAt, length, "verf", start);
    if (verf === null) return null;
    return {
      kind: "call", xid: word(data, start), rpcvers: word(data, start + 8), prog: word(data, start + 12),
      vers: word(data, start + 16), proc: word(data, start + 20), cred, verf, bodyOffset: verfAt + 8 + ((verf.length + 3) & ~3),
    };
  }
  if (msgType !== 1 || word(data, start + 8) !== 0) return null;
  const verf = commonAuthAt(data, 12, length, "verf", start);
  if (verf === null) return null;
  const statAt = 20 + ((verf.length + 3) & ~3);
  if (statAt + 4 > length) return null;
  const acceptStat = word(data, start + statAt);
  if (acceptStat === 2) return null;
  return { kind: "reply", xid: word(data, start), replyStat: "accepted", status: acceptStatName(acceptStat) as RpcStatus, verf, bodyOffset: statAt + 4 };
}

function decodeHeaderWith(cur: XdrCursor): RpcHeader {
  const xid = cur.u32("xid");
  const typeAt = cur.pos;
  const msgType = cur.u32("msg_type");
  if (msgType === 0) return decodeCallBody(cur, xid);
  if (msgType === 1) return decodeReplyBody(cur, xid);
  throw new Malformed("invalid", typeAt, ["msg_type"], `msg_type ${msgType} is neither CALL (0) nor REPLY (1)`);
}

function decodeCallBody(cur: XdrCursor, xid: number): RpcCall {
  // Only version 2 is defined (RFC 5531 §9), and a server answers any other with
  // RPC_MISMATCH. The rest is read with the version 2 layout, as servers do, so that
  // the call can be paired with that reply; the pipeline flags the message.
  const rpcvers = cur.u32("rpcvers");
  const prog = cur.u32("prog");
  const vers = cur.u32("vers");
  const proc = cur.u32("proc");
  const cred = decodeOpaqueAuth(cur, "cred");
  const verf = decodeOpaqueAuth(cur, "verf");
  return { kind: "call", xid, rpcvers, prog, vers, proc, cred, verf, bodyOffset: cur.pos };
}

function decodeReplyBody(cur: XdrCursor, xid: number): RpcReply {
  const statAt = cur.pos;
  const replyStat = cur.u32("reply_stat");
  if (replyStat === 0) {
    // MSG_ACCEPTED: accepted_reply (verifier, then the accept_stat union).
    const verf = decodeOpaqueAuth(cur, "verf");
    const acceptStat = cur.u32("accept_stat");
    const status = acceptStatName(acceptStat) as RpcStatus;
    if (acceptStat === 2) {
      const low = cur.u32("mismatch_info.low");
      const high = cur.u32("mismatch_info.high");
      return { kind: "reply", xid, replyStat: "accepted", status, verf, mismatch: { low, high }, bodyOffset: cur.pos };
    }
    return { kind: "reply", xid, replyStat: "accepted", status, verf, bodyOffset: cur.pos };
  }
  if (replyStat === 1) {
    // MSG_DENIED: rejected_reply.
    const rejectStat = cur.u32("reject_stat");
    if (rejectStat === 0) {
      const low = cur.u32("mismatch_info.low");
      const high = cur.u32("mismatch_info.high");
      return { kind: "reply", xid, replyStat: "denied", status: "RPC_MISMATCH", mismatch: { low, high }, bodyOffset: cur.pos };
    }
    if (rejectStat === 1) {
      const authStat = cur.u32("auth_stat");
      return { kind: "reply", xid, replyStat: "denied", status: "AUTH_ERROR", authStat, bodyOffset: cur.pos };
    }
    // Unknown reject_stat: its arm is unknown, so nothing after it can be located.
    return { kind: "reply", xid, replyStat: "denied", status: rejectStatName(rejectStat) as RpcStatus, bodyOffset: cur.pos };
  }
  throw new Malformed("invalid", statAt, ["reply_stat"], `reply_stat ${replyStat} is neither MSG_ACCEPTED (0) nor MSG_DENIED (1)`);
}
