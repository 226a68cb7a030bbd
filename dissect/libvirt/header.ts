/**
 * Reading and recognising libvirt message headers (virnetprotocol.x), and the
 * first bytes of a TLS record (RFC 8446 §5.1) for connections that are encrypted.
 * These functions never throw and never allocate except for the decoded header.
 */
import type { Verdict } from "../rpc-heuristics.js";
import type { LibvirtHeader } from "../rpc-types.js";
import {
  isKnownLibvirtStatus, isKnownLibvirtType, LIBVIRT_HEADER_BYTES, LIBVIRT_PROGRAMS, LibvirtType,
  libvirtStatusName, libvirtTypeName,
} from "./constants.js";

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}

/** Highest version number accepted by the heuristic (every libvirt program is at version 1). */
const MAX_PLAUSIBLE_VERSION = 16;
/** Highest procedure number accepted by the heuristic (remote has ~450). */
const MAX_PLAUSIBLE_PROC = 0xffff;

/**
 * Is there a plausible libvirt message start at b[off]? Used to claim a
 * connection on any port and to resynchronise after lost bytes: the length is
 * between the header size and `maxLength`, the program is one of libvirt's, the
 * version and procedure are small, type and status are defined values, and a
 * CALL or MESSAGE has status OK (virnetprotocol.x: "VIR_NET_OK always").
 * "more" when the bytes end (at `end`) before a decision.
 */
export function checkLibvirtStart(b: Uint8Array, off: number, end: number, maxLength: number): Verdict {
  const avail = end - off;
  if (avail < 4) return "more";
  const length = readU32(b, off);
  if (length < LIBVIRT_HEADER_BYTES || length > maxLength) return "no";
  if (avail < 8) return "more";
  if (!LIBVIRT_PROGRAMS.has(readU32(b, off + 4))) return "no";
  if (avail < 12) return "more";
  const vers = readU32(b, off + 8);
  if (vers === 0 || vers > MAX_PLAUSIBLE_VERSION) return "no";
  if (avail < 16) return "more";
  if (readU32(b, off + 12) > MAX_PLAUSIBLE_PROC) return "no";
  if (avail < 20) return "more";
  const type = readU32(b, off + 16);
  if (!isKnownLibvirtType(type)) return "no";
  if (avail < 28) return "more";
  const status = readU32(b, off + 24);
  if (!isKnownLibvirtStatus(status)) return "no";
  if ((type === LibvirtType.CALL || type === LibvirtType.CALL_WITH_FDS || type === LibvirtType.MESSAGE) && status !== 0) {
    return "no";
  }
  return "yes";
}

const KIND_BY_TYPE: readonly LibvirtHeader["kind"][] = ["call", "reply", "message", "stream", "call", "reply", "stream"];

/**
 * The header of a message whose bytes start at b[0] (the length word). null when
 * fewer than 28 bytes are there. The nfds word of *_WITH_FDS types is read when
 * present; without it the body offset still skips it.
 */
export function decodeLibvirtHeader(b: Uint8Array): LibvirtHeader | null {
  if (b.length < LIBVIRT_HEADER_BYTES) return null;
  const type = readU32(b, 16);
  const status = readU32(b, 24);
  const kind = KIND_BY_TYPE[type] ?? "unknown";
  const typeName = libvirtTypeName(type);
  const statusName = libvirtStatusName(status);
  // One object literal per shape (no spreads): this runs once per message.
  if (type !== LibvirtType.CALL_WITH_FDS && type !== LibvirtType.REPLY_WITH_FDS) {
    return {
      kind, prog: readU32(b, 4), vers: readU32(b, 8), proc: readU32(b, 12), type, typeName,
      serial: readU32(b, 20), status, statusName, bodyOffset: LIBVIRT_HEADER_BYTES,
    };
  }
  if (b.length >= LIBVIRT_HEADER_BYTES + 4) {
    return {
      kind, prog: readU32(b, 4), vers: readU32(b, 8), proc: readU32(b, 12), type, typeName,
      serial: readU32(b, 20), status, statusName, nfds: readU32(b, LIBVIRT_HEADER_BYTES), bodyOffset: LIBVIRT_HEADER_BYTES + 4,
    };
  }
  return {
    kind, prog: readU32(b, 4), vers: readU32(b, 8), proc: readU32(b, 12), type, typeName,
    serial: readU32(b, 20), status, statusName, bodyOffset: LIBVIRT_HEADER_BYTES + 4,
  };
}

/** Largest TLS record: 2^14 bytes of plaintext plus 2048 of expansion (RFC 5246 §6.2.3). */
const TLS_MAX_RECORD = 16384 + 2048;

/** Length of the TLS record whose header starts at b[off] (content type 20..23, version 3.0..3.4), or -1. */
function tlsRecordLength(b: Uint8Array, off: number): number {
  const type = b[off]!;
  if (type < 20 || type > 23) return -1;
  if (b[off + 1] !== 3 || b[off + 2]! > 4) return -1;
  const length = (b[off + 3]! << 8) | b[off + 4]!;
  return length === 0 || length > TLS_MAX_RECORD ? -1 : length;
}

/**
 * Does a TLS record header start at b[off]? With `follow`, a record that ends
 * inside the bytes at hand must be followed by another plausible record header.
 */
export function checkTlsRecord(b: Uint8Array, off: number, end: number, follow: boolean): Verdict {
  if (end - off < 5) return "more";
  const length = tlsRecordLength(b, off);
  if (length < 0) return "no";
  if (!follow) return "yes";
  const next = off + 5 + length;
  if (next + 5 > end) return "yes";
  return tlsRecordLength(b, next) < 0 ? "no" : "yes";
}
