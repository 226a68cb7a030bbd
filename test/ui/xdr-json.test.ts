/**
 * writeXdrJson (JSON straight from a body's bytes, for `summary --json -V`) must
 * write exactly what writeBodyJson writes for the decoded tree, and must decline
 * (return false) exactly when decoding finds anything to say about the body:
 * malformed, truncated, over a limit, trailing bytes, a bool that is not 0 or 1.
 * Checked on every body of every sample, on thousands of seeded mutations of
 * them, and under tight limits. checkXdrJson (the same checks, nothing written) must
 * say what writeXdrJson returns, and the type as the render thread rebuilds it
 * (dissect/xdr/type-transfer.ts) must write the same text.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Limits } from "../../capture/limits.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import type { RpcCall, RpcReply } from "../../dissect/rpc-types.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { bodyJsonText } from "../../ui/body-json.js";
import { GrowingPieces } from "../../ui/line-writer.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { checkXdrJson, writeXdrJson } from "../../ui/xdr-json.js";
import { TypeReceiver, TypeSender } from "../../dissect/xdr/type-transfer.js";
import type { XdrType } from "../../dissect/xdr-types.js";
import { bodySampleCaptures, DEMO_SPEC, ROOT } from "../sample-files.js";
import { rng } from "../specs/xdr-generate.js";

interface Body {
  readonly call: RpcCall;
  /** The reply, for results; null for a call's arguments. */
  readonly reply: RpcReply | null;
  readonly record: Uint8Array;
  readonly where: string;
}

async function bodiesOf(file: string, registry: ProgramRegistry): Promise<Body[]> {
  const out: Body[] = [];
  await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: false }, {
    message(m, record, truncatedAt) {
      const h = m.msg.header;
      const call = h?.kind === "call" ? h : m.msg.exchange?.call?.header;
      if (!h || call?.kind !== "call" || truncatedAt !== null) return;
      if (h.kind === "reply" && h.status !== "SUCCESS") return;
      // The record is reused once this returns: keep a copy.
      out.push({ call, reply: h.kind === "reply" ? h : null, record: Uint8Array.from(record), where: `${file.slice(ROOT.length + 1)} frame ${m.msg.frame}` });
    },
  });
  return out;
}

/** What decoding says of the body: its JSON and whether it is clean, or null without a specification. */
function decoded(registry: ProgramRegistry, b: Body, record: Uint8Array, limits: Limits): { json: string; clean: boolean } | null {
  const d = b.reply
    ? registry.decodeReply(b.call, b.reply, record, limits)
    : registry.decodeCall(b.call, record, limits);
  const field = b.reply ? (d as { res: ReturnType<ProgramRegistry["decodeReply"]>["res"] }).res : (d as ReturnType<ProgramRegistry["decodeCall"]>).args;
  if (!field || d.issues.some((i) => i.code === "body-undecoded")) return null;
  return { json: bodyJsonText(field.value), clean: d.issues.length === 0 };
}

/** How many bodies the writer took and declined, over the whole file (both must happen). */
const tally = { accepted: 0, declined: 0 };

/** Every type as the render thread gets it: sent node by node through one sender, as a run does. */
const sender = new TypeSender();
const receiver = new TypeReceiver();
function transferred(type: XdrType): XdrType {
  const id = sender.idOf(type);
  const batch = sender.takeNew();
  // Through structured cloning, as over a message port.
  if (batch) receiver.add(structuredClone(batch));
  return receiver.type(id);
}

/** Compares both ways of writing one body; returns a description of any disagreement. */
function compare(registry: ProgramRegistry, b: Body, record: Uint8Array, limits: Limits): string | null {
  const type = b.reply ? registry.resultTypeOf(b.call) : registry.argumentsTypeOf(b.call);
  const want = decoded(registry, b, record, limits);
  if (!type || !want) return null;
  const out = new GrowingPieces();
  out.ascii("");
  const start = b.reply ? b.reply.bodyOffset : b.call.bodyOffset;
  const ok = writeXdrJson(out, type, record, start, limits);
  const got = Buffer.from(out.take()).toString("utf8");
  if (ok) tally.accepted++;
  else tally.declined++;
  if (checkXdrJson(type, record, start, limits) !== ok) return `${b.where}: checkXdrJson says ${!ok} where writeXdrJson says ${ok}`;
  const copy = transferred(type);
  const viaCopy = new GrowingPieces();
  viaCopy.ascii("");
  const okCopy = writeXdrJson(viaCopy, copy, record, start, limits);
  const gotCopy = Buffer.from(viaCopy.take()).toString("utf8");
  if (okCopy !== ok || (ok && gotCopy !== got)) return `${b.where}: the transferred type writes ${okCopy ? gotCopy.slice(0, 200) : "nothing"}`;
  if (ok !== want.clean) return `${b.where}: writer ${ok ? "accepted" : "declined"} a body decoding found ${want.clean ? "clean" : "faulty"}`;
  if (ok && got !== want.json) return `${b.where}: ${got.slice(0, 200)} ≠ ${want.json.slice(0, 200)}`;
  return null;
}

