/**
 * readNfs3CallFacts against the decoder it stands in for: on generated NFSv3 GETATTR,
 * ACCESS, READ, WRITE and COMMIT calls and on every cut, extension and corruption of
 * them, facts are given exactly when decoding with the built-in nfs3.x finds nothing
 * wrong, and then the info text made from the facts equals the one made from the
 * decoded arguments, with the same facts left for the reply.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits } from "../../capture/limits.js";
import { NfsContext } from "../../dissect/nfs-context.js";
import { isNfs3FactsProcedure, readNfs3CallFacts, readNfs3LookupCall, readNfs3LookupReply } from "../../dissect/nfs3-call-facts.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import { decodeRpcHeader } from "../../dissect/rpc-header.js";
import type { RpcCall, RpcReply } from "../../dissect/rpc-types.js";
import { MemorySink, PcapWriter } from "../../capture/capture-writer.js";
import { buildEthernetIpv4Udp } from "../../capture/packet-builder.js";
import { analyzeCapture, type AnalyzedMessage } from "../../ui/analyze.js";
import { CaptureIndex } from "../../ui/capture-index.js";
import { namesFor } from "../../ui/names.js";
import type { ExchangeRow } from "../../ui/tui/data-source.js";
import { runCli } from "../hostile/cli-run.js";
import { MessageInfoContext, nfs3FactsCall, nfs3ReplyFactsCall } from "../../ui/message-info.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { sampleCaptures } from "../sample-files.js";
import { builtinRegistry } from "./helpers.js";

const NFS = 100003;

class Words {
  private readonly parts: number[] = [];
  u32(v: number): this {
    this.parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }
  u64(v: bigint): this {
    return this.u32(Number(v >> 32n)).u32(Number(v & 0xffffffffn));
  }
  opaque(b: Uint8Array, padByte = 0): this {
    this.u32(b.length);
    this.parts.push(...b);
    for (let i = b.length; i % 4 !== 0; i++) this.parts.push(padByte);
    return this;
  }
  raw(b: number[]): this {
    this.parts.push(...b);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** An RPC call header (AUTH_NONE) for NFSv3 `proc`; the arguments follow. */
function callHeader(proc: number, xid: number): Words {
  return new Words().u32(xid).u32(0).u32(2).u32(NFS).u32(3).u32(proc).u32(0).u32(0).u32(0).u32(0);
}

function handle(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

interface Case {
  readonly proc: number;
  readonly record: Uint8Array;
}

/** Calls with handles of every length (up to past the limit), offsets on both sides of 2^53, every stable_how and beyond. */
function wellFormed(): Case[] {
  const out: Case[] = [];
  // Around 2^53: above it a Number would round (2^53 + 1, and one with low bits set high up).
  const offsets = [0n, 1n, 4096n, 0x1f_ffff_ffff_ffffn, 0x20_0000_0000_0000n, 0x20_0000_0000_0001n, 0x7f_ffff_ffff_fff3n, 0xffff_ffff_ffff_ffffn];
  let xid = 1;
  // 65 and 100: longer than NFS3_FHSIZE, which the decoder refuses.
  for (const fhLength of [0, 1, 3, 4, 28, 32, 63, 64, 65, 100]) {
    const fh = handle(fhLength, fhLength);
    out.push({ proc: 1, record: callHeader(1, xid++).opaque(fh).bytes() });
    out.push({ proc: 4, record: callHeader(4, xid++).opaque(fh).u32(0x1f).bytes() });
    for (const offset of offsets) {
      for (const count of [0, 1, 8192, 0xffff_ffff]) {
        out.push({ proc: 6, record: callHeader(6, xid++).opaque(fh).u64(offset).u32(count).bytes() });
        out.push({ proc: 21, record: callHeader(21, xid++).opaque(fh).u64(offset).u32(count).bytes() });
      }
      for (const stable of [0, 1, 2, 3, 0x7fff_ffff, 0xffff_ffff]) {
        for (const dataLength of [0, 1, 5, 16]) {
          out.push({
            proc: 7,
            record: callHeader(7, xid++).opaque(fh).u64(offset).u32(dataLength).u32(stable).opaque(handle(dataLength, 9)).bytes(),
          });
        }
      }
    }
  }
  return out;
}

/** Every way of spoiling a call: cut at each length, bytes appended, lengths and padding changed. */
function spoiled(c: Case): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = 40; n < c.record.length; n++) out.push(c.record.subarray(0, n));
  out.push(Uint8Array.from([...c.record, 0, 0, 0, 0]), Uint8Array.from([...c.record, 1]));
  // The handle's length word (right after the 40-byte header): too long, and beyond the record.
  for (const fhLength of [65, 0x7fff_ffff, 0xffff_fffc]) {
    const b = Uint8Array.from(c.record);
    new DataView(b.buffer).setUint32(40, fhLength);
    out.push(b);
  }
  // Non-zero padding and flipped words in the arguments.
  for (let at = 44; at < c.record.length; at += 4) {
    const b = Uint8Array.from(c.record);
    b[at] = b[at]! ^ 0x80;
    out.push(b);
  }
  return out;
}

