/**
 * The NFS context on the real samples: the files named by READ, WRITE, GETATTR…
 * must be the ones samples/nfs/record.sh created and touched, COMPOUND operation
 * lists must equal tshark's, and error statuses must be where tshark sees them.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { AnalyzedMessage } from "../../ui/analyze.js";
import { MessageInfoContext } from "../../ui/message-info.js";
import { NFS_SAMPLES, runSample, tsharkReference, type SampleMessage, type TsharkLine } from "./helpers.js";

/** What record.sh did, read from the script itself. */
interface Recording {
  readonly exportPath: string;
  readonly pseudoPath: string;
  /** Paths below the export that exist on the server (files and directories), relative, with a leading "/". */
  readonly created: Set<string>;
  /** Per NFS version: files read, files written, names looked up in vain, in command order. */
  readonly reads: Map<3 | 4, string[]>;
  readonly writes: Map<3 | 4, string[]>;
  readonly missing: Map<3 | 4, string[]>;
  readonly uploadBytes: Map<3 | 4, number>;
}

function readRecording(): Recording {
  const script = readFileSync(NFS_SAMPLES + "record.sh", "utf8");
  const exportPath = /^EXPORT=(\S+)$/m.exec(script)?.[1];
  const pseudoPath = /Pseudo\s*=\s*"([^"]+)"/.exec(script)?.[1];
  if (!exportPath || !pseudoPath) throw new Error("record.sh: EXPORT or Pseudo not found");
  const created = new Set<string>();
  for (const m of script.matchAll(/mkdir -p "\$EXPORT(\/[^"]+)"/g)) {
    let p = m[1]!;
    while (p.length > 1) {
      created.add(p);
      p = p.slice(0, p.lastIndexOf("/")) || "/";
    }
  }
  for (const m of script.matchAll(/>"\$EXPORT(\/[^"]+)"/g)) created.add(m[1]!);
  const reads = new Map<3 | 4, string[]>([[3, []], [4, []]]);
  const writes = new Map<3 | 4, string[]>([[3, []], [4, []]]);
  const missing = new Map<3 | 4, string[]>([[3, []], [4, []]]);
  const uploadBytes = new Map<3 | 4, number>();
  for (const line of script.split("\n")) {
    const m = /^run (nfs-\w+) (.*)$/.exec(line.trim());
    if (!m) continue;
    const remote = /"\$V([34])(\/[^"?]*)\?version=\d"/.exec(m[2]!);
    if (!remote) continue;
    const v = Number(remote[1]) as 3 | 4;
    const rel = remote[2]!;
    const remoteFirst = m[2]!.trimStart().startsWith('"$V');
    if (m[1] === "nfs-cp" && !remoteFirst) {
      writes.get(v)!.push(rel);
      created.add(rel);
    } else if (m[1] === "nfs-cat" || m[1] === "nfs-cp") {
      (created.has(rel) ? reads : missing).get(v)!.push(rel);
    }
  }
  for (const m of script.matchAll(/repeat '[^']*' (\d+) >"\$RS_TMP\/upload-v([34])\.bin"/g)) {
    uploadBytes.set(Number(m[2]) as 3 | 4, Number(m[1]));
  }
  return { exportPath, pseudoPath, created, reads, writes, missing, uploadBytes };
}

interface Run {
  readonly messages: (SampleMessage & { readonly info: string })[];
  readonly ctx: MessageInfoContext;
  readonly analyzed: AnalyzedMessage[];
}

async function run(file: string): Promise<Run> {
  const ctx = new MessageInfoContext();
  const infos: string[] = [];
  const analyzed: AnalyzedMessage[] = [];
  const messages = await runSample(file, (m) => {
    analyzed.push(m);
    if (m.msg.header) infos.push(ctx.info(m));
  });
  return { messages: messages.map((s, i) => ({ ...s, info: infos[i]! })), ctx, analyzed };
}

/** The operation names of a COMPOUND info text: annotations and the trailing status removed. */
function opsOf(info: string): string[] {
  return info
    .replace(/\("[^"]*"\)|\((?:create )?"[^"]*"\)|\([^)]*\)/g, "")
    .split(" ")
    .filter((t) => t && !/^NFS4ERR_/.test(t));
}

function byFrame(ref: readonly TsharkLine[]): Map<string, TsharkLine> {
  return new Map(ref.map((l) => [`${l.frame}/${l.kind}/${l.xid}`, l]));
}

