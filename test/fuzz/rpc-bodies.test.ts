/**
 * Fuzzing RPC records and XDR bodies: for every procedure of every built-in
 * specification (and the demo service's), valid arguments and results are
 * generated from the schema and then damaged (lengths and counts 0xFFFFFFFF,
 * 0x7FFFFFFF, 0x80000000, unknown union discriminants, cuts, trailing junk); real
 * records from the sample captures are damaged the same way; then whole
 * conversations with damaged record marks and headers go over TCP and UDP through
 * every stage.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../../capture/limits.js";
import { decodeRpcHeader } from "../../dissect/rpc-header.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import type { RpcCall, RpcReply } from "../../dissect/rpc-types.js";
import type { DecodedField, XdrType } from "../../dissect/xdr-types.js";
import { childrenOf, toJsonValue, treeLines } from "../../ui/body-format.js";
import { jsonSafeStringify } from "../../ui/text-safety.js";
import { generate, XdrWriter } from "../specs/xdr-generate.js";
import {
  checkCounts, endSuite, fuzzOne, fuzzRegistry, INTERESTING_U32, parseCapture, Rng, runFrames, setU32, startSuite, tally,
  unsafeIndex, type SuiteStats,
} from "./harness.js";
import { cat, framesOf, rpcCall, rpcReply, tcpFrames, udpPacket, words, type Endpoints } from "./rpc-build.js";
import { seedCaptures } from "./seeds.js";

const SEED = 0xc0ffee11;

/** A call and its SUCCESS reply, as whole RPC messages (no record marks). */
interface Pair {
  readonly name: string;
  readonly call: Uint8Array;
  readonly reply: Uint8Array;
}

/** Words that break decoders: lengths and counts past anything, discriminants no arm has. */
const BODY_WORDS: readonly number[] = [
  ...INTERESTING_U32, 0x7fffffff, 0xffffffff, 0x80000000, 5, 6, 9, 13, 99, 10_000, 1_000_001, 0x7ffffffe, 0xfffffffc,
];

let cachedPairs: Pair[] | null = null;

/** One generated call/reply per procedure the registry knows, plus real ones from the samples. */
function corpus(registry: ProgramRegistry): Pair[] {
  if (cachedPairs) return cachedPairs;
  const random = rngFn(SEED);
  const pairs: Pair[] = [];
  let xid = 0x1000;
  for (const prog of registry.knownPrograms()) {
    for (const vers of registry.versionsOf(prog)) {
      for (const def of registry.proceduresOf(prog, vers)) {
        const args = encode(def.args, random);
        const res = encode([def.result], random);
        xid++;
        pairs.push({ name: `${def.progName} v${vers} ${def.name}`, call: rpcCall(xid, prog, vers, def.proc, args), reply: rpcReply(xid, res) });
      }
    }
  }
  // Real traffic: the records of the sample captures, call and reply matched by the pipeline.
  for (const seed of seedCaptures()) {
    const { frames } = parseCapture(seed.bytes);
    const calls = new Map<object, Uint8Array>();
    runFrames(frames, {
      registry, render: false,
      onRecord(m, record) {
        const ex = m.msg.exchange;
        if (!ex || !m.msg.header) return;
        if (m.msg.header.kind === "call") calls.set(ex, record.slice());
        else {
          const call = calls.get(ex);
          if (call && record.length > 0) pairs.push({ name: `${seed.name} xid ${m.msg.header.xid}`, call, reply: record.slice() });
        }
      },
    });
  }
  cachedPairs = pairs;
  return pairs;
}

function rngFn(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.u32() / 4294967296;
}

function encode(types: readonly XdrType[], random: () => number): Uint8Array {
  const w = new XdrWriter();
  for (const t of types) generate(t, w, random, { maxBytes: 24, maxCount: 3 });
  return w.finish();
}

/** Damage a body in place-ish (returns a new record): words from BODY_WORDS, cuts, junk. */
function damageBody(rng: Rng, record: Uint8Array, bodyOffset: number): { bytes: Uint8Array; what: string } {
  let b: Uint8Array = record.slice();
  const what: string[] = [];
  const bodyWords = Math.floor((b.length - bodyOffset) / 4);
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const choice = rng.int(10);
    if (choice < 7 && bodyWords > 0) {
      const at = bodyOffset + 4 * rng.int(bodyWords);
      const v = rng.pick(BODY_WORDS);
      setU32(b, at, v);
      what.push(`word @${at}=0x${v.toString(16)}`);
    } else if (choice < 9 && b.length > bodyOffset) {
      const cut = bodyOffset + rng.int(b.length - bodyOffset);
      b = b.slice(0, cut);
      what.push(`cut @${cut}`);
    } else {
      const junk = new Uint8Array(1 + rng.int(12)).map(() => rng.int(256));
      b = cat(b, junk);
      what.push(`+${junk.length} junk`);
    }
  }
  return { bytes: b, what: what.join(", ") };
}

