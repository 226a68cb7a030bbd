/** NfsContext on hand-built decoded trees: one table row per learning rule, plus bounds and hostile names. */
import { describe, expect, it } from "vitest";
import { formatFh, formatSize, NfsContext, type NfsContextOptions } from "../../dissect/nfs-context.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import type { AnalyzedMessage } from "../../ui/analyze.js";
import { MessageInfoContext, messageInfo } from "../../ui/message-info.js";
import type { Exchange, RpcMessage } from "../../dissect/rpc-types.js";
import {
  compoundArgs, compoundRes, diropargs, dirpath, enumv, fh, fh3, fhstatus, hyper, int, mountres3, objArgs,
  postOpFh, readdirplusRes, res3, str, struct, union, bool, type ArgOp, type ResOp,
} from "./trees.js";

const NFS = 100003;
const MOUNT = 100005;

/** Feeds a call and its reply; returns both texts. */
function exchange(ctx: NfsContext, prog: number, vers: number, proc: number, args: DecodedField | null, res: DecodedField | null): [string, string] {
  const pairing = {};
  const call = ctx.process({ kind: "call", prog, vers, proc, args, res: null, pairing });
  const reply = ctx.process({ kind: "reply", prog, vers, proc, args: null, res, pairing });
  return [call ?? "(null)", reply ?? "(null)"];
}

const mount = (ctx: NfsContext, path: string, handle: Uint8Array): [string, string] =>
  exchange(ctx, MOUNT, 3, 1, dirpath(path), mountres3(0, handle));
const lookup = (ctx: NfsContext, dir: Uint8Array, name: string, obj: Uint8Array | null, status = 0): [string, string] =>
  exchange(ctx, NFS, 3, 3, struct("body", diropargs("what", dir, name)),
    status === 0 ? res3(0, fh3("object", obj!)) : res3(status));
const getattr = (ctx: NfsContext, handle: Uint8Array): string => exchange(ctx, NFS, 3, 1, objArgs("object", handle), res3(0))[0];
const compound = (ctx: NfsContext, args: ArgOp[], res: ResOp[]): [string, string] =>
  exchange(ctx, NFS, 4, 1, compoundArgs(...args), compoundRes(...res));

function mounted(options: NfsContextOptions = {}): NfsContext {
  const ctx = new NfsContext(options);
  mount(ctx, "/srv/data", fh("root"));
  return ctx;
}

describe("MOUNT", () => {
  it("v3 MNT binds the dirpath to the root handle", () => {
    const ctx = new NfsContext();
    expect(mount(ctx, "/srv/data", fh("root"))).toEqual(["MNT /srv/data", "MNT /srv/data"]);
    expect(ctx.pathOf(fh("root"))).toBe("/srv/data");
    expect(getattr(ctx, fh("root"))).toBe("GETATTR /srv/data");
  });

  it("v1 MNT (fhstatus, RFC 1094) binds too", () => {
    const ctx = new NfsContext();
    exchange(ctx, MOUNT, 1, 1, dirpath("/old"), fhstatus(0, fh("v1root")));
    expect(ctx.pathOf(fh("v1root"))).toBe("/old");
  });

  it("a refused MNT learns nothing and shows the status", () => {
    const ctx = new NfsContext();
    expect(exchange(ctx, MOUNT, 3, 1, dirpath("/"), mountres3(13, null))).toEqual(["MNT /", "MNT / MNT3ERR_ACCES"]);
    expect(exchange(ctx, MOUNT, 1, 1, dirpath("/x"), fhstatus(13, null))[1]).toBe("MNT /x status 13");
    expect(ctx.handleCount).toBe(0);
  });

  it("UMNT shows its path; EXPORT and NULL have no text", () => {
    const ctx = new NfsContext();
    expect(exchange(ctx, MOUNT, 3, 3, dirpath("/srv"), null)).toEqual(["UMNT /srv", "UMNT /srv"]);
    expect(exchange(ctx, MOUNT, 3, 5, null, null)).toEqual(["", ""]);
  });
});