function headerOf(record: Uint8Array): RpcCall {
  const h = decodeRpcHeader(record);
  if (!("header" in h) || h.header?.kind !== "call") throw new Error("test call header did not decode");
  return h.header;
}

describe("readNfs3CallFacts", () => {
  it("knows exactly GETATTR, ACCESS, READ, WRITE and COMMIT", () => {
    const known = Array.from({ length: 30 }, (_, p) => p).filter(isNfs3FactsProcedure);
    expect(known).toEqual([1, 4, 6, 7, 21]);
  });

  const limitsCases: readonly [string, Limits][] = [
    ["default limits", DEFAULT_LIMITS],
    ["maxXdrOpaqueBytes 8", { ...DEFAULT_LIMITS, maxXdrOpaqueBytes: 8 }],
    ["maxXdrFieldsPerBody 6", { ...DEFAULT_LIMITS, maxXdrFieldsPerBody: 6 }],
    ["maxXdrFieldsPerBody 7", { ...DEFAULT_LIMITS, maxXdrFieldsPerBody: 7 }],
    ["maxXdrDepth 1", { ...DEFAULT_LIMITS, maxXdrDepth: 1 }],
    ["maxXdrDepth 2", { ...DEFAULT_LIMITS, maxXdrDepth: 2 }],
  ];
  for (const [label, limits] of limitsCases) {
    it(`gives facts exactly when decoding is clean, and the same info text (${label})`, async () => {
      const registry = await builtinRegistry();
      let withFacts = 0;
      let without = 0;
      for (const c of wellFormed()) {
        for (const record of [c.record, ...spoiled(c)]) {
          let call: RpcCall;
          try {
            call = headerOf(record);
          } catch {
            continue; // the cut reached into the header
          }
          const decoded = registry.decodeCall(call, record, limits);
          const facts = readNfs3CallFacts(record, call.bodyOffset, c.proc, limits);
          const clean = decoded.issues.length === 0;
          if (facts === null) {
            // The decoder finds something; or, at a limit that lets it pass, facts stay on the safe side.
            if (clean) expect.soft(limits === DEFAULT_LIMITS, `no facts for a clean ${c.proc} call at default limits`).toBe(false);
            without++;
            continue;
          }
          expect(clean, `facts for a call the decoder finds wrong: ${decoded.issues.map((i) => i.detail).join("; ")}`).toBe(true);
          withFacts++;
          // The same text from both, and the same facts kept for the reply (seen in its text).
          const fromTree = new NfsContext();
          const fromFacts = new NfsContext();
          const pairTree = {};
          const pairFacts = {};
          const treeText = fromTree.process({ kind: "call", prog: NFS, vers: 3, proc: c.proc, args: decoded.args, res: null, pairing: pairTree });
          const factsText = fromFacts.processNfs3CallFacts(c.proc, facts, pairFacts);
          expect(factsText).toBe(treeText);
          const reply = { kind: "reply" as const, prog: NFS, vers: 3, proc: c.proc, args: null, res: null, bodyStatus: "NFS3ERR_IO" };
          expect(fromFacts.process({ ...reply, pairing: pairFacts })).toBe(fromTree.process({ ...reply, pairing: pairTree }));
        }
      }
      // Below the fields and depth WRITE3args needs, no facts at all (the decoder may still pass a GETATTR).
      if (limits.maxXdrFieldsPerBody >= 7 && limits.maxXdrDepth >= 2) expect(withFacts).toBeGreaterThan(1000);
      else expect(withFacts).toBe(0);
      expect(without).toBeGreaterThan(1000);
    });
  }

  it("gives no facts for the other procedures", () => {
    const record = callHeader(3, 1).opaque(handle(32, 1)).opaque(Uint8Array.from([0x61])).bytes();
    expect(readNfs3CallFacts(record, 40, 3, DEFAULT_LIMITS)).toBeNull();
  });

  it("names a handle known from a LOOKUP reply alike on both paths", async () => {
    const registry = await builtinRegistry();
    const dir = handle(32, 1);
    const file = handle(32, 2);
    const record = callHeader(6, 7).opaque(file).u64(8192n).u32(4096).bytes();
    const call = headerOf(record);
    // MNT teaches the export's root handle, LOOKUP the file's place below it.
    const mntCall = new Words().u32(1).u32(0).u32(2).u32(100005).u32(3).u32(1).u32(0).u32(0).u32(0).u32(0)
      .opaque(new TextEncoder().encode("/export")).bytes();
    const mntReply = replyHeader(1).u32(0).opaque(dir).u32(1).u32(1).bytes();
    const lookupCall = callHeader(3, 2).opaque(dir).opaque(new TextEncoder().encode("a.txt")).bytes();
    const lookupReply = replyHeader(2).u32(0).opaque(file).u32(0).u32(0).bytes();
    const texts = [false, true].map((useFacts) => {
      const ctx = new NfsContext();
      for (const [c, r] of [[mntCall, mntReply], [lookupCall, lookupReply]] as const) {
        const ch = headerOf(c);
        const pairing = {};
        ctx.process({ kind: "call", prog: ch.prog, vers: ch.vers, proc: ch.proc, args: registry.decodeCall(ch, c, DEFAULT_LIMITS).args, res: null, pairing });
        const rh = decodeRpcHeader(r);
        if (!("header" in rh) || rh.header?.kind !== "reply") throw new Error("test reply header did not decode");
        const res = registry.decodeReply(ch, rh.header, r, DEFAULT_LIMITS);
        expect(res.issues).toEqual([]);
        ctx.process({ kind: "reply", prog: ch.prog, vers: ch.vers, proc: ch.proc, args: null, res: res.res, pairing });
      }
      if (!useFacts) {
        return ctx.process({ kind: "call", prog: NFS, vers: 3, proc: 6, args: registry.decodeCall(call, record, DEFAULT_LIMITS).args, res: null, pairing: {} });
      }
      const facts = readNfs3CallFacts(record, call.bodyOffset, 6, DEFAULT_LIMITS);
      expect(facts).not.toBeNull();
      return ctx.processNfs3CallFacts(6, facts!, {});
    });
    expect(texts[0]).toBe("READ /export/a.txt 4096@8192");
    expect(texts[1]).toBe(texts[0]);
  });
});

