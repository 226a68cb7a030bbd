/**
 * Regression inputs found by the fuzzers (test/fuzz) and the hostile-input tests
 * (test/hostile), one test each. A test marked `it.fails` is a bug that is reported
 * but not fixed yet: when it is fixed the test starts passing, vitest reports that,
 * and the marker comes off.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withLimits } from "../../capture/limits.js";
import { FragmentReassembler } from "../../capture/ip-fragments.js";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import { forceGc, fuzzRegistry, runCapture } from "../fuzz/harness.js";

const CORPUS = import.meta.dirname;

describe("fuzz corpus", () => {
  // Found by test/fuzz/schema.test.ts ("constructed .x #5"): the resolve pass evaluated
  // each enum member by walking the enum from its first member, so an enum of n members
  // took O(n²): 2.7 s for 5,000 members under load. Fixed in dissect/xdr/resolve.ts
  // (enumMember starts after the nearest member already evaluated).
  it("enum-5000-members.x: an enum of 5,000 members resolves in linear time", () => {
    const text = readFileSync(join(CORPUS, "enum-5000-members.x"), "utf8");
    const t0 = performance.now();
    const r = compileSchema([{ path: "enum-5000-members.x", text }]);
    const ms = performance.now() - t0;
    expect(r.errors).toEqual([]);
    const big = r.schema!.types.get("big");
    expect(big?.kind).toBe("enum");
    if (big?.kind === "enum") {
      expect(big.names.size).toBe(5000);
      expect(big.names.get(4999)).toBe("M4999");
    }
    expect(r.schema!.constants.get("M4321")).toBe(4321);
    // Quadratic took ~1.5 s idle for this file; linear takes a few tens of ms.
    expect(ms).toBeLessThan(600);
  });

  // Found by test/hostile (samples/hostile/tcp-hole-resync.pcap, copied here): after a
  // TCP hole that took a record mark, the record marker resynchronises with the lenient
  // header check of well-known ports, which accepts a call with any rpcvers. Two bytes
  // into the damaged record it accepts mark 0x00380000 (a 3.6 MB fragment) over
  // xid 0x06520000, rpcvers 131073, and that phantom record swallows the rest of the
  // direction: call 0x653 is lost and its reply shown as unpaired. On a busy NFS
  // connection one loss can hide up to maxRecordBytes (16 MiB) of calls this way.
  // Fixed in dissect/rpc-pipeline.ts (OncRpcStream): when resynchronising on an RPC port,
  // a candidate call must carry rpcvers 2 (RFC 5531 §9).
  it("resync-phantom-record.pcap: resynchronisation after a hole does not land on a phantom record", async () => {
    const registry = await fuzzRegistry();
    const o = runCapture(new Uint8Array(readFileSync(join(CORPUS, "resync-phantom-record.pcap"))), { registry });
    const phantom = o.messages.filter((m) => m.msg.header?.kind === "call" && m.msg.header.rpcvers !== 2);
    expect(phantom.map((m) => m.msg.header?.xid.toString(16))).toEqual([]);
    // The call after the damaged one is recovered (before the fix it was swallowed).
    expect(o.messages.some((m) => m.msg.header?.xid === 0x653 && m.msg.header.kind === "call")).toBe(true);
  });

  // Regression: the scanner used to wait on an earlier, undecidable candidate in the
  // damaged bytes, so call 0x653 was found only when the stream ended, after its reply
  // had gone by as unpaired. A definite record start further on now wins. (Call 0x652
  // is truly lost: the hole took the first bytes of its record mark.)
  it("resync-phantom-record.pcap: the call after the hole pairs with its reply", async () => {
    const registry = await fuzzRegistry();
    const o = runCapture(new Uint8Array(readFileSync(join(CORPUS, "resync-phantom-record.pcap"))), { registry });
    const reply653 = o.messages.find((m) => m.msg.header?.xid === 0x653 && m.msg.header.kind === "reply");
    expect(reply653?.msg.issues).toEqual([]);
    expect(o.counts.answered).toBe(3);
    expect(o.counts.orphanReplies).toBe(1);
  });

  // Regression, found measuring peak RSS (test/hostile/peak-rss.test.ts): maxFragmentBytesTotal
  // counted payload bytes only, while each held 8-byte piece costs ~400 bytes of heap, so
  // 1,000,000 tiny fragments took 502 MiB. capture/ip-fragments.ts now charges each piece
  // its overhead and caps the pieces per datagram.
  // Input: 400,000 fragments of 8 bytes over 4,000 datagrams that never complete.
  it("tiny fragments: memory held stays within a small multiple of maxFragmentBytesTotal", () => {
    const limit = 1024 * 1024;
    const frag = new FragmentReassembler(withLimits({ maxFragmentBytesTotal: limit }), () => {});
    const piece = new Uint8Array(8);
    forceGc();
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 400_000; i++) {
      const d = i % 4000;
      frag.add(`10.1.${d >> 8}.${d & 255} > 10.2.0.1 proto 17 id ${d}`, (Math.floor(i / 4000) + 1) * 8, true, piece, i + 1, i * 1e-6, 17);
    }
    expect(frag.bytesHeld).toBeLessThanOrEqual(limit);
    forceGc();
    const grown = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(8 * limit);
  });
});
