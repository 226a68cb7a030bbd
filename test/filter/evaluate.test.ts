import { describe, expect, it } from "vitest";
import { compileFilter } from "../../ui/filter/evaluate.js";
import type { FilterSubject, NameLookup } from "../../ui/filter/fields.js";
import { bodyErrorName, findBodyStatus } from "../../ui/filter/fields.js";
import type { Auth } from "../../dissect/rpc-types.js";
import {
  authSys, broken, call, compoundArgs, compoundRes, d, entryList, exchange, lookupArgs, lookupRes, names, readRes,
  reply, subject,
} from "./fixtures.js";

const gss: Auth = { kind: "gss", flavor: 6, offset: 0, length: 0, version: 1, gssProc: 0, seqNum: 3, service: 1, body: new Uint8Array(0) };

// A: NFSv3 READ over TCP, AUTH_SYS, fast reply.
const callA = call(100003, 3, 6, { xid: 0xabc, frame: 10, length: 140, cred: authSys(1000, 100, "build-7", [10, 20]) });
const replyA = reply("SUCCESS", { xid: 0xabc, frame: 12, length: 4200 });
const exA = exchange(callA, replyA, { rtt: 0.0042 });
const argsA = d.struct("args", "READ3args", [
  d.struct("file", "nfs_fh3", [d.opaque("data", [1, 2, 3, 4])]),
  d.hyper("offset", 8192n),
  d.uint("count", 4096),
]);
const resA = readRes(4096, true);

// B: NFSv3 LOOKUP over UDP that fails with NFS3ERR_NOENT.
const callB = call(100003, 3, 3, {
  xid: 0x10, frame: 20, length: 120, transport: "udp", src: "10.0.0.6", sport: 900, cred: authSys(0, 0, "ws1"),
});
const replyB = reply("SUCCESS", { xid: 0x10, frame: 21, length: 100, transport: "udp", dst: "10.0.0.6", dport: 900 });
const exB = exchange(callB, replyB, { rtt: 0.0005 });
const argsB = lookupArgs("foo.txt");
const resB = lookupRes(2, "NFS3ERR_NOENT");

// C: MOUNT MNT over IPv6, never answered, retransmitted twice.
const callC = call(100005, 3, 1, { xid: 7, frame: 30, length: 80, src: "fe80::1", sport: 700, dst: "fe80::2", dport: 635 });
const exC = exchange(callC, null, { retransmits: 2, issues: [{ code: "unanswered", detail: "no reply" }] });
const argsC = d.struct("args", "dirpath", [d.string("dirpath", "/export")]);

// D: unknown program, PROG_UNAVAIL.
const callD = call(400000, 1, 2, { xid: 8, frame: 40, sport: 801, dst: "10.0.0.9", dport: 5000 });
const replyD = reply("PROG_UNAVAIL", { xid: 8, frame: 41, src: "10.0.0.9", sport: 5000, dport: 801 });
const exD = exchange(callD, replyD, { rtt: 0.002 });

// E: NFSv4 COMPOUND with RPCSEC_GSS.
const ops: [number, string][] = [[53, "OP_SEQUENCE"], [22, "OP_PUTFH"], [15, "OP_LOOKUP"], [10, "OP_GETFH"]];
const callE = call(100003, 4, 1, { xid: 9, frame: 50, src: "10.0.0.7", sport: 1023, cred: gss });
const replyE = reply("SUCCESS", { xid: 9, frame: 52, dst: "10.0.0.7", dport: 1023 });
const exE = exchange(callE, replyE, { rtt: 0.012 });
const argsE = compoundArgs(ops);
const resE = compoundRes(0, "NFS4_OK", ops);

// F: a reply without a call.
const replyF = reply("AUTH_ERROR", {
  xid: 11, frame: 60, length: 24, dst: "10.0.0.8", dport: 950, issues: [{ code: "unpaired-reply", detail: "no call" }],
});
const exF = exchange(null, replyF, { rtt: null });

