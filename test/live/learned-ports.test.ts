/**
 * Ports learned from portmapper / rpcbind replies (dissect/learned-ports.ts and the
 * pipeline): a service on an odd port, with a program number the strict heuristic
 * rejects, is dissected once a GETPORT / GETADDR reply has handed its port out —
 * in a capture file as well as live — and not before.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MemorySink, PcapWriter } from "../../capture/capture-writer.js";
import { LinkType, type Frame } from "../../capture/frame.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { buildIpv4Udp, TcpConversation, wrapEthernet } from "../../capture/packet-builder.js";
import { LearnedPorts, portQueryOf, portsInReply, universalAddressPort } from "../../dissect/learned-ports.js";
import { tryDecodeRpcHeader } from "../../dissect/rpc-header.js";
import type { RpcCall, RpcReply } from "../../dissect/rpc-types.js";
import { analyzeCapture, type AnalyzedMessage } from "../../ui/analyze.js";
import { ascii, call, opaque, record, reply, u32 } from "../dissect/helpers.js";

const CLIENT = "127.0.0.1";
const SERVER = "127.0.0.1";
/** A program number the strict heuristic does not accept (not in any plausible range). */
const ODD_PROGRAM = 7;

function str(s: string): number[] {
  return opaque(ascii(s));
}

/** Packets (IP, no link header) of one scenario, in order. */
interface Scenario {
  readonly packets: Uint8Array[];
}

function udp(sport: number, dport: number, payload: Uint8Array, src = CLIENT, dst = SERVER): Uint8Array {
  return buildIpv4Udp({ src, dst, sport, dport, payload });
}

/** GETPORT (v2, UDP) for ODD_PROGRAM → port 40000; then a call and reply on udp/40000. */
function getportScenario(withPortmapper: boolean): Scenario {
  const packets: Uint8Array[] = [];
  if (withPortmapper) {
    packets.push(udp(900, 111, call({ xid: 1, prog: 100000, vers: 2, proc: 3, args: [...u32(ODD_PROGRAM), ...u32(1), ...u32(17), ...u32(0)] })));
    packets.push(udp(111, 900, reply(1, u32(40000)), SERVER, CLIENT));
  }
  packets.push(udp(901, 40000, call({ xid: 2, prog: ODD_PROGRAM, vers: 1, proc: 5, args: u32(42) })));
  packets.push(udp(40000, 901, reply(2, u32(43)), SERVER, CLIENT));
  return { packets };
}

/** GETADDR (v3, TCP, netid "tcp") for ODD_PROGRAM → "127.0.0.1.156.65" (40001); then a TCP connection to it. */
function getaddrScenario(withPortmapper: boolean, netid = "tcp"): Scenario {
  const packets: Uint8Array[] = [];
  if (withPortmapper) {
    const pm = new TcpConversation({ client: CLIENT, server: SERVER, clientPort: 902, serverPort: 111 });
    packets.push(...pm.handshake());
    const args = [...u32(ODD_PROGRAM), ...u32(1), ...str(netid), ...str(""), ...str("me")];
    packets.push(pm.send("client", record(call({ xid: 3, prog: 100000, vers: 3, proc: 3, args }))));
    packets.push(pm.send("server", record(reply(3, str("127.0.0.1.156.65")))));
    packets.push(...pm.close());
  }
  const svc = new TcpConversation({ client: CLIENT, server: SERVER, clientPort: 903, serverPort: 40001 });
  packets.push(...svc.handshake());
  packets.push(svc.send("client", record(call({ xid: 4, prog: ODD_PROGRAM, vers: 1, proc: 9, args: u32(1) }))));
  packets.push(svc.send("server", record(reply(4, u32(2)))));
  packets.push(...svc.close());
  return { packets };
}

function frames(packets: readonly Uint8Array[]): Frame[] {
  return packets.map((ip, i) => {
    const bytes = wrapEthernet(ip);
    return { no: i + 1, tsSec: 1_700_000_000 + i, tsNsec: 0, linkType: LinkType.ETHERNET, bytes, originalLength: bytes.length, fileOffset: -1, interfaceId: 0 };
  });
}

/** Directories of the captures written, removed when the tests are done. */
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function pcapFile(packets: readonly Uint8Array[]): string {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: LinkType.ETHERNET });
  for (const f of frames(packets)) w.writeFrame(f);
  w.flush();
  const dir = mkdtempSync(join(tmpdir(), "rpcscope-learned-"));
  made.push(dir);
  const path = join(dir, "capture.pcap");
  writeFileSync(path, sink.bytes());
  return path;
}

interface Seen {
  readonly port: number;
  readonly kind: "call" | "reply";
  readonly xid: number;
  readonly prog: number | null;
}