const rec = readRecording();

describe("record.sh, as read by the tests", () => {
  it("names the export, the files and the workload", () => {
    expect(rec.exportPath).toBe("/tmp/rpcscope-nfs-export");
    expect(rec.reads.get(3)).toEqual(["/hello.txt", "/big.bin"]);
    expect(rec.writes.get(3)).toEqual(["/sub/upload-v3.bin"]);
    expect(rec.missing.get(4)).toEqual(["/missing.txt"]);
    expect(rec.uploadBytes.get(3)).toBe(102400);
  });
});

describe("NFSv3 sample: paths learned from MOUNT, LOOKUP, READDIRPLUS and CREATE", () => {
  let r: Run;
  const exp = rec.exportPath;
  beforeAll(async () => {
    r = await run("nfsv3.pcap");
  });
  const calls = (proc: number): (SampleMessage & { info: string })[] =>
    r.messages.filter((s) => s.kind === "call" && s.prog === 100003 && s.proc === proc);

  it("READ names the files read, in the order record.sh read them", () => {
    const reads = calls(6);
    expect(reads.map((s) => s.info.split(" ")[1])).toEqual(rec.reads.get(3)!.map((p) => exp + p));
    expect(reads[1]!.info).toBe(`READ ${exp}/big.bin 256KiB@0`);
  });

  it("WRITE names the uploaded file, its size and stability", () => {
    const size = rec.uploadBytes.get(3)!;
    expect(calls(7).map((s) => s.info)).toEqual(
      rec.writes.get(3)!.map((p) => `WRITE ${exp}${p} ${size / 1024}KiB@0 UNSTABLE`),
    );
  });

  it("CREATE names the directory and the new name", () => {
    expect(calls(8).map((s) => s.info)).toEqual([`CREATE ${exp}/sub "upload-v3.bin"`]);
  });

  it("every call on a handle names a path record.sh made (no unknown handle)", () => {
    const known = new Set([exp, ...[...rec.created].map((p) => exp + p)]);
    let checked = 0;
    for (const proc of [1, 2, 4, 6, 7, 16, 17, 18, 19, 20, 21]) {
      for (const s of calls(proc)) {
        expect(s.info, `frame ${s.frame}`).not.toMatch(/fh 0x/);
        expect(known, `frame ${s.frame}: ${s.info}`).toContain(s.info.split(" ")[1]);
        checked++;
      }
    }
    expect(checked).toBe(9 + 1 + 2 + 2 + 1 + 3 + 5 + 1); // GETATTR SETATTR ACCESS READ WRITE READDIRPLUS FSINFO COMMIT
    // Each handle of the capture ends up known, under the export.
    for (const s of r.messages.filter((m) => m.prog === 100003)) {
      for (const h of s.handles) expect(known).toContain(r.ctx.nfs.pathOf(h));
    }
  });

  it("the reply repeats the call and adds the NFS status where tshark sees an error", () => {
    const ref = byFrame(tsharkReference("nfsv3.pcap"));
    let errors = 0;
    for (const s of r.messages.filter((m) => m.kind === "reply" && m.prog === 100003)) {
      const t = ref.get(`${s.frame}/reply/${s.m.msg.header!.xid}`)!;
      const call = r.messages.find((c) => c.kind === "call" && c.m.msg.exchange === s.m.msg.exchange)!;
      if (t.nfsStatus) {
        errors++;
        expect(s.info).toBe(`${call.info} NFS3ERR_NOENT`);
      } else {
        expect(s.info).toBe(call.info);
      }
    }
    expect(errors).toBe(1);
    expect(r.messages.find((s) => s.info.endsWith("NFS3ERR_NOENT"))!.info).toBe(
      `LOOKUP ${exp} "${rec.missing.get(3)![0]!.slice(1)}" NFS3ERR_NOENT`,
    );
  });

  it("MOUNT MNT shows the path, and MNT3ERR_ACCES on the refused mount of /", () => {
    const mnt = r.messages.filter((s) => s.prog === 100005 && s.proc === 1);
    expect(mnt[0]!.info).toBe("MNT /");
    expect(mnt[1]!.info).toBe("MNT / MNT3ERR_ACCES");
    expect(mnt.filter((s) => s.info === `MNT ${exp}`).length).toBe(8);
    expect(mnt.filter((s) => s.info === `MNT ${exp}/sub`).length).toBe(2);
  });
});

