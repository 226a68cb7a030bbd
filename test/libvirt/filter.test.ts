/**
 * Display filters on libvirt messages of the real sample (libvirtd + virsh over
 * TCP), with the expected counts taken from Wireshark's libvirt plugin output on
 * the same packets; and on a capture holding both protocols, where a filter must
 * give the ONC-RPC messages exactly what it gives them alone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { analyzeCapture, type AnalyzedMessage } from "../../ui/analyze.js";
import { compileFilter } from "../../ui/filter/evaluate.js";
import type { FilterSubject, NameLookup } from "../../ui/filter/fields.js";
import { libvirtFilterSubject, type AnalyzedLibvirtMessage } from "../../ui/libvirt-format.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";
import { LIBVIRT_FIXTURE, LIBVIRT_SAMPLE, NFS_SAMPLE, writeMixedCapture, type MixedCapture } from "./mixed-capture.js";
import { REF, refFrames } from "./reference.js";

const REMOTE = 0x20008086;
const KEEPALIVE = 0x6b656570;

interface Analyzed {
  readonly rpc: AnalyzedMessage[];
  readonly libvirt: AnalyzedLibvirtMessage[];
}

let names: NameLookup;
let sample: Analyzed;

async function analyze(path: string): Promise<Analyzed> {
  const registry = await loadRegistry({ userSpecs: [LIBVIRT_FIXTURE], defines: new Map() });
  names = namesFor(registry);
  const rpc: AnalyzedMessage[] = [];
  const libvirt: AnalyzedLibvirtMessage[] = [];
  await analyzeCapture({ kind: "file", path }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
    message: (m) => rpc.push(m),
    libvirtMessage: (m) => libvirt.push(m),
  });
  return { rpc, libvirt };
}

function rpcSubject(m: AnalyzedMessage): FilterSubject {
  return { exchange: m.msg.exchange, message: m.msg, args: m.args, res: m.res, names };
}

/** Frames of the libvirt messages the filter selects (evaluated per message, as `summary` does). */
function libvirtFrames(filter: string, from: Analyzed = sample): number[] {
  const f = compileFilter(filter);
  return from.libvirt.filter((m) => f(libvirtFilterSubject(m, names))).map((m) => m.msg.frame);
}

function rpcFrames(filter: string, from: Analyzed): number[] {
  const f = compileFilter(filter);
  return from.rpc.filter((m) => f(rpcSubject(m))).map((m) => m.msg.frame);
}

beforeAll(async () => {
  sample = await analyze(LIBVIRT_SAMPLE);
  // The premise of every count below: the same 350 messages, frame for frame, as the reference.
  expect(sample.libvirt.map((m) => m.msg.frame)).toEqual(REF.map((m) => m.frame));
});