// G: a message whose header could not be decoded, never matched.
const msgG = broken({ frame: 70, issues: [{ code: "malformed", detail: "truncated header" }] });

const SUBJECTS: Record<string, FilterSubject> = {
  A: subject(exA, null, argsA, resA),
  B: subject(exB, null, argsB, resB),
  C: subject(exC, null, argsC, null),
  D: subject(exD),
  E: subject(exE, null, argsE, resE),
  F: subject(exF),
  G: subject(null, msgG),
};

function matching(filter: string): string[] {
  const f = compileFilter(filter);
  return Object.entries(SUBJECTS).filter(([, s]) => f(s)).map(([k]) => k);
}

const ALL = ["A", "B", "C", "D", "E", "F", "G"];

describe("evaluation over exchanges (TUI mode)", () => {
  const table: [string, string[]][] = [
    // prog
    ["prog == nfs", ["A", "B", "E"]],
    ["prog == NFS_PROGRAM", ["A", "B", "E"]],
    ["prog == 100003", ["A", "B", "E"]],
    ["prog == 0x186a3", ["A", "B", "E"]],
    ["prog == mount", ["C"]],
    ["prog == MOUNT", ["C"]],
    ["prog == 400000", ["D"]],
    ["prog != nfs", ["C", "D", "F", "G"]],
    ["prog > 100003", ["C", "D"]],
    ["prog contains nfs", ["A", "B", "E"]],
    ["prog matches \"^MOUNT\"", ["C"]],
    ["prog in {nfs, mount}", ["A", "B", "C", "E"]],
    // vers
    ["vers == 3", ["A", "B", "C"]],
    ["vers >= 4", ["E"]],
    ["vers < 3", ["D"]],
    ["vers <= 1", ["D"]],
    // proc
    ["proc == READ", ["A"]],
    ["proc == nfsproc3_read", ["A"]],
    ["proc == 6", ["A"]],
    ["proc == LOOKUP || proc == MNT", ["B", "C"]],
    ["proc in {READ LOOKUP}", ["A", "B"]],
    ["proc == COMPOUND", ["E"]],
    ["proc == proc-2", ["D"]],
    ["proc == AD", []],
    ["proc contains read", ["A"]],
    ["proc < 2", ["C", "E"]],
    // xid
    ["xid == 0xabc", ["A"]],
    ["xid == 11", ["F"]],
    ["xid > 8", ["A", "B", "E", "F"]],
    // kind
    ["kind == call", ["A", "B", "C", "D", "E"]],
    ["kind == reply", ["A", "B", "D", "E", "F"]],
    ["kind == REPLY && !(kind == call)", ["F"]],
    ["kind matches \"^c\"", ["A", "B", "C", "D", "E"]],
    // status
    ["status == SUCCESS", ["A", "B", "E"]],
    ["status == NFS3ERR_NOENT", ["B"]],
    ["status == nfs3err_noent", ["B"]],
    ["status == 2", ["B"]],
    ["status > 0", ["B"]],
    ["status != SUCCESS", ["C", "D", "F", "G"]],
    ["status == PROG_UNAVAIL", ["D"]],
    ["status contains err", ["B", "F"]],
    ["status == NFS4_OK", ["E"]],
    ["status in {PROG_UNAVAIL, AUTH_ERROR}", ["D", "F"]],
    // auth
    ["auth == sys", ["A", "B"]],
    ["auth == unix", ["A", "B"]],
    ["auth == AUTH_SYS", ["A", "B"]],
    ["auth == none", ["C", "D"]],
    ["auth == gss", ["E"]],
    ["auth == RPCSEC_GSS", ["E"]],
    ["auth == 6", ["E"]],
    ["auth > 0", ["A", "B", "E"]],
    ["auth == tls", []],
    ["auth contains s", ["A", "B", "E"]],
    // uid, gid, machine
    ["uid == 0", ["B"]],
    ["uid >= 1000", ["A"]],
    ["gid == 20", ["A"]],
    ["gid == 100", ["A"]],
    ["gid == 0", ["B"]],
    ["gid != 0", ["A", "C", "D", "E", "F", "G"]],
    ["machine == \"build-7\"", ["A"]],
    ["machine == build-7", ["A"]],
    ["machine == BUILD-7", []],
    ["machine contains uild", ["A"]],
    ["machine matches \"^ws[0-9]$\"", ["B"]],
    ["machine matches \"(?i)^BUILD\"", ["A"]],
    ["machine != ws1", ["A", "C", "D", "E", "F", "G"]],
    // client, server, port
    ["client == 10.0.0.5", ["A", "D"]],
    ["client == 10.0.0.5:800", ["A"]],
    ["client == \"10.0.0.5:801\"", ["D"]],
    ["client == 10.0.0.8", ["F"]],
    ["client == fe80::1", ["C"]],
    ["client == [fe80::1]:700", ["C"]],
    ["client == [FE80::1]:700", ["C"]],
    ["client == [fe80::1]:701", []],
    ["server == 10.0.0.1:2049", ["A", "B", "E", "F"]],
    ["server == 10.0.0.1", ["A", "B", "E", "F"]],
    ["client contains 10.0.0", ["A", "B", "D", "E", "F"]],
    ["client contains :800", ["A"]],
    ["server matches \"^10\\.0\\.0\\.9$\"", ["D"]],
    ["server matches \":635$\"", ["C"]],
    ["server == 10.0.0.5", []],
    ["port == 2049", ["A", "B", "E", "F", "G"]],
    ["port == 635", ["C"]],
    ["port < 700", ["C"]],
    ["port in {900, 950}", ["B", "F"]],
    // rtt
    ["rtt > 5ms", ["E"]],
    ["rtt > 1ms", ["A", "D", "E"]],
    ["rtt < 1ms", ["B"]],
    ["rtt < 600us", ["B"]],
    ["rtt >= 12ms", ["E"]],
    ["rtt == 0.012", ["E"]],
    ["rtt > 0.01", ["E"]],
    ["rtt > 1s", []],
    ["rtt > 1000000ns", ["A", "D", "E"]],
    ["!(rtt > 0)", ["C", "F", "G"]],
    ["rtt != 0.012", ["A", "B", "C", "D", "F", "G"]],
    // size, frame
    ["size > 4k", ["A"]],
    ["size < 100", ["C", "F"]],
    ["size == 220", ["B"]],
    ["size > 1m", []],
    ["frame == 12", ["A"]],
    ["frame == 10", ["A"]],
    ["frame >= 60", ["F", "G"]],
    // transport
    ["transport == udp", ["B"]],
    ["transport == TCP", ["A", "C", "D", "E", "F", "G"]],
    ["transport == \"udp\"", ["B"]],
    // flags
    ["unmatched", ["C", "F", "G"]],
    ["!unmatched", ["A", "B", "D", "E"]],
    ["malformed", ["G"]],
    ["retransmission", ["C"]],
    ["error", ["B", "D", "F"]],
    ["!error", ["A", "C", "E", "G"]],
    ["not error and not unmatched", ["A", "E"]],
    // issue
    ["issue == unanswered", ["C"]],
    ["issue == unpaired-reply", ["F"]],
    ["issue == MALFORMED", ["G"]],
    ["issue contains un", ["C", "F"]],
    // op
    ["op == LOOKUP", ["E"]],
    ["op == OP_PUTFH", ["E"]],
    ["op == op_getfh", ["E"]],
    ["op == READ", []],
    ["op == 22", ["E"]],
    ["op != READ", ALL],
    ["op != LOOKUP", ["A", "B", "C", "D", "F", "G"]],
    ["op contains fh", ["E"]],
    ["op matches \"^OP_SEQ\"", ["E"]],
    ["op in {READ, SEQUENCE}", ["E"]],
    // args./res. paths
    ["args.what.name == \"foo.txt\"", ["B"]],
    ["args.what.name == foo.txt", ["B"]],
    ["args.what.name == \"FOO.txt\"", []],
    ["args.what.name != \"foo.txt\"", ["A", "C", "D", "E", "F", "G"]],
    ["args.what.name contains foo", ["B"]],
    ["args.what.name matches \"\\.txt$\"", ["B"]],
    ["args.name == foo.txt", []],
    ["args.count == 4096", ["A"]],
    ["args.count >= 4k", ["A"]],
    ["args.offset == 8192", ["A"]],
    ["args.offset > 0x1000", ["A"]],
    ["args.offset == 8k", ["A"]],
    ["args.offset < 8192", []],
    ["res.status == NFS3ERR_NOENT", ["B"]],
    ["res.status == 2", ["B"]],
    ["res == NFS3ERR_NOENT", ["B"]],
    ["res.status == NFS3_OK", ["A"]],
    ["res.count == 4096", ["A"]],
    ["res.resok.count == 4096", ["A"]],
    ["res.eof == true", ["A"]],
    ["res.eof == TRUE", ["A"]],
    ["res.eof == false", []],
    ["res.eof == 1", ["A"]],
    ["res.eof == \"true\"", []],
    ["res.status contains NOENT", ["B"]],
    ["res.status matches \"^NFS3ERR\"", ["B"]],
    ["args.argarray.argop == OP_LOOKUP", ["E"]],
    ["args.argarray.argop == 15", ["E"]],
    ["args.argarray.argop == OP_READ", []],
    ["args.argarray.oplookup.objname == etc", ["E"]],
    ["res.resarray.resop == OP_GETFH", ["E"]],
    ["res.status == NFS4_OK", ["E"]],
    ["args.file.data == \"\\x01\\x02\\x03\\x04\"", ["A"]],
    ["args.file.data contains \"\\x02\\x03\"", ["A"]],
    ["args.file.data contains \"\\x03\\x02\"", []],
    ["args.dirpath == \"/export\"", ["C"]],
    ["args.what", ["B"]],
    ["res.resfail", ["B"]],
    ["!res.resok", ["B", "C", "D", "E", "F", "G"]],
    ["args", ["A", "B", "C", "E"]],
    ["len(args.what.name) == 7", ["B"]],
    ["len(args.file.data) == 4", ["A"]],
    ["len(args.argarray) == 4", ["E"]],
    ["len(res.data) > 4000", ["A"]],
    ["len(args.dirpath) > 3", ["C"]],
    ["len(args.count) > 0", []],
    // combinations
    ["prog == nfs && (proc == READ || proc == LOOKUP) && rtt > 1ms", ["A"]],
    ["error || unmatched", ["B", "C", "D", "F", "G"]],
    ["!(error || unmatched) && transport == tcp", ["A", "E"]],
    ["vers == 3 && vers == 3 && vers == 3", ["A", "B", "C"]],
    ["vers == 1 || vers == 3 || vers == 4", ["A", "B", "C", "D", "E"]],
  ];
  it.each(table)("%s", (filter, expected) => {
    expect(matching(filter)).toEqual(expected);
  });
});