describe("LOOKUP calls and replies as facts", () => {
  const enc = new TextEncoder();
  const names: Uint8Array[] = [
    enc.encode("a.txt"), enc.encode(""), enc.encode("dir/with/slash"), enc.encode("日本語.txt"),
    Uint8Array.from([0x66, 0xff, 0xfe, 0x67]), enc.encode("x".repeat(300)), enc.encode("."), enc.encode(".."),
    // Longer than the context's 1024-character cap on names.
    enc.encode("y".repeat(1100)),
  ];
  const fattr3 = (): Words => {
    const w = new Words().u32(1).u32(0o644).u32(1).u32(1000).u32(1000).u64(4096n).u64(4096n).u32(0).u32(0).u64(7n).u64(42n);
    return w.u32(1).u32(0).u32(2).u32(0).u32(3).u32(0);
  };

  function calls(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let xid = 1;
    // Lengths that need padding too: the name starts after the padded handle.
    for (const dirLength of [0, 1, 3, 4, 5, 28, 30, 32, 63, 64, 65]) {
      for (const name of names) out.push(callHeader(3, xid++).opaque(handle(dirLength, 1)).opaque(name).bytes());
    }
    return out;
  }

  /** Reply records (accepted, SUCCESS) with LOOKUP3res bodies of every shape. */
  function replies(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let xid = 1;
    const postOp = (w: Words, present: number): Words => (present === 1 ? fattr3().raw.call(w.u32(1), [...fattr3().bytes()]) : w.u32(present));
    for (const objLength of [0, 1, 3, 8, 30, 32, 64, 65]) {
      for (const a of [0, 1, 2]) {
        for (const b of [0, 1]) {
          out.push(postOp(postOp(replyHeader(xid++).u32(0).opaque(handle(objLength, 2)), a), b).bytes());
        }
      }
    }
    for (const status of [2, 13, 12345, -1]) {
      for (const a of [0, 1, 2]) out.push(postOp(replyHeader(xid++).u32(status >>> 0), a).bytes());
    }
    return out;
  }

  function variants(record: Uint8Array): Uint8Array[] {
    const out = [record, Uint8Array.from([...record, 0, 0, 0, 0])];
    for (let n = 24; n < record.length; n += record.length > 200 ? 7 : 1) out.push(record.subarray(0, n));
    for (let at = 24; at < record.length; at += 4) {
      const b = Uint8Array.from(record);
      b[at + 3] = b[at + 3]! ^ 0x02;
      out.push(b);
    }
    return out;
  }

  const lowLimits = [
    ["default limits", DEFAULT_LIMITS], ["maxXdrOpaqueBytes 16", { ...DEFAULT_LIMITS, maxXdrOpaqueBytes: 16 }],
    ["maxXdrFieldsPerBody 4", { ...DEFAULT_LIMITS, maxXdrFieldsPerBody: 4 }], ["maxXdrDepth 2", { ...DEFAULT_LIMITS, maxXdrDepth: 2 }],
  ] as const;
  for (const [label, limits] of lowLimits) it(`calls: facts exactly when decoding is clean, then the same text and the same pending facts (${label})`, async () => {
    const registry = await builtinRegistry();
    let withFacts = 0;
    for (const base of calls()) {
      for (const record of variants(base)) {
        let call: RpcCall;
        try {
          call = headerOf(record);
        } catch {
          continue;
        }
        if (call.proc !== 3) continue;
        const decoded = registry.decodeCall(call, record, limits);
        const facts = readNfs3LookupCall(record, call.bodyOffset, registry.argumentsTypeOf(call)!, limits);
        expect(facts !== null, `facts ${facts !== null}, issues ${decoded.issues.map((i) => i.detail).join("; ")}`).toBe(decoded.issues.length === 0);
        if (!facts) continue;
        withFacts++;
        const byTree = new NfsContext();
        const byFacts = new NfsContext();
        const [pt, pf] = [{}, {}];
        expect(byFacts.processNfs3LookupCall(facts, pf)).toBe(byTree.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args: decoded.args, res: null, pairing: pt }));
        // What the call left for its reply: a reply teaching a handle puts it at the same place.
        const reply = replyHeader(1).u32(0).opaque(handle(32, 9)).u32(0).u32(0).bytes();
        const res = registry.decodeReply(call, replyOf(reply), reply, DEFAULT_LIMITS).res;
        expect(byFacts.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res, pairing: pf }))
          .toBe(byTree.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res, pairing: pt }));
        expect(byFacts.pathOf(handle(32, 9))).toBe(byTree.pathOf(handle(32, 9)));
      }
    }
    // LOOKUP3args is five fields three deep: below that the decoder stops, and no facts are given.
    if (limits.maxXdrFieldsPerBody >= 5 && limits.maxXdrDepth >= 3) expect(withFacts).toBeGreaterThan(40);
    else expect(withFacts).toBe(0);
  });

  for (const [label, limits] of [["default limits", DEFAULT_LIMITS], ["maxXdrFieldsPerBody 20", { ...DEFAULT_LIMITS, maxXdrFieldsPerBody: 20 }], ["maxXdrDepth 3", { ...DEFAULT_LIMITS, maxXdrDepth: 3 }], ["maxXdrOpaqueBytes 16", { ...DEFAULT_LIMITS, maxXdrOpaqueBytes: 16 }]] as const) {
    it(`replies: facts exactly when decoding is clean, then the same text and the same learning (${label})`, async () => {
      const registry = await builtinRegistry();
      const dir = handle(32, 1);
      const lookupCall = callHeader(3, 1).opaque(dir).opaque(enc.encode("file.txt")).bytes();
      const call = headerOf(lookupCall);
      const args = registry.decodeCall(call, lookupCall, DEFAULT_LIMITS).args;
      let withFacts = 0;
      let without = 0;
      for (const base of replies()) {
        for (const record of variants(base)) {
          const outcome = decodeRpcHeader(record);
          if (!("header" in outcome) || outcome.header?.kind !== "reply" || outcome.header.status !== "SUCCESS") continue;
          const reply = outcome.header;
          const decoded = registry.decodeReply(call, reply, record, limits);
          const facts = readNfs3LookupReply(record, reply.bodyOffset, registry.resultTypeOf(call)!, limits);
          expect(facts !== null, `facts ${facts !== null}, issues ${decoded.issues.map((i) => i.detail).join("; ")}`).toBe(decoded.issues.length === 0);
          if (!facts) {
            without++;
            continue;
          }
          withFacts++;
          const byTree = new NfsContext();
          const byFacts = new NfsContext();
          const [pt, pf] = [{}, {}];
          // The directory placed first (as MNT would), so a learned file shows a path.
          for (const ctx of [byTree, byFacts]) {
            const pm = {};
            ctx.process({ kind: "call", prog: 100005, vers: 3, proc: 1, args: mntArgs(registry), res: null, pairing: pm });
            ctx.process({ kind: "reply", prog: 100005, vers: 3, proc: 1, args: null, res: mntRes(registry, dir), pairing: pm });
          }
          byTree.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args, res: null, pairing: pt });
          byFacts.process({ kind: "call", prog: NFS, vers: 3, proc: 3, args, res: null, pairing: pf });
          expect(byFacts.processNfs3LookupReply(facts, pf))
            .toBe(byTree.process({ kind: "reply", prog: NFS, vers: 3, proc: 3, args: null, res: decoded.res, pairing: pt }));
          if (facts.object) expect(byFacts.pathOf(facts.object)).toBe(byTree.pathOf(facts.object));
        }
      }
      expect(withFacts).toBeGreaterThan(10);
      expect(without).toBeGreaterThan(100);
    });
  }
});

