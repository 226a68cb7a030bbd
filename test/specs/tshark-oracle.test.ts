/**
 * tshark as an independent oracle for the parts of the specs that no fixture
 * traffic covers (NFSv4.1/4.2 operations, NLM, NSM, rquota, NFS_ACL): messages
 * are generated from the specs with random values, put into a pcap, and
 * dissected by tshark. A layout that disagrees with tshark's shows up as a
 * malformed packet, or — inside COMPOUND, where each operation is followed by a
 * PUTROOTFH — as an operation list tshark reads differently.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import type { Schema } from "../../dissect/xdr/schema.js";
import type { XdrType } from "../../dissect/xdr-types.js";
import { PcapBuilder, callHeader, replyHeader } from "./pcap-build.js";
import { XdrWriter, generate, rng } from "./xdr-generate.js";
import type { GenerateOptions } from "./xdr-generate.js";
import { deref } from "./xdr-walk.js";

const SPEC_DIR = fileURLToPath(new URL("../../dissect/specs/", import.meta.url));
const TSHARK = spawnSync("sh", ["-c", "command -v tshark"]).status === 0;
if (!TSHARK) console.warn("[specs] tshark is not installed: the tshark oracle checks are skipped (apt-get install tshark)");

/** Rounds of random values per operation or procedure. */
const ROUNDS = Number(process.env.RPCSCOPE_ORACLE_ROUNDS ?? 24);
const OP_PUTROOTFH = 24;

interface FrameView {
  readonly msgtyp: number[];
  readonly ops: number[];
  readonly malformed: boolean;
  readonly errors: string[];
  /** tshark's layer list, e.g. "raw:ip:tcp:rpc:nlm"; a trailing ":data" means bytes left over. */
  readonly protocols: string;
}

function runTshark(pcap: string, port: number): Map<number, FrameView> {
  const r = spawnSync(
    "tshark",
    ["-r", pcap, "-d", `tcp.port==${port},rpc`, "-Y", "rpc", "-T", "fields", "-E", "separator=\t",
      "-E", "occurrence=a", "-E", "aggregator=|", "-e", "frame.number", "-e", "rpc.msgtyp", "-e", "nfs.opcode",
      "-e", "_ws.malformed", "-e", "_ws.expert.severity", "-e", "_ws.expert.message", "-e", "frame.protocols"],
    { encoding: "utf8", maxBuffer: 1 << 28 },
  );
  expect(r.status, r.stderr).toBe(0);
  const frames = new Map<number, FrameView>();
  for (const line of r.stdout.split("\n")) {
    if (!line) continue;
    const [frame, msgtyp, ops, malformed, severities, messages, protocols] = line.split("\t");
    const sev = (severities ?? "").split("|");
    const msgs = (messages ?? "").split("|");
    // Expert severity: 0x00800000 is an error (Wireshark's PI_ERROR).
    const errors = msgs.filter((_, i) => Number(sev[i]) >= 0x00800000);
    frames.set(Number(frame), {
      msgtyp: (msgtyp ?? "").split("|").filter(Boolean).map(Number),
      ops: (ops ?? "").split("|").filter(Boolean).map(Number),
      malformed: (malformed ?? "") !== "",
      errors,
      protocols: protocols ?? "",
    });
  }
  return frames;
}

/**
 * Value choices that keep tshark from decoding opaque bodies whose contents the
 * generator cannot know (attribute values follow their bitmap; layout bodies are
 * parsed by layout type; the state protection bitmaps are shown as operation
 * numbers, which would mix with the operation list), and that avoid union arms
 * where tshark 4.x departs from the RFC (see TSHARK_DIVERGES).
 */
const OPTIONS: GenerateOptions = {
  override(name, out) {
    if (name === "fattr4") {
      out.u32(0).u32(0); // empty bitmap, no values
      return true;
    }
    if (name === "state_protect_ops4") {
      out.u32(0).u32(0); // two empty bitmaps
      return true;
    }
    if (name === "layouttype4") {
      out.u32(2); // LAYOUT4_OSD2_OBJECTS: a type whose bodies tshark leaves opaque
      return true;
    }
    return false;
  },
  avoid(union, disc) {
    return (
      // RFC 5662 ssv_prot_info4.spi_handles is an array; tshark reads one opaque.
      (union === "state_protect4_r" && disc === 2) ||
      // tshark does not decode these error arms (RFC 5662 section 18.40.2, 18.43.2).
      (union === "GETDEVICEINFO4res" && disc === 10005) ||
      (union === "LAYOUTGET4res" && disc === 10058) ||
      // RFC 5662 open_claim4: CLAIM_DELEG_CUR_FH carries a stateid4; tshark reads none.
      (union === "open_claim4" && disc === 5) ||
      // RFC 5662 open_none_delegation4: WND4_CONTENTION and WND4_RESOURCE carry a bool; tshark reads none.
      (union === "open_none_delegation4" && (disc === 1 || disc === 2))
    );
  },
};