describe("evaluation per message (CLI mode)", () => {
  const callLine = subject(exA, callA, argsA, resA);
  const replyLine = subject(exA, replyA, argsA, resA);
  const table: [string, boolean, boolean][] = [
    // filter, on the call line, on the reply line
    ["kind == call", true, false],
    ["kind == reply", false, true],
    ["frame == 10", true, false],
    ["frame == 12", false, true],
    ["size == 140", true, false],
    ["size == 4200", false, true],
    ["rtt > 1ms", true, true],
    ["status == SUCCESS", true, true],
    ["prog == nfs && proc == READ", true, true],
    ["xid == 0xabc", true, true],
    ["client == 10.0.0.5:800", true, true],
    ["server == 10.0.0.1:2049", true, true],
    ["client == 10.0.0.1", false, false],
    ["transport == tcp", true, true],
    ["uid == 1000", true, true],
    ["unmatched", false, false],
  ];
  it.each(table)("%s", (filter, onCall, onReply) => {
    const f = compileFilter(filter);
    expect(f(callLine)).toBe(onCall);
    expect(f(replyLine)).toBe(onReply);
  });

  it("uses message.exchange when the subject has no exchange", () => {
    const f = compileFilter("rtt > 1ms && status == SUCCESS && !unmatched");
    expect(f(subject(null, callA))).toBe(true);
  });

  it("a header-less message has no kind, client or server, but has ports and frame", () => {
    const s = subject(null, msgG);
    expect(compileFilter("kind == call || kind == reply")(s)).toBe(false);
    expect(compileFilter("client == 10.0.0.5")(s)).toBe(false);
    expect(compileFilter("port == 800 && frame == 70 && size == 100")(s)).toBe(true);
    expect(compileFilter("malformed && unmatched")(s)).toBe(true);
  });

  it("a retransmitted call line carries the retransmission issue", () => {
    const c = call(100003, 3, 6, { issues: [{ code: "retransmission", detail: "same xid" }] });
    expect(compileFilter("retransmission")(subject(null, c))).toBe(true);
    expect(compileFilter("retransmission")(subject(null, call(100003, 3, 6)))).toBe(false);
  });
});