/** A copy of the record with one body word changed, or cut short. */
function mutate(record: Uint8Array, bodyStart: number, random: () => number): Uint8Array {
  const words = Math.floor((record.length - bodyStart) / 4);
  const choice = random();
  if (choice < 0.2 || words === 0) return record.slice(0, bodyStart + Math.floor(random() * (record.length - bodyStart + 1)));
  const copy = Uint8Array.from(record);
  const at = bodyStart + 4 * Math.floor(random() * words);
  const values = [0, 1, 2, 3, 0xffffffff, 0x7fffffff, 0x80000000, Math.floor(random() * 0x100000000), Math.floor(random() * 64)];
  const v = values[Math.floor(random() * values.length)]!;
  new DataView(copy.buffer).setUint32(at, v >>> 0);
  if (choice > 0.9) {
    // Trailing bytes too.
    const longer = new Uint8Array(copy.length + 4);
    longer.set(copy);
    return longer;
  }
  return copy;
}

const TIGHT: Limits = { ...DEFAULT_LIMITS, maxXdrFieldsPerBody: 40, maxXdrDepth: 4, maxXdrArrayElements: 3, maxXdrOpaqueBytes: 16 };

describe("writeXdrJson agrees with decoding", () => {
  const files = bodySampleCaptures();
  for (const file of files) {
    if (file.includes("libvirt")) continue; // libvirt bodies are not ONC-RPC bodies
    it(`every body of ${file.slice(ROOT.length + 1)}, as it is, mutated, and under tight limits`, async () => {
      const registry = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map() });
      const bodies = await bodiesOf(file, registry);
      const wrong: string[] = [];
      const random = rng(bodies.length * 7919 + file.length);
      let compared = 0;
      for (const b of bodies) {
        const start = b.reply ? b.reply.bodyOffset : b.call.bodyOffset;
        for (const limits of [DEFAULT_LIMITS, TIGHT]) {
          const w = compare(registry, b, b.record, limits);
          if (w) wrong.push(w);
        }
        for (let i = 0; i < 40; i++) {
          const w = compare(registry, b, mutate(b.record, start, random), DEFAULT_LIMITS);
          if (w) wrong.push(`${w} (mutation ${i})`);
        }
        compared++;
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(compared).toBeGreaterThan(0);
    });
  }

  it("took clean bodies and declined faulty ones, both many times", () => {
    expect(tally.accepted).toBeGreaterThan(1000);
    expect(tally.declined).toBeGreaterThan(1000);
  });
});

