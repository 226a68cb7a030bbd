/**
 * What the info text of an NFSv3 GETATTR, ACCESS, READ, WRITE or COMMIT call needs
 * (RFC 1813 §3.3.1, §3.3.4, §3.3.6, §3.3.7, §3.3.21: a file handle, and an offset, a
 * count and a stable_how), read straight from the call's bytes instead of decoding
 * the arguments into a tree first. These five are most of the calls of a busy NFS
 * server, and the tree for each was the larger part of the text summary's time.
 *
 * The facts are given only when decoding with the built-in `nfs3.x` would succeed
 * with no issue at all: the layout is complete, every length is within the spec's
 * and the limits' bounds, and nothing follows the arguments. Anything else gives
 * null, and the caller decodes the usual way, which finds and locates what is wrong.
 * A test holds this to the decoder on every sample and on mutated calls.
 *
 * LOOKUP (§3.3.3) calls and replies, whose info text and learning need a name and
 * handles, are checked with validateXdr (the decoder's checks without the tree) and
 * then read at their places in the built-in layout.
 */
import type { Limits } from "../capture/limits.js";
import type { XdrType } from "./xdr-types.js";
import { derefType, utf8Text, validateXdr } from "./xdr/decoder.js";

export const NFS3_PROC_GETATTR = 1;
export const NFS3_PROC_LOOKUP = 3;
export const NFS3_PROC_ACCESS = 4;
export const NFS3_PROC_READ = 6;
export const NFS3_PROC_WRITE = 7;
export const NFS3_PROC_COMMIT = 21;

/** Whether readNfs3CallFacts knows the arguments of this NFSv3 procedure. */
export function isNfs3FactsProcedure(proc: number): boolean {
  return proc === NFS3_PROC_GETATTR || proc === NFS3_PROC_ACCESS || proc === NFS3_PROC_READ ||
    proc === NFS3_PROC_WRITE || proc === NFS3_PROC_COMMIT;
}

/** NFS3_FHSIZE (RFC 1813 §2.4): the most bytes of an nfs_fh3. */
const NFS3_FHSIZE = 64;

/** stable_how (RFC 1813 §3.3.7), as nfs3.x names it. */
const STABLE_HOW: readonly string[] = ["UNSTABLE", "DATA_SYNC", "FILE_SYNC"];

/**
 * Fields the decoder counts for the largest of these bodies (WRITE3args: the struct,
 * nfs_fh3 and its data, offset, count, stable, data) and the nesting it reaches:
 * below these limits the decoder would stop with an issue, so no facts are given.
 */
const FIELDS_NEEDED = 7;
const DEPTH_NEEDED = 2;

export interface Nfs3CallFacts {
  /** The handle's bytes (a view into the record). */
  readonly handle: Uint8Array;
  /** READ, WRITE, COMMIT: the offset in decimal, exactly (it is a uint64); else null. */
  readonly offset: string | null;
  /** READ, WRITE, COMMIT: the count; else null. */
  readonly count: number | null;
  /** WRITE: stable_how's value and name (null for a value nfs3.x does not name); else null. */
  readonly stable: { readonly value: number; readonly name: string | null } | null;
}