describe("NFSv3 learning rules", () => {
  it("LOOKUP: directory + name → object", () => {
    const ctx = mounted();
    expect(lookup(ctx, fh("root"), "dir", fh("dir"))).toEqual(['LOOKUP /srv/data "dir"', 'LOOKUP /srv/data "dir"']);
    lookup(ctx, fh("dir"), "file.txt", fh("file"));
    expect(ctx.pathOf(fh("file"))).toBe("/srv/data/dir/file.txt");
  });

  it("a failed LOOKUP learns nothing and shows NFS3ERR_NOENT", () => {
    const ctx = mounted();
    expect(lookup(ctx, fh("root"), "missing", null, 2)[1]).toBe('LOOKUP /srv/data "missing" NFS3ERR_NOENT');
    expect(ctx.handleCount).toBe(1);
  });

  it.each([
    [8, "CREATE", struct("body", diropargs("where", fh("root"), "new"), union("how", enumv("mode", 0, "UNCHECKED"), struct("obj_attributes")))],
    [9, "MKDIR", struct("body", diropargs("where", fh("root"), "new"), struct("attributes"))],
    [10, "SYMLINK", struct("body", diropargs("where", fh("root"), "new"), struct("symlink", struct("symlink_attributes"), str("symlink_data", "../target")))],
    [11, "MKNOD", struct("body", diropargs("where", fh("root"), "new"), union("what", enumv("type", 7, "NF3FIFO"), struct("pipe_attributes")))],
  ])("proc %i, %s: directory + name → the new handle of post_op_fh3", (proc, name, args) => {
    const ctx = mounted();
    const [call] = exchange(ctx, NFS, 3, proc, args, res3(0, postOpFh(fh("new"))));
    expect(call).toBe(proc === 10 ? `${name} /srv/data "new" → "../target"` : `${name} /srv/data "new"`);
    expect(ctx.pathOf(fh("new"))).toBe("/srv/data/new");
  });

  it("CREATE without a handle in the reply learns nothing", () => {
    const ctx = mounted();
    exchange(ctx, NFS, 3, 8, struct("body", diropargs("where", fh("root"), "new")), res3(0, postOpFh(null)));
    expect(ctx.pathOf(fh("new"))).toBeNull();
  });

  it("READDIRPLUS: every entry with a handle, but not . and ..", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "d", fh("d"));
    exchange(ctx, NFS, 3, 17, objArgs("dir", fh("d"), hyper("cookie", 0)), readdirplusRes([
      [".", fh("d")], ["..", fh("root")], ["a.txt", fh("a")], ["no-handle", null], ["sub", fh("sub")],
    ]));
    expect(ctx.pathOf(fh("a"))).toBe("/srv/data/d/a.txt");
    expect(ctx.pathOf(fh("sub"))).toBe("/srv/data/d/sub");
    // ".." did not make the root a child of d, "." did not make d its own child.
    expect(ctx.pathOf(fh("root"))).toBe("/srv/data");
    expect(ctx.pathOf(fh("d"))).toBe("/srv/data/d");
    expect(ctx.handleCount).toBe(4);
  });

  it("RENAME moves a handle, and what is below a renamed directory follows", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "old", fh("dir"));
    lookup(ctx, fh("dir"), "f", fh("f"));
    lookup(ctx, fh("root"), "other", fh("other"));
    const [call] = exchange(ctx, NFS, 3, 14,
      struct("body", diropargs("from", fh("root"), "old"), diropargs("to", fh("other"), "new")), res3(0));
    expect(call).toBe('RENAME /srv/data "old" → /srv/data/other "new"');
    expect(ctx.pathOf(fh("dir"))).toBe("/srv/data/other/new");
    expect(ctx.pathOf(fh("f"))).toBe("/srv/data/other/new/f");
  });

  it("a failed RENAME changes nothing", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "old", fh("x"));
    exchange(ctx, NFS, 3, 14, struct("body", diropargs("from", fh("root"), "old"), diropargs("to", fh("root"), "new")), res3(13));
    expect(ctx.pathOf(fh("x"))).toBe("/srv/data/old");
  });

  it("REMOVE: the name no longer leads to the handle, which keeps its path for display", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "gone", fh("gone"));
    exchange(ctx, NFS, 3, 12, struct("body", diropargs("object", fh("root"), "gone")), res3(0));
    expect(ctx.pathOf(fh("gone"))).toBe("/srv/data/gone");
    // A RENAME of the removed name finds nothing to move.
    exchange(ctx, NFS, 3, 14, struct("body", diropargs("from", fh("root"), "gone"), diropargs("to", fh("root"), "back")), res3(0));
    expect(ctx.pathOf(fh("gone"))).toBe("/srv/data/gone");
  });

  it("a handle learned again takes its new place", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "a", fh("x"));
    lookup(ctx, fh("root"), "b", fh("x"));
    expect(ctx.pathOf(fh("x"))).toBe("/srv/data/b");
    expect(ctx.handleCount).toBe(2);
  });

  it("handles that are prefixes of each other stay distinct", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "short", new Uint8Array([1, 2]));
    lookup(ctx, fh("root"), "long", new Uint8Array([1, 2, 0]));
    expect(ctx.pathOf(new Uint8Array([1, 2]))).toBe("/srv/data/short");
    expect(ctx.pathOf(new Uint8Array([1, 2, 0]))).toBe("/srv/data/long");
  });
});