describe("LOOKUP replies as facts: pairing, names that teach nothing, RPC errors", () => {
  const enc = new TextEncoder();
  /** The texts of a sequence of LOOKUP calls and replies, replies read as facts or decoded. */
  async function run(steps: readonly (["call", object, string, Uint8Array] | ["reply", object, Uint8Array])[], useFacts: boolean): Promise<string[]> {
    const registry = await builtinRegistry();
    const ctx = new MessageInfoContext();
    const out: string[] = [];
    let lastCall: RpcCall | null = null;
    for (const step of steps) {
      if (step[0] === "call") {
        const record = callHeader(3, 1).opaque(step[3]).opaque(enc.encode(step[2])).bytes();
        const call = headerOf(record);
        lastCall = call;
        const d = registry.decodeCall(call, record, DEFAULT_LIMITS);
        out.push(ctx.info(analyzed(call, step[1], d.args, null)));
        continue;
      }
      const record = step[2];
      const reply = replyOf(record);
      const call = lastCall!;
      if (useFacts) {
        out.push(ctx.replyInfoFromBytes(analyzed(reply, step[1], null, null, call), call, reply, record, null, registry, DEFAULT_LIMITS).info);
      } else {
        const d = registry.decodeReply(call, reply, record, DEFAULT_LIMITS);
        out.push(ctx.info(analyzed(reply, step[1], null, d.res, call)));
      }
    }
    // What was learned shows in the path of each handle.
    for (const n of [1, 2, 3]) out.push(ctx.nfs.pathOf(handle(32, n)) ?? "-");
    return out;
  }

  it("a duplicate reply, a reply without a call, '.', '..' and a handle equal to its directory agree with decoding", async () => {
    const dir = handle(32, 1);
    const ok = (fh: Uint8Array): Uint8Array => replyHeader(1).u32(0).opaque(fh).u32(0).u32(0).bytes();
    const [a, b, c, d, e] = [{}, {}, {}, {}, {}];
    const steps: (["call", object, string, Uint8Array] | ["reply", object, Uint8Array])[] = [
      ["call", a, "f", dir], ["reply", a, ok(handle(32, 2))], ["reply", a, ok(handle(32, 3))], // duplicate
      ["reply", {}, ok(handle(32, 3))], // no call
      ["call", b, ".", dir], ["reply", b, ok(handle(32, 3))],
      ["call", c, "..", dir], ["reply", c, ok(handle(32, 3))],
      ["call", d, "self", dir], ["reply", d, ok(dir)],
      ["call", e, "g", dir], ["reply", e, replyHeader(1).u32(2).u32(0).bytes()], // NFS3ERR_NOENT
    ];
    expect(await run(steps, true)).toEqual(await run(steps, false));
  });

  it("a reply that is not SUCCESS (with result-like bytes after it) is not read as facts", async () => {
    const registry = await builtinRegistry();
    const callRecord = callHeader(3, 1).opaque(handle(32, 1)).opaque(enc.encode("f")).bytes();
    const call = headerOf(callRecord);
    // Accepted, GARBAGE_ARGS (4), then what would read as NFS3_OK and a handle.
    const record = new Words().u32(1).u32(1).u32(0).u32(0).u32(0).u32(4).u32(0).opaque(handle(32, 2)).u32(0).u32(0).bytes();
    const reply = replyOf(record);
    expect(reply.status).not.toBe("SUCCESS");
    const byFacts = new MessageInfoContext();
    const byTree = new MessageInfoContext();
    const pairing = {};
    byFacts.info(analyzed(call, pairing, registry.decodeCall(call, callRecord, DEFAULT_LIMITS).args, null));
    byTree.info(analyzed(call, pairing, registry.decodeCall(call, callRecord, DEFAULT_LIMITS).args, null));
    const out = byFacts.replyInfoFromBytes(analyzed(reply, pairing, null, null, call), call, reply, record, null, registry, DEFAULT_LIMITS);
    expect(out.info).toBe(byTree.info(analyzed(reply, pairing, null, null, call)));
    expect(byFacts.nfs.pathOf(handle(32, 2))).toBeNull();
  });
});