/** Every field's byte range lies inside the record, from the body on. */
function checkTree(root: DecodedField, from: number, recordLength: number): void {
  const stack: DecodedField[] = [root];
  let n = 0;
  while (stack.length) {
    const f = stack.pop()!;
    n++;
    if (f.offset < from || f.offset + f.length > recordLength) {
      throw new Error(`field ${f.name} at [${f.offset}+${f.length}] outside the body [${from}, ${recordLength})`);
    }
    for (const c of childrenOf(f.value)) stack.push(c);
  }
  if (n > DEFAULT_LIMITS.maxXdrFieldsPerBody + 10) throw new Error(`tree of ${n} nodes exceeds maxXdrFieldsPerBody`);
}

function renderSafely(field: DecodedField): void {
  for (const line of treeLines(field, "")) {
    const at = unsafeIndex(line);
    if (at >= 0) throw new Error(`unsafe tree line: ${JSON.stringify(line)}`);
  }
  const json = jsonSafeStringify(toJsonValue(field.value));
  if (unsafeIndex(json) >= 0) throw new Error(`unsafe JSON: ${json.slice(0, 200)}`);
}

function decodeDamaged(registry: ProgramRegistry, stats: SuiteStats, rng: Rng, pair: Pair, limits: Limits): void {
  const callHeader = decodeRpcHeader(pair.call).header as RpcCall;
  const replyHeader = decodeRpcHeader(pair.reply).header as RpcReply;
  const useCall = rng.chance(0.5);
  const original = useCall ? pair.call : pair.reply;
  const bodyOffset = useCall ? callHeader.bodyOffset : replyHeader.bodyOffset;
  const { bytes, what } = damageBody(rng, original, bodyOffset);
  // Half the cuts are snaplen cuts (the message declared longer), half are short messages.
  const truncatedAt = bytes.length < original.length && rng.chance(0.5) ? bytes.length : undefined;
  fuzzOne(stats, `${pair.name} ${useCall ? "args" : "res"}: ${what}${truncatedAt !== undefined ? " (snaplen)" : ""}`, bytes, () => {
    const out = useCall
      ? registry.decodeCall(callHeader, bytes, limits, truncatedAt)
      : registry.decodeReply(callHeader, replyHeader, bytes, limits, truncatedAt);
    const field = "args" in out ? out.args : out.res;
    expect(out.end).toBeGreaterThanOrEqual(bodyOffset);
    expect(out.end).toBeLessThanOrEqual(bytes.length);
    for (const i of out.issues) expect(i.detail.length).toBeGreaterThan(0);
    if (field) {
      checkTree(field, bodyOffset, bytes.length);
      renderSafely(field);
      const malformed = hasMalformed(field);
      if (malformed) expect(out.issues.some((i) => i.code === "malformed" || i.code === "truncated")).toBe(true);
      tally(stats, malformed ? "stopped at a malformed field" : out.issues.length ? "decoded with issues" : "decoded clean");
    } else {
      tally(stats, "not decoded");
    }
  });
}

function hasMalformed(root: DecodedField): boolean {
  const stack: DecodedField[] = [root];
  while (stack.length) {
    const f = stack.pop()!;
    if (f.value.kind === "malformed") return true;
    for (const c of childrenOf(f.value)) stack.push(c);
  }
  return false;
}

// ── Conversations with damaged record marks and headers ───────────────────────

/** Header words worth damaging (offsets in a call / a reply with AUTH_NONE verifiers). */
const CALL_HEADER_WORDS = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36];
const REPLY_HEADER_WORDS = [0, 4, 8, 12, 16, 20];

function damageHeader(rng: Rng, msg: Uint8Array, isCall: boolean): { bytes: Uint8Array; what: string } {
  const b = msg.slice();
  const at = rng.pick(isCall ? CALL_HEADER_WORDS : REPLY_HEADER_WORDS);
  const v = rng.pick([...INTERESTING_U32, 3, 5, 6, 7]);
  setU32(b, at, v);
  return { bytes: b, what: `${isCall ? "call" : "reply"} header word @${at}=0x${v.toString(16)}` };
}