describe("NFSv3 info texts", () => {
  const ctx = mounted();
  lookup(ctx, fh("root"), "file.txt", fh("file"));
  const p = "/srv/data/file.txt";
  it.each([
    ["READ", 6, objArgs("file", fh("file"), hyper("offset", 0), int("count", 4096)), `READ ${p} 4096@0`],
    ["WRITE", 7, objArgs("file", fh("file"), hyper("offset", 8192), int("count", 102400), enumv("stable", 0, "UNSTABLE")), `WRITE ${p} 100KiB@8192 UNSTABLE`],
    ["WRITE FILE_SYNC", 7, objArgs("file", fh("file"), hyper("offset", 0), int("count", 5), enumv("stable", 2, "FILE_SYNC")), `WRITE ${p} 5@0 FILE_SYNC`],
    ["COMMIT of all", 21, objArgs("file", fh("file"), hyper("offset", 0), int("count", 0)), `COMMIT ${p}`],
    ["COMMIT of a range", 21, objArgs("file", fh("file"), hyper("offset", 4096), int("count", 4096)), `COMMIT ${p} 4096@4096`],
    ["GETATTR", 1, objArgs("object", fh("file")), `GETATTR ${p}`],
    ["ACCESS", 4, objArgs("object", fh("file"), int("access", 0x1f)), `ACCESS ${p}`],
    ["SETATTR", 2, objArgs("object", fh("file"), struct("new_attributes",
      union("mode", bool("set_it", true), int("mode", 0o644)), union("uid", bool("set_it", false), null),
      union("gid", bool("set_it", false), null), union("size", bool("set_it", true), hyper("size", 0)),
      union("atime", enumv("set_it", 1, "SET_TO_SERVER_TIME"), null), union("mtime", enumv("set_it", 0, "DONT_CHANGE"), null))),
    `SETATTR ${p} mode=0644 size=0 atime=server`],
    ["READDIR at a cookie", 16, objArgs("dir", fh("root"), hyper("cookie", 7)), "READDIR /srv/data cookie=7"],
    ["an unknown handle", 1, objArgs("object", fh("stranger")), `GETATTR fh ${formatFh(fh("stranger"))}`],
    ["LINK", 15, struct("body", fh3("file", fh("file")), diropargs("link", fh("root"), "hard")), `LINK ${p} → /srv/data "hard"`],
    ["NULL", 0, struct("body"), ""],
  ])("%s", (_label, proc, args, text) => {
    expect(exchange(ctx, NFS, 3, proc, args, res3(0))[0]).toBe(text);
  });

  it("an error status number without a name is UNKNOWN(n)", () => {
    expect(exchange(ctx, NFS, 3, 1, objArgs("object", fh("file")), res3(12345))[1]).toBe(`GETATTR ${p} UNKNOWN(12345)`);
  });

  it("a reply without its call names the procedure and the status", () => {
    expect(ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 6, args: null, res: res3(70), pairing: {} })).toBe("READ NFS3ERR_STALE");
    expect(ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 6, args: null, res: res3(0), pairing: null })).toBe("READ");
  });

  it("a reply to a call whose RPC status failed (no results) repeats the call", () => {
    expect(exchange(ctx, NFS, 3, 1, objArgs("object", fh("file")), null)).toEqual([`GETATTR ${p}`, `GETATTR ${p}`]);
  });

  it("other programs are not the context's business", () => {
    expect(ctx.process({ kind: "call", prog: 100000, vers: 2, proc: 3, args: null, res: null, pairing: null })).toBeNull();
    expect(ctx.process({ kind: "call", prog: NFS, vers: 2, proc: 1, args: null, res: null, pairing: null })).toBeNull();
  });
});

