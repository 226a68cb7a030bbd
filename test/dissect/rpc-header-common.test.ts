/**
 * Common headers are read straight from their bytes (commonHeader in
 * dissect/rpc-header.ts) and everything else by the cursor decoder: the two must
 * give the same header, or the same located error, for every input. Compared here
 * on every message of every sample capture and on every cut and many word changes
 * of headers of each shape, each also read in place inside a larger buffer of garbage.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eachFrame } from "../../capture/open-capture.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import { Malformed } from "../../dissect/malformed.js";
import { commonHeader, cursorHeaderOrMalformed, headerOrMalformed, headerOrMalformedAt } from "../../dissect/rpc-header.js";
import { RpcPipeline } from "../../dissect/rpc-pipeline.js";
import type { RpcHeader, RpcMessage } from "../../dissect/rpc-types.js";
import { ROOT, sampleCaptures } from "../sample-files.js";
import { rng } from "../specs/xdr-generate.js";
import { ascii, authGss, authNone, authSys, call, opaque, reply, u32 } from "./helpers.js";

function outcome(h: RpcHeader | Malformed): unknown {
  return h instanceof Malformed ? { code: h.code, offset: h.offset, path: h.path, message: h.message } : h;
}

/** Garbage around a record read in place: a read past either end would see it. */
const GARBAGE = [0x00, 0xff, 0x01, 0x80];
let placements = 0;

function bothWays(record: Uint8Array, declared: number): void {
  const common = outcome(headerOrMalformed(record, declared));
  const cursor = outcome(cursorHeaderOrMalformed(record, declared));
  expect(common).toEqual(cursor);
  // The same record lying inside a larger buffer (as in a read or a chunk), read there.
  const before = 1 + (placements % 13);
  const fill = GARBAGE[placements++ % GARBAGE.length]!;
  const data = new Uint8Array(before + record.length + 16).fill(fill);
  data.set(record, before);
  expect(outcome(headerOrMalformedAt(data, before, before + record.length, declared))).toEqual(cursor);
}

async function recordsOf(file: string): Promise<{ record: Uint8Array; declared: number }[]> {
  const out: { record: Uint8Array; declared: number }[] = [];
  const pipeline = new RpcPipeline(DEFAULT_LIMITS, {
    message(msg, record) {
      out.push({ record: record.slice(), declared: msg.length });
    },
    exchangeResolved() {},
    streamIssue() {},
  });
  const decoder = new PacketDecoder(DEFAULT_LIMITS, pipeline);
  await eachFrame({ kind: "file", path: file }, { onTruncated: () => undefined }, (frame) => decoder.push(frame));
  decoder.finish();
  pipeline.finish();
  return out;
}

/** Every message of a capture as a sink sees it, through message() or, when `inPlace`, messageAt(). */
async function messagesOf(file: string, inPlace: boolean): Promise<unknown[]> {
  const out: unknown[] = [];
  const seen = (msg: RpcMessage, bytes: Uint8Array, truncatedAt: number | null) => {
    out.push({ seq: msg.seq, frame: msg.frame, frames: msg.frames, header: msg.header, issues: msg.issues, truncatedAt, bytes: Array.from(bytes) });
  };
  const pipeline = new RpcPipeline(DEFAULT_LIMITS, {
    message(msg, record, truncatedAt) {
      if (inPlace) throw new Error("message() called though messageAt() is given");
      seen(msg, record, truncatedAt);
    },
    ...(inPlace ? {
      messageAt(msg: RpcMessage, data: Uint8Array, start: number, end: number, truncatedAt: number | null) {
        seen(msg, data.subarray(start, end), truncatedAt);
      },
    } : {}),
    exchangeResolved() {},
    streamIssue() {},
  });
  const decoder = new PacketDecoder(DEFAULT_LIMITS, pipeline);
  try {
    await eachFrame({ kind: "file", path: file }, { onTruncated: () => undefined }, (frame) => decoder.push(frame));
  } catch (err) {
    // A capture the reader refuses as a whole (a cut file header): the same both ways.
    out.push(String(err));
  }
  decoder.finish();
  pipeline.finish();
  return out;
}

describe("records handed on where they lie", () => {
  it("a sink taking messageAt() gets every message of every sample and hostile capture with the same header and bytes as one taking message()", async () => {
    let messages = 0;
    const hostile = readdirSync(join(ROOT, "samples", "hostile")).filter((n) => /\.pcap(ng)?$/.test(n)).map((n) => join(ROOT, "samples", "hostile", n));
    expect(hostile.length).toBeGreaterThan(5);
    for (const file of [...sampleCaptures(), ...hostile]) {
      const viaViews = await messagesOf(file, false);
      expect(await messagesOf(file, true), file).toEqual(viaViews);
      messages += viaViews.length;
    }
    expect(messages).toBeGreaterThan(500);
  });
});

