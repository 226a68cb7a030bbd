/**
 * Credentials and verifiers: opaque_auth (RFC 5531 §8.2) and the bodies of the
 * flavors we know: AUTH_SYS (RFC 5531 appendix A), AUTH_DH (RFC 2695 §3.2),
 * RPCSEC_GSS (RFC 2203 §5, version 2 from RFC 5403), AUTH_TLS (RFC 9289 §4.1).
 *
 * Every body is decoded inside its declared length: a field running past the body
 * is "short" even when the record has more bytes. Auth bodies kept on the result
 * are copies (at most 400 bytes each), because the record bytes are only valid
 * while the sink handles the message and an Auth lives on in the exchange.
 */
import { Malformed } from "./malformed.js";
import type { Auth } from "./rpc-types.js";
import { wordAt as word, xdrStringAt, type XdrCursor } from "./xdr-cursor.js";

/** RFC 5531 §8.2: "the opaque data ... is limited to 400 bytes". */
export const MAX_AUTH_BYTES = 400;
/** RFC 5531 appendix A: machinename<255>. */
export const MAX_MACHINE_NAME = 255;
/** RFC 5531 appendix A: gids<16>. */
export const MAX_AUTH_SYS_GIDS = 16;
/** RFC 2695 §3.2: MAXNETNAMELEN. */
export const MAX_NETNAME = 255;

export type AuthRole = "cred" | "verf";

/**
 * Empty AUTH_NONE items by offset: nearly every verifier is one, at one of a few
 * offsets, and the objects are immutable, so they are shared (no object per message).
 */
const EMPTY_NONE: (Auth | undefined)[] = new Array<Auth | undefined>(1024);

/** The previous AUTH_SYS credential (immutable, so it can be shared). */
let lastSys: Extract<Auth, { kind: "sys" }> | null = null;

/** The gid list of the previous AUTH_SYS credential: a client sends the same one in every call. */
let lastGids: readonly number[] = Object.freeze([]);
/**
 * The same gids in a plain array, for comparing: an element load from a frozen array
 * is a call into V8's generic load stub, not a few instructions.
 */
let lastGidValues = new Uint32Array(0);

/** The `count` gids at `at` (already checked to be there), as the previous list when equal. */
function internGids(bytes: Uint8Array, at: number, count: number): readonly number[] {
  const last = lastGidValues;
  if (last.length === count) {
    let same = true;
    for (let i = 0; i < count; i++) {
      if (last[i] !== word(bytes, at + 4 * i)) {
        same = false;
        break;
      }
    }
    if (same) return lastGids;
  }
  const values = new Uint32Array(count);
  for (let i = 0; i < count; i++) values[i] = word(bytes, at + 4 * i);
  lastGidValues = values;
  lastGids = Object.freeze(Array.from(values));
  return lastGids;
}

/** An AUTH_NONE item: the shared empty one for its offset when it is empty. */
function noneAuth(offset: number, length: number): Auth {
  if (length === 0 && offset < EMPTY_NONE.length) return (EMPTY_NONE[offset] ??= Object.freeze({ kind: "none", flavor: 0, offset, length: 0 }));
  return { kind: "none", flavor: 0, offset, length };
}

/** An AUTH_SYS credential; a client sends the same one in call after call: the object is shared then. */
function sysAuth(
  offset: number, length: number, stamp: number, machinename: string, uid: number, gid: number, gids: readonly number[],
): Auth {
  const last = lastSys;
  if (last !== null && last.offset === offset && last.length === length && last.stamp === stamp &&
      last.machinename === machinename && last.uid === uid && last.gid === gid && last.gids === gids) return last;
  const auth = Object.freeze({ kind: "sys", flavor: 1, offset, length, stamp, machinename, uid, gid, gids } as const);
  lastSys = auth;
  return auth;
}

/**
 * The opaque_auth at `offset` of a record (whose first `end` bytes are there), read
 * straight from the bytes when it is one of the two that nearly every message
 * carries, an empty AUTH_NONE or an AUTH_SYS credential, and decodeOpaqueAuth
 * would decode it without a problem: then the same value, with every check
 * decodeOpaqueAuth makes. Null for anything else, for decodeOpaqueAuth to decode
 * (and to say what is wrong). The record lies at `base` of `bytes` (offsets, and
 * those on the result, are the record's own).
 */
export function commonAuthAt(bytes: Uint8Array, offset: number, end: number, role: AuthRole, base = 0): Auth | null {
  if (offset + 8 > end) return null;
  const flavor = word(bytes, base + offset);
  const length = word(bytes, base + offset + 4);
  const bodyStart = offset + 8;
  if (length > MAX_AUTH_BYTES || bodyStart + ((length + 3) & ~3) > end) return null;
  if (flavor === 0) return length === 0 ? noneAuth(offset, 0) : null;
  if (flavor !== 1 || role !== "cred") return null;
  // Inside the body, as decodeOpaqueAuth narrows the cursor: stamp, machinename<255>, uid, gid, gids<16>.
  const bodyEnd = bodyStart + length;
  if (bodyStart + 8 > bodyEnd) return null;
  const stamp = word(bytes, base + bodyStart);
  const nameLength = word(bytes, base + bodyStart + 4);
  if (nameLength > MAX_MACHINE_NAME) return null;
  const nameStart = bodyStart + 8;
  const idsAt = nameStart + ((nameLength + 3) & ~3);
  if (idsAt + 12 > bodyEnd) return null;
  const count = word(bytes, base + idsAt + 8);
  if (count > MAX_AUTH_SYS_GIDS || idsAt + 12 + count * 4 > bodyEnd) return null;
  const machinename = xdrStringAt(bytes, base + nameStart, nameLength);
  const ids = base + idsAt;
  return sysAuth(offset, length, stamp, machinename, word(bytes, ids), word(bytes, ids + 4), internGids(bytes, ids + 12, count));
}

