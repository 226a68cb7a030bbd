/**
 * A small bounds-checked big-endian reader for the RPC header (RFC 5531 §9) and
 * credentials. The full schema-driven XDR decoder lives in dissect/xdr/; this one
 * only knows the handful of shapes a header needs.
 *
 * Two ends are tracked, as Wireshark's tvb does: `capturedEnd` (what the capture
 * holds; reading past it is "truncated") and `declaredEnd` (what the message itself
 * declared, e.g. the record length; reading past it is "short"). Offsets in errors
 * are absolute offsets in `bytes`, which is the whole RPC message (record).
 *
 * Error paths are built only when an error is thrown: methods take a field name and
 * the cursor holds a `scope` ("cred", "verf") set by the caller.
 */
import { Malformed } from "./malformed.js";

const textDecoder = new TextDecoder("utf-8", { fatal: false });

/** The big-endian 32-bit word at `p` of `b` (the caller has checked it is there). */
export function wordAt(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

let lastString: { bytes: Uint8Array; text: string } = { bytes: new Uint8Array(0), text: "" };

/**
 * The text of the `n` string bytes at `start` (already checked to be there), decoded
 * leniently as UTF-8. The same machine name comes in every call of a capture: the
 * last string is reused when the bytes match (compared in place, so a repeated name
 * costs no view and no string).
 */
export function xdrStringAt(b: Uint8Array, start: number, n: number): string {
  const last = lastString;
  if (n === last.bytes.length) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (b[start + i] !== last.bytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return last.text;
  }
  const raw = b.subarray(start, start + n);
  const text = decodeText(raw);
  if (n <= 64) lastString = { bytes: raw.slice(), text };
  return text;
}

function decodeText(raw: Uint8Array): string {
  // Names in headers are short ASCII: skip the UTF-8 decoder for them.
  if (raw.length <= 64) {
    let ascii = true;
    for (let i = 0; i < raw.length; i++) {
      if (raw[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, raw as unknown as number[]);
  }
  return textDecoder.decode(raw);
}

export class XdrCursor {
  /** Absolute read position in `bytes`. */
  pos: number;
  /** First offset not captured (≤ bytes.length). */
  capturedEnd: number;
  /** First offset past what the message declared. */
  declaredEnd: number;
  /** Prefix of error paths, e.g. "cred"; null for top-level fields. */
  scope: string | null = null;

  bytes: Uint8Array;

  constructor(
    bytes: Uint8Array,
    start = 0,
    capturedEnd = bytes.length,
    declaredEnd = capturedEnd,
  ) {
    this.bytes = bytes;
    this.pos = start;
    this.capturedEnd = Math.min(capturedEnd, bytes.length);
    this.declaredEnd = Math.max(declaredEnd, this.capturedEnd);
  }

  /** Points the cursor at other bytes (one cursor serves every header: no object per message). */
  reset(bytes: Uint8Array, start: number, capturedEnd: number, declaredEnd: number): void {
    this.bytes = bytes;
    this.pos = start;
    this.capturedEnd = Math.min(capturedEnd, bytes.length);
    this.declaredEnd = Math.max(declaredEnd, this.capturedEnd);
    this.scope = null;
  }

  /** Bytes that remain before the declared end (may include bytes not captured). */
  get declaredRemaining(): number {
    return this.declaredEnd - this.pos;
  }

  /** Bytes that remain and were captured. */
  get capturedRemaining(): number {
    return this.capturedEnd - this.pos;
  }

  path(field: string | number, index?: number): (string | number)[] {
    const out: (string | number)[] = [];
    if (this.scope !== null) out.push(this.scope);
    out.push(field);
    if (index !== undefined) out.push(index);
    return out;
  }

  /** Throws unless `n` bytes are available at the current position. */
  need(n: number, field: string, index?: number): void {
    const end = this.pos + n;
    if (end <= this.capturedEnd) return;
    if (end <= this.declaredEnd) {
      throw new Malformed("truncated", this.pos, this.path(field, index),
        `needs ${n} bytes, only ${this.capturedEnd - this.pos} captured`);
    }
    throw new Malformed("short", this.pos, this.path(field, index),
      `needs ${n} bytes, message has ${Math.max(0, this.declaredEnd - this.pos)} left`);
  }

  u32(field: string, index?: number): number {
    this.need(4, field, index);
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A length or count word that must not exceed `max`. */
  length(field: string, max: number): number {
    const at = this.pos;
    const n = this.u32(field);
    if (n > max) {
      this.pos = at;
      throw new Malformed("over-limit", at, this.path(field), `${n} exceeds the maximum of ${max}`);
    }
    return n;
  }

  /** Fixed-length opaque data of `n` bytes plus XDR padding (RFC 4506 §4.9); a zero-copy view. */
  fixedOpaque(n: number, field: string): Uint8Array {
    const padded = (n + 3) & ~3;
    this.need(padded, field);
    const start = this.pos;
    this.pos = start + padded;
    return this.bytes.subarray(start, start + n);
  }

  /** Variable-length opaque<max> (RFC 4506 §4.10); a zero-copy view. */
  opaque(max: number, field: string): Uint8Array {
    const n = this.length(field, max);
    return this.fixedOpaque(n, field);
  }

  /** string<max> (RFC 4506 §4.11), decoded leniently as UTF-8. */
  string(max: number, field: string): string {
    const n = this.length(field, max);
    const padded = (n + 3) & ~3;
    this.need(padded, field);
    const start = this.pos;
    this.pos = start + padded;
    return xdrStringAt(this.bytes, start, n);
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }
}
