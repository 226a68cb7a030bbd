/**
 * Is this RPC? ONC-RPC runs on any port (rpcbind hands out ports), so it is found
 * by looking at the bytes, as Wireshark's RPC heuristic does, but stricter:
 *
 * - A call must have rpcvers 2, a plausible program/version/procedure, and a
 *   credential and verifier whose flavor is known and whose body parses and is
 *   consumed exactly (AUTH_SYS, RPCSEC_GSS) or is empty (AUTH_NONE, AUTH_TLS).
 * - A reply carries too little to be recognised alone: over UDP it is accepted when
 *   its xid matches a pending call on the flow (the pipeline asks the matcher), or
 *   when it comes from a well-known RPC port and passes the strict checks.
 * - Over TCP the first record of a direction must start with a plausible record
 *   mark (RFC 5531 §11) followed by such a header.
 * - Well-known RPC ports lower the bar to structural checks ("lenient"): any flavor,
 *   any program, but every length must still fit.
 *
 * These functions never throw and never allocate; they read at most
 * MAX_HEADER_LOOKAHEAD bytes past the start.
 */

/** "more": the bytes end before a decision could be made. */
export type Verdict = "yes" | "no" | "more";

/** Ports where RPC is expected: rpcbind, NFS, mountd (635, 20048), rquotad, statd, lockd. */
const WELL_KNOWN_RPC_PORTS: ReadonlySet<number> = new Set([111, 635, 662, 875, 2049, 4045, 20048]);

export function isWellKnownRpcPort(port: number): boolean {
  return WELL_KNOWN_RPC_PORTS.has(port);
}

/** Programs whose numbers are registered and seen in practice (IANA ONC RPC program numbers). */
export const KNOWN_PROGRAMS: ReadonlyMap<number, string> = new Map([
  [100000, "portmapper"],
  [100001, "rstatd"],
  [100002, "rusersd"],
  [100003, "nfs"],
  [100004, "ypserv"],
  [100005, "mountd"],
  [100007, "ypbind"],
  [100008, "walld"],
  [100009, "yppasswdd"],
  [100011, "rquotad"],
  [100012, "sprayd"],
  [100020, "llockmgr"],
  [100021, "nlockmgr"],
  [100024, "status"],
  [100026, "bootparam"],
  [100029, "keyserv"],
  [100069, "ypxfrd"],
  [100083, "ttdbserver"],
  [100133, "nsm_addrand"],
  [100227, "nfs_acl"],
  [100300, "nisd"],
  [150001, "pcnfsd"],
  [390113, "nsrexec"],
]);

/**
 * Program number ranges (RFC 5531 §8.3 / IANA): 0x00000000–0x1fffffff assigned,
 * 0x20000000–0x3fffffff user-defined, 0x40000000–0x5fffffff transient (NFSv4
 * callbacks), above that reserved. Within the assigned range only the 100000s–300000s
 * are in real use; 0 and small numbers are what random data looks like.
 */
export function isPlausibleProgram(prog: number): boolean {
  if (KNOWN_PROGRAMS.has(prog)) return true;
  if (prog >= 100_000 && prog <= 499_999) return true;
  return prog >= 0x2000_0000 && prog <= 0x5fff_ffff;
}

/** Versions and procedure numbers are small in every real program. */
const MAX_PLAUSIBLE_VERSION = 0xffff;
const MAX_PLAUSIBLE_PROC = 0xffff;
const MAX_AUTH_BYTES = 400;
const MAX_AUTH_SYS_GIDS = 16;
const MAX_NAME = 255;
const MAX_PLAUSIBLE_AUTH_STAT = 14;

/** The most bytes a header check reads: mark + 6 words + two opaque_auth of 400 bytes. */
export const MAX_HEADER_LOOKAHEAD = 4 + 24 + (8 + MAX_AUTH_BYTES) * 2;
/** The shortest RPC message: a denied reply with AUTH_ERROR (xid, type, stat, reject_stat, auth_stat). */
export const MIN_RPC_MESSAGE = 20;

