/**
 * ProgramRegistry: lookups, names, user-over-built-in, decoding of call
 * arguments and reply results.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { displayProcedureName, ProgramRegistry } from "../../dissect/registry.js";
import type { RpcCall, RpcReply, RpcStatus } from "../../dissect/rpc-types.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { hex } from "./hex.js";
import { render } from "./render.js";

const DEMO = `
  struct pair { int a; int b; };
  program DEMO_PROG {
    version DEMO_V1 {
      void DEMOPROC_NULL(void) = 0;
      int DEMOPROC_ADD(pair) = 1;
      int DEMOPROC_ADD2(int, int) = 2;
      int DEMOPROC_NAMED(int left, string right) = 3;
      bool DEMOPROC_FLAG(void) = 4;
    } = 1;
  } = 0x20000123;
`;

function registry(): ProgramRegistry {
  const r = new ProgramRegistry();
  r.addSchema(loadSchema([{ path: "demo.x", text: DEMO }]), { source: "builtin" });
  return r;
}

const NONE = { kind: "none", flavor: 0, offset: 0, length: 0 } as const;

function call(prog: number, vers: number, proc: number, bodyOffset = 8): RpcCall {
  return { kind: "call", xid: 1, rpcvers: 2, prog, vers, proc, cred: NONE, verf: NONE, bodyOffset };
}
function reply(status: RpcStatus, bodyOffset = 8): RpcReply {
  return { kind: "reply", xid: 1, replyStat: "accepted", status, verf: NONE, bodyOffset };
}
/** 8 bytes standing in for an RPC header, then the body. */
function record(body: string): Uint8Array {
  const b = hex(body);
  const out = new Uint8Array(8 + b.length);
  out.set(b, 8);
  return out;
}

describe("names", () => {
  it("well-known programs have names without a spec", () => {
    const r = new ProgramRegistry();
    expect(r.programName(100000)).toBe("portmapper");
    expect(r.programDisplayName(100000)).toBe("Portmap");
    expect([r.programName(100003), r.programName(100005), r.programName(100021), r.programName(100024)])
      .toEqual(["nfs", "mountd", "nlockmgr", "status"]);
    expect(r.programName(0x20008086)).toBe("libvirt");
    expect(r.programName(424242)).toBeUndefined();
  });
  it("a spec names an unknown program after its program block", () => {
    const r = registry();
    expect(r.programName(0x20000123)).toBe("demo");
    expect(r.programDisplayName(0x20000123)).toBe("DEMO");
    expect(r.knownPrograms()).toContain(0x20000123);
    expect(r.knownPrograms()).toContain(100003);
  });
  it("procedure names: prefix stripped, unknown numbers readable", () => {
    const r = registry();
    expect(r.procedureName(0x20000123, 1, 1)).toBe("ADD");
    expect(r.procedureName(0x20000123, 1, 17)).toBe("proc-17");
    expect(r.procedureName(100003, 3, 0)).toBe("NULL");
    expect(r.procedureName(100003, 3, 6)).toBe("proc-6");
    expect(r.lookup(0x20000123, 1, 1)).toMatchObject({ name: "ADD", specName: "DEMOPROC_ADD", progName: "demo", prog: 0x20000123 });
  });
  it("strips the prefixes tshark strips", () => {
    const rows: [string, string, string][] = [
      ["NFSPROC3_GETATTR", "NFS_PROGRAM", "GETATTR"],
      ["PMAPPROC_GETPORT", "PMAP_PROG", "GETPORT"],
      ["RPCBPROC_GETADDR", "RPCBPROG", "GETADDR"],
      ["MOUNTPROC3_MNT", "MOUNT_PROGRAM", "MNT"],
      ["NFSPROC4_COMPOUND", "NFS4_PROGRAM", "COMPOUND"],
      ["SM_MON", "SM_PROG", "MON"],
      ["NLM4_LOCK", "NLM_PROG", "LOCK"],
      ["NLM_LOCK_MSG", "NLM_PROG", "LOCK_MSG"],
      ["KEY_ENCRYPT_PK", "KEY_PROG", "ENCRYPT_PK"],
      ["DES_CRYPT", "CRYPT_PROG", "DES_CRYPT"],
      ["getport", "X_PROG", "getport"],
    ];
    for (const [spec, prog, shown] of rows) expect(displayProcedureName(spec, prog)).toBe(shown);
  });
});

