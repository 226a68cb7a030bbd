/**
 * Decodes the body of a libvirt message (virnetprotocol.x, "Payload varies
 * according to type and status"):
 *
 *   CALL(_WITH_FDS)             <proc>_args
 *   REPLY(_WITH_FDS), OK        <proc>_ret
 *   REPLY(_WITH_FDS), ERROR     remote_error
 *   MESSAGE                     <proc>_msg
 *   STREAM, CONTINUE            raw bytes (not decoded)
 *   STREAM, ERROR               remote_error
 *   STREAM, OK                  empty
 *   STREAM_HOLE                 virNetStreamHole
 *
 * The procedure's types come from the registry (bound by binding.ts); the error
 * and hole structures are built in, so they decode without any user spec. A reply
 * carries its procedure number itself, so no call is needed to decode it.
 */
import type { Limits } from "../../capture/limits.js";
import type { Issue } from "../malformed.js";
import type { ProgramRegistry, RegisteredProcedure } from "../registry.js";
import type { LibvirtHeader } from "../rpc-types.js";
import type { DecodedField, XdrType } from "../xdr-types.js";
import { decodeXdr } from "../xdr/decoder.js";
import { libvirtBodyType } from "./binding.js";
import { remoteErrorType, streamHoleType } from "./builtin-spec.js";
import { LibvirtStatusCode, LibvirtType } from "./constants.js";

/** What a body holds: the JSON key it is shown under. */
export type LibvirtBodyRole = "args" | "res" | "msg" | "error" | "hole" | "data" | "none";

export interface LibvirtBodyDecode {
  readonly role: LibvirtBodyRole;
  /** The decoded body; null for raw stream data, an unknown procedure, or no header. */
  readonly body: DecodedField | null;
  /** The procedure as the registry knows it. */
  readonly def?: RegisteredProcedure;
  /** Bytes of raw stream data (role "data"). */
  readonly dataBytes?: number;
  readonly issues: readonly Issue[];
}

const VOID: XdrType = Object.freeze({ kind: "void" });
const NONE: LibvirtBodyDecode = Object.freeze({ role: "none", body: null, issues: [] });

/**
 * Decodes one message's body. `bytes` are the message's captured bytes from its
 * length word on; `truncatedAt` is where capture stopped (null when complete).
 */
export function decodeLibvirtBody(
  header: LibvirtHeader | null, bytes: Uint8Array, truncatedAt: number | null,
  registry: ProgramRegistry | null, limits: Limits,
): LibvirtBodyDecode {
  if (!header) return NONE;
  const start = header.bodyOffset;
  const def = registry?.lookup(header.prog, header.vers, header.proc);
  const withDef = (d: LibvirtBodyDecode): LibvirtBodyDecode => (def ? { ...d, def } : d);
  switch (header.type) {
    case LibvirtType.CALL:
    case LibvirtType.CALL_WITH_FDS:
      if (!def) return undecoded(header, bytes, start, truncatedAt, "args", "arguments");
      return withDef(decode(libvirtBodyType(def, "args") ?? VOID, "args", bytes, start, truncatedAt, limits, "arguments"));
    case LibvirtType.REPLY:
    case LibvirtType.REPLY_WITH_FDS:
      if (header.status === LibvirtStatusCode.ERROR) {
        return withDef(decode(remoteErrorType(), "error", bytes, start, truncatedAt, limits, "error"));
      }
      if (!def) return undecoded(header, bytes, start, truncatedAt, "res", "results");
      return withDef(decode(def.result, "res", bytes, start, truncatedAt, limits, "results"));
    case LibvirtType.MESSAGE:
      if (!def) return undecoded(header, bytes, start, truncatedAt, "msg", "event");
      return withDef(decode(libvirtBodyType(def, "msg") ?? VOID, "msg", bytes, start, truncatedAt, limits, "event"));
    case LibvirtType.STREAM:
      if (header.status === LibvirtStatusCode.ERROR) {
        return withDef(decode(remoteErrorType(), "error", bytes, start, truncatedAt, limits, "error"));
      }
      if (header.status === LibvirtStatusCode.CONTINUE) {
        return withDef({ role: "data", body: null, dataBytes: Math.max(0, declaredEnd(bytes, truncatedAt) - start), issues: [] });
      }
      return withDef(decode(VOID, "data", bytes, start, truncatedAt, limits, "stream end"));
    case LibvirtType.STREAM_HOLE:
      return withDef(decode(streamHoleType(), "hole", bytes, start, truncatedAt, limits, "stream hole"));
    default:
      return NONE;
  }
}

/** The message's declared end when known from its length word, else what was captured. */
function declaredEnd(bytes: Uint8Array, truncatedAt: number | null): number {
  if (truncatedAt === null || bytes.length < 4) return bytes.length;
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

function decode(
  type: XdrType, role: LibvirtBodyRole, bytes: Uint8Array, start: number, truncatedAt: number | null,
  limits: Limits, what: string,
): LibvirtBodyDecode {
  // A truncated message holds only its captured bytes: running out is "truncated", never "short".
  const end = truncatedAt === null ? bytes.length : Infinity;
  const result = decodeXdr(type, bytes, start, end, limits,
    truncatedAt === null ? { name: role } : { name: role, truncatedAt });
  const issues: Issue[] = [...result.issues];
  const m = result.malformed;
  if (m) {
    issues.push({ code: m.code === "truncated" ? "truncated" : "malformed", detail: `${what}: ${m.message}`, offset: m.offset });
  } else if (truncatedAt === null && result.end < bytes.length) {
    issues.push({ code: "trailing-bytes", detail: `${bytes.length - result.end} bytes after the ${what}`, offset: result.end });
  }
  return { role, body: result.field, issues };
}

/** No specification for the procedure: an empty body needs none; otherwise say so. */
function undecoded(
  header: LibvirtHeader, bytes: Uint8Array, start: number, truncatedAt: number | null, role: LibvirtBodyRole, what: string,
): LibvirtBodyDecode {
  const remaining = declaredEnd(bytes, truncatedAt) - start;
  if (remaining <= 0) return { role, body: null, issues: [] };
  return {
    role,
    body: null,
    issues: [{
      code: "body-undecoded",
      detail: `no specification for libvirt program 0x${header.prog.toString(16)} version ${header.vers} procedure ${header.proc}: ${remaining} bytes of ${what} not decoded`,
      offset: start,
    }],
  };
}
