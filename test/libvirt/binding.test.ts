import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ProgramRegistry } from "../../dissect/registry.js";
import { compileSchema, loadSchema } from "../../dissect/xdr/load-schema.js";
import { LIBVIRT_DEFINES } from "../../dissect/libvirt/constants.js";
import {
  bindLibvirtProcedures, libvirtBodyType, registerLibvirtBuiltins,
} from "../../dissect/libvirt/binding.js";
import { libvirtBuiltinSchema } from "../../dissect/libvirt/builtin-spec.js";
import type { XdrType } from "../../dissect/xdr-types.js";

/** A small libvirt-style specification: three procedures, one without a _ret type, one event. */
const SMALL = `
%#include <libvirt/libvirt.h>
%#include "internal.h"

const TOY_STRING_MAX = 64;
typedef string toy_nonnull_string<TOY_STRING_MAX>;

struct toy_domain_lookup_args { toy_nonnull_string name; };
struct toy_domain_lookup_ret { unsigned hyper id; };
struct toy_domain_start_args { unsigned hyper id; unsigned int flags; };
struct toy_domain_event_msg { unsigned hyper id; int event; };

const TOY_PROGRAM = 0x20001234;
const TOY_PROTOCOL_VERSION = 3;

enum toy_procedure {
    /** @generate: both */
    TOY_PROC_DOMAIN_LOOKUP = 1,
    /** @generate: both */
    TOY_PROC_DOMAIN_START = 2,
    /** @generate: none */
    TOY_PROC_DOMAIN_EVENT = 7
};
`;

function small(): { registry: ProgramRegistry; bound: ReturnType<typeof bindLibvirtProcedures> } {
  const schema = loadSchema([{ path: "toy.x", text: SMALL }]);
  const registry = new ProgramRegistry();
  registry.addSchema(schema, { source: "user" });
  return { registry, bound: bindLibvirtProcedures(schema, registry, { source: "user" }) };
}

function typeName(t: XdrType | undefined): string | undefined {
  if (!t) return undefined;
  return t.kind === "struct" || t.kind === "ref" ? t.name : t.kind;
}