describe("NFSv4 COMPOUND", () => {
  it("PUTROOTFH LOOKUP LOOKUP GETFH binds the handle to the absolute path", () => {
    const ctx = new NfsContext();
    const [call, reply] = compound(ctx, [["PUTROOTFH"], ["LOOKUP", "export"], ["LOOKUP", "sub"], ["GETFH"]],
      [["PUTROOTFH", 0], ["LOOKUP", 0], ["LOOKUP", 0], ["GETFH", 0, fh("sub")]]);
    expect(call).toBe('PUTROOTFH LOOKUP("export") LOOKUP("sub") GETFH');
    expect(reply).toBe(call);
    expect(ctx.pathOf(fh("sub"))).toBe("/export/sub");
    expect(compound(ctx, [["PUTFH", fh("sub")], ["READ", 4096, 0]], [["PUTFH", 0], ["READ", 0]])[0]).toBe("PUTFH(/export/sub) READ(4096@0)");
  });

  it("PUTFH + OPEN(name) + GETFH learns the opened file; WRITE shows its size", () => {
    const ctx = new NfsContext();
    compound(ctx, [["PUTROOTFH"], ["GETFH"]], [["PUTROOTFH", 0], ["GETFH", 0, fh("root4")]]);
    expect(ctx.pathOf(fh("root4"))).toBe("/");
    const [call] = compound(ctx, [["PUTFH", fh("root4")], ["OPEN", "new.txt", true], ["GETFH"]],
      [["PUTFH", 0], ["OPEN", 0], ["GETFH", 0, fh("new")]]);
    expect(call).toBe('PUTFH(/) OPEN(create "new.txt") GETFH');
    expect(ctx.pathOf(fh("new"))).toBe("/new.txt");
    expect(compound(ctx, [["PUTFH", fh("new")], ["WRITE", 3000, 0]], [["PUTFH", 0], ["WRITE", 0]])[0]).toBe("PUTFH(/new.txt) WRITE(3000@0)");
  });

  it("LOOKUPP climbs from a known handle; SAVEFH/RESTOREFH bring the saved one back", () => {
    const ctx = new NfsContext();
    compound(ctx, [["PUTROOTFH"], ["LOOKUP", "a"], ["GETFH"], ["LOOKUP", "b"], ["GETFH"]],
      [["PUTROOTFH", 0], ["LOOKUP", 0], ["GETFH", 0, fh("a")], ["LOOKUP", 0], ["GETFH", 0, fh("b")]]);
    compound(ctx, [["PUTFH", fh("b")], ["LOOKUPP"], ["LOOKUP", "c"], ["GETFH"]],
      [["PUTFH", 0], ["LOOKUPP", 0], ["LOOKUP", 0], ["GETFH", 0, fh("c")]]);
    expect(ctx.pathOf(fh("c"))).toBe("/a/c");
    compound(ctx, [["PUTFH", fh("a")], ["SAVEFH"], ["LOOKUP", "d"], ["RESTOREFH"], ["LOOKUP", "e"], ["GETFH"]],
      [["PUTFH", 0], ["SAVEFH", 0], ["LOOKUP", 0], ["RESTOREFH", 0], ["LOOKUP", 0], ["GETFH", 0, fh("e")]]);
    expect(ctx.pathOf(fh("e"))).toBe("/a/e");
  });

  it("evaluation stops at the first failing operation: a GETFH after it teaches nothing", () => {
    const ctx = new NfsContext();
    const [call, reply] = compound(ctx, [["PUTROOTFH"], ["LOOKUP", "missing"], ["GETFH"]], [["PUTROOTFH", 0], ["LOOKUP", 2]]);
    expect(call).toBe('PUTROOTFH LOOKUP("missing") GETFH');
    expect(reply).toBe('PUTROOTFH LOOKUP("missing") NFS4ERR_NOENT');
    expect(ctx.handleCount).toBe(0);
  });

  it("a result list that disagrees with the call stops learning", () => {
    const ctx = new NfsContext();
    compound(ctx, [["PUTROOTFH"], ["LOOKUP", "x"], ["GETFH"]], [["PUTROOTFH", 0], ["READ", 0], ["GETFH", 0, fh("x")]]);
    expect(ctx.pathOf(fh("x"))).toBeNull();
  });

  it("RENAME (saved = source dir, current = target dir) and REMOVE update names", () => {
    const ctx = new NfsContext();
    compound(ctx, [["PUTROOTFH"], ["GETFH"], ["LOOKUP", "f"], ["GETFH"]], [["PUTROOTFH", 0], ["GETFH", 0, fh("r")], ["LOOKUP", 0], ["GETFH", 0, fh("f")]]);
    compound(ctx, [["PUTROOTFH"], ["LOOKUP", "t"], ["GETFH"]], [["PUTROOTFH", 0], ["LOOKUP", 0], ["GETFH", 0, fh("t")]]);
    const [call] = compound(ctx, [["PUTFH", fh("r")], ["SAVEFH"], ["PUTFH", fh("t")], ["RENAME", "f", "g"]],
      [["PUTFH", 0], ["SAVEFH", 0], ["PUTFH", 0], ["RENAME", 0]]);
    expect(call).toBe('PUTFH(/) SAVEFH PUTFH(/t) RENAME("f" → "g")');
    expect(ctx.pathOf(fh("f"))).toBe("/t/g");
    compound(ctx, [["PUTFH", fh("t")], ["REMOVE", "g"]], [["PUTFH", 0], ["REMOVE", 0]]);
    // Removed: the name is gone (a rename of it moves nothing), the handle keeps its last path.
    compound(ctx, [["PUTFH", fh("t")], ["SAVEFH"], ["RENAME", "g", "h"]], [["PUTFH", 0], ["SAVEFH", 0], ["RENAME", 0]]);
    expect(ctx.pathOf(fh("f"))).toBe("/t/g");
  });

  it("unknown PUTFH handles show their hash; unnamed operation numbers show as op-N", () => {
    const ctx = new NfsContext();
    expect(compound(ctx, [["PUTFH", fh("?")], ["NOPE"]], [["PUTFH", 0], ["NOPE", 0]])[0]).toBe(`PUTFH(fh ${formatFh(fh("?"))}) op-999`);
  });

  it("long operation lists are cut at 32 with a count", () => {
    const ctx = new NfsContext();
    const ops: ArgOp[] = Array.from({ length: 40 }, () => ["GETATTR"] as const);
    const [call] = compound(ctx, ops, []);
    expect(call.split(" ").length).toBe(33);
    expect(call.endsWith("GETATTR …(+8)")).toBe(true);
  });

  it("CREATE makes the new object current", () => {
    const ctx = new NfsContext();
    compound(ctx, [["PUTROOTFH"], ["CREATE", "newdir"], ["GETFH"]], [["PUTROOTFH", 0], ["CREATE", 0], ["GETFH", 0, fh("nd")]]);
    expect(ctx.pathOf(fh("nd"))).toBe("/newdir");
  });
});

