import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeRpcHeader, tryDecodeRpcHeader } from "../../dissect/rpc-header.js";
import { Malformed, formatPath } from "../../dissect/malformed.js";
import type { RpcCall, RpcReply } from "../../dissect/rpc-types.js";
import {
  acceptStatName, authFlavorName, authStatName, gssProcName, gssServiceName, rejectStatName,
} from "../../dissect/rpc-names.js";
import { authGss, authSys, call, hex, reply, u32 } from "./helpers.js";

function decodeCall(bytes: Uint8Array): RpcCall {
  const { header } = decodeRpcHeader(bytes);
  if (header.kind !== "call") throw new Error("not a call");
  return header;
}

function decodeReply(bytes: Uint8Array): RpcReply {
  const { header } = decodeRpcHeader(bytes);
  if (header.kind !== "reply") throw new Error("not a reply");
  return header;
}

function malformedOf(bytes: Uint8Array, declared?: number): Malformed {
  try {
    decodeRpcHeader(bytes, declared);
  } catch (err) {
    if (err instanceof Malformed) return err;
    throw err;
  }
  throw new Error("decoded without error");
}

const NFS_NULL_CALL = `
  0x12345678 // xid
  0x00000000 // CALL
  0x00000002 // rpcvers 2
  0x000186a3 // prog 100003 (nfs)
  0x00000003 // vers 3
  0x00000000 // proc 0 (NULL)
  0x00000000 // cred: AUTH_NONE
  0x00000000 //   length 0
  0x00000000 // verf: AUTH_NONE
  0x00000000 //   length 0
`;

const AUTH_SYS_CALL = `
  0x00000001 // xid
  0x00000000 // CALL
  0x00000002 // rpcvers
  0x000186a5 // prog 100005 (mountd)
  0x00000003 // vers 3
  0x00000001 // proc 1 (MNT)
  0x00000001 // cred: AUTH_SYS
  0x00000024 //   length 36
  0x5f3a1b2c //   stamp
  0x00000006 //   machinename length 6
  0x636c6965 //   "clie"
  0x6e740000 //   "nt" + padding
  0x000003e8 //   uid 1000
  0x00000064 //   gid 100
  0x00000002 //   gids: 2
  0x00000064 //     100
  0x0000000a //     10
  0x00000000 // verf: AUTH_NONE
  0x00000000 //   length 0
  0x00000004 // args: dirpath length 4
  0x2f657870 //   "/exp"
`;

