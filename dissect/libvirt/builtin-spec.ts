/**
 * What rpcscope knows of libvirt without the user's libvirt `.x` files: the error
 * structure every ERROR reply (and aborted stream) carries, the stream-hole body,
 * and the keepalive program. Written for rpcscope in libvirt's `.x` conventions;
 * the layouts are libvirt's wire ABI (virnetprotocol.x `virNetMessageError`, which
 * is remote_protocol.x `remote_error` field for field; `virNetStreamHole`;
 * virkeepaliveprotocol.x). It is loaded through the same `.x` front end as a
 * user's specification, and its keepalive program is bound by the same naming
 * convention (binding.ts).
 */
import type { XdrType } from "../xdr-types.js";
import { compileSchema } from "../xdr/load-schema.js";
import type { Schema } from "../xdr/schema.js";
import { LIBVIRT_DEFINES } from "./constants.js";

export const LIBVIRT_BUILTIN_SPEC_PATH = "<rpcscope:libvirt-builtin.x>";

export const LIBVIRT_BUILTIN_SPEC = `/* rpcscope built-in: libvirt RPC error, stream hole and keepalive. */

/* VIR_NET_MESSAGE_STRING_MAX: the longest string libvirt's RPC layer accepts. */
const REMOTE_STRING_MAX = 4194304;

typedef string remote_nonnull_string<REMOTE_STRING_MAX>;
typedef remote_nonnull_string *remote_string;
typedef opaque remote_uuid[VIR_UUID_BUFLEN];

struct remote_nonnull_domain {
    remote_nonnull_string name;
    remote_uuid uuid;
    int id;
};

struct remote_nonnull_network {
    remote_nonnull_string name;
    remote_uuid uuid;
};

typedef remote_nonnull_domain *remote_domain;
typedef remote_nonnull_network *remote_network;

/* Body of a REPLY, and of a STREAM message, whose status is ERROR.
 * code, domain and level are virErrorNumber, virErrorDomain, virErrorLevel. */
struct remote_error {
    int code;
    int domain;
    remote_string message;
    int level;
    remote_domain dom;
    remote_string str1;
    remote_string str2;
    remote_string str3;
    int int1;
    int int2;
    remote_network net;
};

/* Body of a STREAM_HOLE message: a run of zeroes the sender skipped. */
struct virNetStreamHole {
    hyper length;
    unsigned int flags;
};

/* Keepalive: MESSAGE-type PING and PONG without a body. */
const KEEPALIVE_PROGRAM = 0x6b656570;
const KEEPALIVE_PROTOCOL_VERSION = 1;

enum keepalive_procedure {
    KEEPALIVE_PROC_PING = 1,
    KEEPALIVE_PROC_PONG = 2
};
`;

let builtin: Schema | null = null;

/** The built-in schema, compiled once. */
export function libvirtBuiltinSchema(): Schema {
  if (!builtin) {
    const result = compileSchema([{ path: LIBVIRT_BUILTIN_SPEC_PATH, text: LIBVIRT_BUILTIN_SPEC }], { headerConstants: LIBVIRT_DEFINES });
    if (!result.schema) {
      throw new Error(`built-in libvirt spec does not load: ${result.errors.map((e) => e.message).join("; ")}`);
    }
    builtin = result.schema;
  }
  return builtin;
}

function builtinType(name: string): XdrType {
  const t = libvirtBuiltinSchema().types.get(name);
  if (!t) throw new Error(`built-in libvirt spec lacks ${name}`);
  return t;
}

/** `remote_error`, the body of ERROR replies. */
export function remoteErrorType(): XdrType {
  return builtinType("remote_error");
}

/** `virNetStreamHole`, the body of STREAM_HOLE messages. */
export function streamHoleType(): XdrType {
  return builtinType("virNetStreamHole");
}