describe("decoded values", () => {
  const args = d.struct("args", "T", [
    d.hyper("big", 18446744073709551614n),
    d.float("ratio", 1.5),
    d.int("neg", -5),
    d.enum("mode", "mode_t", 7, null),
    d.bool("flag", false),
    d.void("nothing"),
    d.array("list", "int<>", [d.int("[0]", 1), d.int("[1]", 2), d.int("[2]", 3)]),
    d.optional("maybe", "int *", null),
    d.optional("some", "int *", d.int("*", 42)),
    d.struct("nested", "N", [d.array("rows", "R<>", [
      d.struct("[0]", "R", [d.string("k", "a")]),
      d.struct("[1]", "R", [d.string("k", "b")]),
    ])]),
  ]);
  const s = subject(null, null, args, null);
  const table: [string, boolean][] = [
    ["args.big == 18446744073709551614", true],
    ["args.big == 18446744073709551615", false],
    ["args.big < 0xffffffffffffffff", true],
    ["args.big > 1.5", true],
    ["args.ratio > 1", true],
    ["args.ratio == 1.5", true],
    ["args.neg == -5", true],
    ["args.neg < 0", true],
    ["args.mode == 7", true],
    ["args.mode == UNKNOWN", false],
    ["args.flag == false", true],
    ["args.flag == 0", true],
    ["args.nothing", true],
    ["args.nothing == 0", false],
    ["args.list == 2", true],
    ["args.list == 4", false],
    ["args.list > 2", true],
    ["args.list != 2", false],
    ["len(args.list) == 3", true],
    ["args.maybe", false],
    ["args.maybe == 0", false],
    ["args.some == 42", true],
    ["args.some", true],
    ["args.nested.rows.k == b", true],
    ["args.nested.rows.k == c", false],
    ["len(args.nested.rows) == 2", true],
    ["args.missing", false],
    ["args.missing != 1", true],
    ["res", false],
    ["res.x == 1", false],
  ];
  it.each(table)("%s", (filter, expected) => {
    expect(compileFilter(filter)(s)).toBe(expected);
  });

  it("finds a malformed node in a body", () => {
    const bad = d.struct("args", "T", [d.int("a", 1), d.array("l", "x<>", [d.malformed("[0]")])]);
    expect(compileFilter("malformed")(subject(null, call(1, 1, 1), bad))).toBe(true);
    expect(compileFilter("malformed")(subject(null, call(1, 1, 1), argsA))).toBe(false);
  });

  it("walks a long linked list without recursion", () => {
    const list = entryList(Array.from({ length: 20_000 }, (_, i) => `f${i}`));
    const res = d.struct("res", "dirlist3", [list]);
    const f = compileFilter("res.entries.nextentry.name == f1");
    expect(f(subject(null, null, null, res))).toBe(true);
    expect(compileFilter("res.entries.name == f0")(subject(null, null, null, res))).toBe(true);
    expect(compileFilter("malformed")(subject(null, null, null, res))).toBe(false);
  });
});