/**
 * Operations tshark 4.x does not dissect as RFC 5662 / RFC 7863 define them, so
 * it cannot judge them: it stops at GET_DIR_DELEGATION, SET_SSV and
 * WANT_DELEGATION, and reads WRITE_SAME's app_data_block4 with the fields of an
 * earlier draft (a 32-bit content index and counts).
 */
const TSHARK_DIVERGES: ReadonlyMap<number, "call" | "both"> = new Map([
  [46, "both"], [54, "both"], [56, "both"], [70, "call"],
]);

/** Bodies tshark 4.x names but leaves undissected (shown as "data"): not judged. */
const TSHARK_DOES_NOT_DISSECT: readonly string[] = [
  "RQUOTAPROG v1 RQUOTAPROC_SETACTIVEQUOTA call", "RQUOTAPROG v1 RQUOTAPROC_SETACTIVEQUOTA reply",
  "RQUOTAPROG v1 RQUOTAPROC_SETQUOTA call", "RQUOTAPROG v1 RQUOTAPROC_SETQUOTA reply",
  "RQUOTAPROG v2 RQUOTAPROC_SETACTIVEQUOTA call", "RQUOTAPROG v2 RQUOTAPROC_SETACTIVEQUOTA reply",
  "RQUOTAPROG v2 RQUOTAPROC_SETQUOTA call", "RQUOTAPROG v2 RQUOTAPROC_SETQUOTA reply",
];