describe("built-in and user specs", () => {
  it("a user spec overrides a built-in one for the same (prog, vers), whatever the order", () => {
    const user = loadSchema([{ path: "user.x", text: "program DEMO_PROG { version V { hyper MYADD(hyper) = 1; } = 1; } = 0x20000123;" }]);
    for (const order of ["builtin-first", "user-first"]) {
      const r = new ProgramRegistry();
      const builtin = loadSchema([{ path: "demo.x", text: DEMO }]);
      if (order === "builtin-first") {
        r.addSchema(builtin, { source: "builtin" });
        r.addSchema(user, { source: "user" });
      } else {
        r.addSchema(user, { source: "user" });
        r.addSchema(builtin, { source: "builtin" });
      }
      expect(r.lookup(0x20000123, 1, 1)).toMatchObject({ specName: "MYADD", specSource: "user", result: { kind: "hyper" } });
      expect(r.lookup(0x20000123, 1, 2)).toBeUndefined();
    }
  });
  it("other versions of the program stay", () => {
    const r = registry();
    r.addSchema(loadSchema([{ path: "u.x", text: "program P { version V2 { void X(void) = 0; } = 2; } = 0x20000123;" }]), { source: "user" });
    expect(r.versionsOf(0x20000123)).toEqual([1, 2]);
    expect(r.lookup(0x20000123, 1, 1)?.specName).toBe("DEMOPROC_ADD");
  });
  it("addProcedures binds procedures without a program block (extension point)", () => {
    const r = new ProgramRegistry();
    r.addProcedures(
      [{ prog: 0x20008086, vers: 1, proc: 66, specName: "REMOTE_PROC_AUTH_LIST", args: [], result: { kind: "int" } }],
      { source: "builtin", programSpecName: "REMOTE_PROGRAM" },
    );
    expect(r.procedureName(0x20008086, 1, 66)).toBe("AUTH_LIST");
    expect(r.lookup(0x20008086, 1, 66)?.progName).toBe("libvirt");
  });
});

describe("decodeCall / decodeReply", () => {
  it("one argument decodes as itself, with absolute offsets", () => {
    const out = registry().decodeCall(call(0x20000123, 1, 1), record("0x00000002 // a\n0x00000003 // b"), DEFAULT_LIMITS);
    expect(out.def?.name).toBe("ADD");
    expect(render(out.args!)).toEqual(["args: pair @8+8 = {", "  a: int @8+4 = 2", "  b: int @12+4 = 3"]);
    expect([out.end, out.issues]).toEqual([16, []]);
  });
  it("several arguments form one node: arg1..argN, or the names the .x gave", () => {
    const r = registry();
    const two = r.decodeCall(call(0x20000123, 1, 2), record("0x00000002\n0x00000003"), DEFAULT_LIMITS);
    expect(render(two.args!)).toEqual(["args: (int, int) @8+8 = {", "  arg1: int @8+4 = 2", "  arg2: int @12+4 = 3"]);
    const named = r.decodeCall(call(0x20000123, 1, 3), record("0x00000007\n0x00000002\n6f 6b 00 00"), DEFAULT_LIMITS);
    expect(render(named.args!)).toEqual([
      "args: (int, string<>) @8+12 = {", "  left: int @8+4 = 7", '  right: string<> @12+8 = "ok"',
    ]);
  });
  it("void arguments", () => {
    const out = registry().decodeCall(call(0x20000123, 1, 0), record(""), DEFAULT_LIMITS);
    expect(out.args?.value).toEqual({ kind: "void" });
    expect(out.issues).toEqual([]);
  });
  it("trailing bytes after complete arguments are an issue at the end offset", () => {
    const out = registry().decodeCall(call(0x20000123, 1, 0), record("0xDEADBEEF"), DEFAULT_LIMITS);
    expect(out.issues).toEqual([{ code: "trailing-bytes", detail: "4 bytes after the arguments", offset: 8 }]);
  });
  it("a short body is a malformed issue; a truncated capture a truncated one", () => {
    const r = registry();
    const short = r.decodeCall(call(0x20000123, 1, 1), record("0x00000002"), DEFAULT_LIMITS);
    expect(short.issues).toEqual([{ code: "malformed", offset: 12, detail: "arguments: short at +12 (args.b): int needs 4 bytes, the message has 0 left" }]);
    const cut = r.decodeCall(call(0x20000123, 1, 1), record("0x00000002"), DEFAULT_LIMITS, 12);
    expect(cut.issues).toEqual([{ code: "truncated", offset: 12, detail: "arguments: truncated at +12 (args.b): int needs 4 bytes, only 0 captured" }]);
    expect(render(cut.args!)[1]).toBe("  a: int @8+4 = 2");
  });
  it("an unknown procedure is left undecoded and says so", () => {
    const out = registry().decodeCall(call(100003, 3, 1), record("0x00000001"), DEFAULT_LIMITS);
    expect(out.args).toBeNull();
    expect(out.issues).toEqual([{
      code: "body-undecoded", offset: 8,
      detail: "no specification for program 100003 version 3 procedure 1: 4 bytes of arguments not decoded",
    }]);
  });
  it("NULL (procedure 0) with an empty body needs no spec", () => {
    const r = registry();
    const out = r.decodeCall(call(100003, 3, 0), record(""), DEFAULT_LIMITS);
    expect([out.args?.value, out.issues]).toEqual([{ kind: "void" }, []]);
    const res = r.decodeReply(call(100003, 3, 0), reply("SUCCESS"), record(""), DEFAULT_LIMITS);
    expect([res.res?.value, res.issues]).toEqual([{ kind: "void" }, []]);
  });
  it("results decode only for SUCCESS replies", () => {
    const r = registry();
    const ok = r.decodeReply(call(0x20000123, 1, 4), reply("SUCCESS"), record("0x00000001 // TRUE"), DEFAULT_LIMITS);
    expect(render(ok.res!)).toEqual(["res: bool @8+4 = true"]);
    const denied = r.decodeReply(call(0x20000123, 1, 4), reply("PROC_UNAVAIL"), record(""), DEFAULT_LIMITS);
    expect([denied.res, denied.issues, denied.def?.name]).toEqual([null, [], "FLAG"]);
  });
});