describe("libvirt procedures bound by naming convention", () => {
  it("the procedure enum gives numbers; _args, _ret and _msg types follow from the names", () => {
    const { registry, bound } = small();
    expect(bound).toEqual([{
      prog: 0x20001234, vers: 3, programSpecName: "TOY_PROGRAM", enumName: "toy_procedure",
      procedures: 3, withArgs: 2, withRet: 1, withMsg: 1,
    }]);
    const lookup = registry.lookup(0x20001234, 3, 1)!;
    expect(lookup).toMatchObject({ name: "DOMAIN_LOOKUP", specName: "TOY_PROC_DOMAIN_LOOKUP", specSource: "user" });
    expect(typeName(libvirtBodyType(lookup, "args"))).toBe("toy_domain_lookup_args");
    expect(typeName(libvirtBodyType(lookup, "ret"))).toBe("toy_domain_lookup_ret");
    expect(libvirtBodyType(lookup, "msg")).toBeUndefined();
  });

  it("a procedure without a _ret type returns void", () => {
    const start = small().registry.lookup(0x20001234, 3, 2)!;
    expect(typeName(libvirtBodyType(start, "args"))).toBe("toy_domain_start_args");
    expect(start.result).toEqual({ kind: "void" });
  });

  it("an event's body is its _msg type", () => {
    const event = small().registry.lookup(0x20001234, 3, 7)!;
    expect(event.argNames).toEqual(["msg"]);
    expect(typeName(libvirtBodyType(event, "msg"))).toBe("toy_domain_event_msg");
    expect(libvirtBodyType(event, "args")).toBeUndefined();
    expect(small().registry.procedureName(0x20001234, 3, 7)).toBe("DOMAIN_EVENT");
  });

  it("no <P>_PROGRAM constant, or an enum not named <p>_procedure: nothing is bound", () => {
    const schema = loadSchema([{ path: "x.x", text: "enum foo_procedure { FOO_PROC_A = 1 }; enum bar_procs { BAR_PROC_A = 1 }; const BAR_PROGRAM = 5;" }]);
    expect(bindLibvirtProcedures(schema, new ProgramRegistry(), { source: "user" })).toEqual([]);
  });

  it("members without the <P>_PROC_ prefix are not procedures; version defaults to 1", () => {
    const schema = loadSchema([{ path: "x.x", text: "const ZAP_PROGRAM = 0x20000777; enum zap_procedure { ZAP_PROC_PING = 1, ZAP_LAST = 2 };" }]);
    const registry = new ProgramRegistry();
    expect(bindLibvirtProcedures(schema, registry, { source: "user" })).toMatchObject([{ vers: 1, procedures: 1 }]);
    expect(registry.lookup(0x20000777, 1, 2)).toBeUndefined();
    expect(registry.lookup(0x20000777, 1, 1)).toMatchObject({ name: "PING", args: [], result: { kind: "void" } });
  });

  it("a second program (qemu-style) uses the first's types when both are loaded together", () => {
    const remote = `
      typedef string remote_nonnull_string<64>;
      struct remote_nonnull_domain { remote_nonnull_string name; opaque uuid[VIR_UUID_BUFLEN]; int id; };
      const REMOTE_PROGRAM = 0x20008086; const REMOTE_PROTOCOL_VERSION = 1;
      enum remote_procedure { REMOTE_PROC_CONNECT_OPEN = 1 };`;
    const qemu = `
      %#include "remote_protocol.h"
      struct qemu_domain_monitor_command_args { remote_nonnull_domain dom; remote_nonnull_string cmd; unsigned int flags; };
      struct qemu_domain_monitor_command_ret { remote_nonnull_string result; };
      const QEMU_PROGRAM = 0x20008087; const QEMU_PROTOCOL_VERSION = 1;
      enum qemu_procedure { QEMU_PROC_DOMAIN_MONITOR_COMMAND = 1 };`;
    const schema = loadSchema([{ path: "remote.x", text: remote }, { path: "qemu.x", text: qemu }], { headerConstants: LIBVIRT_DEFINES });
    const registry = new ProgramRegistry();
    const bound = bindLibvirtProcedures(schema, registry, { source: "user" });
    expect(bound.map((b) => b.programSpecName).sort()).toEqual(["QEMU_PROGRAM", "REMOTE_PROGRAM"]);
    expect(registry.procedureName(0x20008087, 1, 1)).toBe("DOMAIN_MONITOR_COMMAND");
    expect(registry.programName(0x20008087)).toBe("libvirt-qemu");
    expect(typeName(libvirtBodyType(registry.lookup(0x20008087, 1, 1)!, "ret"))).toBe("qemu_domain_monitor_command_ret");
  });

  it("the built-in keepalive program binds by the same convention and yields to a user's spec", () => {
    const registry = new ProgramRegistry();
    registerLibvirtBuiltins(registry);
    expect(registry.procedureName(0x6b656570, 1, 1)).toBe("PING");
    expect(registry.procedureName(0x6b656570, 1, 2)).toBe("PONG");
    expect(registry.lookup(0x6b656570, 1, 1)).toMatchObject({ specSource: "builtin", args: [], result: { kind: "void" } });
    const user = loadSchema([{ path: "k.x", text: "const KEEPALIVE_PROGRAM = 0x6b656570; enum keepalive_procedure { KEEPALIVE_PROC_PING = 1, KEEPALIVE_PROC_PONG = 2, KEEPALIVE_PROC_NEW = 3 };" }]);
    bindLibvirtProcedures(user, registry, { source: "user" });
    registerLibvirtBuiltins(registry);
    expect(registry.lookup(0x6b656570, 1, 3)?.specSource).toBe("user");
  });

  it("the built-in spec carries remote_error and virNetStreamHole", () => {
    const s = libvirtBuiltinSchema();
    const err = s.types.get("remote_error");
    expect(err?.kind === "struct" && err.fields.map((f) => f.name)).toEqual([
      "code", "domain", "message", "level", "dom", "str1", "str2", "str3", "int1", "int2", "net",
    ]);
    expect(s.types.get("virNetStreamHole")).toMatchObject({ kind: "struct", fields: [{ name: "length" }, { name: "flags" }] });
  });
});