describe("common RPC headers read from their bytes", () => {
  it("agree with the cursor decoder on every message of every sample", async () => {
    let calls = 0;
    let sysCalls = 0;
    let readFromBytes = 0;
    let replies = 0;
    let other = 0;
    for (const file of sampleCaptures()) {
      for (const { record, declared } of await recordsOf(file)) {
        bothWays(record, declared);
        if (commonHeader(record) !== null) readFromBytes++;
        const h = cursorHeaderOrMalformed(record, declared);
        if (h instanceof Malformed) other++;
        else if (h.kind === "call") {
          calls++;
          if (h.cred.kind === "sys") sysCalls++;
        } else replies++;
      }
    }
    // The samples hold both shapes the bytes are read for, and others.
    expect(sysCalls).toBeGreaterThan(100);
    expect(calls - sysCalls).toBeGreaterThan(10);
    expect(replies).toBeGreaterThan(100);
    expect(other).toBeGreaterThan(0);
    // Most messages take the way from the bytes, so the comparison above covers it.
    expect(readFromBytes).toBeGreaterThan((calls + replies) / 2);
  });

  /** An AUTH_SYS credential with `extra` bytes in its body past the gids (the body length says so). */
  function authSysPadded(machine: number[], extra: number): number[] {
    const body = [...u32(1), ...opaque(machine), ...u32(0), ...u32(0), ...u32(1), ...u32(7), ...new Array<number>(extra).fill(0xee)];
    return [...u32(1), ...opaque(body)];
  }

  const bases: [string, Uint8Array][] = [
    ["call, AUTH_SYS with bytes to spare in its body", call({ xid: 12, cred: authSysPadded(ascii("spare"), 8) })],
    ["call, AUTH_SYS with a name that is not ASCII", call({ xid: 13, cred: authSysPadded([0xc3, 0xa9, 0x74, 0xc3, 0xa9], 0) })],
    ["call, AUTH_SYS with a name of 100 bytes", call({ xid: 14, cred: authSysPadded(new Array<number>(100).fill(0x61), 0) })],
    ["call, AUTH_SYS with gids", call({ xid: 7, cred: authSys("host.example", 1000, 100, [1, 2, 3]), args: u32(42) })],
    ["call, AUTH_SYS without gids", call({ xid: 8, cred: authSys("h", 0, 0, []) })],
    ["call, AUTH_NONE", call({ xid: 9, args: [...u32(1), ...u32(2)] })],
    ["call, RPCSEC_GSS", call({ xid: 10, cred: authGss() })],
    ["call, AUTH_SYS credential and AUTH_SYS verifier", call({ xid: 11, cred: authSys(), verf: authSys() })],
    ["accepted reply", reply(7, u32(0))],
    ["accepted reply, GARBAGE_ARGS", reply(7, [], 4)],
    ["accepted reply, PROG_MISMATCH", reply(7, [...u32(2), ...u32(3)], 2)],
    ["accepted reply, non-empty verifier", reply(7, u32(0), 0, [...u32(0), ...u32(8), ...u32(0x53544152), ...u32(0x54544c53)])],
    ["denied reply, AUTH_ERROR", Uint8Array.from([...u32(7), ...u32(1), ...u32(1), ...u32(1), ...u32(2)])],
    ["denied reply, RPC_MISMATCH", Uint8Array.from([...u32(7), ...u32(1), ...u32(1), ...u32(0), ...u32(2), ...u32(2)])],
  ];

  it.each(bases)("agree on every cut of a header (%s)", (_name, full) => {
    for (let cut = 0; cut <= full.length; cut++) {
      const part = full.slice(0, cut);
      bothWays(part, full.length); // cut by the capture: truncated
      bothWays(part, cut); // a record that short: short
    }
  });

  const values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 17, 20, 24, 255, 256, 399, 400, 401, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];
  it.each(bases)("agree on every word of a header set to edge values (%s)", (_name, full) => {
    const view = new DataView(full.buffer, full.byteOffset, full.byteLength);
    for (let at = 0; at + 4 <= full.length; at += 4) {
      const original = view.getUint32(at);
      for (const v of values) {
        view.setUint32(at, v);
        bothWays(full, full.length);
        bothWays(full.slice(0, full.length - 4), full.length);
      }
      view.setUint32(at, original);
    }
  });

  it("read the common shapes from the bytes", () => {
    for (const [name, full] of bases) {
      const common = !/RPCSEC_GSS|PROG_MISMATCH|non-empty verifier|denied|AUTH_SYS verifier/.test(name);
      expect(commonHeader(full) !== null, name).toBe(common);
    }
  });

  it("agree on random byte changes, cuts and declared lengths, records lying anywhere in a buffer", () => {
    const random = rng(20261207);
    const pick = (n: number) => Math.floor(random() * n);
    let fromBytes = 0;
    for (let round = 0; round < 20_000; round++) {
      const base = bases[pick(bases.length)]![1];
      // The record lies at an odd offset of a larger buffer, as records do in a read.
      const at = pick(8);
      const buf = new Uint8Array(at + base.length + 8);
      buf.set(base, at);
      const changes = pick(4);
      for (let i = 0; i < changes; i++) {
        const p = at + pick(base.length);
        buf[p] = random() < 0.5 ? pick(256) : [0, 1, 0x7f, 0x80, 0xff][pick(5)]!;
      }
      const length = random() < 0.7 ? base.length : pick(base.length + 1);
      const record = buf.subarray(at, at + length);
      const declared = [length, base.length, length + pick(64), Math.max(0, length - pick(16)), 0x8000_0000][pick(5)]!;
      bothWays(record, declared);
      if (commonHeader(record) !== null) fromBytes++;
    }
    expect(fromBytes).toBeGreaterThan(2_000);
  });

  it("share the objects a client sends again and again, both ways", () => {
    const a = call({ xid: 1, cred: authSys("same", 5, 5, [5]) });
    const b = call({ xid: 2, cred: authSys("same", 5, 5, [5]) });
    const ha = headerOrMalformed(a, a.length);
    const hb = cursorHeaderOrMalformed(b, b.length);
    const hc = headerOrMalformed(b, b.length);
    if (ha instanceof Malformed || hb instanceof Malformed || hc instanceof Malformed) throw new Error("malformed");
    if (ha.kind !== "call" || hb.kind !== "call" || hc.kind !== "call") throw new Error("not calls");
    expect(hb.cred).toBe(ha.cred);
    expect(hc.cred).toBe(ha.cred);
    expect(Object.isFrozen(hc.cred)).toBe(true);
  });
});