/** An AnalyzedMessage with what MessageInfoContext reads: the header, the exchange (pairing and call), bodies. */
function analyzed(header: RpcCall | RpcReply, pairing: object, args: DecodedField | null, res: DecodedField | null, call?: RpcCall): AnalyzedMessage {
  const callHeader = header.kind === "call" ? header : call;
  const exchange = Object.assign(pairing, { call: callHeader ? { header: callHeader } : null });
  return { msg: { header, exchange } as unknown as AnalyzedMessage["msg"], time: 0, args, res, bodyIssues: [] };
}

/** A reply's header from its record. */
function replyOf(record: Uint8Array): RpcReply {
  const h = decodeRpcHeader(record);
  if (!("header" in h) || h.header?.kind !== "reply") throw new Error("test reply header did not decode");
  return h.header;
}

/** MNT's argument and a mountres3 (RFC 1813 §5.2.1) for `fh`, decoded by the built-in mount3.x. */
function mntArgs(registry: ProgramRegistry): DecodedField | null {
  const record = new Words().u32(1).u32(0).u32(2).u32(100005).u32(3).u32(1).u32(0).u32(0).u32(0).u32(0)
    .opaque(new TextEncoder().encode("/export")).bytes();
  return registry.decodeCall(headerOf(record), record, DEFAULT_LIMITS).args;
}

