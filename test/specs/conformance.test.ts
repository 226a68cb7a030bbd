/**
 * The built-in specs against real traffic: every RPC call and every successful
 * reply in the fixtures is walked with the procedure's argument or result type
 * and must end exactly at the end of its record. For NFSv4 the operations found
 * while walking COMPOUND must be the ones tshark reports for the same frame.
 *
 * Fixtures (test/specs/fixtures/*.json, made by extract-fixture.mjs with tshark):
 * - nfs-ganesha.json: NFS-Ganesha 4.3 with libnfs 4.0 clients, MOUNT v3, NFSv3,
 *   NFSv4.0 and the port mapper (record-nfs.sh);
 * - rpcbind-rpcinfo.json: Debian's rpcbind with rpcinfo, port mapper v2-v4
 *   (from samples/rpcbind/rpcinfo-tcp-udp.pcap).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import { decodeRpcHeader } from "../../dissect/rpc-header.js";
import type { RpcCall } from "../../dissect/rpc-types.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import { decodeXdr } from "../../dissect/xdr/decoder.js";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import type { ProcedureInfo, Schema } from "../../dissect/xdr/schema.js";
import { walk } from "./xdr-walk.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SPEC_DIR = join(HERE, "../../dissect/specs");

interface Segment {
  readonly frame: number;
  readonly transport: "tcp" | "udp";
  readonly stream?: number;
  readonly sport?: number;
  readonly seq?: number;
  readonly hex: string;
}
interface TsharkMessage {
  readonly frame: number;
  readonly xids: readonly number[];
  readonly types: readonly number[];
  readonly nfsOps: readonly number[];
  readonly tsharkMalformed: boolean;
}
interface Fixture {
  readonly source: string;
  readonly segments: readonly Segment[];
  readonly messages: readonly TsharkMessage[];
}

/** One RPC record and the frame its last byte arrived in. */
interface RpcRecord {
  readonly frame: number;
  readonly bytes: Uint8Array;
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Splits UDP datagrams and record-marked TCP streams (RFC 5531 §11) into records. */
function records(fixture: Fixture): RpcRecord[] {
  const out: RpcRecord[] = [];
  const streams = new Map<string, Segment[]>();
  for (const s of fixture.segments) {
    if (s.transport === "udp") {
      if (s.hex.length >= 8) out.push({ frame: s.frame, bytes: hexBytes(s.hex) });
      continue;
    }
    const key = `${s.stream}/${s.sport}`;
    let list = streams.get(key);
    if (!list) streams.set(key, (list = []));
    list.push(s);
  }
  for (const segs of streams.values()) {
    segs.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    const chunks = segs.map((s) => hexBytes(s.hex));
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const stream = new Uint8Array(total);
    const ends: { end: number; frame: number }[] = [];
    let pos = 0;
    segs.forEach((s, i) => {
      stream.set(chunks[i]!, pos);
      pos += chunks[i]!.length;
      ends.push({ end: pos, frame: s.frame });
    });
    const view = new DataView(stream.buffer);
    let at = 0;
    let fragments: Uint8Array[] = [];
    while (at + 4 <= stream.length) {
      const mark = view.getUint32(at);
      const len = mark & 0x7fffffff;
      const last = mark >>> 31 === 1;
      if (at + 4 + len > stream.length) break;
      fragments.push(stream.subarray(at + 4, at + 4 + len));
      at += 4 + len;
      if (last) {
        const size = fragments.reduce((n, f) => n + f.length, 0);
        const rec = new Uint8Array(size);
        let p = 0;
        for (const f of fragments) {
          rec.set(f, p);
          p += f.length;
        }
        fragments = [];
        out.push({ frame: ends.find((e) => e.end >= at)!.frame, bytes: rec });
      }
    }
  }
  return out;
}

/** Skips an opaque_auth (RFC 5531 §8.2); returns the offset after it. */
function skipAuth(view: DataView, at: number): number {
  const len = view.getUint32(at + 4);
  return at + 8 + ((len + 3) & ~3);
}

type Parsed =
  | { kind: "call"; xid: number; prog: number; vers: number; proc: number; body: number }
  | { kind: "reply"; xid: number; success: boolean; body: number };

function parseHeader(rec: Uint8Array): Parsed {
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const xid = view.getUint32(0);
  if (view.getUint32(4) === 0) {
    const [prog, vers, proc] = [view.getUint32(12), view.getUint32(16), view.getUint32(20)];
    return { kind: "call", xid, prog, vers, proc, body: skipAuth(view, skipAuth(view, 24)) };
  }
  if (view.getUint32(8) !== 0) return { kind: "reply", xid, success: false, body: rec.length };
  const afterVerf = skipAuth(view, 12);
  return { kind: "reply", xid, success: view.getUint32(afterVerf) === 0, body: afterVerf + 4 };
}

const FIXTURES = readdirSync(join(HERE, "fixtures")).filter((f) => f.endsWith(".json")).sort();

describe("built-in specs decode captured traffic", () => {
  let schema: Schema;
  const procs = new Map<string, ProcedureInfo>();
  beforeAll(() => {
    const files = readdirSync(SPEC_DIR).filter((f) => f.endsWith(".x")).sort();
    const result = compileSchema(files.map((f) => ({ path: f, text: readFileSync(join(SPEC_DIR, f), "utf8") })));
    expect(result.errors.map((e) => e.message)).toEqual([]);
    schema = result.schema!;
    for (const p of schema.programs) {
      for (const v of p.versions) for (const x of v.procedures) procs.set(`${p.number}/${v.number}/${x.number}`, x);
    }
  });

  it("has the fixtures", () => {
    expect(FIXTURES).toEqual(["nfs-ganesha.json", "rpcbind-rpcinfo.json"]);
  });

  it.each(FIXTURES)("%s: every call and successful reply decodes to its last byte", (name) => {
    const fixture = JSON.parse(readFileSync(join(HERE, "fixtures", name), "utf8")) as Fixture;
    expect(fixture.messages.some((m) => m.tsharkMalformed)).toBe(false);
    const recs = records(fixture);
    expect(recs.length).toBe(fixture.messages.reduce((n, m) => n + m.xids.length, 0));

    const pending = new Map<number, Extract<Parsed, { kind: "call" }>>();
    const decoded = new Map<string, number>();
    const failures: string[] = [];
    let unknownProcedures = 0;
    let compounds = 0;
    for (const rec of recs) {
      const h = parseHeader(rec.bytes);
      const tshark = fixture.messages.find((m) => m.frame === rec.frame);
      expect(tshark?.xids, `frame ${rec.frame}`).toContain(h.xid);
      let call: Extract<Parsed, { kind: "call" }> | undefined;
      if (h.kind === "call") {
        call = h;
        pending.set(h.xid, h);
      } else {
        call = pending.get(h.xid);
        if (!h.success || !call) continue;
      }
      const key = `${call.prog}/${call.vers}/${call.proc}`;
      const proc = procs.get(key);
      if (!proc) {
        unknownProcedures++;
        continue;
      }
      const view = new DataView(rec.bytes.buffer, rec.bytes.byteOffset, rec.bytes.byteLength);
      const ops: number[] = [];
      const hooks = {
        union: (union: string, disc: number) => {
          if (union === "nfs_argop4" || union === "nfs_resop4") ops.push(disc);
        },
      };
      const what = `${name} frame ${rec.frame} ${h.kind} ${proc.name}`;
      try {
        let at = h.body;
        if (h.kind === "call") for (const a of proc.args) at = walk(a, view, at, hooks);
        else at = walk(proc.result, view, at, hooks);
        if (at !== rec.bytes.length) failures.push(`${what}: ends at ${at} of ${rec.bytes.length}`);
      } catch (e) {
        failures.push(`${what}: ${(e as Error).message}`);
        continue;
      }
      if (call.prog === 100003 && call.vers === 4 && call.proc === 1) {
        compounds++;
        expect(ops, `${what}: operations`).toEqual(tshark?.nfsOps);
      }
      const k = `${h.kind} ${call.prog}/${call.vers} ${proc.name}`;
      decoded.set(k, (decoded.get(k) ?? 0) + 1);
    }
    expect(failures).toEqual([]);
    // The port mapper sample probes procedures that do not exist on purpose.
    expect(unknownProcedures).toBeLessThanOrEqual(name.startsWith("rpcbind") ? 8 : 0);
    if (name === "nfs-ganesha.json") {
      expect(compounds).toBeGreaterThan(50);
      const v3 = [...decoded.keys()].filter((k) => k.startsWith("reply 100003/3 ")).length;
      expect(v3, "NFSv3 procedures with a decoded reply").toBeGreaterThanOrEqual(19);
      const replies = (key: string): number => decoded.get(`reply ${key}`) ?? 0;
      expect(replies("100005/3 MOUNTPROC3_MNT")).toBe(2);
      expect(replies("100005/3 MOUNTPROC3_EXPORT")).toBe(1);
      // NLM from libnfs to Ganesha: a lock held, then tested and refused for another owner.
      for (const p of ["NULL", "TEST", "LOCK", "CANCEL", "UNLOCK"]) expect(replies(`100021/4 NLMPROC4_${p}`), p).toBeGreaterThan(0);
      // NSM to rpc.statd, from libnfs and from Ganesha's lock manager.
      for (const p of ["NULL", "STAT", "MON", "UNMON", "UNMON_ALL", "NOTIFY"]) expect(replies(`100024/1 SMPROC_${p}`), p).toBeGreaterThan(0);
      expect(replies("100011/1 RQUOTAPROC_GETQUOTA")).toBe(1);
      expect(replies("100011/2 RQUOTAPROC_GETQUOTA")).toBe(1);
    } else {
      for (const p of ["PMAPPROC_DUMP", "RPCBPROC_GETADDR", "RPCBPROC_GETADDRLIST", "RPCBPROC_GETSTAT"]) {
        expect([...decoded.keys()].some((k) => k.startsWith("reply 100000/") && k.endsWith(p)), p).toBe(true);
      }
    }
  });
});

describe("generated values walk back to their end", () => {
  it("for the arguments and result of every procedure in the specs", async () => {
    const { XdrWriter, generate, rng } = await import("./xdr-generate.js");
    const files = readdirSync(SPEC_DIR).filter((f) => f.endsWith(".x")).sort();
    const schema = compileSchema(files.map((f) => ({ path: f, text: readFileSync(join(SPEC_DIR, f), "utf8") }))).schema!;
    let checked = 0;
    for (const prog of schema.programs) {
      for (const vers of prog.versions) {
        for (const proc of vers.procedures) {
          for (const [side, types] of [["args", proc.args], ["result", [proc.result]]] as const) {
            for (let round = 0; round < 20; round++) {
              const out = new XdrWriter();
              const random = rng(proc.number * 31 + vers.number * 7 + round);
              for (const t of types) generate(t, out, random);
              const bytes = out.finish();
              const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
              const what = `${prog.name} v${vers.number} ${proc.name} ${side} round ${round}`;
              let at = 0;
              for (const t of types) at = walk(t, view, at);
              expect(at, what).toBe(bytes.length);
              // The project's decoder reads the same bytes the same way.
              let end = 0;
              for (const t of types) {
                const r = decodeXdr(t, bytes, end, bytes.length, DEFAULT_LIMITS);
                expect(r.malformed?.message ?? null, what).toBeNull();
                expect(r.issues, what).toEqual([]);
                end = r.end;
              }
              expect(end, what).toBe(bytes.length);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(2000);
  });
});

/** NFSv4 operation numbers in a decoded COMPOUND, in order (the argarray/resarray unions). */
function compoundOps(field: DecodedField | null): number[] {
  const ops: number[] = [];
  const stack: DecodedField[] = field ? [field] : [];
  while (stack.length) {
    const f = stack.pop()!;
    const v = f.value;
    if (v.kind === "union") {
      if ((f.typeName === "nfs_argop4" || f.typeName === "nfs_resop4") && v.disc.value.kind === "enum") ops.push(v.disc.value.value);
      if (v.arm) stack.push(v.arm);
    } else if (v.kind === "struct") {
      for (let i = v.fields.length - 1; i >= 0; i--) stack.push(v.fields[i]!);
    } else if (v.kind === "array") {
      for (let i = v.elements.length - 1; i >= 0; i--) stack.push(v.elements[i]!);
    } else if (v.kind === "optional" && v.value) {
      stack.push(v.value);
    }
  }
  return ops;
}

describe("the project's decoder with the built-in specs takes the fixture traffic", () => {
  let registry: ProgramRegistry;
  beforeAll(async () => {
    registry = await loadRegistry({ userSpecs: [], defines: new Map(), builtinDir: SPEC_DIR });
  });

  it.each(FIXTURES)("%s: no issue in any call or successful reply", (name) => {
    const fixture = JSON.parse(readFileSync(join(HERE, "fixtures", name), "utf8")) as Fixture;
    const calls = new Map<number, RpcCall>();
    const problems: string[] = [];
    let decodedBodies = 0;
    for (const rec of records(fixture)) {
      const { header } = decodeRpcHeader(rec.bytes);
      const tshark = fixture.messages.find((m) => m.frame === rec.frame);
      if (header.kind === "call") {
        calls.set(header.xid, header);
        const out = registry.decodeCall(header, rec.bytes, DEFAULT_LIMITS);
        if (!out.def) continue;
        decodedBodies++;
        const what = `frame ${rec.frame} call ${out.def.progName} ${out.def.name}`;
        if (out.issues.length) problems.push(`${what}: ${out.issues.map((i) => i.detail).join("; ")}`);
        if (out.end !== rec.bytes.length) problems.push(`${what}: ends at ${out.end} of ${rec.bytes.length}`);
        if (header.prog === 100003 && header.vers === 4 && header.proc === 1) {
          expect(compoundOps(out.args), what).toEqual(tshark?.nfsOps);
        }
        continue;
      }
      const call = calls.get(header.xid);
      if (!call || header.status !== "SUCCESS") continue;
      const out = registry.decodeReply(call, header, rec.bytes, DEFAULT_LIMITS);
      if (!out.def) continue;
      decodedBodies++;
      const what = `frame ${rec.frame} reply ${out.def.progName} ${out.def.name}`;
      if (out.issues.length) problems.push(`${what}: ${out.issues.map((i) => i.detail).join("; ")}`);
      if (out.end !== rec.bytes.length) problems.push(`${what}: ends at ${out.end} of ${rec.bytes.length}`);
      if (call.prog === 100003 && call.vers === 4 && call.proc === 1) {
        expect(compoundOps(out.res), what).toEqual(tshark?.nfsOps);
      }
    }
    expect(problems).toEqual([]);
    expect(decodedBodies).toBeGreaterThanOrEqual(name.startsWith("nfs") ? 220 : 35);
  });
});