describe("libvirt's .x conventions load without --define", () => {
  it("the fixture (%-lines, unsigned hyper, char arrays, VIR_* header constants, typed-param union) loads and binds", () => {
    const text = readFileSync(new URL("../../samples/libvirt/libvirt-fixture.x", import.meta.url), "utf8");
    const result = compileSchema([{ path: "libvirt-fixture.x", text }], { headerConstants: LIBVIRT_DEFINES });
    expect(result.errors.map((e) => e.message)).toEqual([]);
    const schema = result.schema!;
    expect(schema.constants.get("REMOTE_SECURITY_LABEL_MAX")).toBe(4097);
    expect(schema.types.get("remote_uuid")).toMatchObject({ kind: "opaque", fixed: 16 });
    const label = schema.types.get("remote_domain_get_security_label_ret");
    expect(label?.kind === "struct" && label.fields[0]!.type).toMatchObject({ kind: "array", max: 4097 });
    const union = schema.types.get("remote_typed_param_value");
    expect(union?.kind === "union" && [...union.arms.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const registry = new ProgramRegistry();
    registry.addSchema(schema, { source: "user" });
    const [remote] = bindLibvirtProcedures(schema, registry, { source: "user" });
    expect(remote).toMatchObject({ prog: 0x20008086, vers: 1, procedures: 36 });
    expect(registry.procedureName(0x20008086, 1, 16)).toBe("DOMAIN_GET_INFO");
    expect(registry.procedureName(0x20008086, 1, 318)).toBe("DOMAIN_EVENT_CALLBACK_LIFECYCLE");
  });

  it("virnetprotocol.x-style constructs: `unsigned` alone, enum-typed fields, fixed char arrays, %#if lines, a long procedure enum", () => {
    const members = Array.from({ length: 450 }, (_, i) => `    /**\n     * @generate: both\n     * @acl: domain:read\n     */\n    BIG_PROC_P${i + 1} = ${i + 1}`);
    const text = [
      "%#include \"internal.h\"",
      "%#ifdef HAVE_XDR_U_INT64_T",
      "%# define xdr_uint64_t xdr_u_int64_t",
      "%#endif",
      "enum virNetMessageType { VIR_NET_CALL = 0, VIR_NET_REPLY = 1, VIR_NET_MESSAGE = 2, VIR_NET_STREAM = 3,",
      "    VIR_NET_CALL_WITH_FDS = 4, VIR_NET_REPLY_WITH_FDS = 5, VIR_NET_STREAM_HOLE = 6 };",
      "enum virNetMessageStatus { VIR_NET_OK = 0, VIR_NET_ERROR = 1, VIR_NET_CONTINUE = 2 };",
      "struct virNetMessageHeader {",
      "    unsigned prog;              /* Unique ID for the program */",
      "    unsigned vers;",
      "    int proc;",
      "    virNetMessageType type;",
      "    unsigned serial;",
      "    virNetMessageStatus status;",
      "};",
      "struct big_node_get_info_ret { /* insert@1 */",
      "    char model[32];",
      "    unsigned hyper memory;",
      "    int          cpus;",
      "};",
      "const BIG_SECURITY_LABEL_LIST_MAX=64;",
      "const BIG_PROGRAM = 0x20009999;",
      "const BIG_PROTOCOL_VERSION = 1;",
      `enum big_procedure {\n${members.join(",\n\n")}\n};`,
    ].join("\n");
    const schema = loadSchema([{ path: "big.x", text }], { headerConstants: LIBVIRT_DEFINES });
    const header = schema.types.get("virNetMessageHeader");
    expect(header?.kind === "struct" && header.fields.map((f) => typeName(f.type))).toEqual(["uint", "uint", "int", "virNetMessageType", "uint", "virNetMessageStatus"]);
    const info = schema.types.get("big_node_get_info_ret");
    expect(info?.kind === "struct" && info.fields[0]!.type).toMatchObject({ kind: "array", fixed: 32 });
    const registry = new ProgramRegistry();
    expect(bindLibvirtProcedures(schema, registry, { source: "user" })).toMatchObject([{ procedures: 450, withArgs: 0 }]);
    expect(registry.procedureName(0x20009999, 1, 450)).toBe("P450");
  });

  it("pre-0.9.2 parameter unions switch on the scheduler, blkio and memory type names, which are shipped too", () => {
    const kinds = ["INT", "UINT", "LLONG", "ULLONG", "DOUBLE", "BOOLEAN"];
    const arms = ["int small;", "unsigned int count;", "hyper big;", "unsigned hyper bigger;", "double ratio;", "int flag;"];
    const union = (name: string, prefix: string): string =>
      `union ${name} switch (int type) {\n${kinds.map((k, i) => ` case ${prefix}${k}:\n     ${arms[i]}`).join("\n")}\n};`;
    const text = [
      union("old_sched_value", "VIR_DOMAIN_SCHED_FIELD_"),
      union("old_blkio_value", "VIR_DOMAIN_BLKIO_PARAM_"),
      union("old_memory_value", "VIR_DOMAIN_MEMORY_PARAM_"),
    ].join("\n");
    const result = compileSchema([{ path: "old.x", text }], { headerConstants: LIBVIRT_DEFINES });
    expect(result.errors.map((e) => e.located)).toEqual([]);
    for (const name of ["old_sched_value", "old_blkio_value", "old_memory_value"]) {
      const u = result.schema!.types.get(name);
      expect(u?.kind === "union" && [...u.arms.keys()]).toEqual([1, 2, 3, 4, 5, 6]);
    }
    // The same numbers as virTypedParameterType: libvirt-domain.h aliases one to the other.
    for (const k of kinds) {
      expect(LIBVIRT_DEFINES.get(`VIR_DOMAIN_SCHED_FIELD_${k}`)).toBe(LIBVIRT_DEFINES.get(`VIR_TYPED_PARAM_${k}`));
    }
  });

  it("a user's --define wins over the shipped constants", () => {
    const text = "typedef opaque a[VIR_UUID_BUFLEN];\ntypedef opaque b[MY_OWN];\ntypedef opaque c[VIR_TYPED_PARAM_STRING];";
    const schema = loadSchema([{ path: "d.x", text }], {
      defines: new Map([["VIR_UUID_BUFLEN", 20], ["MY_OWN", 3]]), headerConstants: LIBVIRT_DEFINES,
    });
    expect(["a", "b", "c"].map((n) => schema.types.get(n))).toEqual(
      [20, 3, 7].map((n) => ({ kind: "opaque", fixed: n, max: n })),
    );
  });

  it("without LIBVIRT_DEFINES the header constants are reported as undefined", () => {
    const result = compileSchema([{ path: "u.x", text: "typedef opaque remote_uuid[VIR_UUID_BUFLEN];" }]);
    expect(result.errors.map((e) => e.detail)).toEqual([expect.stringContaining("undefined constant 'VIR_UUID_BUFLEN'")]);
    expect(compileSchema([{ path: "u.x", text: "typedef opaque remote_uuid[VIR_UUID_BUFLEN];" }], { headerConstants: LIBVIRT_DEFINES }).errors).toEqual([]);
  });
});