describe("RPC call headers (RFC 5531 §9)", () => {
  it("decodes a NULL call with AUTH_NONE", () => {
    const h = decodeCall(hex(NFS_NULL_CALL));
    expect(h).toMatchObject({ xid: 0x12345678, rpcvers: 2, prog: 100003, vers: 3, proc: 0, bodyOffset: 40 });
    expect(h.cred).toEqual({ kind: "none", flavor: 0, offset: 24, length: 0 });
    expect(h.verf).toEqual({ kind: "none", flavor: 0, offset: 32, length: 0 });
  });

  it("decodes AUTH_SYS (RFC 5531 appendix A) and leaves the body offset at the arguments", () => {
    const h = decodeCall(hex(AUTH_SYS_CALL));
    expect(h.prog).toBe(100005);
    expect(h.cred).toEqual({
      kind: "sys", flavor: 1, offset: 24, length: 36, stamp: 0x5f3a1b2c, machinename: "client",
      uid: 1000, gid: 100, gids: [100, 10],
    });
    expect(h.bodyOffset).toBe(76);
  });

  it("decodes AUTH_SHORT as opaque bytes (copied, not a view)", () => {
    const bytes = hex(`
      0x00000002 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000001 // xid CALL rpcvers prog vers GETATTR
      0x00000002 // cred: AUTH_SHORT
      0x00000006 //   length 6
      0xdeadbeef //   handle
      0xcafe0000 //   handle + padding
      0x00000000 0x00000000 // verf: AUTH_NONE
    `);
    const h = decodeCall(bytes);
    expect(h.cred.kind).toBe("short");
    if (h.cred.kind !== "short") return;
    expect(Array.from(h.cred.body)).toEqual([0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe]);
    bytes.fill(0);
    expect(h.cred.body[0]).toBe(0xde);
    expect(h.bodyOffset).toBe(48);
  });

  it("decodes AUTH_DH fullname and nickname credentials (RFC 2695 §3.2)", () => {
    const full = decodeCall(hex(`
      0x00000003 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000003 // cred: AUTH_DH
      0x00000020 //   length 32
      0x00000000 //   namekind ADN_FULLNAME
      0x0000000a //   netname length 10
      0x756e6978 //   "unix"
      0x2e31406e //   ".1@n"
      0x69730000 //   "is" + padding
      0x01020304 //   key (des_block)
      0x05060708 //   key
      0x0a0b0c0d //   window
      0x00000003 // verf: AUTH_DH
      0x0000000c //   length 12
      0x11111111 0x22222222 0x33333333 // encrypted timestamp + window
    `));
    expect(full.cred).toMatchObject({ kind: "dh", namekind: "fullname", netname: "unix.1@nis", length: 32 });
    expect(full.verf).toMatchObject({ kind: "dh", length: 12 });
    expect(full.verf.kind === "dh" && full.verf.namekind).toBe(undefined);

    const nick = decodeCall(hex(`
      0x00000004 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000003 // cred: AUTH_DH
      0x00000008 //   length 8
      0x00000001 //   namekind ADN_NICKNAME
      0x00000042 //   nickname
      0x00000000 0x00000000 // verf: AUTH_NONE
    `));
    expect(nick.cred).toMatchObject({ kind: "dh", namekind: "nickname", nickname: 0x42 });
  });

  it("decodes an RPCSEC_GSS credential and keeps its verifier as a checksum (RFC 2203 §5)", () => {
    const h = decodeCall(hex(`
      0x00000005 0x00000000 0x00000002 0x000186a3 0x00000004 0x00000001 // NFSv4 COMPOUND
      0x00000006 // cred: RPCSEC_GSS
      0x00000018 //   length 24
      0x00000001 //   version 1
      0x00000000 //   gss_proc RPCSEC_GSS_DATA
      0x00000007 //   seq_num 7
      0x00000002 //   service rpc_gss_svc_integrity
      0x00000004 //   handle length 4
      0xaabbccdd //   handle
      0x00000006 // verf: RPCSEC_GSS
      0x00000008 //   length 8
      0x01020304 0x05060708 // MIC
    `));
    expect(h.cred).toMatchObject({ kind: "gss", version: 1, gssProc: 0, seqNum: 7, service: 2, length: 24 });
    if (h.cred.kind === "gss") expect(Array.from(h.cred.handle ?? [])).toEqual([0xaa, 0xbb, 0xcc, 0xdd]);
    expect(h.verf).toMatchObject({ kind: "gss", length: 8 });
    expect(h.verf.kind === "gss" && h.verf.version).toBe(undefined);
    expect(h.bodyOffset).toBe(72);
  });

  it("decodes RPCSEC_GSS version 2 and leaves an unknown version opaque", () => {
    const v2 = decodeCall(call({ xid: 1, cred: authGss(4, 9, 3) }).map((b, i) => (i === 35 ? 2 : b)));
    expect(v2.cred).toMatchObject({ kind: "gss", version: 2, gssProc: 4, seqNum: 9, service: 3 });
    const v9 = decodeCall(call({ xid: 1, cred: authGss() }).map((b, i) => (i === 35 ? 9 : b)));
    expect(v9.cred).toMatchObject({ kind: "gss", version: 9 });
    expect(v9.cred.kind === "gss" && v9.cred.gssProc).toBe(undefined);
  });

  it("decodes the AUTH_TLS probe (RFC 9289 §4.1)", () => {
    const h = decodeCall(hex(`
      0x00000006 0x00000000 0x00000002 0x000186a3 0x00000004 0x00000000 // NFSv4 NULL
      0x00000007 // cred: AUTH_TLS
      0x00000000 //   length 0
      0x00000000 0x00000000 // verf: AUTH_NONE
    `));
    expect(h.cred).toMatchObject({ kind: "tls", flavor: 7, length: 0 });
  });

  it("reads a call of another rpcvers with the version 2 layout (so its RPC_MISMATCH reply can pair)", () => {
    const h = decodeCall(hex(`
      0x00007004 // xid
      0x00000000 // CALL
      0x00000003 // rpcvers 3
      0x000186a0 0x00000002 0x00000000 // portmapper v2 NULL
      0x00000000 0x00000000 0x00000000 0x00000000
    `));
    expect(h).toMatchObject({ rpcvers: 3, prog: 100000, vers: 2, proc: 0, bodyOffset: 40 });
  });

  it("keeps unknown flavors as opaque", () => {
    const h = decodeCall(hex(`
      0x00000007 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000063 // cred: flavor 99
      0x00000003 //   length 3
      0x01020300 //   body + padding
      0x00000000 0x00000000
    `));
    expect(h.cred).toMatchObject({ kind: "opaque", flavor: 99, length: 3 });
    if (h.cred.kind === "opaque") expect(Array.from(h.cred.body)).toEqual([1, 2, 3]);
    expect(h.bodyOffset).toBe(44);
  });
});