function mntRes(registry: ProgramRegistry, fh: Uint8Array): DecodedField | null {
  const callRecord = new Words().u32(1).u32(0).u32(2).u32(100005).u32(3).u32(1).u32(0).u32(0).u32(0).u32(0)
    .opaque(new TextEncoder().encode("/export")).bytes();
  const record = replyHeader(1).u32(0).opaque(fh).u32(1).u32(1).bytes();
  return registry.decodeReply(headerOf(callRecord), replyOf(record), record, DEFAULT_LIMITS).res;
}

describe("nfs3FactsCall", () => {
  it("reads facts only where the built-in nfs3.x decodes: not for a user's NFSv3 specification", async () => {
    const builtin = await builtinRegistry();
    const getattr = headerOf(callHeader(1, 1).opaque(handle(32, 1)).bytes());
    const lookup = headerOf(callHeader(3, 2).opaque(handle(32, 1)).opaque(Uint8Array.from([0x61])).bytes());
    const create = headerOf(callHeader(8, 3).opaque(handle(32, 1)).opaque(Uint8Array.from([0x61])).u32(0).u32(0).bytes());
    expect(nfs3FactsCall(getattr, builtin)).toBe(true);
    expect(nfs3FactsCall(lookup, builtin)).toBe(true);
    expect(nfs3FactsCall(create, builtin)).toBe(false);
    expect(nfs3ReplyFactsCall(lookup, builtin)).toBe(true);
    expect(nfs3ReplyFactsCall(getattr, builtin)).toBe(false);
    const user = await loadRegistry({
      userSpecs: [fileURLToPath(new URL("../../dissect/specs/nfs3.x", import.meta.url))], defines: new Map(),
    });
    expect(nfs3FactsCall(getattr, user)).toBe(false);
    expect(nfs3FactsCall(lookup, user)).toBe(false);
    expect(nfs3ReplyFactsCall(lookup, user)).toBe(false);
  });
});