async function analyzeFile(path: string): Promise<Seen[]> {
  const seen: Seen[] = [];
  await analyzeCapture({ kind: "file", path }, { limits: DEFAULT_LIMITS, registry: null, decodeBodies: false }, {
    message(m: AnalyzedMessage) {
      const h = m.msg.header!;
      const prog = h.kind === "call" ? h.prog : m.msg.exchange?.call?.header?.kind === "call" ? m.msg.exchange.call.header.prog : null;
      seen.push({ port: h.kind === "call" ? m.msg.dport : m.msg.sport, kind: h.kind, xid: h.xid, prog });
    },
  });
  return seen;
}

async function analyzeLive(packets: readonly Uint8Array[]): Promise<Seen[]> {
  const seen: Seen[] = [];
  async function* batches(): AsyncGenerator<Frame[]> {
    // One frame per batch, with an empty batch (a clock tick) between, as a live capture gives them.
    for (const f of frames(packets)) {
      yield [f];
      yield [];
    }
  }
  let t = 1_700_000_000;
  await analyzeCapture({ kind: "stdin" }, {
    limits: DEFAULT_LIMITS, registry: null, decodeBodies: false, frames: batches(), now: () => ({ tsSec: t++, tsNsec: 0 }),
  }, {
    message(m) {
      const h = m.msg.header!;
      seen.push({ port: h.kind === "call" ? m.msg.dport : m.msg.sport, kind: h.kind, xid: h.xid, prog: h.kind === "call" ? h.prog : null });
    },
  });
  return seen;
}

