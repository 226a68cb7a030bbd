import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import {
  checkRecordStart, checkRpcHeader, isPlausibleProgram, isWellKnownRpcPort, MAX_HEADER_LOOKAHEAD,
  udpCallPlausible, udpReplyPlausible,
} from "../../dissect/rpc-heuristics.js";
import { tryDecodeRpcHeader } from "../../dissect/rpc-header.js";
import { ascii, authGss, authSys, call, concat, hex, record, reply, u32 } from "./helpers.js";

const MAX = DEFAULT_LIMITS.maxRecordBytes;

function text(s: string): Uint8Array {
  return Uint8Array.from(ascii(s));
}

/** Would any of the heuristics take these bytes for RPC (strictly, as on an unknown port)? */
function looksLikeRpc(b: Uint8Array): string | null {
  if (udpCallPlausible(b, 0, false)) return "udp call";
  if (udpReplyPlausible(b, 0)) return "udp reply";
  if (checkRecordStart(b, 0, b.length, MAX, true) === "yes") return "tcp record";
  return null;
}

// Payloads of other protocols, as they look on the wire.
const OTHER_PROTOCOLS: [string, Uint8Array][] = [
  ["HTTP request", text("GET /index.html HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")],
  ["HTTP response", text("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1256\r\n\r\n<!doctype html>")],
  ["DNS query (UDP)", hex(`
    0x1a2b0100 // id, flags RD
    0x00010000 // qdcount 1, ancount 0
    0x00000000 // nscount, arcount
    0x07657861 0x6d706c65 0x036f7267 0x00 0x0001 0x0001 // example.org A IN
  `)],
  ["DNS response (UDP)", hex(`
    0x1a2b8180 0x00010001 0x00000000
    0x07657861 0x6d706c65 0x036f7267 0x00 0x0001 0x0001
    0xc00c 0x0001 0x0001 0x00000e10 0x0004 0x5db8d822
  `)],
  ["DNS over TCP", hex(`
    0x001d1a2b // length 29, id
    0x01000001 // flags, qdcount
    0x00000000 // ancount, nscount
    0x0000 0x07657861 0x6d706c65 0x036f7267 0x00 0x0001 0x0001
  `)],
  ["TLS ClientHello", hex(`
    0x16030100 0xf8010000 0xf4030312 0x34567890 0xabcdef12 0x34567890 0xabcdef12 0x34567890
    0xabcdef12 0x34567890 0xabcd2000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
    0x00000000 0x00000000 0x00000000 0x00081301 0x13021303 0x00ff0100
  `)],
  ["SSH banner", text("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")],
  ["SMB1 over NetBIOS session", hex(`
    0x00000085 // NetBIOS session message, length 133
    0xff534d42 // \\xffSMB
    0x72000000 // NEGOTIATE, status
    0x00184353 0xc8000000 0x00000000 0x00000000 0x0000fffe 0x00000000 0x00620002
  `)],
  ["SMB2 over NetBIOS session", hex(`
    0x000000a0 // length 160
    0xfe534d42 // \\xfeSMB
    0x40000000 // header length 64, credit charge
    0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
    0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000
  `)],
  ["NetBIOS session request", hex(`0x81000044 0x20454545 0x46454645 0x46454645 0x46454645 0x46454645 0x46454643 0x41434143 0x41434141 0x41000020`)],
  ["NetBIOS keepalive", hex(`0x85000000`)],
  ["Kerberos over TCP", hex(`0x000000c8 0x6a8200c4 0x3082 0x00c0a103 0x020105a2 0x0302010a a3`)],
  ["NTP", hex(`0x230008ec 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0xe9f0a1b2 0x12345678`)],
  ["DHCP discover", hex(`0x01010600 0x3903f326 0x00000000 0x00000000 0x00000000 0x00000000 0x00000000 0x000c2912 0x3456 0x0000`)],
  ["all zeros", new Uint8Array(200)],
  ["all 0xff", new Uint8Array(200).fill(0xff)],
  ["zeros with a record mark", concat(Uint8Array.from(u32(0x8000_00c0)), new Uint8Array(192))],
];