describe.skipIf(!TSHARK)("tshark dissects messages generated from the specs", () => {
  let schema: Schema;
  let work = "";
  beforeAll(() => {
    const files = readdirSync(SPEC_DIR).filter((f) => f.endsWith(".x")).sort();
    const result = compileSchema(files.map((f) => ({ path: f, text: readFileSync(join(SPEC_DIR, f), "utf8") })));
    expect(result.errors.map((e) => e.message)).toEqual([]);
    schema = result.schema!;
    work = mkdtempSync(join(tmpdir(), "rpcscope-oracle-"));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function typeOf(name: string): XdrType {
    const t = schema.types.get(name);
    if (!t) throw new Error(`no type ${name}`);
    return deref(t);
  }

  it("NFSv4 COMPOUND: arguments and results of every operation, minor versions 0-2", () => {
    const argop = typeOf("nfs_argop4");
    const resop = typeOf("nfs_resop4");
    if (argop.kind !== "union" || resop.kind !== "union") throw new Error("nfs_argop4/nfs_resop4 are not unions");
    const pcap = new PcapBuilder({ clientPort: 801, serverPort: 2049 });
    const expected = new Map<number, { op: number; round: number; call: boolean }>();
    let xid = 0x10000;
    for (const [op, argArm] of argop.arms) {
      const resArm = resop.arms.get(op)!;
      for (let round = 0; round < ROUNDS; round++) {
        const random = rng(op * 1000 + round);
        const id = xid++;
        const call = new XdrWriter();
        for (const w of callHeader(id, 100003, 4, 1)) call.u32(w);
        call.string("oracle").u32(op >= 40 ? (op >= 59 ? 2 : 1) : 0).u32(2);
        call.u32(op);
        generate(argArm.type, call, random, OPTIONS);
        call.u32(OP_PUTROOTFH);
        expected.set(pcap.record(true, call.finish()), { op, round, call: true });

        const reply = new XdrWriter();
        for (const w of replyHeader(id)) reply.u32(w);
        reply.u32(0).string("oracle").u32(2);
        reply.u32(op);
        generate(resArm.type, reply, random, OPTIONS);
        reply.u32(OP_PUTROOTFH).u32(0);
        expected.set(pcap.record(false, reply.finish()), { op, round, call: false });
      }
    }
    const file = join(work, "nfs4.pcap");
    writeFileSync(file, pcap.finish());
    // Set RPCSCOPE_KEEP_ORACLE=/some/dir to keep the generated capture for a look with tshark -V.
    if (process.env.RPCSCOPE_KEEP_ORACLE) writeFileSync(join(process.env.RPCSCOPE_KEEP_ORACLE, "nfs4.pcap"), readFileSync(file));
    const frames = runTshark(file, 2049);
    const problems: string[] = [];
    let skipped = 0;
    for (const [frame, want] of expected) {
      const got = frames.get(frame);
      const what = `frame ${frame} ${want.call ? "call" : "reply"} op ${want.op} round ${want.round}`;
      if (!got) {
        problems.push(`${what}: not dissected as RPC`);
        continue;
      }
      const diverges = TSHARK_DIVERGES.get(want.op);
      if (diverges === "both" || (diverges === "call" && want.call)) {
        skipped++;
        continue;
      }
      if (got.malformed) problems.push(`${what}: malformed`);
      if (got.errors.length) problems.push(`${what}: ${got.errors.join("; ")}`);
      if (got.ops.join(",") !== `${want.op},${OP_PUTROOTFH}`) problems.push(`${what}: tshark read ops ${got.ops.join(",")}`);
    }
    expect(problems).toEqual([]);
    expect(expected.size).toBe(74 * ROUNDS * 2);
    expect(skipped).toBe(7 * ROUNDS);
  });
  /**
   * Every other procedure of every program: tshark must take the whole call and
   * reply (no malformed packet, no bytes left over as "data"). Procedures whose
   * body tshark does not dissect at all are counted, not judged.
   */
  it("all other programs: arguments and results of every procedure", () => {
    const port = 20049;
    const pcap = new PcapBuilder({ clientPort: 803, serverPort: port });
    const expected = new Map<number, { what: string; empty: boolean }>();
    let xid = 0x20000;
    for (const prog of schema.programs) {
      for (const vers of prog.versions) {
        if (prog.number === 100003 && vers.number === 4) continue;
        for (const proc of vers.procedures) {
          for (let round = 0; round < ROUNDS; round++) {
            const random = rng(prog.number * 7 + vers.number * 1000 + proc.number * 100000 + round);
            const id = xid++;
            const what = `${prog.name} v${vers.number} ${proc.name} round ${round}`;
            const call = new XdrWriter();
            for (const w of callHeader(id, prog.number, vers.number, proc.number)) call.u32(w);
            const callHead = call.length;
            for (const a of proc.args) generate(a, call, random, OPTIONS);
            expected.set(pcap.record(true, call.finish()), { what: `${what} call`, empty: call.length === callHead });
            const reply = new XdrWriter();
            for (const w of replyHeader(id)) reply.u32(w);
            const replyHead = reply.length;
            generate(proc.result, reply, random, OPTIONS);
            expected.set(pcap.record(false, reply.finish()), { what: `${what} reply`, empty: reply.length === replyHead });
          }
        }
      }
    }
    const file = join(work, "others.pcap");
    writeFileSync(file, pcap.finish());
    if (process.env.RPCSCOPE_KEEP_ORACLE) writeFileSync(join(process.env.RPCSCOPE_KEEP_ORACLE, "others.pcap"), readFileSync(file));
    const frames = runTshark(file, port);
    const problems: string[] = [];
    const notDissected = new Set<string>();
    let judged = 0;
    for (const [frame, { what, empty }] of expected) {
      const got = frames.get(frame);
      if (!got) {
        problems.push(`frame ${frame} ${what}: not dissected as RPC`);
        continue;
      }
      if (got.protocols.endsWith(":rpc") || got.protocols.endsWith(":rpc:data")) {
        // A void body has nothing to dissect; anything else tshark left alone is listed.
        if (empty && got.protocols.endsWith(":rpc")) continue;
        notDissected.add(what.replace(/ round \d+ /, " "));
        continue;
      }
      judged++;
      if (got.malformed) problems.push(`frame ${frame} ${what}: malformed`);
      if (got.errors.length) problems.push(`frame ${frame} ${what}: ${got.errors.join("; ")}`);
      if (got.protocols.endsWith(":data")) problems.push(`frame ${frame} ${what}: bytes left over (${got.protocols})`);
    }
    expect(problems).toEqual([]);
    expect([...notDissected].sort()).toEqual(TSHARK_DOES_NOT_DISSECT);
    expect(judged).toBeGreaterThan(0);
  });
});