describe("NFSv4 sample: COMPOUND operation lists and paths", () => {
  let r: Run;
  const root = rec.pseudoPath;
  beforeAll(async () => {
    r = await run("nfsv4.pcap");
  });
  const compounds = (): (SampleMessage & { info: string })[] =>
    r.messages.filter((s) => s.prog === 100003 && s.vers === 4 && s.proc === 1);

  it("gives the operations tshark lists, for every COMPOUND call and reply", () => {
    const ref = byFrame(tsharkReference("nfsv4.pcap"));
    let same = 0;
    for (const s of compounds()) {
      const t = ref.get(`${s.frame}/${s.kind}/${s.m.msg.header!.xid}`);
      expect(t, `frame ${s.frame}`).toBeDefined();
      expect(opsOf(s.info), `frame ${s.frame}: ${s.info}`).toEqual(t!.nfsOps);
      same++;
    }
    console.log(`[nfs] nfsv4.pcap: operation lists equal tshark's in ${same}/${compounds().length} COMPOUND messages`);
    expect(same).toBe(68);
  });

  it("READ and WRITE compounds name the files record.sh read and wrote", () => {
    const reads = compounds().filter((s) => s.kind === "call" && / READ\(/.test(s.info));
    expect(reads.map((s) => /^PUTFH\(([^)]*)\)/.exec(s.info)?.[1])).toEqual(rec.reads.get(4)!.map((p) => root + p));
    const writes = compounds().filter((s) => s.kind === "call" && / WRITE\(/.test(s.info));
    expect(writes.map((s) => s.info)).toEqual(
      rec.writes.get(4)!.map((p) => `PUTFH(${root}${p}) WRITE(${rec.uploadBytes.get(4)}@0)`),
    );
  });

  it("every PUTFH handle is known, and its path is one record.sh made", () => {
    const known = new Set([root, ...[...rec.created].map((p) => root + p)]);
    let putfh = 0;
    for (const s of compounds()) {
      for (const m of s.info.matchAll(/PUTFH\(([^)]*)\)/g)) {
        expect(known, `frame ${s.frame}`).toContain(m[1]);
        putfh++;
      }
    }
    // As many as tshark lists (calls and replies).
    const tsharkPutfh = tsharkReference("nfsv4.pcap").reduce((n, l) => n + (l.nfsOps ?? []).filter((o) => o === "PUTFH").length, 0);
    expect(putfh).toBe(tsharkPutfh);
    expect(putfh).toBe(38);
  });

  it("the OPEN of a missing file ends in NFS4ERR_NOENT, as tshark's nfsStatus says", () => {
    const ref = byFrame(tsharkReference("nfsv4.pcap"));
    const failing = compounds().filter((s) => s.kind === "reply" && (ref.get(`${s.frame}/reply/${s.m.msg.header!.xid}`)?.nfsStatus ?? 0) !== 0);
    expect(failing.map((s) => s.info)).toEqual([
      `PUTFH(${root}) GETATTR ACCESS OPEN("${rec.missing.get(4)![0]!.slice(1)}") NFS4ERR_NOENT`,
    ]);
    expect(compounds().filter((s) => /NFS4ERR/.test(s.info)).length).toBe(1);
  });
});

describe("throughput", () => {
  it("measures the context on the samples (messages per second)", async () => {
    const sets = [await run("nfsv3.pcap"), await run("nfsv4.pcap")];
    const all = sets.flatMap((s) => s.analyzed.filter((m) => m.msg.header));
    const rounds = 300;
    let chars = 0;
    // CPU time of this process: wall time swings with whatever else the machine runs.
    const t0 = process.cpuUsage().user;
    for (let i = 0; i < rounds; i++) {
      // A new context per round: the same work as a first pass over the capture.
      for (const set of sets) {
        const ctx = new MessageInfoContext();
        for (const m of set.analyzed) if (m.msg.header) chars += ctx.info(m).length;
      }
    }
    const seconds = (process.cpuUsage().user - t0) / 1e6;
    const perSecond = Math.round((all.length * rounds) / seconds);
    console.log(`[nfs] context: ${all.length * rounds} messages in ${seconds.toFixed(3)} s CPU = ${perSecond.toLocaleString("en")} messages/s`);
    expect(chars).toBeGreaterThan(0);
    expect(perSecond).toBeGreaterThan(50_000);
  });
});