describe("heuristics reject other protocols", () => {
  for (const [name, payload] of OTHER_PROTOCOLS) {
    it(`${name} is not RPC`, () => {
      expect(looksLikeRpc(payload)).toBe(null);
    });
  }

  it("a TCP record mark alone is not enough: the header after it must be plausible", () => {
    // A mark announcing 64 bytes, followed by an HTTP-ish body.
    const b = concat(Uint8Array.from(u32(0x8000_0040)), text("GET / HTTP/1.1\r\nHost: a\r\n".padEnd(64, "x")));
    expect(checkRecordStart(b, 0, b.length, MAX, true)).toBe("no");
    expect(checkRecordStart(b, 0, b.length, MAX, false)).toBe("no");
  });
});

describe("heuristics: random input (measured false-positive rate)", () => {
  it("100k random byte strings: none is taken for RPC, strictly or leniently", () => {
    let positives = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 256 }), (b) => {
        runs++;
        if (looksLikeRpc(b) !== null) positives++;
        if (udpCallPlausible(b, 0, true)) positives++;
        if (checkRecordStart(b, 0, b.length, MAX, false) === "yes") positives++;
      }),
      { numRuns: 100_000 },
    );
    expect(runs).toBe(100_000);
    expect(positives).toBe(0);
  });

  it("100k random bodies behind a real CALL/rpcvers-2 prefix: none passes the strict check", () => {
    let positives = 0;
    fc.assert(
      fc.property(fc.integer(), fc.uint8Array({ minLength: 0, maxLength: 200 }), (xid, rest) => {
        const b = concat(Uint8Array.from([...u32(xid >>> 0), ...u32(0), ...u32(2)]), rest);
        if (udpCallPlausible(b, 0, false)) positives++;
      }),
      { numRuns: 100_000 },
    );
    expect(positives).toBe(0);
  });
});