describe("facts in the TUI and with a user's specification", () => {
  const nfs3Spec = fileURLToPath(new URL("../../dissect/specs/nfs3.x", import.meta.url));

  async function tuiRows(file: string, specs: string[]): Promise<ExchangeRow[]> {
    const registry = await loadRegistry({ userSpecs: specs, defines: new Map() });
    const index = new CaptureIndex({ title: file, live: false, registry, names: namesFor(registry), limits: DEFAULT_LIMITS });
    await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, ...index.decodeOptions() }, index.handlers());
    index.finished();
    const rows = Array.from({ length: index.rowCount() }, (_, i) => index.row(i));
    index.close();
    return rows;
  }

  it("TUI rows: the same with facts (built-in nfs3.x) as with every call decoded (the same file as a user's spec)", async () => {
    const file = fileURLToPath(new URL("../../samples/nfs/nfsv3.pcap", import.meta.url));
    const withFacts = await tuiRows(file, []);
    const decoded = await tuiRows(file, [nfs3Spec]);
    expect(withFacts).toEqual(decoded);
    // READ, WRITE and GETATTR rows of a real client name their files, with the range.
    expect(withFacts.filter((r) => /^READ \/\S+ \S+@\d+$/.test(r.info)).length).toBeGreaterThan(0);
    expect(withFacts.filter((r) => /^WRITE \/\S+ \S+@\d+ [A-Z_]+$/.test(r.info)).length).toBeGreaterThan(0);
    expect(withFacts.filter((r) => /^GETATTR \/\S*/.test(r.info)).length).toBeGreaterThan(0);
  });

  it("a user's nfs3.x with another READ3args layout is decoded by it, not read as built-in facts", () => {
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-facts-"));
    try {
      // count before offset: read as built-in facts, these bytes would say "READ … 2@17592186048512".
      const spec = readFileSync(nfs3Spec, "utf8").replace(
        /struct READ3args \{[^}]*\}/, "struct READ3args {\n    nfs_fh3 file;\n    count3  count;\n    offset3 offset;\n}",
      );
      expect(spec).toContain("count3  count;\n    offset3 offset;");
      const specPath = join(dir, "nfs3-swapped.x");
      writeFileSync(specPath, spec);
      const sink = new MemorySink();
      const w = new PcapWriter(sink, { linkType: 1 });
      const call = callHeader(6, 0x42).opaque(handle(32, 3)).u32(4096).u64(8192n).bytes();
      w.writeFrame({
        tsSec: 1_700_000_000, tsNsec: 0,
        bytes: buildEthernetIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.2", sport: 800, dport: 2049, payload: call }),
      });
      w.flush();
      const capture = join(dir, "read.pcap");
      writeFileSync(capture, sink.bytes());
      const r = runCli(["summary", "--spec", specPath, capture]);
      expect(r.status).toBe(0);
      expect(r.stdout.toString("utf8")).toMatch(/ READ fh 0x[0-9a-f]{8} 4096@8192\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("info texts from facts on the sample captures", () => {
  // Every sample (NFSv3 from a real client among them): one context fed the facts of the
  // calls that have them, one fed every call decoded; every message's text must agree.
  for (const file of sampleCaptures()) {
    it(file.replace(/.*samples\//, ""), async () => {
      const registry = await builtinRegistry();
      const byFacts = new MessageInfoContext();
      const byTree = new MessageInfoContext();
      let fromFacts = 0;
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
        message(m, record, truncatedAt) {
          const h = m.msg.header;
          if (!h) return;
          const tree = byTree.info(m);
          // Read as facts (then the message comes back as it went in), or decoded after all as analyze decodes it.
          const agrees = (undecoded: AnalyzedMessage, out: { readonly m: AnalyzedMessage; readonly info: string }): void => {
            if (out.m === undecoded) fromFacts++;
            else expect([out.m.args, out.m.res, out.m.bodyIssues]).toEqual([m.args, m.res, m.bodyIssues]);
            expect(out.info).toBe(tree);
          };
          const call = m.msg.exchange?.call?.header;
          if (h.kind === "call" && nfs3FactsCall(h, registry)) {
            const undecoded = { ...m, args: null, bodyIssues: [] };
            agrees(undecoded, byFacts.infoFromBytes(undecoded, h, record, truncatedAt, registry, DEFAULT_LIMITS));
          } else if (h.kind === "reply" && call?.kind === "call" && nfs3ReplyFactsCall(call, registry)) {
            const undecoded = { ...m, res: null, bodyIssues: [] };
            agrees(undecoded, byFacts.replyInfoFromBytes(undecoded, call, h, record, truncatedAt, registry, DEFAULT_LIMITS));
          } else {
            expect(byFacts.info(m)).toBe(tree);
          }
        },
      });
      if (file.endsWith("nfs/nfsv3.pcap")) expect(fromFacts).toBeGreaterThan(10);
    });
  }
});

/** An accepted, successful reply header (AUTH_NONE verifier); the results follow. */
function replyHeader(xid: number): Words {
  return new Words().u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
}
