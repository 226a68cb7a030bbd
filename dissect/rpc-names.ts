/**
 * Display names for the numbers in an RPC header (RFC 5531 §9 and appendix, the
 * IANA "RPC Authentication Flavor Numbers" registry, RFC 2203 for RPCSEC_GSS,
 * RFC 5403 for RPCSEC_GSSv2, RFC 9289 for AUTH_TLS). Unknown numbers get a
 * readable fallback instead of an exception.
 */

export const MsgType = { CALL: 0, REPLY: 1 } as const;
export const ReplyStat = { MSG_ACCEPTED: 0, MSG_DENIED: 1 } as const;
export const AcceptStat = {
  SUCCESS: 0,
  PROG_UNAVAIL: 1,
  PROG_MISMATCH: 2,
  PROC_UNAVAIL: 3,
  GARBAGE_ARGS: 4,
  SYSTEM_ERR: 5,
} as const;
export const RejectStat = { RPC_MISMATCH: 0, AUTH_ERROR: 1 } as const;

export const AuthFlavor = {
  AUTH_NONE: 0,
  AUTH_SYS: 1,
  AUTH_SHORT: 2,
  AUTH_DH: 3,
  AUTH_KERB: 4,
  AUTH_RSA: 5,
  RPCSEC_GSS: 6,
  AUTH_TLS: 7,
} as const;

const ACCEPT_STAT_NAMES: readonly string[] = [
  "SUCCESS", "PROG_UNAVAIL", "PROG_MISMATCH", "PROC_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR",
];

const REJECT_STAT_NAMES: readonly string[] = ["RPC_MISMATCH", "AUTH_ERROR"];

/** auth_stat (RFC 5531 §9; 8–12 from RFC 2695 AUTH_KERB, 13–14 from RFC 2203). */
const AUTH_STAT_NAMES: readonly string[] = [
  "AUTH_OK",
  "AUTH_BADCRED",
  "AUTH_REJECTEDCRED",
  "AUTH_BADVERF",
  "AUTH_REJECTEDVERF",
  "AUTH_TOOWEAK",
  "AUTH_INVALIDRESP",
  "AUTH_FAILED",
  "AUTH_KERB_GENERIC",
  "AUTH_TIMEEXPIRE",
  "AUTH_TKT_FILE",
  "AUTH_DECODE",
  "AUTH_NET_ADDR",
  "RPCSEC_GSS_CREDPROBLEM",
  "RPCSEC_GSS_CTXPROBLEM",
];

/** Highest auth_stat value with a name (used by the heuristics as a plausibility bound). */
export const MAX_KNOWN_AUTH_STAT = AUTH_STAT_NAMES.length - 1;

const AUTH_FLAVOR_NAMES: ReadonlyMap<number, string> = new Map([
  [0, "AUTH_NONE"],
  [1, "AUTH_SYS"],
  [2, "AUTH_SHORT"],
  [3, "AUTH_DH"],
  [4, "AUTH_KERB"],
  [5, "AUTH_RSA"],
  [6, "RPCSEC_GSS"],
  [7, "AUTH_TLS"],
  // Pseudo-flavors from the IANA registry: they name a GSS mechanism and service
  // (NFSv4 SECINFO, mount sec= lists) and are not seen as a credential flavor.
  [390003, "RPCSEC_GSS_KRB5"],
  [390004, "RPCSEC_GSS_KRB5I"],
  [390005, "RPCSEC_GSS_KRB5P"],
  [390006, "RPCSEC_GSS_LKEY"],
  [390007, "RPCSEC_GSS_LKEYI"],
  [390008, "RPCSEC_GSS_LKEYP"],
  [390009, "RPCSEC_GSS_SPKM3"],
  [390010, "RPCSEC_GSS_SPKM3I"],
  [390011, "RPCSEC_GSS_SPKM3P"],
]);

/** rpc_gss_proc_t (RFC 2203 §5; BIND_CHANNEL from RFC 5403 §2). */
const GSS_PROC_NAMES: readonly string[] = [
  "RPCSEC_GSS_DATA",
  "RPCSEC_GSS_INIT",
  "RPCSEC_GSS_CONTINUE_INIT",
  "RPCSEC_GSS_DESTROY",
  "RPCSEC_GSS_BIND_CHANNEL",
];

/** rpc_gss_service_t (RFC 2203 §5): numbering starts at 1. */
const GSS_SERVICE_NAMES: readonly string[] = ["", "rpc_gss_svc_none", "rpc_gss_svc_integrity", "rpc_gss_svc_privacy"];

export function msgTypeName(n: number): string {
  return n === 0 ? "CALL" : n === 1 ? "REPLY" : `UNKNOWN_MSG_TYPE(${n})`;
}

export function replyStatName(n: number): string {
  return n === 0 ? "MSG_ACCEPTED" : n === 1 ? "MSG_DENIED" : `UNKNOWN_REPLY_STAT(${n})`;
}

export function acceptStatName(n: number): string {
  return ACCEPT_STAT_NAMES[n] ?? `UNKNOWN_ACCEPT(${n})`;
}

export function rejectStatName(n: number): string {
  return REJECT_STAT_NAMES[n] ?? `UNKNOWN_REJECT(${n})`;
}

export function authStatName(n: number): string {
  return AUTH_STAT_NAMES[n] ?? `UNKNOWN_AUTH_STAT(${n})`;
}

export function authFlavorName(n: number): string {
  return AUTH_FLAVOR_NAMES.get(n) ?? `AUTH_FLAVOR(${n})`;
}

export function gssProcName(n: number): string {
  return GSS_PROC_NAMES[n] ?? `UNKNOWN_GSS_PROC(${n})`;
}

export function gssServiceName(n: number): string {
  return (n >= 1 ? GSS_SERVICE_NAMES[n] : undefined) ?? `UNKNOWN_GSS_SERVICE(${n})`;
}