describe("libvirt fields against Wireshark's libvirt plugin", () => {
  const lookupByName = (m: { procName: string }) => m.procName === "DOMAIN_LOOKUP_BY_NAME";

  it.each([
    ["libvirt && proc == DOMAIN_LOOKUP_BY_NAME", lookupByName],
    ["proc == domain_lookup_by_name", lookupByName],
    ["proc == REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME", lookupByName],
    ["proc contains \"LOOKUP_BY\"", (m: { procName: string }) => m.procName.includes("LOOKUP_BY")],
    ["proc matches \"^CONNECT_(OPEN|CLOSE)$\"", (m: { procName: string }) => m.procName === "CONNECT_OPEN" || m.procName === "CONNECT_CLOSE"],
    ["libvirt.type == MESSAGE", (m: { type: number }) => m.type === 2],
    ["libvirt.type == 2", (m: { type: number }) => m.type === 2],
    ["kind == event", (m: { type: number }) => m.type === 2],
    ["kind == message", (m: { type: number }) => m.type === 2],
    ["libvirt.type == REPLY", (m: { type: number }) => m.type === 1],
    ["kind == call", (m: { type: number }) => m.type === 0],
    ["libvirt.type in {CALL, REPLY}", (m: { type: number }) => m.type === 0 || m.type === 1],
    ["libvirt.status == ERROR", (m: { status: number }) => m.status === 1],
    ["libvirt.status == 1", (m: { status: number }) => m.status === 1],
    ["libvirt.status == OK", (m: { status: number }) => m.status === 0],
    ["libvirt.serial == 5", (m: { serial: number }) => m.serial === 5],
    ["libvirt.serial >= 60", (m: { serial: number }) => m.serial >= 60],
    ["prog == remote", (m: { prog: number }) => m.prog === REMOTE],
    ["prog == libvirt", (m: { prog: number }) => m.prog === REMOTE],
    ["prog == keepalive", (m: { prog: number }) => m.prog === KEEPALIVE],
    ["prog == 0x6b656570", (m: { prog: number }) => m.prog === KEEPALIVE],
    ["prog == qemu", () => false],
    ["vers == 1", () => true],
    ["proc == 23", (m: { proc: number }) => m.proc === 23],
    ["libvirt", () => true],
    ["rpc", () => false],
    ["!rpc", () => true],
    ["transport == tcp", () => true],
  ] as const)("%s", (filter, pick) => {
    const expected = refFrames(pick as (m: (typeof REF)[number]) => boolean);
    expect(libvirtFrames(filter)).toEqual(expected);
  });

  it("DOMAIN_LOOKUP_BY_NAME: 14 messages (7 calls, 7 replies), as the plugin shows", () => {
    expect(libvirtFrames("libvirt && proc == DOMAIN_LOOKUP_BY_NAME")).toHaveLength(14);
    expect(libvirtFrames("proc == DOMAIN_LOOKUP_BY_NAME && kind == call")).toHaveLength(7);
  });

  it("the ERROR reply: libvirt.status selects it alone, status and error select it with its call", () => {
    const errorFrames = refFrames((m) => m.status === 1);
    expect(errorFrames).toEqual([161]);
    const err = REF.find((m) => m.status === 1)!;
    // Its call, found in the reference: the last CALL before it with the same serial and procedure.
    const callFrame = Math.max(...refFrames((m) => m.type === 0 && m.serial === err.serial && m.proc === err.proc && m.frame < err.frame));
    expect(libvirtFrames("libvirt.status == ERROR")).toEqual([err.frame]);
    expect(libvirtFrames("status == ERROR")).toEqual([callFrame, err.frame]);
    expect(libvirtFrames("error")).toEqual([callFrame, err.frame]);
    expect(libvirtFrames("status == ERROR && kind == call")).toEqual([callFrame]);
    expect(libvirtFrames("libvirt.status == ERROR && proc == DOMAIN_LOOKUP_BY_NAME")).toEqual([err.frame]);
    expect(libvirtFrames("frame == 161")).toEqual([161]);
  });

  it("an OK exchange is selected by status OK on both its lines, events by their own status", () => {
    const notError = libvirtFrames("!error");
    expect(notError).toHaveLength(REF.length - 2);
    expect(libvirtFrames("status == OK")).toEqual(notError);
  });

  it("bodies: the ERROR's remote_error in res, call arguments in args", () => {
    expect(libvirtFrames("libvirt.error contains \"not found\"")).toEqual([161]);
    expect(libvirtFrames("libvirt.error == \"Domain not found\"")).toEqual([161]);
    expect(libvirtFrames("libvirt.error == \"domain not found\"")).toEqual([]); // text compares exactly
    expect(libvirtFrames("res.message contains \"not found\"")).toEqual([161]);
    expect(libvirtFrames("res.code == 42 && res.domain == 12")).toEqual([161]); // VIR_ERR_NO_DOMAIN from VIR_FROM_TEST
    expect(libvirtFrames("args.name == \"no-such-domain\"")).toEqual([160]);
    expect(libvirtFrames("args.name == \"test\" && proc == DOMAIN_LOOKUP_BY_NAME").length).toBeGreaterThan(0);
    expect(libvirtFrames("res.dom.name == \"demo2\"")).toEqual(
      sample.libvirt.filter((m) => m.msg.header?.kind === "reply" && JSON.stringify(m.body?.body?.value ?? null, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v)).includes("\"demo2\"")).map((m) => m.msg.frame),
    );
    expect(libvirtFrames("len(args.name) == 14")).toEqual([160]);
    // Events carry their _msg body in args: six lifecycle events, four for "demo2"
    // (defined, started, stopped, undefined) and two for "test" (suspended, resumed).
    const events = refFrames((m) => m.type === 2 && m.prog === REMOTE);
    expect(events).toHaveLength(6);
    expect(libvirtFrames("args.msg.dom.name in {\"demo2\", \"test\"}")).toEqual(events);
    expect(libvirtFrames("args.msg.dom.name == \"test\"")).toEqual([250, 280]);
    expect(libvirtFrames("args.msg.event in {3, 4}")).toEqual([250, 280]);
    expect(libvirtFrames("kind == event && args.callbackID == 0")).toEqual(events);
  });

  it("ONC-RPC-only fields are false on libvirt messages, never an error", () => {
    for (const f of ["xid == 0", "xid > 0", "auth == none", "uid == 0", "gid == 0", "machine contains \"a\"", "op == READ", "retransmission"]) {
      expect(libvirtFrames(f), f).toEqual([]);
    }
    // != is !(==): true where the field is absent.
    expect(libvirtFrames("xid != 0")).toHaveLength(REF.length);
  });

  it("flags: nothing unmatched or malformed in the sample", () => {
    expect(libvirtFrames("unmatched")).toEqual([]);
    expect(libvirtFrames("malformed")).toEqual([]);
    expect(libvirtFrames("issue == unanswered")).toEqual([]);
  });

  it("rtt and size read the exchange and the message", () => {
    const withRtt = sample.libvirt.filter((m) => (m.msg.exchange?.rtt ?? 0) > 0.001).map((m) => m.msg.frame);
    expect(withRtt.length).toBeGreaterThan(0);
    expect(libvirtFrames("rtt > 1ms")).toEqual(withRtt);
    expect(libvirtFrames("size == 112")).toEqual(sample.libvirt.filter((m) => m.msg.length === 112).map((m) => m.msg.frame));
  });

  it("client and server: a call's sender, a reply's and an event's receiver, keepalive by the port", () => {
    const onConn = sample.libvirt.filter((m) => m.msg.sport === 52366 || m.msg.dport === 52366).map((m) => m.msg.frame);
    // virsh event's connection: 62 calls, 62 replies, 6 lifecycle events, keepalive PING and PONG.
    expect(onConn.length).toBe(62 + 62 + 6 + 2);
    expect(libvirtFrames("port == 52366")).toEqual(onConn);
    expect(libvirtFrames("client == 127.0.0.1:52366")).toEqual(onConn);
    expect(libvirtFrames("server == 127.0.0.1:52366")).toEqual([]);
    expect(libvirtFrames("server == 127.0.0.1:16509")).toHaveLength(REF.length);
    // PONG goes from the client to libvirtd: still the client's message.
    expect(libvirtFrames("proc == PONG && client == 127.0.0.1:52366")).toEqual([385]);
  });
});