describe("names", () => {
  it("re-resolves program names when a different NameLookup is given", () => {
    const f = compileFilter("prog == special");
    const a: NameLookup = { ...names, programNumber: (n) => (n === "special" ? 100003 : undefined) };
    const b: NameLookup = { ...names, programNumber: (n) => (n === "special" ? 100005 : undefined) };
    expect(f({ ...SUBJECTS.A!, names: a })).toBe(true);
    expect(f({ ...SUBJECTS.A!, names: b })).toBe(false);
    expect(f({ ...SUBJECTS.C!, names: b })).toBe(true);
  });

  it("program name suffixes: PMAP_PROG is portmap, MOUNTPROG is mount", () => {
    const noNumbers: NameLookup = { ...names, programNumber: () => undefined };
    const pm = subject(exchange(call(100000, 2, 3), null));
    expect(compileFilter("prog == pmap")({ ...pm, names: noNumbers })).toBe(true);
    expect(compileFilter("prog == mount")({ ...SUBJECTS.C!, names: noNumbers })).toBe(true);
    expect(compileFilter("prog == nfs")({ ...SUBJECTS.A!, names: noNumbers })).toBe(true);
    expect(compileFilter("prog == nf")({ ...SUBJECTS.A!, names: noNumbers })).toBe(false);
  });
});