describe("bounds", () => {
  it("never holds more than maxHandles; a handle used every round survives, cold ones go (CLOCK)", () => {
    const ctx = mounted({ maxHandles: 100 });
    lookup(ctx, fh("root"), "hot", fh("hot"));
    let most = 0;
    for (let i = 0; i < 1000; i++) {
      lookup(ctx, fh("root"), `f${i}`, fh(`f${i}`));
      getattr(ctx, fh("hot"));
      most = Math.max(most, ctx.handleCount);
    }
    expect(most).toBe(100);
    expect(ctx.pathOf(fh("hot"))).toBe("/srv/data/hot");
    expect(ctx.pathOf(fh("root"))).toBe("/srv/data");
    expect(ctx.pathOf(fh("f999"))).toBe("/srv/data/f999");
    const early = Array.from({ length: 100 }, (_, i) => ctx.pathOf(fh(`f${i}`))).filter((p) => p !== null);
    expect(early).toEqual([]);
  });

  it("a child whose parent was forgotten shows the parent's hash, and finds the parent once relearned", () => {
    const ctx = mounted({ maxHandles: 2 });
    lookup(ctx, fh("root"), "d", fh("d"));
    getattr(ctx, fh("d")); // d and the root are used
    // A call in an unknown directory makes it a handle; the sweep clears both flags and drops the root.
    ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: struct("body", diropargs("what", fh("other"), "x")), res: null, pairing: {} });
    expect(ctx.handleCount).toBe(2);
    expect(ctx.pathOf(fh("root"))).toBeNull();
    expect(ctx.pathOf(fh("d"))).toBe(`fh ${formatFh(fh("root"))}/d`);
    mount(ctx, "/srv/data", fh("root")); // the root again, as a new entry: "other" (unused) goes
    expect(ctx.handleCount).toBe(2);
    expect(ctx.pathOf(fh("d"))).toBe("/srv/data/d");
  });

  it("a pending call's directory forgotten before the reply is brought back to bind the answer", () => {
    const ctx = mounted({ maxHandles: 2 });
    const pairing = {};
    ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: struct("body", diropargs("what", fh("root"), "late")), res: null, pairing });
    for (let i = 0; i < 5; i++) lookup(ctx, fh(`other${i}`), "x", fh(`x${i}`)); // pushes the root out
    expect(ctx.pathOf(fh("root"))).toBeNull();
    ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res: res3(0, fh3("object", fh("late"))), pairing });
    expect(ctx.pathOf(fh("late"))).toBe("/srv/data/late");
    expect(ctx.handleCount).toBeLessThanOrEqual(2);
  });

  it("holds at most maxPendingCalls calls: a reply to a dropped call teaches nothing", () => {
    const ctx = mounted({ maxPendingCalls: 2 });
    const first = {};
    ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: struct("body", diropargs("what", fh("root"), "x")), res: null, pairing: first });
    for (let i = 0; i < 2; i++) ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 1, args: objArgs("object", fh("root")), res: null, pairing: {} });
    expect(ctx.pendingCount).toBe(2);
    expect(ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res: res3(0, fh3("object", fh("x"))), pairing: first })).toBe("LOOKUP");
    expect(ctx.pathOf(fh("x"))).toBeNull();
  });

  it("many answered calls leave the pending order right (oldest unanswered call dropped first)", () => {
    const ctx = mounted({ maxPendingCalls: 2 });
    for (let i = 0; i < 10_000; i++) exchange(ctx, NFS, 3, 1, objArgs("object", fh("root")), res3(0));
    expect(ctx.pendingCount).toBe(0);
    const calls = [{}, {}, {}];
    calls.forEach((pairing, i) =>
      ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: struct("body", diropargs("what", fh("root"), `n${i}`)), res: null, pairing }));
    expect(ctx.pendingCount).toBe(2);
    const reply = (pairing: object, h: string): string | null =>
      ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res: res3(0, fh3("object", fh(h))), pairing });
    expect(reply(calls[0]!, "h0")).toBe("LOOKUP");
    expect(reply(calls[1]!, "h1")).toBe('LOOKUP /srv/data "n1"');
    expect(reply(calls[2]!, "h2")).toBe('LOOKUP /srv/data "n2"');
    expect(ctx.pathOf(fh("h0"))).toBeNull();
    expect(ctx.pathOf(fh("h2"))).toBe("/srv/data/n2");
  });

  it("replies take their call's facts away; a retransmitted call replaces them", () => {
    const ctx = mounted();
    const pairing = {};
    ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: struct("body", diropargs("what", fh("root"), "first")), res: null, pairing });
    ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: struct("body", diropargs("what", fh("root"), "again")), res: null, pairing });
    expect(ctx.pendingCount).toBe(1);
    ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res: res3(0, fh3("object", fh("x"))), pairing });
    expect(ctx.pendingCount).toBe(0);
    expect(ctx.pathOf(fh("x"))).toBe("/srv/data/again");
  });

  it("100k handles stay bounded and fast", () => {
    const ctx = mounted({ maxHandles: 50_000 });
    const inputs = Array.from({ length: 100_000 }, (_, i) => ({
      args: struct("body", diropargs("what", fh("root"), `f${i}`)), res: res3(0, fh3("object", fh(`n${i}`))),
    }));
    const t0 = process.cpuUsage().user;
    for (const { args, res } of inputs) {
      const pairing = {};
      ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args, res: null, pairing });
      ctx.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res, pairing });
    }
    const ms = (process.cpuUsage().user - t0) / 1000;
    expect(ctx.handleCount).toBe(50_000);
    expect(ctx.pathOf(fh("n99999"))).toBe("/srv/data/f99999");
    expect(ctx.pathOf(fh("n0"))).toBeNull();
    console.log(`[nfs] 100,000 LOOKUP exchanges into a 50,000-handle context: ${ms.toFixed(0)} ms CPU`);
  });
});