describe("a capture with both protocols", () => {
  let mixed: MixedCapture;
  let both: Analyzed;
  let nfsAlone: Analyzed;

  beforeAll(async () => {
    mixed = await writeMixedCapture();
    both = await analyze(mixed.path);
    nfsAlone = await analyze(NFS_SAMPLE);
  });
  afterAll(() => mixed?.remove());

  it("holds every message of both samples", () => {
    expect(both.rpc.map((m) => m.msg.frame)).toEqual(nfsAlone.rpc.map((m) => m.msg.frame));
    expect(both.libvirt.map((m) => m.msg.frame)).toEqual(REF.map((m) => m.frame + mixed.nfsFrames));
  });

  it.each([
    "prog == nfs && proc == READ",
    "rtt > 1ms",
    "status == SUCCESS",
    "kind == call",
    "frame < 100 || proc == GETATTR",
    "rpc",
    "!libvirt",
    "error",
    "libvirt.status == OK",
    "xid > 0",
  ])("'%s' gives ONC-RPC messages what it gives them alone", (filter) => {
    expect(rpcFrames(filter, both)).toEqual(rpcFrames(filter, nfsAlone));
  });

  it("rpc and libvirt split the capture; a mixed filter picks from each side", () => {
    expect(rpcFrames("rpc", both)).toHaveLength(both.rpc.length);
    expect(libvirtFrames("rpc", both)).toEqual([]);
    expect(rpcFrames("libvirt", both)).toEqual([]);
    expect(libvirtFrames("libvirt", both)).toHaveLength(REF.length);
    const filter = "(libvirt && libvirt.status == ERROR) || (rpc && proc == READ)";
    expect(libvirtFrames(filter, both)).toEqual([161 + mixed.nfsFrames]);
    const reads = rpcFrames("proc == READ", nfsAlone);
    expect(reads.length).toBeGreaterThan(0);
    expect(rpcFrames(filter, both)).toEqual(reads);
  });
});