describe("checkXdrJson says what writeXdrJson does at every limit", () => {
  // checkXdrJson takes a struct of one size without bools as a whole (its fields, depth,
  // fixed arrays and opaques at once): each limit swept through the values where a body
  // goes from accepted to declined.
  it("on up to 300 bodies of each sample, with every field count, depth and opaque limit that matters", async () => {
    const registry = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map() });
    const wrong: string[] = [];
    let declinedAtLimit = 0;
    for (const file of bodySampleCaptures()) {
      if (file.includes("libvirt")) continue;
      for (const b of (await bodiesOf(file, registry)).slice(0, 300)) {
        const type = b.reply ? registry.resultTypeOf(b.call) : registry.argumentsTypeOf(b.call);
        if (!type) continue;
        const start = b.reply ? b.reply.bodyOffset : b.call.bodyOffset;
        const sweeps: Limits[] = [];
        for (let n = 0; n <= 120; n++) sweeps.push({ ...DEFAULT_LIMITS, maxXdrFieldsPerBody: n });
        for (let n = 0; n <= 12; n++) sweeps.push({ ...DEFAULT_LIMITS, maxXdrDepth: n });
        for (const n of [0, 1, 3, 4, 7, 8, 11, 12, 15, 16, 31, 32, 64]) sweeps.push({ ...DEFAULT_LIMITS, maxXdrOpaqueBytes: n });
        for (const n of [0, 1, 2, 3, 4, 8, 16]) sweeps.push({ ...DEFAULT_LIMITS, maxXdrArrayElements: n });
        for (const limits of sweeps) {
          const out = new GrowingPieces();
          const wrote = writeXdrJson(out, type, b.record, start, limits);
          if (checkXdrJson(type, b.record, start, limits) !== wrote) {
            wrong.push(`${b.where}: checkXdrJson ${!wrote}, writeXdrJson ${wrote} at ${JSON.stringify(limits)}`);
          }
          if (!wrote) declinedAtLimit++;
        }
      }
    }
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(declinedAtLimit).toBeGreaterThan(1000);
  });

  it("on made-up structs of one size (fixed arrays, fixed opaques, nesting, a bool, void), cut and flipped, at every limit", () => {
    const int: XdrType = { kind: "int" };
    const inner: XdrType = { kind: "struct", name: "inner", fields: [{ name: "a", type: int }, { name: "v", type: { kind: "void" } }] };
    const types: XdrType[] = [
      { kind: "struct", name: "withArray", fields: [{ name: "x", type: int }, { name: "xs", type: { kind: "array", of: int, fixed: 3, max: 3 } }] },
      { kind: "struct", name: "withOpaque", fields: [{ name: "o", type: { kind: "opaque", fixed: 6, max: 6 } }, { name: "s", type: { kind: "string", fixed: 2, max: 2 } }] },
      { kind: "struct", name: "nested", fields: [{ name: "i", type: inner }, { name: "j", type: { kind: "array", of: inner, fixed: 2, max: 2 } }] },
      { kind: "struct", name: "withBool", fields: [{ name: "i", type: inner }, { name: "b", type: { kind: "bool" } }] },
      { kind: "struct", name: "empty", fields: [{ name: "none", type: { kind: "array", of: int, fixed: 0, max: 0 } }] },
      cyclic,
      wrapsRecursive,
    ];
    const random = rng(4506);
    const wrong: string[] = [];
    let declined = 0;
    let accepted = 0;
    for (const type of types) {
      for (let round = 0; round < 60; round++) {
        const words = 1 + Math.floor(random() * 14);
        const bytes = new Uint8Array(words * 4);
        for (let i = 0; i < words; i++) new DataView(bytes.buffer).setUint32(4 * i, [0, 1, 2, 0x7fffffff][Math.floor(random() * 4)]!);
        for (const limits of [
          DEFAULT_LIMITS,
          ...[0, 1, 2, 3, 4, 5, 6, 8, 10, 12].map((n) => ({ ...DEFAULT_LIMITS, maxXdrFieldsPerBody: n })),
          // Limits with a fraction too (--limit takes them): each depth is checked as depth >= maxDepth.
          ...[0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4].map((n) => ({ ...DEFAULT_LIMITS, maxXdrDepth: n })),
          ...[2.5, 4.5].map((n) => ({ ...DEFAULT_LIMITS, maxXdrFieldsPerBody: n })),
          ...[0, 1, 2, 3, 4].map((n) => ({ ...DEFAULT_LIMITS, maxXdrArrayElements: n })),
          ...[0, 1, 2, 5, 6, 7].map((n) => ({ ...DEFAULT_LIMITS, maxXdrOpaqueBytes: n })),
        ]) {
          const wrote = writeXdrJson(new GrowingPieces(), type, bytes, 0, limits);
          if (checkXdrJson(type, bytes, 0, limits) !== wrote) wrong.push(`${xdrName(type)} ${Buffer.from(bytes).toString("hex")} at ${JSON.stringify(limits)}: write ${wrote}`);
          if (wrote) accepted++;
          else declined++;
        }
      }
    }
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(accepted).toBeGreaterThan(100);
    expect(declined).toBeGreaterThan(100);
  });
});

/** A struct of one size that holds, in an array of length 0, a reference back to itself. */
const cyclic: XdrType = (() => {
  const fields: { name: string; type: XdrType }[] = [];
  const self: XdrType = { kind: "struct", name: "cyclic", fields };
  fields.push({ name: "none", type: { kind: "array", of: { kind: "ref", name: "cyclic", target: () => self }, fixed: 0, max: 0 } });
  fields.push({ name: "x", type: { kind: "int" } }, { name: "b", type: { kind: "bool" } });
  return self;
})();

/** A struct of one size holding an array of length 0 of a recursive (variable) type. */
const wrapsRecursive: XdrType = (() => {
  const fields: { name: string; type: XdrType }[] = [{ name: "v", type: { kind: "int" } }];
  const tree: XdrType = { kind: "struct", name: "tree", fields };
  fields.push({ name: "kids", type: { kind: "array", of: { kind: "ref", name: "tree", target: () => tree }, max: 0xffffffff } });
  return { kind: "struct", name: "wrap", fields: [{ name: "none", type: { kind: "array", of: tree, fixed: 0, max: 0 } }, { name: "x", type: { kind: "int" } }] };
})();

function xdrName(t: XdrType): string {
  return t.kind === "struct" ? t.name : t.kind;
}