describe("ports learned from portmapper replies", () => {
  it("without the portmapper exchange, the odd program on an odd port is not taken for RPC (control)", async () => {
    const seen = [...(await analyzeFile(pcapFile(getportScenario(false).packets))), ...(await analyzeFile(pcapFile(getaddrScenario(false).packets)))];
    expect(seen).toEqual([]);
  });

  it("a v2 GETPORT reply (UDP) makes udp/40000 an RPC port for later datagrams, in a file", async () => {
    const seen = await analyzeFile(pcapFile(getportScenario(true).packets));
    expect(seen.map((s) => `${s.kind} ${s.xid} ${s.port}`)).toEqual(["call 1 111", "reply 1 111", "call 2 40000", "reply 2 40000"]);
    expect(seen[3]!.prog).toBe(ODD_PROGRAM);
  });

  it("a v3 GETADDR reply (TCP, universal address) makes tcp/40001 an RPC port for a later connection", async () => {
    const seen = await analyzeFile(pcapFile(getaddrScenario(true).packets));
    expect(seen.map((s) => `${s.kind} ${s.xid} ${s.port}`)).toEqual(["call 3 111", "reply 3 111", "call 4 40001", "reply 4 40001"]);
  });

  it("what is learned is per transport: GETADDR for netid udp does not open tcp/40001", async () => {
    const seen = await analyzeFile(pcapFile(getaddrScenario(true, "udp").packets));
    expect(seen.map((s) => s.xid)).toEqual([3, 3]);
  });

  it("learns the same way from live batches with clock ticks between them", async () => {
    const seen = await analyzeLive([...getportScenario(true).packets, ...getaddrScenario(true).packets]);
    expect(seen.map((s) => s.xid)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
  });

  it("a port handed out by a GETPORT that failed (port 0) or by an error reply teaches nothing", async () => {
    const packets = [
      udp(900, 111, call({ xid: 1, prog: 100000, vers: 2, proc: 3, args: [...u32(ODD_PROGRAM), ...u32(1), ...u32(17), ...u32(0)] })),
      udp(111, 900, reply(1, u32(0)), SERVER, CLIENT),
      udp(904, 111, call({ xid: 5, prog: 100000, vers: 2, proc: 3, args: [...u32(ODD_PROGRAM), ...u32(1), ...u32(17), ...u32(0)] })),
      udp(111, 904, reply(5, u32(40000), 1 /* PROG_UNAVAIL */), SERVER, CLIENT),
      udp(901, 40000, call({ xid: 2, prog: ODD_PROGRAM, vers: 1, proc: 5 })),
    ];
    const seen = await analyzeFile(pcapFile(packets));
    expect(seen.map((s) => s.xid)).toEqual([1, 1, 5, 5]);
  });
});

describe("reading portmapper bodies", () => {
  function header<T extends "call" | "reply">(bytes: Uint8Array, kind: T): T extends "call" ? RpcCall : RpcReply {
    const out = tryDecodeRpcHeader(bytes, bytes.length);
    if (!out.ok || out.header.kind !== kind) throw new Error("test message did not decode");
    return out.header as T extends "call" ? RpcCall : RpcReply;
  }

  function learn(callBytes: Uint8Array, replyBytes: Uint8Array): string[] {
    const q = portQueryOf(header(callBytes, "call"), callBytes);
    if (!q) return [];
    const set = new LearnedPorts();
    for (const { mask, port } of portsInReply(q, header(replyBytes, "reply"), replyBytes)) set.add(mask, port);
    return set.list().map((p) => `${p.transport}/${p.port}`);
  }

  it("universal addresses: IPv4, IPv6, and things that are not one", () => {
    const at = (s: string) => universalAddressPort(Uint8Array.from(str(s)), 0, str(s).length);
    expect(at("127.0.0.1.0.111")).toBe(111);
    expect(at("10.1.2.3.8.1")).toBe(2049);
    expect(at("::1.156.64")).toBe(40000);
    expect(at("fe80::1:2.3.232")).toBe(1000);
    expect(at("")).toBe(0);
    expect(at("/run/rpcbind.sock")).toBe(0);
    expect(at("127.0.0.1.256.1")).toBe(0);
    expect(at("1.2.3.4.5")).toBe(0);
    expect(at("1.2.3.x.0.1")).toBe(0);
    // A length word pointing past the bytes.
    expect(universalAddressPort(Uint8Array.from([...u32(100), ...ascii("1.2.3.4.0.1")]), 0, 15)).toBe(0);
  });

  it("v2 DUMP: every tcp and udp mapping in the list", () => {
    const entry = (prog: number, prot: number, port: number) => [...u32(1), ...u32(prog), ...u32(2), ...u32(prot), ...u32(port)];
    const res = [...entry(100000, 6, 111), ...entry(100000, 17, 111), ...entry(100003, 6, 2049), ...entry(ODD_PROGRAM, 17, 45678), ...u32(0)];
    expect(learn(call({ xid: 9, prog: 100000, vers: 2, proc: 4 }), reply(9, res))).toEqual(["tcp/111", "udp/111", "tcp/2049", "udp/45678"]);
  });

  it("v4 GETADDRLIST: inet entries by their r_nc_proto, local ones skipped", () => {
    const entry = (maddr: string, netid: string, proto: string) => [
      ...u32(1), ...str(maddr), ...str(netid), ...u32(1), ...str(netid.endsWith("6") ? "inet6" : netid === "local" ? "loopback" : "inet"), ...str(proto),
    ];
    const res = [...entry("127.0.0.1.156.64", "tcp", "tcp"), ...entry("::1.156.65", "udp6", "udp"), ...entry("/run/x.sock", "local", "-"), ...u32(0)];
    const args = [...u32(ODD_PROGRAM), ...u32(1), ...str(""), ...str(""), ...str("")];
    expect(learn(call({ xid: 9, prog: 100000, vers: 4, proc: 11, args }), reply(9, res))).toEqual(["tcp/40000", "udp/40001"]);
  });

  it("v3 DUMP: rpcb entries by netid", () => {
    const entry = (netid: string, addr: string) => [...u32(1), ...u32(ODD_PROGRAM), ...u32(1), ...str(netid), ...str(addr), ...str("superuser")];
    const res = [...entry("tcp6", "::.3.232"), ...entry("udp", "0.0.0.0.3.233"), ...entry("local", "/run/rpcbind.sock"), ...u32(0)];
    expect(learn(call({ xid: 9, prog: 100000, vers: 3, proc: 4 }), reply(9, res))).toEqual(["tcp/1000", "udp/1001"]);
  });

  it("a cut list yields what came before the cut and never throws; every prefix is safe", () => {
    const entry = (port: number) => [...u32(1), ...u32(ODD_PROGRAM), ...u32(1), ...u32(6), ...u32(port)];
    const full = reply(9, [...entry(1001), ...entry(1002), ...u32(0)]);
    const c = call({ xid: 9, prog: 100000, vers: 2, proc: 4 });
    const q = portQueryOf(header(c, "call"), c)!;
    const h = header(full, "reply");
    for (let n = 0; n <= full.length; n++) {
      const ports = portsInReply(q, h, full.subarray(0, n)).map((p) => p.port);
      expect(ports.length).toBeLessThanOrEqual(2);
      if (n === full.length) expect(ports).toEqual([1001, 1002]);
    }
    // A GETADDR reply whose string length is absurd.
    const g = call({ xid: 9, prog: 100000, vers: 3, proc: 3, args: [...u32(1), ...u32(1), ...str("tcp"), ...str(""), ...str("")] });
    const bad = reply(9, [...u32(0xffffffff), ...ascii("1.2.3.4.0.1")]);
    expect(learn(g, bad)).toEqual([]);
  });

  it("calls that hand out no ports are not queries", () => {
    const c = call({ xid: 9, prog: 100000, vers: 2, proc: 1 /* SET */, args: [...u32(1), ...u32(1), ...u32(6), ...u32(1)] });
    expect(portQueryOf(header(c, "call"), c)).toBeNull();
    const nfs = call({ xid: 9, prog: 100003, vers: 3, proc: 3 });
    expect(portQueryOf(header(nfs, "call"), nfs)).toBeNull();
  });
});