describe("RPC reply headers", () => {
  const accepted = (stat: string, extra = "") => `
    0xabcdef01 // xid
    0x00000001 // REPLY
    0x00000000 // MSG_ACCEPTED
    0x00000000 // verf: AUTH_NONE
    0x00000000 //   length 0
    ${stat}
    ${extra}
  `;

  const cases: [string, string, Partial<RpcReply>][] = [
    ["SUCCESS", accepted("0x00000000 // SUCCESS", "0x00000000 // results"), { status: "SUCCESS", bodyOffset: 24 }],
    ["PROG_UNAVAIL", accepted("0x00000001 // PROG_UNAVAIL"), { status: "PROG_UNAVAIL", bodyOffset: 24 }],
    ["PROG_MISMATCH", accepted("0x00000002 // PROG_MISMATCH", "0x00000002 // low\n0x00000004 // high"),
      { status: "PROG_MISMATCH", mismatch: { low: 2, high: 4 }, bodyOffset: 32 }],
    ["PROC_UNAVAIL", accepted("0x00000003 // PROC_UNAVAIL"), { status: "PROC_UNAVAIL" }],
    ["GARBAGE_ARGS", accepted("0x00000004 // GARBAGE_ARGS"), { status: "GARBAGE_ARGS" }],
    ["SYSTEM_ERR", accepted("0x00000005 // SYSTEM_ERR"), { status: "SYSTEM_ERR" }],
    ["unknown accept_stat", accepted("0x00000009 // ?"), { status: "UNKNOWN_ACCEPT(9)", replyStat: "accepted" }],
    ["RPC_MISMATCH", `
      0xabcdef01 // xid
      0x00000001 // REPLY
      0x00000001 // MSG_DENIED
      0x00000000 // RPC_MISMATCH
      0x00000002 //   low
      0x00000002 //   high
    `, { status: "RPC_MISMATCH", replyStat: "denied", mismatch: { low: 2, high: 2 }, bodyOffset: 24 }],
    ["AUTH_ERROR", `
      0xabcdef01 // xid
      0x00000001 // REPLY
      0x00000001 // MSG_DENIED
      0x00000001 // AUTH_ERROR
      0x0000000d //   RPCSEC_GSS_CREDPROBLEM
    `, { status: "AUTH_ERROR", replyStat: "denied", authStat: 13, bodyOffset: 20 }],
    ["unknown reject_stat", `
      0xabcdef01 0x00000001 0x00000001 // xid REPLY MSG_DENIED
      0x00000005 // reject_stat 5
    `, { status: "UNKNOWN_REJECT(5)", replyStat: "denied" }],
  ];

  for (const [name, table, expected] of cases) {
    it(`decodes ${name}`, () => {
      const h = decodeReply(hex(table));
      expect(h.xid).toBe(0xabcdef01);
      expect(h).toMatchObject(expected);
      if (h.replyStat === "accepted") expect(h.verf).toEqual({ kind: "none", flavor: 0, offset: 12, length: 0 });
      else expect(h.verf).toBeUndefined();
    });
  }

  it("decodes the STARTTLS verifier as AUTH_NONE of length 8 (RFC 9289 §4.1)", () => {
    const h = decodeReply(hex(`
      0x00000006 0x00000001 0x00000000 // xid REPLY MSG_ACCEPTED
      0x00000000 // verf: AUTH_NONE
      0x00000008 //   length 8
      0x53544152 //   "STAR"
      0x54544c53 //   "TTLS"
      0x00000000 // SUCCESS
    `));
    expect(h.verf).toEqual({ kind: "none", flavor: 0, offset: 12, length: 8 });
    expect(h.bodyOffset).toBe(32);
  });
});