/** Bytes of `n` padded to a multiple of 4 (n may be any uint32: no 32-bit bit operations). */
function padded(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** A uint64 in decimal: a Number below 2^53, else through BigInt (as the decoder's hyper prints). */
function uint64Text(hi: number, lo: number): string {
  if (hi < 0x20_0000) return String(hi * 4294967296 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * The facts of an NFSv3 call of one of the five procedures whose arguments start at
 * `start` and run to the end of `record` (the whole message: the caller has no
 * truncation); null when the generic decoder would not decode them cleanly.
 */
export function readNfs3CallFacts(record: Uint8Array, start: number, proc: number, limits: Limits): Nfs3CallFacts | null {
  if (!isNfs3FactsProcedure(proc)) return null;
  if (limits.maxXdrFieldsPerBody < FIELDS_NEEDED || limits.maxXdrDepth < DEPTH_NEEDED) return null;
  const end = record.length;
  // nfs_fh3: opaque data<NFS3_FHSIZE>.
  if (start + 4 > end) return null;
  const fhLength = u32(record, start);
  if (fhLength > NFS3_FHSIZE || fhLength > limits.maxXdrOpaqueBytes) return null;
  const fhEnd = start + 4 + padded(fhLength);
  if (fhEnd > end) return null;
  const handle = record.subarray(start + 4, start + 4 + fhLength);
  if (proc === NFS3_PROC_GETATTR) {
    return fhEnd === end ? { handle, offset: null, count: null, stable: null } : null;
  }
  if (proc === NFS3_PROC_ACCESS) {
    return fhEnd + 4 === end ? { handle, offset: null, count: null, stable: null } : null;
  }
  // READ, COMMIT, WRITE: offset3 offset; count3 count.
  if (fhEnd + 12 > end) return null;
  const offset = uint64Text(u32(record, fhEnd), u32(record, fhEnd + 4));
  const count = u32(record, fhEnd + 8);
  if (proc !== NFS3_PROC_WRITE) {
    return fhEnd + 12 === end ? { handle, offset, count, stable: null } : null;
  }
  // WRITE: stable_how stable; opaque data<>.
  if (fhEnd + 20 > end) return null;
  const stableValue = u32(record, fhEnd + 12);
  const dataLength = u32(record, fhEnd + 16);
  if (dataLength > limits.maxXdrOpaqueBytes) return null;
  if (fhEnd + 20 + padded(dataLength) !== end) return null;
  // The decoder reads an enum as a signed int.
  const signed = stableValue | 0;
  return { handle, offset, count, stable: { value: signed, name: STABLE_HOW[signed] ?? null } };
}

/** A LOOKUP call's diropargs3 (RFC 1813 §3.3.3): the directory's handle and the name. */
export interface Nfs3LookupCallFacts {
  readonly dir: Uint8Array;
  /** The name as the decoder gives a string's text (UTF-8, invalid sequences replaced). */
  readonly name: string;
}

/** A successful LOOKUP reply's status and, for NFS3_OK, the handle found. */
export interface Nfs3LookupReplyFacts {
  /** nfsstat3's value and name (null for a value the type does not name). */
  readonly status: { readonly value: number; readonly name: string | null };
  /** The object's handle when the status is NFS3_OK; else null. */
  readonly object: Uint8Array | null;
}

/**
 * Whether `type` checks out as the whole body from `start` to the end of `record`, as
 * decoding it would find. Not a general "no issue" test: validateXdr does not look at
 * the value of a bool that is a plain field (the decoder notes a 2 without failing),
 * so it serves only types whose bools are union discriminants, as LOOKUP's.
 */
function cleanBody(type: XdrType, record: Uint8Array, start: number, limits: Limits): boolean {
  const v = validateXdr(type, record, start, record.length, limits);
  return v.ok && v.end === record.length;
}

/**
 * A LOOKUP call's facts, when its arguments (of `argsType`, the built-in LOOKUP3args)
 * decode cleanly: validateXdr makes the decoder's checks without building the tree,
 * and nothing may follow. LOOKUP3args has no bool of its own, whose odd values the
 * decoder would note without failing.
 */
export function readNfs3LookupCall(record: Uint8Array, start: number, argsType: XdrType, limits: Limits): Nfs3LookupCallFacts | null {
  if (!cleanBody(argsType, record, start, limits)) return null;
  const dirLength = u32(record, start);
  const nameAt = start + 4 + padded(dirLength);
  const nameLength = u32(record, nameAt);
  return {
    dir: record.subarray(start + 4, start + 4 + dirLength),
    name: utf8Text(record.subarray(nameAt + 4, nameAt + 4 + nameLength)),
  };
}

/**
 * A successful LOOKUP reply's facts, when its results (of `resultType`, the built-in
 * LOOKUP3res) decode cleanly. Its only bools are post_op_attr's discriminants, where
 * a value other than 0 or 1 has no arm and fails validation as it fails decoding.
 */
export function readNfs3LookupReply(record: Uint8Array, start: number, resultType: XdrType, limits: Limits): Nfs3LookupReplyFacts | null {
  const union = derefType(resultType);
  if (union.kind !== "union") return null;
  const disc = derefType(union.disc.type);
  if (disc.kind !== "enum" || !cleanBody(resultType, record, start, limits)) return null;
  const value = u32(record, start) | 0;
  const status = { value, name: disc.names.get(value) ?? null };
  if (value !== 0) return { status, object: null };
  const length = u32(record, start + 4);
  return { status, object: record.subarray(start + 8, start + 8 + length) };
}