describe("hostile names and handles", () => {
  it("control characters stay raw in the text (escaping is the views' job)", () => {
    const ctx = mounted();
    const evil = "a\u001b[31mred\u0007\r\nb";
    lookup(ctx, fh("root"), evil, fh("evil"));
    expect(ctx.pathOf(fh("evil"))).toBe(`/srv/data/${evil}`);
    expect(getattr(ctx, fh("evil"))).toBe(`GETATTR /srv/data/${evil}`);
  });

  it("a very long name is capped; the path keeps its end", () => {
    const ctx = mounted({ maxPathLength: 64 });
    lookup(ctx, fh("root"), "x".repeat(5000), fh("long"));
    lookup(ctx, fh("long"), "tail.txt", fh("tail"));
    const p = ctx.pathOf(fh("tail"))!;
    expect(p.length).toBeLessThanOrEqual(64);
    expect(p.startsWith("…")).toBe(true);
    expect(p.endsWith("/tail.txt")).toBe(true);
    expect(lookup(ctx, fh("root"), "y".repeat(5000), fh("y"))[0].length).toBeLessThan(200);
  });

  it("deep chains are capped in length", () => {
    const ctx = mounted({ maxPathLength: 100 });
    let parent = fh("root");
    for (let i = 0; i < 1000; i++) {
      const next = fh(`deep${i}`);
      lookup(ctx, parent, `d${i}`, next);
      parent = next;
    }
    const p = ctx.pathOf(parent)!;
    expect(p.length).toBeLessThanOrEqual(100);
    expect(p.endsWith("/d999")).toBe(true);
  });

  it("a loop of handles (A in B, B in A) ends, capped", () => {
    const ctx = mounted({ maxPathLength: 80 });
    lookup(ctx, fh("root"), "A", fh("A"));
    lookup(ctx, fh("A"), "B", fh("B"));
    lookup(ctx, fh("B"), "A", fh("A")); // now A's parent is B and B's parent is A
    const p = ctx.pathOf(fh("A"))!;
    expect(p.length).toBeLessThanOrEqual(80);
    expect(p.startsWith("…")).toBe(true);
    expect(p.endsWith("/B/A")).toBe(true);
  });

  it("a handle named as its own child is not bound (no self loop)", () => {
    const ctx = mounted();
    lookup(ctx, fh("root"), "self", fh("root"));
    expect(ctx.pathOf(fh("root"))).toBe("/srv/data");
  });

  it("an empty handle, a handle over 512 bytes and shapes from another spec do not throw", () => {
    const ctx = mounted();
    expect(getattr(ctx, new Uint8Array(0))).toBe("GETATTR fh (empty)");
    const huge = new Uint8Array(4096).fill(7);
    lookup(ctx, fh("root"), "huge", huge);
    expect(ctx.pathOf(huge)).toBeNull();
    expect(getattr(ctx, huge)).toBe(`GETATTR fh ${formatFh(huge)}`);
    // A user spec with other field names: no path, no exception.
    expect(exchange(ctx, NFS, 3, 6, struct("body", str("whatever", "x")), str("res", "y"))).toEqual(["READ", "READ"]);
    expect(exchange(ctx, NFS, 4, 1, str("odd", "x"), int("odd", 1))).toEqual(["COMPOUND", "COMPOUND"]);
    expect(exchange(ctx, MOUNT, 3, 1, int("odd", 1), int("odd", 2))).toEqual(["MNT", "MNT"]);
  });
});