describe("malformed headers give a located Malformed", () => {
  const cases: [string, string, { code: string; offset: number; path: string }][] = [
    ["msg_type 2", `0x00000001 0x00000002`, { code: "invalid", offset: 4, path: "msg_type" }],
    ["cred over 400 bytes", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000001 // AUTH_SYS
      0x00000191 // length 401
    `, { code: "over-limit", offset: 28, path: "cred.length" }],
    ["verf over 400 bytes", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000000 0x00000000 // cred AUTH_NONE
      0x00000000 // verf AUTH_NONE
      0x000001f4 // length 500
    `, { code: "over-limit", offset: 36, path: "verf.length" }],
    ["machinename over 255", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000001 0x00000014 // AUTH_SYS, length 20
      0x00000000 // stamp
      0x00000100 // machinename length 256
      0x00000000 0x00000000 0x00000000
      0x00000000 0x00000000
    `, { code: "over-limit", offset: 36, path: "cred.machinename" }],
    ["machinename past the credential body", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000001 0x00000014 // AUTH_SYS, length 20
      0x00000000 // stamp
      0x00000010 // machinename length 16 > what the body has left
      0x00000000 0x00000000 0x00000000
      0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 // more record bytes
    `, { code: "short", offset: 40, path: "cred.machinename" }],
    ["17 gids", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000001 0x00000014 // AUTH_SYS, length 20
      0x00000000 // stamp
      0x00000000 // machinename ""
      0x00000000 // uid
      0x00000000 // gid
      0x00000011 // gids: 17
    `, { code: "over-limit", offset: 48, path: "cred.gids" }],
    ["gids past the credential body", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000001 0x00000014 // AUTH_SYS, length 20
      0x00000000 0x00000000 0x00000000 0x00000000 // stamp, "", uid, gid
      0x00000002 // gids: 2, but the body ends here
      0x00000000 0x00000000 // verf
    `, { code: "short", offset: 52, path: "cred.gids" }],
    ["DH namekind 5", `
      0x00000001 0x00000000 0x00000002 0x000186a3 0x00000003 0x00000000
      0x00000003 0x00000008 // AUTH_DH, length 8
      0x00000005 0x00000000 // namekind 5
      0x00000000 0x00000000
    `, { code: "invalid", offset: 32, path: "cred.namekind" }],
    ["reply_stat 2", `0x00000001 0x00000001 0x00000002`, { code: "invalid", offset: 8, path: "reply_stat" }],
  ];

  for (const [name, table, expected] of cases) {
    it(name, () => {
      const err = malformedOf(hex(table));
      expect(err.code).toBe(expected.code);
      expect(err.offset).toBe(expected.offset);
      expect(formatPath(err.path)).toBe(expected.path);
    });
  }

  it("tells truncated (past the capture) from short (past the message)", () => {
    const full = hex(AUTH_SYS_CALL);
    const cut = full.subarray(0, 50);
    expect(malformedOf(cut, full.length).code).toBe("truncated");
    expect(malformedOf(cut, 50).code).toBe("short");
    const header = decodeRpcHeader(full.subarray(0, 76), full.length);
    expect(header.truncatedAt).toBe(76);
    expect(decodeRpcHeader(full).truncatedAt).toBe(null);
  });

  it("tryDecodeRpcHeader returns the Malformed as a value", () => {
    const out = tryDecodeRpcHeader(hex(`0x00000001 0x00000007`));
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.code).toBe("invalid");
  });
});

