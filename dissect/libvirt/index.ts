/** libvirt's RPC protocol: framing, matching, spec binding and body decoding. */
export {
  LIBVIRT_DEFINES, LIBVIRT_HEADER_BYTES, LIBVIRT_PROGRAMS, LIBVIRT_TCP_PORT, LIBVIRT_TLS_PORT, KeepaliveProc,
  LibvirtProgram, LibvirtStatusCode, LibvirtType, libvirtStatusName, libvirtTypeName,
} from "./constants.js";
export { checkLibvirtStart, checkTlsRecord, decodeLibvirtHeader } from "./header.js";
export { LibvirtFramer, type FramerIssueCode, type FramerStats, type LibvirtFrame, type LibvirtFrameHandler } from "./framer.js";
export { LibvirtMatcher, type LibvirtMatchCounts } from "./matching.js";
export { LibvirtFraming, registerLibvirt, type LibvirtCounts, type LibvirtOptions } from "./libvirt-framing.js";
export {
  addSchemaWithLibvirt, bindLibvirtProcedures, libvirtBodyType, registerLibvirtBuiltins,
  type LibvirtProgramBinding,
} from "./binding.js";
export { decodeLibvirtBody, type LibvirtBodyDecode, type LibvirtBodyRole } from "./body.js";
export { LIBVIRT_BUILTIN_SPEC, libvirtBuiltinSchema, remoteErrorType, streamHoleType } from "./builtin-spec.js";