function word(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

// Internal results of the step checks: a position ≥ 0, or one of these.
const NO = -1;
const MORE = -2;

/** Whether n bytes at p fit: inside the message (else NO), and in what we have (else MORE). */
function fits(p: number, n: number, availEnd: number, msgEnd: number): number {
  if (p + n > msgEnd) return NO;
  if (p + n > availEnd) return MORE;
  return p + n;
}

const STARTTLS = [0x53, 0x54, 0x41, 0x52, 0x54, 0x54, 0x4c, 0x53];

/** Whether the 8 bytes at p spell "STARTTLS" (RFC 9289 §4.1 reply verifier). */
export function isStartTlsVerifier(b: Uint8Array, p: number, end: number): boolean {
  if (p + 8 > end) return false;
  for (let i = 0; i < 8; i++) if (b[p + i] !== STARTTLS[i]) return false;
  return true;
}

/**
 * One opaque_auth at p. Returns the position after it, NO or MORE.
 * In strict mode the flavor must be one that is used on the wire in that role and
 * its body must be exactly what the flavor's structure needs.
 */
function checkAuth(
  b: Uint8Array, p: number, availEnd: number, msgEnd: number, strict: boolean, role: "cred" | "verf" | "rverf",
): number {
  let q = fits(p, 8, availEnd, msgEnd);
  if (q < 0) return q;
  const flavor = word(b, p);
  const len = word(b, p + 4);
  if (len > MAX_AUTH_BYTES) return NO;
  const bodyStart = q;
  const bodyEnd = bodyStart + len;
  const after = fits(bodyStart, (len + 3) & ~3, availEnd, msgEnd);
  if (after < 0) return after;
  switch (flavor) {
    case 0: // AUTH_NONE: empty, except RFC 9289's "STARTTLS" reply verifier.
      if (strict && len !== 0 && !(role === "rverf" && len === 8 && isStartTlsVerifier(b, bodyStart, bodyEnd))) return NO;
      return after;
    case 1: { // AUTH_SYS (RFC 5531 appendix A); never a verifier in practice.
      if (role !== "cred") return strict ? NO : after;
      if (len < 20) return NO;
      const nameLen = word(b, bodyStart + 4);
      if (nameLen > MAX_NAME) return NO;
      q = bodyStart + 8 + ((nameLen + 3) & ~3);
      if (q + 12 > bodyEnd) return NO;
      const count = word(b, q + 8);
      if (count > MAX_AUTH_SYS_GIDS) return NO;
      q += 12 + count * 4;
      if (q > bodyEnd) return NO;
      if (strict && q !== bodyEnd) return NO;
      return after;
    }
    case 2: // AUTH_SHORT: an opaque handle from an earlier AUTH_SYS exchange.
      if (strict && len === 0) return NO;
      return after;
    case 3: { // AUTH_DH (RFC 2695 §3.2)
      if (role !== "cred") return strict && len === 0 ? NO : after;
      if (len < 8) return NO;
      const namekind = word(b, bodyStart);
      if (namekind === 1) return strict && len !== 8 ? NO : after;
      if (namekind !== 0) return NO;
      const nameLen = word(b, bodyStart + 4);
      if (nameLen > MAX_NAME) return NO;
      q = bodyStart + 8 + ((nameLen + 3) & ~3) + 12;
      if (q > bodyEnd) return NO;
      if (strict && q !== bodyEnd) return NO;
      return after;
    }
    case 6: { // RPCSEC_GSS (RFC 2203 §5); the verifier is a MIC, the credential has structure.
      if (role !== "cred") return strict && len === 0 ? NO : after;
      if (len < 4) return NO;
      const version = word(b, bodyStart);
      if (version !== 1 && version !== 2) return strict ? NO : after;
      if (len < 20) return NO;
      const gssProc = word(b, bodyStart + 4);
      const service = word(b, bodyStart + 12);
      if (strict && (gssProc > 4 || service < 1 || service > 3)) return NO;
      const handleLen = word(b, bodyStart + 16);
      if (handleLen > MAX_AUTH_BYTES) return NO;
      q = bodyStart + 20 + ((handleLen + 3) & ~3);
      if (q > bodyEnd) return NO;
      if (strict && q !== bodyEnd) return NO;
      return after;
    }
    case 7: // AUTH_TLS (RFC 9289 §4.1): an empty credential on a NULL call.
      if (strict && (role !== "cred" || len !== 0)) return NO;
      return after;
    default:
      return strict ? NO : after;
  }
}

/**
 * Whether the bytes at `off` start a plausible RPC message header. `availEnd` is
 * where the bytes we have end; `msgEnd` is where the message ends (its declared
 * length). The header must lie inside the message.
 */
export function checkRpcHeader(b: Uint8Array, off: number, availEnd: number, msgEnd: number, strict: boolean): Verdict {
  if (msgEnd - off < MIN_RPC_MESSAGE) return "no";
  let p = fits(off, 8, availEnd, msgEnd);
  if (p < 0) return p === MORE ? "more" : "no";
  const msgType = word(b, off + 4);
  if (msgType === 0) p = checkCall(b, p, availEnd, msgEnd, strict);
  else if (msgType === 1) p = checkReply(b, p, availEnd, msgEnd, strict);
  else return "no";
  return p >= 0 ? "yes" : p === MORE ? "more" : "no";
}

function checkCall(b: Uint8Array, p: number, availEnd: number, msgEnd: number, strict: boolean): number {
  const q = fits(p, 16, availEnd, msgEnd);
  if (q < 0) return q;
  // rpcvers: exactly 2 when strict; on an RPC port any version, for the server's RPC_MISMATCH to pair with.
  if (strict && word(b, p) !== 2) return NO;
  if (strict) {
    if (!isPlausibleProgram(word(b, p + 4))) return NO;
    if (word(b, p + 8) > MAX_PLAUSIBLE_VERSION) return NO;
    if (word(b, p + 12) > MAX_PLAUSIBLE_PROC) return NO;
  }
  const afterCred = checkAuth(b, q, availEnd, msgEnd, strict, "cred");
  if (afterCred < 0) return afterCred;
  return checkAuth(b, afterCred, availEnd, msgEnd, strict, "verf");
}

function checkReply(b: Uint8Array, p: number, availEnd: number, msgEnd: number, strict: boolean): number {
  let q = fits(p, 4, availEnd, msgEnd);
  if (q < 0) return q;
  const replyStat = word(b, p);
  if (replyStat === 0) {
    q = checkAuth(b, q, availEnd, msgEnd, strict, "rverf");
    if (q < 0) return q;
    const s = fits(q, 4, availEnd, msgEnd);
    if (s < 0) return s;
    const acceptStat = word(b, q);
    if (acceptStat === 2) {
      const m = fits(s, 8, availEnd, msgEnd);
      if (m < 0) return m;
      if (strict && word(b, s) > word(b, s + 4)) return NO;
      return m;
    }
    if (strict && acceptStat > 5) return NO;
    return s;
  }
  if (replyStat === 1) {
    const r = fits(q, 4, availEnd, msgEnd);
    if (r < 0) return r;
    const rejectStat = word(b, q);
    if (rejectStat === 0) {
      const m = fits(r, 8, availEnd, msgEnd);
      if (m < 0) return m;
      if (strict && word(b, r) > word(b, r + 4)) return NO;
      return m;
    }
    if (rejectStat === 1) {
      const a = fits(r, 4, availEnd, msgEnd);
      if (a < 0) return a;
      const authStat = word(b, r);
      if (strict && (authStat === 0 || authStat > MAX_PLAUSIBLE_AUTH_STAT)) return NO;
      return a;
    }
    return strict ? NO : r;
  }
  return NO;
}

/**
 * Whether the bytes at `off` start a record (RFC 5531 §11: a 4-byte mark, high bit
 * = last fragment, low 31 bits = length) whose first fragment holds a plausible
 * RPC header. The header must fit in the first fragment.
 */
export function checkRecordStart(
  b: Uint8Array, off: number, availEnd: number, maxRecordBytes: number, strict: boolean,
): Verdict {
  if (off + 4 > availEnd) return "more";
  const mark = word(b, off);
  const len = mark & 0x7fff_ffff;
  if (len > maxRecordBytes || len < MIN_RPC_MESSAGE) return "no";
  // Real senders emit one fragment per record unless it is large (TI-RPC flushes at its buffer size).
  if (strict && (mark & 0x8000_0000) === 0 && len < 1024) return "no";
  return checkRpcHeader(b, off + 4, availEnd, off + 4 + len, strict);
}

/**
 * UDP: is this datagram an RPC call worth dissecting? (Replies are decided by the
 * pipeline with the matcher's help; see `udpReplyPlausible`.) A header cut by the
 * snaplen is accepted on a well-known port when what was captured fits.
 */
export function udpCallPlausible(payload: Uint8Array, missingBytes: number, wellKnown: boolean): boolean {
  const v = checkRpcHeader(payload, 0, payload.length, payload.length + missingBytes, !wellKnown);
  return v === "yes" || (v === "more" && wellKnown);
}

/** UDP: a reply that matches no pending call, from a well-known port, checked strictly. */
export function udpReplyPlausible(payload: Uint8Array, missingBytes: number): boolean {
  return checkRpcHeader(payload, 0, payload.length, payload.length + missingBytes, true) === "yes";
}

/** The message type word of a datagram, or -1 when it is too short to have one. */
export function peekMsgType(payload: Uint8Array): number {
  return payload.length >= 8 ? word(payload, 4) : -1;
}

export function peekXid(payload: Uint8Array, off = 0): number {
  return word(payload, off);
}