describe("hostile input: prefixes and mutations", () => {
  const samples: Uint8Array[] = [
    hex(NFS_NULL_CALL), hex(AUTH_SYS_CALL),
    call({ xid: 9, cred: authGss(), verf: [...u32(6), ...u32(4), 1, 2, 3, 4] }),
    call({ xid: 10, cred: authSys("a-rather-long-machine-name.example.org", 0, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) }),
    reply(1, [0, 0, 0, 1]), Uint8Array.from([...reply(3, [], 2), ...u32(2), ...u32(3)]),
    hex(`0x00000001 0x00000001 0x00000001 0x00000001 0x0000000d`),
    hex(`0x00000001 0x00000001 0x00000001 0x00000000 0x00000002 0x00000002`),
  ];

  it("every strict prefix of a valid header gives a Malformed: short when declared so, truncated when cut", () => {
    for (const full of samples) {
      const headerEnd = decodeRpcHeader(full).header.bodyOffset;
      for (let n = 0; n < headerEnd; n++) {
        const prefix = full.slice(0, n);
        const asShort = malformedOf(prefix, n);
        expect(asShort.code, `prefix ${n} declared short`).toBe("short");
        const asCut = malformedOf(prefix, full.length);
        expect(asCut.code, `prefix ${n} cut by snaplen`).toBe("truncated");
        expect(asCut.offset).toBeLessThanOrEqual(n);
      }
    }
  });

  it("random mutations never raise anything but Malformed", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: samples.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        (which, edits, cutSeed) => {
          const bytes = samples[which]!.slice();
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const cut = bytes.subarray(0, cutSeed % (bytes.length + 1));
          const out = tryDecodeRpcHeader(cut, bytes.length);
          if (out.ok) expect(out.header.bodyOffset).toBeLessThanOrEqual(cut.length);
          else expect(out.error.offset).toBeLessThanOrEqual(cut.length);
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it("random bytes never raise anything but Malformed", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
        tryDecodeRpcHeader(bytes);
      }),
      { numRuns: 10_000 },
    );
  });
});

describe("names", () => {
  it("names the RFC 5531 and RFC 2203 numbers and falls back on unknown ones", () => {
    expect(acceptStatName(2)).toBe("PROG_MISMATCH");
    expect(acceptStatName(6)).toBe("UNKNOWN_ACCEPT(6)");
    expect(rejectStatName(1)).toBe("AUTH_ERROR");
    expect(rejectStatName(2)).toBe("UNKNOWN_REJECT(2)");
    expect(authStatName(5)).toBe("AUTH_TOOWEAK");
    expect(authStatName(13)).toBe("RPCSEC_GSS_CREDPROBLEM");
    expect(authStatName(14)).toBe("RPCSEC_GSS_CTXPROBLEM");
    expect(authStatName(15)).toBe("UNKNOWN_AUTH_STAT(15)");
    expect(authFlavorName(1)).toBe("AUTH_SYS");
    expect(authFlavorName(6)).toBe("RPCSEC_GSS");
    expect(authFlavorName(7)).toBe("AUTH_TLS");
    expect(authFlavorName(390004)).toBe("RPCSEC_GSS_KRB5I");
    expect(authFlavorName(12345)).toBe("AUTH_FLAVOR(12345)");
    expect(gssProcName(1)).toBe("RPCSEC_GSS_INIT");
    expect(gssProcName(9)).toBe("UNKNOWN_GSS_PROC(9)");
    expect(gssServiceName(3)).toBe("rpc_gss_svc_privacy");
    expect(gssServiceName(0)).toBe("UNKNOWN_GSS_SERVICE(0)");
  });
});
