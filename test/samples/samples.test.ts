/**
 * The committed real-software samples and their tshark reference decodes:
 * every capture has a reference, the references are what tshark says today,
 * they contain what each recording script set out to record, and the demo
 * client's logs agree with what tshark saw on the wire.
 */
import { describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const SAMPLES = join(ROOT, "samples");
const NORMALIZE = join(SAMPLES, "tshark-normalize.mjs");

interface RpcRef {
  frame: number;
  xid: number;
  kind: "call" | "reply";
  prog: number | null;
  vers: number | null;
  proc: number | null;
  status: string | null;
  peerFrame: number | null;
  time: number | null;
  procName: string | null;
  nfsStatus?: number;
  fhHash?: number[];
  nfsOps?: string[];
}

interface LibvirtRef {
  frame: number;
  prog: number | null;
  vers: number | null;
  proc: number | null;
  type: number | null;
  serial: number | null;
  status: number | null;
  procName: string | null;
}

interface ClientLogLine {
  seq: number;
  transport: "tcp" | "udp";
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  procName: string;
  auth: string;
  args: unknown[];
  status: string;
  result: unknown;
  mismatch?: { low: number; high: number };
  authStat?: number;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out.sort();
}

function ndjson<T>(path: string): T[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}

// samples/hostile/ holds deliberately broken files (cut headers, 2 GB marks…) with exact
// tests of their own in test/hostile/; a tshark reference means nothing for most of them.
const captures = existsSync(SAMPLES)
  ? walk(SAMPLES).filter((p) => /\.pcap(ng)?$/.test(p) && !p.includes(`${sep}hostile${sep}`))
  : [];
const rel = (p: string) => relative(ROOT, p);
const sample = (p: string) => join(SAMPLES, p);
const rpcRef = (p: string) => ndjson<RpcRef>(sample(`${p}.tshark.ndjson`));

const tsharkMissing = spawnSync("tshark", ["--version"], { encoding: "utf8" }).status !== 0;
if (tsharkMissing) {
  console.warn("test/samples: tshark is not installed, so the live re-decode checks are skipped");
}
// The libvirt dissector is a plugin from Debian's libvirt-wireshark package.
const libvirtDissectorMissing =
  tsharkMissing || !/^libvirt$/m.test(execFileSync("tshark", ["-G", "protocols"], { encoding: "utf8", maxBuffer: 1 << 26 }).split("\n").map((l) => l.split("\t")[2] ?? "").join("\n"));
if (!tsharkMissing && libvirtDissectorMissing) {
  console.warn("test/samples: tshark has no libvirt dissector (install libvirt-wireshark), so the libvirt re-decode check is skipped");
}

/** Ethertypes of every frame of a classic pcap with link type Ethernet. */
function pcapEthertypes(path: string): number[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  expect(little || magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1).toBe(true);
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  expect(u32(20)).toBe(1); // LINKTYPE_ETHERNET
  const types: number[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const caplen = u32(off + 8);
    const frame = off + 16;
    if (caplen >= 14) types.push(buf.readUInt16BE(frame + 12));
    off = frame + caplen;
  }
  return types;
}

describe("sample captures", () => {
  it("exist for every scenario", () => {
    for (const dir of ["rpcbind", "demo-service", "nfs", "libvirt"]) {
      expect(captures.some((c) => rel(c).startsWith(`samples/${dir}/`)), dir).toBe(true);
    }
  });

  for (const capture of captures) {
    it(`${rel(capture)} has a tshark reference beside it and stays small`, () => {
      expect(existsSync(`${capture}.tshark.ndjson`)).toBe(true);
      const limit = rel(capture).startsWith("samples/nfs/") ? 3 * 1024 * 1024 : 1024 * 1024;
      expect(statSync(capture).size).toBeLessThan(limit);
      for (const m of ndjson<RpcRef>(`${capture}.tshark.ndjson`)) {
        expect(["call", "reply"]).toContain(m.kind);
        expect(Number.isInteger(m.frame) && Number.isInteger(m.xid)).toBe(true);
        if (m.kind === "call") expect(m.status).toBeNull();
        else expect(m.status).toMatch(/^[A-Z_]+(\(\d+\))?$/);
      }
    });
  }

  it("each scenario folder has an executable, syntactically valid record.sh", () => {
    for (const dir of ["rpcbind", "demo-service", "nfs", "libvirt"]) {
      const script = sample(`${dir}/record.sh`);
      expect(statSync(script).mode & 0o111, script).not.toBe(0);
      execFileSync("bash", ["-n", script]);
    }
    for (const script of ["record-all.sh", "make-references.sh", "lib.sh", "demo-service/build.sh"]) {
      execFileSync("bash", ["-n", sample(script)]);
    }
  });
});

describe.skipIf(tsharkMissing)("tshark today agrees with the committed references", () => {
  for (const capture of captures) {
    it(`${rel(capture)}`, () => {
      const live = execFileSync(process.execPath, [NORMALIZE, capture], { encoding: "utf8", maxBuffer: 1 << 28 });
      expect(live).toBe(readFileSync(`${capture}.tshark.ndjson`, "utf8"));
      const libvirtRef = `${capture}.tshark-libvirt.ndjson`;
      if (libvirtDissectorMissing) return;
      const liveLibvirt = execFileSync(process.execPath, [NORMALIZE, "--libvirt", capture], {
        encoding: "utf8",
        maxBuffer: 1 << 28,
      });
      expect(liveLibvirt).toBe(existsSync(libvirtRef) ? readFileSync(libvirtRef, "utf8") : "");
    });
  }

  it("normalises saved PDML the same way as a live run", () => {
    const capture = sample("rpcbind/rpcinfo-tcp-udp.pcapng");
    const command = execFileSync(process.execPath, [NORMALIZE, "--command", capture], { encoding: "utf8" });
    expect(command).toContain("-T pdml");
    const args = execFileSync(process.execPath, ["-e", `import(${JSON.stringify(NORMALIZE)}).then(m => console.log(JSON.stringify(m.tsharkArgs(process.argv[1]))))`, capture], { encoding: "utf8" });
    const pdml = execFileSync("tshark", JSON.parse(args) as string[], { encoding: "utf8", maxBuffer: 1 << 28 });
    const fromPdml = execFileSync(process.execPath, [NORMALIZE, "--pdml"], { input: pdml, encoding: "utf8" });
    expect(fromPdml).toBe(readFileSync(`${capture}.tshark.ndjson`, "utf8"));
  });
});

describe("rpcbind sample", () => {
  const ref = rpcRef("rpcbind/rpcinfo-tcp-udp.pcapng");

  it("pairs every call with a reply, both ways", () => {
    const calls = ref.filter((m) => m.kind === "call");
    const replies = ref.filter((m) => m.kind === "reply");
    expect(calls.length).toBe(23);
    expect(replies.length).toBe(calls.length);
    const byFrame = new Map(ref.map((m) => [`${m.frame}/${m.kind}`, m]));
    for (const c of calls) {
      const r = byFrame.get(`${c.peerFrame}/reply`);
      expect(r?.xid).toBe(c.xid);
      expect(r?.peerFrame).toBe(c.frame);
      expect(r?.time).toBeGreaterThan(0);
    }
  });

  it("holds every reply status rpcbind can be made to send", () => {
    const statuses = new Set(ref.map((m) => m.status));
    for (const s of ["SUCCESS", "PROG_MISMATCH", "PROG_UNAVAIL", "PROC_UNAVAIL"]) expect(statuses).toContain(s);
    const procs = new Set(ref.map((m) => `${m.vers}:${m.procName}`));
    for (const p of ["2:SET", "2:GETPORT", "2:UNSET", "2:DUMP", "3:DUMP", "4:GETADDR", "4:GETADDRLIST", "4:GETSTAT"]) {
      expect(procs).toContain(p);
    }
  });

  it("has TCP and UDP over IPv4 and IPv6, identically in pcap and pcapng", () => {
    const types = pcapEthertypes(sample("rpcbind/rpcinfo-tcp-udp.pcap"));
    expect(types.filter((t) => t === 0x86dd).length).toBeGreaterThan(4);
    expect(types.filter((t) => t === 0x0800).length).toBeGreaterThan(4);
    expect(readFileSync(sample("rpcbind/rpcinfo-tcp-udp.pcap.tshark.ndjson"), "utf8")).toBe(
      readFileSync(sample("rpcbind/rpcinfo-tcp-udp.pcapng.tshark.ndjson"), "utf8"),
    );
  });
});

describe("demo service", () => {
  const DEMO_PROG = 0x20406080;
  const logs: [string, string][] = [
    ["client-log.jsonl", "demo-tcp-udp.pcap"],
    ...["baseline-1", "baseline-2", "variant-error", "variant-delay", "variant-extra-call"].map(
      (n): [string, string] => [`${n}.client-log.jsonl`, `${n}.pcap`],
    ),
  ];

  for (const [logName, captureName] of logs) {
    it(`${logName} parses and matches what tshark saw in ${captureName}`, () => {
      const log = ndjson<ClientLogLine>(sample(`demo-service/${logName}`));
      expect(log.length).toBeGreaterThan(9);
      log.forEach((line, i) => {
        expect(line.seq).toBe(i + 1);
        expect(Array.isArray(line.args)).toBe(true);
        expect(["tcp", "udp"]).toContain(line.transport);
      });
      const ref = rpcRef(`demo-service/${captureName}`);
      const calls = new Map(ref.filter((m) => m.kind === "call").map((m) => [m.xid, m]));
      const replies = new Map(ref.filter((m) => m.kind === "reply").map((m) => [m.xid, m]));
      for (const line of log) {
        const call = calls.get(line.xid);
        expect(call, `call xid ${line.xid}`).toBeDefined();
        expect([call?.prog, call?.vers, call?.proc]).toEqual([line.prog, line.vers, line.proc]);
        expect(replies.get(line.xid)?.status, `reply to ${line.procName}`).toBe(line.status);
      }
      // Nothing on the demo port that the client did not log.
      const demoCalls = ref.filter((m) => m.kind === "call" && (m.prog === DEMO_PROG || m.prog === DEMO_PROG + 1));
      expect(demoCalls.length).toBe(log.length);
    });
  }

  it("the full workload provokes every RPC error and crosses both transports", () => {
    const log = ndjson<ClientLogLine>(sample("demo-service/client-log.jsonl"));
    const statuses = new Set(log.map((l) => l.status));
    for (const s of ["SUCCESS", "PROC_UNAVAIL", "PROG_MISMATCH", "PROG_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR", "AUTH_ERROR"]) {
      expect(statuses).toContain(s);
    }
    expect(new Set(log.map((l) => l.transport))).toEqual(new Set(["tcp", "udp"]));
    const upload = log.find((l) => l.procName === "UPLOAD" && l.transport === "tcp");
    expect(upload?.args[1]).toMatchObject({ length: 204800 });
    // The 200 KiB record reached the server in several fragments.
    expect(upload?.result).toMatchObject({ length: 204800 });
    const mismatch = log.find((l) => l.status === "PROG_MISMATCH");
    expect(mismatch?.mismatch).toEqual({ low: 1, high: 2 });
    // rpcbind was asked where the service is before the first call.
    const ref = rpcRef("demo-service/demo-tcp-udp.pcap");
    expect(ref.find((m) => m.kind === "call")?.procName).toBe("GETADDR");
  });

  it("the regression variants differ from the baseline only as intended", () => {
    const read = (n: string) => ndjson<ClientLogLine>(sample(`demo-service/${n}.client-log.jsonl`));
    const shape = (l: ClientLogLine) => ({ proc: l.proc, vers: l.vers, args: l.args, status: l.status, result: l.result });
    const b1 = read("baseline-1").map(shape);
    expect(read("baseline-2").map(shape)).toEqual(b1);
    expect(read("variant-delay").map(shape)).toEqual(b1);
    const err = read("variant-error").map(shape);
    const changed = err.flatMap((l, i) => (JSON.stringify(l) === JSON.stringify(b1[i]) ? [] : [l]));
    expect(changed).toEqual([expect.objectContaining({ result: { status: "DEMO_IO_ERROR" } })]);
    const extra = read("variant-extra-call");
    expect(extra.length).toBe(b1.length + 1);

    const store = (n: string) =>
      rpcRef(`demo-service/${n}.pcap`).find((m) => m.kind === "reply" && m.vers === 2 && m.proc === 1);
    expect(store("variant-delay")?.time).toBeGreaterThanOrEqual(0.03);
    expect(store("baseline-1")?.time).toBeLessThan(0.03);
  });
});

describe("NFS samples", () => {
  it("NFSv3 has MOUNT, the main NFSv3 procedures and an NFS3ERR_NOENT", () => {
    const ref = rpcRef("nfs/nfsv3.pcap");
    const names = new Set(ref.filter((m) => m.prog === 100003 && m.vers === 3).map((m) => m.procName));
    for (const p of ["LOOKUP", "GETATTR", "READDIRPLUS", "READ", "WRITE", "CREATE", "ACCESS", "FSINFO"]) {
      expect(names).toContain(p);
    }
    const mount = new Set(ref.filter((m) => m.prog === 100005).map((m) => m.procName));
    expect(mount).toContain("MNT");
    expect(mount).toContain("EXPORT");
    expect(ref.some((m) => m.kind === "reply" && m.procName === "LOOKUP" && m.nfsStatus === 2)).toBe(true);
    expect(ref.some((m) => (m.fhHash?.length ?? 0) > 0)).toBe(true);
  });

  it("NFSv4 has COMPOUNDs and an NFS4ERR_NOENT", () => {
    const ref = rpcRef("nfs/nfsv4.pcap");
    expect(ref.filter((m) => m.procName === "COMPOUND").length).toBeGreaterThan(20);
    expect(ref.some((m) => m.kind === "reply" && m.vers === 4 && m.nfsStatus === 2)).toBe(true);
    const ops = new Set(ref.flatMap((m) => m.nfsOps ?? []));
    for (const op of ["SETCLIENTID", "SETCLIENTID_CONFIRM", "PUTROOTFH", "PUTFH", "LOOKUP", "GETFH", "OPEN", "READ", "WRITE", "CLOSE", "READDIR"]) {
      expect(ops).toContain(op);
    }
    expect(ref.filter((m) => m.kind === "call").length).toBe(ref.filter((m) => m.kind === "reply").length);
  });
});

describe("libvirt sample", () => {
  it("has calls, replies, an error reply and events", () => {
    const ref = ndjson<LibvirtRef>(sample("libvirt/libvirt-test.pcap.tshark-libvirt.ndjson"));
    const types = new Set(ref.map((m) => m.type));
    expect(types).toEqual(new Set([0, 1, 2])); // CALL, REPLY, MESSAGE (events, keepalive)
    expect(ref.some((m) => m.type === 1 && m.status === 1)).toBe(true); // ERROR
    const lifecycle = ref.filter((m) => m.type === 2 && m.procName === "DOMAIN_EVENT_CALLBACK_LIFECYCLE");
    expect(lifecycle.length).toBe(6);
    expect(ref.filter((m) => m.type === 0).length).toBe(ref.filter((m) => m.type === 1).length);
    // tshark finds no ONC-RPC message in libvirt's own framing.
    expect(rpcRef("libvirt/libvirt-test.pcap")).toEqual([]);
  });
});