describe("formatSize", () => {
  it.each([
    [0, "0"], [4096, "4096"], [10239, "10239"], [10240, "10KiB"], [102400, "100KiB"], [262144, "256KiB"],
    [1536 * 1024, "1536KiB"], [10 * 1024 * 1024, "10MiB"], [15.5 * 1024 * 1024, "15.5MiB"], [0xffffffff, "4096.0MiB"],
  ])("%i → %s", (n, text) => {
    expect(formatSize(n)).toBe(text);
  });
});

describe("MessageInfoContext (ui)", () => {
  let seq = 0;
  function message(kind: "call" | "reply", ex: Exchange, prog: number, vers: number, proc: number): RpcMessage {
    const header = kind === "call"
      ? { kind, xid: ex.xid, rpcvers: 2, prog, vers, proc, cred: { kind: "none", flavor: 0, offset: 0, length: 0 }, verf: { kind: "none", flavor: 0, offset: 0, length: 0 }, bodyOffset: 0 } as const
      : { kind, xid: ex.xid, replyStat: "accepted", status: "SUCCESS", bodyOffset: 0 } as const;
    return {
      seq: seq++, protocol: "onc-rpc", frame: seq, frames: [seq], tsSec: 0, tsNsec: 0, transport: "tcp", connId: 1,
      src: "127.0.0.1", dst: "127.0.0.1", sport: 800, dport: 2049, length: 0, header, issues: [], exchange: ex,
    };
  }
  function pair(prog: number, vers: number, proc: number, args: DecodedField | null, res: DecodedField | null): [AnalyzedMessage, AnalyzedMessage] {
    const ex: Exchange = { id: seq, transport: "tcp", xid: seq, call: null, reply: null, retransmits: 0, rtt: null, issues: [] };
    const call = message("call", ex, prog, vers, proc);
    ex.call = call;
    const reply = message("reply", ex, prog, vers, proc);
    ex.reply = reply;
    return [
      { msg: call, time: 0, args, res: null, bodyIssues: [] },
      { msg: reply, time: 0, args: null, res, bodyIssues: [] },
    ];
  }

  it("gives NFS messages their paths, through the exchange of each reply", () => {
    const info = new MessageInfoContext();
    const [mc, mr] = pair(MOUNT, 3, 1, dirpath("/srv"), mountres3(0, fh("root")));
    expect([info.info(mc), info.info(mr)]).toEqual(["MNT /srv", "MNT /srv"]);
    const [lc, lr] = pair(NFS, 3, 3, struct("body", diropargs("what", fh("root"), "f")), res3(0, fh3("object", fh("f"))));
    info.info(lc);
    info.info(lr);
    const [rc, rr] = pair(NFS, 3, 6, objArgs("file", fh("f"), hyper("offset", 0), int("count", 1)), res3(2));
    expect([info.info(rc), info.info(rr)]).toEqual(["READ /srv/f 1@0", "READ /srv/f 1@0 NFS3ERR_NOENT"]);
    expect(info.nfs.pathOf(fh("f"))).toBe("/srv/f");
  });

  it("falls back to the stateless messageInfo for other programs", () => {
    const info = new MessageInfoContext();
    const args = struct("body", str("name", "x.txt"));
    const [c, r] = pair(100021, 4, 1, args, null);
    expect(info.info(c)).toBe(messageInfo(args, null));
    expect(info.info(c)).toBe('"x.txt"');
    expect(info.info(r)).toBe("");
  });

  it("a message without a header has no text", () => {
    const info = new MessageInfoContext();
    const [c] = pair(NFS, 3, 1, null, null);
    const broken = { ...c, msg: { ...c.msg, header: null } };
    expect(info.info(broken)).toBe("");
  });
});