describe("needsBody and the compiled object", () => {
  const table: [string, boolean][] = [
    ["prog == nfs && rtt > 1ms", false],
    ["unmatched || retransmission", false],
    ["error", true],
    ["status == SUCCESS", true],
    ["malformed", true],
    ["op == READ", true],
    ["args.x == 1", true],
    ["len(res.data) > 1", true],
    ["!(vers == 3) || res", true],
  ];
  it.each(table)("%s", (filter, needsBody) => {
    expect(compileFilter(filter).needsBody).toBe(needsBody);
  });

  it("keeps the source and the canonical text", () => {
    const f = compileFilter("prog eq nfs and not error");
    expect(f.source).toBe("prog eq nfs and not error");
    expect(f.canonical).toBe("prog == nfs && !error");
    expect(typeof f).toBe("function");
  });
});

describe("body status helpers", () => {
  it("finds the status of union and struct results", () => {
    expect(findBodyStatus(resB)).toMatchObject({ name: "NFS3ERR_NOENT", value: 2 });
    expect(findBodyStatus(resE)).toMatchObject({ name: "NFS4_OK", value: 0 });
    expect(findBodyStatus(d.struct("res", "nlm4_res", [d.opaque("cookie", [1]), d.enum("stat", "nlm4_stats", 1, "NLM4_DENIED")])))
      .toMatchObject({ name: "NLM4_DENIED", value: 1 });
    expect(findBodyStatus(d.union("r", "U", d.enum("type", "ftype3", 2, "NF3DIR"), null))).toBeNull();
    expect(findBodyStatus(null)).toBeNull();
    expect(bodyErrorName(resB)).toBe("NFS3ERR_NOENT");
    expect(bodyErrorName(resA)).toBeNull();
    expect(bodyErrorName(d.union("r", "R", d.enum("status", "nfsstat3", 99, null), null))).toBe("UNKNOWN(99)");
  });
});