/** Record-marks a message, sometimes in several fragments, sometimes with a hostile mark. */
function markRecord(rng: Rng, msg: Uint8Array, what: string[]): Uint8Array {
  const r = rng.int(10);
  if (r < 5) return cat(words((0x80000000 | msg.length) >>> 0), msg);
  if (r < 7 && msg.length > 1) {
    // Several fragments, possibly with empty ones between.
    const parts: Uint8Array[] = [];
    let pos = 0;
    while (pos < msg.length) {
      const n = Math.min(msg.length - pos, 1 + rng.int(msg.length));
      const last = pos + n === msg.length;
      if (!last && rng.chance(0.2)) parts.push(words(0));
      parts.push(words(((last ? 0x80000000 : 0) | n) >>> 0), msg.subarray(pos, pos + n));
      pos += n;
    }
    what.push(`${parts.length / 2 | 0} fragments`);
    return cat(...parts);
  }
  const mark = rng.pick([0xffffffff, 0x7fffffff, 0x80000000, 0, 0x80000000 | (msg.length + 1), 0x80000000 | Math.max(0, msg.length - 1), msg.length, 0x81000000]);
  what.push(`mark 0x${(mark >>> 0).toString(16)}`);
  return cat(words(mark >>> 0), msg);
}

function conversation(rng: Rng, pairs: readonly Pair[]): { packets: Uint8Array[]; what: string } {
  const what: string[] = [];
  const e: Endpoints = {
    client: rng.chance(0.2) ? "::1" : "127.0.0.1", server: "",
    clientPort: 700 + rng.int(100), serverPort: rng.pick([111, 2049, 611, 20048, 40000]),
  };
  const endpoints: Endpoints = { ...e, server: e.client };
  const chosen: Pair[] = [];
  for (let k = 1 + rng.int(4); k > 0; k--) chosen.push(rng.pick(pairs));
  what.push(chosen.map((p) => p.name).join(" + "));
  const messages: { side: "client" | "server"; bytes: Uint8Array }[] = [];
  for (const p of chosen) {
    for (const side of ["client", "server"] as const) {
      let msg = side === "client" ? p.call : p.reply;
      const roll = rng.int(10);
      if (roll < 3) {
        const d = damageHeader(rng, msg, side === "client");
        msg = d.bytes;
        what.push(d.what);
      } else if (roll < 6) {
        const h = decodeRpcHeader(msg).header;
        const d = damageBody(rng, msg, h.bodyOffset);
        msg = d.bytes;
        what.push(`${side} body ${d.what}`);
      }
      messages.push({ side, bytes: msg });
    }
  }
  if (rng.chance(0.3)) {
    // UDP: one datagram per message.
    what.push(`UDP port ${endpoints.serverPort}`);
    return { packets: messages.map((m) => udpPacket(endpoints, m.side === "client", m.bytes)), what: what.join("; ") };
  }
  what.push(`TCP port ${endpoints.serverPort}`);
  const segments = messages.map((m) => ({ side: m.side, bytes: markRecord(rng, m.bytes, what) }));
  const mss = rng.chance(0.4) ? 1 + rng.int(200) : undefined;
  if (mss) what.push(`mss ${mss}`);
  return { packets: tcpFrames(endpoints, segments, mss ? { mss } : {}), what: what.join("; ") };
}

describe("fuzz: RPC records and XDR bodies", () => {
  it("damaged bodies of every procedure of every spec decode without an exception, inside the record", async () => {
    const registry = await fuzzRegistry();
    const pairs = corpus(registry);
    expect(pairs.length).toBeGreaterThan(150);
    const stats = startSuite("XDR bodies");
    const rng = new Rng(SEED);
    for (const pair of pairs) {
      for (let i = 0; i < 8; i++) decodeDamaged(registry, stats, rng, pair, DEFAULT_LIMITS);
    }
    endSuite(stats);
  });

  it("the same with tiny XDR limits (depth 3, 4 elements, 16-byte opaques, 40 fields)", async () => {
    const registry = await fuzzRegistry();
    const pairs = corpus(registry);
    const stats = startSuite("XDR bodies, tiny limits");
    const rng = new Rng(SEED + 1);
    const limits = withLimits({ maxXdrDepth: 3, maxXdrArrayElements: 4, maxXdrOpaqueBytes: 16, maxXdrFieldsPerBody: 40 });
    for (const pair of pairs) {
      for (let i = 0; i < 3; i++) decodeDamaged(registry, stats, rng, pair, limits);
    }
    endSuite(stats);
  });

  it("conversations with damaged record marks, headers and bodies over TCP and UDP: every message accounted for", async () => {
    const registry = await fuzzRegistry();
    const pairs = corpus(registry);
    const stats = startSuite("RPC conversations");
    const rng = new Rng(SEED + 2);
    for (let i = 0; i < 1500; i++) {
      const c = conversation(rng, pairs);
      const frames = framesOf(c.packets);
      const key = cat(...c.packets.slice(0, 1));
      fuzzOne(stats, `conversation #${i}: ${c.what}`, key, () => {
        const out = runFrames(frames, { registry });
        checkCounts({ frames: frames.length, counts: out.counts, messages: out.messages, resolved: out.resolved });
        const codes = new Set(out.streamIssues.map((s) => s.code));
        tally(stats, codes.size ? [...codes].sort().join("+") : "no stream issue");
      });
    }
    endSuite(stats);
  });
});