describe("heuristics accept real RPC", () => {
  const real: [string, Uint8Array][] = [
    ["rpcbind GETPORT call, AUTH_NONE", call({ xid: 0x6a2f0c11, prog: 100000, vers: 2, proc: 3, args: [...u32(100003), ...u32(3), ...u32(17), ...u32(0)] })],
    ["NFSv3 GETATTR, AUTH_SYS", call({ xid: 0x11, prog: 100003, vers: 3, proc: 1, cred: authSys("client.example", 1000, 1000, [1000, 4, 24]), args: [...u32(8), 1, 2, 3, 4, 5, 6, 7, 8] })],
    ["NFSv4 COMPOUND, RPCSEC_GSS", call({ xid: 0x22, prog: 100003, vers: 4, proc: 1, cred: authGss(0, 5, 2), verf: [...u32(6), ...u32(8), 1, 2, 3, 4, 5, 6, 7, 8] })],
    ["user-defined program", call({ xid: 0x33, prog: 0x20000099, vers: 1, proc: 4 })],
    ["NFSv4 callback (transient program)", call({ xid: 0x44, prog: 0x40000000, vers: 1, proc: 1, cred: authSys() })],
    ["AUTH_TLS probe", call({ xid: 0x55, prog: 100003, vers: 4, proc: 0, cred: [...u32(7), ...u32(0)] })],
  ];
  for (const [name, msg] of real) {
    it(`${name}: UDP call and TCP first record`, () => {
      expect(udpCallPlausible(msg, 0, false)).toBe(true);
      expect(checkRecordStart(record(msg), 0, record(msg).length, MAX, true)).toBe("yes");
      // Whatever passes the heuristics, the decoder can decode.
      expect(tryDecodeRpcHeader(msg).ok).toBe(true);
    });
  }

  it("replies: SUCCESS, PROG_MISMATCH, AUTH_ERROR, STARTTLS pass the strict reply check", () => {
    expect(udpReplyPlausible(reply(1, [0, 0, 0, 0]), 0)).toBe(true);
    expect(udpReplyPlausible(Uint8Array.from([...reply(1, [], 2), ...u32(2), ...u32(4)]), 0)).toBe(true);
    expect(udpReplyPlausible(hex(`0x00000001 0x00000001 0x00000001 0x00000001 0x00000005`), 0)).toBe(true);
    expect(udpReplyPlausible(reply(1, [], 0, [...u32(0), ...u32(8), ...ascii("STARTTLS")]), 0)).toBe(true);
    // …but not an AUTH_NONE verifier with any other body, nor a reversed mismatch range.
    expect(udpReplyPlausible(reply(1, [], 0, [...u32(0), ...u32(8), ...ascii("STARTTLX")]), 0)).toBe(false);
    expect(udpReplyPlausible(Uint8Array.from([...reply(1, [], 2), ...u32(4), ...u32(2)]), 0)).toBe(false);
  });

  it("rejects structurally broken credentials even when the prefix is right", () => {
    // AUTH_SYS whose gids run past the credential body.
    const bad = call({ xid: 1, cred: [...u32(1), ...u32(20), ...u32(0), ...u32(0), ...u32(0), ...u32(0), ...u32(3)] });
    expect(udpCallPlausible(bad, 0, false)).toBe(false);
    expect(udpCallPlausible(bad, 0, true)).toBe(false);
    // rpcvers 3 likewise: only on an RPC port (where the server's RPC_MISMATCH is expected).
    const v3 = call({ xid: 1 });
    v3[11] = 3;
    expect(udpCallPlausible(v3, 0, false)).toBe(false);
    expect(udpCallPlausible(v3, 0, true)).toBe(true);
    // An unknown program is refused on an unknown port, accepted on a well-known one.
    const odd = call({ xid: 1, prog: 7 });
    expect(udpCallPlausible(odd, 0, false)).toBe(false);
    expect(udpCallPlausible(odd, 0, true)).toBe(true);
  });

  it("a header cut by the snaplen is accepted only on a well-known port", () => {
    const msg = call({ xid: 9, cred: authSys("h", 0, 0, [0]) });
    const cut = msg.subarray(0, 30);
    expect(checkRpcHeader(cut, 0, cut.length, msg.length, true)).toBe("more");
    expect(udpCallPlausible(cut, msg.length - 30, true)).toBe(true);
    expect(udpCallPlausible(cut, msg.length - 30, false)).toBe(false);
  });

  it("reads no further than MAX_HEADER_LOOKAHEAD", () => {
    const msg = call({ xid: 1, cred: authGss(0, 1, 1, new Array<number>(380).fill(9)), verf: [...u32(6), ...u32(400), ...new Array<number>(400).fill(1)] });
    const rec = record(msg);
    expect(checkRecordStart(rec, 0, MAX_HEADER_LOOKAHEAD, MAX, true)).toBe("yes");
    expect(checkRecordStart(rec, 0, MAX_HEADER_LOOKAHEAD - 1, MAX, true)).toBe("more");
  });

  it("leniently accepted headers always decode (the heuristic never promises more than the decoder gives)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (which, edits) => {
        const bases = [
          call({ xid: 1, cred: authSys() }), call({ xid: 2, cred: authGss() }), reply(3, [1, 2, 3, 4]),
          Uint8Array.from([...reply(4, [], 2), ...u32(1), ...u32(2)]), hex(`0x1 0x1 0x1 0x1 0xd`.replace(/0x(\w+)/g, (_, d: string) => `0x${d.padStart(8, "0")}`)),
          call({ xid: 6, cred: [...u32(3), ...u32(8), ...u32(1), ...u32(9)] }),
        ];
        const b = bases[which]!.slice();
        for (const [at, v] of edits) b[at % b.length] = v;
        for (const strict of [true, false]) {
          if (checkRpcHeader(b, 0, b.length, b.length, strict) === "yes") expect(tryDecodeRpcHeader(b).ok).toBe(true);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it("knows the well-known ports and plausible program ranges", () => {
    expect([111, 2049, 20048, 4045].every(isWellKnownRpcPort)).toBe(true);
    expect(isWellKnownRpcPort(80)).toBe(false);
    expect(isPlausibleProgram(100003)).toBe(true);
    expect(isPlausibleProgram(0x20000000)).toBe(true);
    expect(isPlausibleProgram(0x5fffffff)).toBe(true);
    expect(isPlausibleProgram(0x60000000)).toBe(false);
    expect(isPlausibleProgram(0)).toBe(false);
    expect(isPlausibleProgram(12345)).toBe(false);
  });
});