/**
 * Decode one opaque_auth at the cursor. `offset` on the result is where the flavor
 * word sits in the record; `length` is the body length the opaque_auth declared
 * (the whole item occupies 8 + length rounded up to 4 bytes).
 * Throws Malformed with paths like `cred.machinename` or `verf.length`.
 */
export function decodeOpaqueAuth(cur: XdrCursor, role: AuthRole): Auth {
  const savedScope = cur.scope;
  cur.scope = role;
  const offset = cur.pos;
  const flavor = cur.u32("flavor");
  const length = cur.length("length", MAX_AUTH_BYTES);
  const bodyStart = cur.pos;
  // The whole body, padding included, must be there before any of it is read.
  cur.need((length + 3) & ~3, "body");
  const bodyEnd = bodyStart + length;

  // Narrow the cursor to the body so that an inner field can never read past it.
  const savedCaptured = cur.capturedEnd;
  const savedDeclared = cur.declaredEnd;
  cur.capturedEnd = bodyEnd;
  cur.declaredEnd = bodyEnd;
  let auth: Auth;
  try {
    auth = decodeBody(cur, role, flavor, offset, length, bodyStart, bodyEnd);
  } finally {
    cur.capturedEnd = savedCaptured;
    cur.declaredEnd = savedDeclared;
    cur.scope = savedScope;
  }
  cur.pos = bodyStart + ((length + 3) & ~3);
  return auth;
}

function decodeBody(
  cur: XdrCursor, role: AuthRole, flavor: number, offset: number, length: number,
  bodyStart: number, bodyEnd: number,
): Auth {
  const bytes = cur.bytes;
  switch (flavor) {
    case 0:
      // A non-empty AUTH_NONE body occurs: RFC 9289 §4.1 puts "STARTTLS" in the reply verifier.
      return noneAuth(offset, length);
    case 1: {
      if (role === "verf") return { kind: "opaque", flavor, offset, length, body: bytes.slice(bodyStart, bodyEnd) };
      const stamp = cur.u32("stamp");
      const machinename = cur.string(MAX_MACHINE_NAME, "machinename");
      const uid = cur.u32("uid");
      const gid = cur.u32("gid");
      const count = cur.length("gids", MAX_AUTH_SYS_GIDS);
      cur.need(count * 4, "gids");
      const gids = internGids(bytes, cur.pos, count);
      cur.pos += count * 4;
      return sysAuth(offset, length, stamp, machinename, uid, gid, gids);
    }
    case 2:
      return { kind: "short", flavor: 2, offset, length, body: bytes.slice(bodyStart, bodyEnd) };
    case 3: {
      const body = bytes.slice(bodyStart, bodyEnd);
      // Only the credential has a readable structure; DH verifiers are DES-encrypted.
      if (role === "verf") return { kind: "dh", flavor: 3, offset, length, body };
      const kindAt = cur.pos;
      const namekind = cur.u32("namekind");
      if (namekind === 0) {
        const netname = cur.string(MAX_NETNAME, "netname");
        cur.fixedOpaque(8, "key");
        cur.fixedOpaque(4, "window");
        return { kind: "dh", flavor: 3, offset, length, namekind: "fullname", netname, body };
      }
      if (namekind === 1) {
        const nickname = cur.u32("nickname");
        return { kind: "dh", flavor: 3, offset, length, namekind: "nickname", nickname, body };
      }
      throw new Malformed("invalid", kindAt, [role, "namekind"], `authdh_namekind ${namekind} is neither ADN_FULLNAME nor ADN_NICKNAME`);
    }
    case 6: {
      const body = bytes.slice(bodyStart, bodyEnd);
      // An RPCSEC_GSS verifier is a MIC over the header: opaque.
      if (role === "verf") return { kind: "gss", flavor: 6, offset, length, body };
      const version = cur.u32("version");
      // RFC 2203 defines version 1; RFC 5403's version 2 keeps the same credential layout.
      if (version !== 1 && version !== 2) return { kind: "gss", flavor: 6, offset, length, version, body };
      const gssProc = cur.u32("gss_proc");
      const seqNum = cur.u32("seq_num");
      const service = cur.u32("service");
      const handle = cur.opaque(MAX_AUTH_BYTES, "handle").slice();
      return { kind: "gss", flavor: 6, offset, length, version, gssProc, seqNum, service, handle, body };
    }
    case 7:
      return { kind: "tls", flavor: 7, offset, length, body: bytes.slice(bodyStart, bodyEnd) };
    default:
      return { kind: "opaque", flavor, offset, length, body: bytes.slice(bodyStart, bodyEnd) };
  }
}
