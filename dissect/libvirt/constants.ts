/**
 * Numbers of libvirt's RPC protocol (src/rpc/virnetprotocol.x and the program
 * `.x` files of a libvirt source tree) and the C-header constants those `.x`
 * files use without defining them.
 *
 * Wire format of one message (virnetprotocol.x, "RPC wire format"):
 *   length  unsigned int   total bytes of the message, this word included
 *   header  6 × 4 bytes    prog, vers, proc, type, serial, status
 *   [nfds   unsigned int]  only for CALL_WITH_FDS / REPLY_WITH_FDS
 *   body    XDR            per procedure and type/status
 */
import type { LibvirtMessageType, LibvirtStatus } from "../rpc-types.js";

/** Plain TCP (libvirtd `listen_tcp`, `tcp_port`). */
export const LIBVIRT_TCP_PORT = 16509;
/** TLS (libvirtd `listen_tls`, `tls_port`): encrypted, not dissected. */
export const LIBVIRT_TLS_PORT = 16514;

/** Length word plus the six header words. */
export const LIBVIRT_HEADER_BYTES = 28;
/** VIR_NET_MESSAGE_NUM_FDS_MAX: descriptors one message may pass. */
export const LIBVIRT_MAX_FDS = 32;

export const LibvirtProgram = {
  REMOTE: 0x20008086,
  QEMU: 0x20008087,
  LXC: 0x00068000,
  ADMIN: 0x06900690,
  KEEPALIVE: 0x6b656570,
} as const;

/** Program numbers libvirt speaks; a header is only recognised heuristically with one of these. */
export const LIBVIRT_PROGRAMS: ReadonlySet<number> = new Set(Object.values(LibvirtProgram));

/** virkeepaliveprotocol.x: PING asks, PONG answers; both are MESSAGE type without a body. */
export const KeepaliveProc = { PING: 1, PONG: 2 } as const;

export const LibvirtType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

export const LibvirtStatusCode = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

const TYPE_NAMES: readonly LibvirtMessageType[] = [
  "CALL", "REPLY", "MESSAGE", "STREAM", "CALL_WITH_FDS", "REPLY_WITH_FDS", "STREAM_HOLE",
];
const STATUS_NAMES: readonly LibvirtStatus[] = ["OK", "ERROR", "CONTINUE"];

export function libvirtTypeName(type: number): LibvirtMessageType | `UNKNOWN(${number})` {
  return TYPE_NAMES[type] ?? `UNKNOWN(${type})`;
}

export function libvirtStatusName(status: number): LibvirtStatus | `UNKNOWN(${number})` {
  return STATUS_NAMES[status] ?? `UNKNOWN(${status})`;
}

export function isKnownLibvirtType(type: number): boolean {
  return type >= 0 && type < TYPE_NAMES.length;
}

export function isKnownLibvirtStatus(status: number): boolean {
  return status >= 0 && status < STATUS_NAMES.length;
}

/** virTypedParameterType (libvirt-common.h): the `type` a typed parameter's union switches on. */
const TYPED_PARAM_TYPES: readonly (readonly [string, number])[] = [
  ["INT", 1], ["UINT", 2], ["LLONG", 3], ["ULLONG", 4], ["DOUBLE", 5], ["BOOLEAN", 6],
];

/**
 * Constants libvirt's `.x` files take from C headers (libvirt-common.h,
 * libvirt-domain.h, libvirt-host.h), so they load with no `--define`:
 * remote_protocol.x sizes uuids and security labels with them and switches
 * `remote_typed_param_value` on the virTypedParameterType values; admin_protocol.x
 * uses the typed-parameter values too. Before libvirt 0.9.2 introduced
 * virTypedParameter, remote_protocol.x switched its scheduler, blkio and memory
 * parameter unions on the per-API enums (virSchedParameterType,
 * virBlkioParameterType, virMemoryParameterType); libvirt-domain.h still defines
 * those names as aliases of the VIR_TYPED_PARAM_* values, so they are here too and
 * the .x files of older releases load as well. Loaders pass this table as
 * LoadOptions.headerConstants, not as defines: a `.x` that defines one of these
 * names itself (const, enum member, #define or %#define) wins over it, and so
 * does a `--define`.
 */
export const LIBVIRT_DEFINES: ReadonlyMap<string, number> = new Map([
  ["VIR_UUID_BUFLEN", 16],
  ["VIR_UUID_STRING_BUFLEN", 36 + 1],
  ["VIR_SECURITY_MODEL_BUFLEN", 256 + 1],
  ["VIR_SECURITY_LABEL_BUFLEN", 4096 + 1],
  ["VIR_SECURITY_DOI_BUFLEN", 256 + 1],
  ...TYPED_PARAM_TYPES.map(([t, v]) => [`VIR_TYPED_PARAM_${t}`, v] as const),
  ["VIR_TYPED_PARAM_STRING", 7],
  ["VIR_TYPED_PARAM_FIELD_LENGTH", 80],
  ...TYPED_PARAM_TYPES.map(([t, v]) => [`VIR_DOMAIN_SCHED_FIELD_${t}`, v] as const),
  ...TYPED_PARAM_TYPES.map(([t, v]) => [`VIR_DOMAIN_BLKIO_PARAM_${t}`, v] as const),
  ...TYPED_PARAM_TYPES.map(([t, v]) => [`VIR_DOMAIN_MEMORY_PARAM_${t}`, v] as const),
]);
