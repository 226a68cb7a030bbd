/**
 * `rpcscope write -Y EXPR IN OUT` on real recordings: the written file holds
 * exactly the selected exchanges' frames (plus the TCP control segments of
 * their connections), byte for byte with the original timestamps and lengths;
 * `rpcscope summary --json` and tshark read it back.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readFrames } from "../../capture/open-capture.js";
import type { Frame } from "../../capture/frame.js";
import { FrameBitmap, run, tcpSegmentOf, formatForPath } from "../../ui/commands/write.js";
import { UsageError } from "../../ui/cli-options.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");
const RPCBIND = join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng");
const DEMO = join(ROOT, "samples", "demo-service");
const dir = mkdtempSync(join(tmpdir(), "rpcscope-write-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TSHARK = spawnSync("sh", ["-c", "command -v tshark"]).status === 0;
if (!TSHARK) console.log("write.test: tshark is not installed; the tshark checks of the written files are skipped");

interface SummaryLine {
  frame: number;
  xid: number;
  kind: string;
  transport: string;
  vers: number;
  proc: number;
  procName: string;
  status: string | null;
  peerFrame: number | null;
  mismatch?: { low: number; high: number };
}

/** `rpcscope summary --json FILE` (the built CLI, as the other end-to-end tests use it). */
function summaryJson(file: string, ...extra: string[]): SummaryLine[] {
  const out = execFileSync(process.execPath, [CLI, "summary", "--json", ...extra, file], { encoding: "utf8" });
  return out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as SummaryLine);
}

async function write(...args: string[]): Promise<{ code: number; text: string }> {
  let text = "";
  const code = await run(args, { write: (t) => { text += t; } });
  return { code, text };
}

async function frames(file: string): Promise<(Omit<Frame, "bytes" | "fileOffset" | "interfaceId"> & { bytes: number[] })[]> {
  const out = [];
  for await (const f of readFrames({ kind: "file", path: file })) {
    out.push({ no: f.no, tsSec: f.tsSec, tsNsec: f.tsNsec, linkType: f.linkType, originalLength: f.originalLength, bytes: [...f.bytes] });
  }
  return out;
}

/** The original frames with these numbers, renumbered 1… as they appear in the written file. */
async function originalFrames(file: string, numbers: number[]): Promise<Awaited<ReturnType<typeof frames>>> {
  const all = await frames(file);
  return numbers.map((n, i) => ({ ...all[n - 1]!, no: i + 1 }));
}

function tshark(file: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("tshark", ["-r", file, ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("write: the PROG_MISMATCH exchange of rpcinfo-tcp-udp.pcapng", () => {
  // rpcinfo -T tcp … 100000 7 on its own connection: SYN 79, SYN-ACK 80, ACK 81, call 82,
  // (pure ACK 83), reply 84, (pure ACK 85), FIN 86, FIN 87, last ACK 88.
  const KEPT = [79, 80, 81, 82, 84, 86, 87, 88];
  const out = join(dir, "prog-mismatch.pcapng");

  it("writes the call, the reply and the connection's handshake and close", async () => {
    const { code, text } = await write("-Y", "status == PROG_MISMATCH", RPCBIND, out);
    expect(code).toBe(0);
    expect(text).toBe(`8 frames (1 exchange, 1 TCP connection) of 166 written to ${out} (pcapng)\n`);
    expect(await frames(out)).toEqual(await originalFrames(RPCBIND, KEPT));
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
  });

  it("reads back with summary --json as exactly that exchange", () => {
    const lines = summaryJson(out);
    expect(lines).toHaveLength(2);
    const [call, reply] = lines as [SummaryLine, SummaryLine];
    expect(call).toMatchObject({ frame: 4, kind: "call", xid: 0xe8417ccd, transport: "tcp", vers: 7, proc: 0, status: null, peerFrame: 5 });
    expect(reply).toMatchObject({ frame: 5, kind: "reply", xid: 0xe8417ccd, vers: 7, status: "PROG_MISMATCH", peerFrame: 4, mismatch: { low: 2, high: 4 } });
    // And it is the same exchange the original shows at frames 82/84.
    const original = summaryJson(RPCBIND).filter((l) => l.xid === 0xe8417ccd);
    expect(original.map((l) => [l.frame, l.kind, l.status])).toEqual([[82, "call", null], [84, "reply", "PROG_MISMATCH"]]);
  });

  it.skipIf(!TSHARK)("is a valid capture for tshark, which decodes the same exchange without complaint", () => {
    const list = tshark(out);
    expect(list.status).toBe(0);
    expect(list.stdout.trim().split("\n")).toHaveLength(8);
    const fields = tshark(out, "-Y", "rpc", "-T", "fields", "-e", "frame.number", "-e", "rpc.xid", "-e", "rpc.msgtyp",
      "-e", "rpc.state_accept", "-e", "rpc.programversion.min", "-e", "rpc.programversion.max");
    expect(fields.status).toBe(0);
    expect(fields.stdout.trim().split("\n").map((l) => l.split("\t"))).toEqual([
      ["4", "0xe8417ccd", "0", "", "", ""],
      ["5", "0xe8417ccd", "1", "2", "2", "4"],
    ]);
    const expert = tshark(out, "-q", "-z", "expert");
    expect(expert.status).toBe(0);
    expect(expert.stdout).not.toMatch(/^(Errors|Warns) \(/m);
  });

  it("writes pcap with the same frames, microsecond timestamps and the input's link type", async () => {
    const pcap = join(dir, "prog-mismatch.pcap");
    expect((await write("-Y", "status == PROG_MISMATCH", RPCBIND, pcap)).code).toBe(0);
    const head = readFileSync(pcap).subarray(0, 24);
    expect([...head.subarray(0, 4)]).toEqual([0xd4, 0xc3, 0xb2, 0xa1]); // microsecond magic, little-endian
    expect(head.readUInt32LE(20)).toBe(1); // LINKTYPE_ETHERNET
    expect(await frames(pcap)).toEqual(await originalFrames(RPCBIND, KEPT));
    if (TSHARK) expect(tshark(pcap).stdout.trim().split("\n")).toHaveLength(8);
  });
});

describe("write: other selections", () => {
  it("takes UDP exchanges as their two datagrams, with no TCP connection", async () => {
    const out = join(dir, "unavail-udp.pcapng");
    const { text } = await write("-Y", "status == PROC_UNAVAIL && transport == udp", RPCBIND, out);
    expect(text).toMatch(/^2 frames \(1 exchange, 0 TCP connections\) of 166 written/);
    const lines = summaryJson(out);
    expect(lines.map((l) => [l.frame, l.kind, l.transport, l.vers, l.proc, l.status])).toEqual([
      [1, "call", "udp", 4, 42, null], [2, "reply", "udp", 4, 42, "PROC_UNAVAIL"],
    ]);
  });

  it("cuts one exchange out of a longer TCP connection: holes, but both readers find it", async () => {
    const out = join(dir, "check.pcap");
    const spec = join(DEMO, "demo.x");
    const { text } = await write("--spec", spec, "-Y", "proc == CHECK", join(DEMO, "baseline-1.pcap"), out);
    // SYN, SYN-ACK, ACK, call, reply, FIN, FIN, ACK.
    expect(text).toMatch(/^8 frames \(1 exchange, 1 TCP connection\) of 36 written/);
    const xid = 0x73e37784;
    const lines = summaryJson(out, "--spec", spec);
    expect(lines.map((l) => [l.kind, l.xid, l.procName, l.status])).toEqual([["call", xid, "CHECK", null], ["reply", xid, "CHECK", "SUCCESS"]]);
    if (TSHARK) {
      // The samples' tshark settings (samples/README.md): RPC heuristics pick the records up after the holes.
      const r = tshark(out, "-2", "-o", "tcp.try_heuristic_first:TRUE", "-o", "rpc.dissect_unknown_programs:TRUE",
        "-d", "tcp.port==23456,rpc", "-Y", "rpc", "-T", "fields", "-E", "occurrence=f", "-e", "rpc.xid", "-e", "rpc.msgtyp", "-e", "rpc.procedure");
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual([`0x${xid.toString(16)}\t0\t6`, `0x${xid.toString(16)}\t1\t6`]);
    }
  });

  it("writes a valid empty capture when nothing matches", async () => {
    const out = join(dir, "none.pcap");
    const { text } = await write("-Y", "xid == 1", RPCBIND, out);
    expect(text).toMatch(/^0 frames \(0 exchanges, 0 TCP connections\) of 166 written/);
    expect(readFileSync(out)).toHaveLength(24);
    expect(await frames(out)).toEqual([]);
    if (TSHARK) expect(tshark(out).status).toBe(0);
  });

  it("rejects bad command lines before writing anything", async () => {
    const out = join(dir, "bad.pcap");
    await expect(write(RPCBIND, out)).rejects.toThrow(/needs -Y/);
    await expect(write("-Y", "xid == 1", RPCBIND)).rejects.toThrow(UsageError);
    await expect(write("-Y", "xid == 1", "-", out)).rejects.toThrow(/needs a file/);
    await expect(write("-Y", "xid == 1", RPCBIND, join(dir, "out.txt"))).rejects.toThrow(/cannot tell the format/);
    await expect(write("-Y", "xid == 1", "--format", "erf", RPCBIND, out)).rejects.toThrow(/--format/);
    await expect(write("-Y", "xid == 1", RPCBIND, RPCBIND)).rejects.toThrow(/is the input file/);
    await expect(write("-Y", "xid ==", RPCBIND, out)).rejects.toThrow();
    expect(existsSync(out)).toBe(false);
  });
});

describe("write: synthetic link types, nanosecond timestamps, IP fragments", () => {
  const SYNTH = join(ROOT, "samples", "synthetic");

  /** Original frame numbers of the written frames (each written frame must equal one, in order). */
  async function origins(original: string, written: string): Promise<number[]> {
    const all = await frames(original);
    const out: number[] = [];
    let at = 0;
    for (const w of await frames(written)) {
      const { no: _no, ...want } = w;
      while (at < all.length) {
        const { no: _n, ...have } = all[at]!;
        at++;
        if (JSON.stringify(have) === JSON.stringify(want)) break;
        if (at === all.length) throw new Error(`written frame ${w.no} is not an original frame`);
      }
      out.push(at);
    }
    return out;
  }

  it.each(["vlan.pcap", "sll2.pcap", "null-loopback.pcap", "nanosecond.pcapng"])(
    "%s: TCP exchanges with their handshake and close, frames unchanged",
    async (name) => {
      const input = join(SYNTH, name);
      const out = join(dir, `tcp-${name}`);
      await write("-Y", "transport == tcp", input, out);
      const tcpLines = summaryJson(input).filter((l) => l.transport === "tcp").map((l) => [l.kind, l.xid, l.status]);
      expect(tcpLines.length).toBeGreaterThan(0);
      expect(summaryJson(out).map((l) => [l.kind, l.xid, l.status])).toEqual(tcpLines);
      const kept = await origins(input, out);
      expect(kept.length).toBeGreaterThan(tcpLines.length); // control segments too
      const written = await frames(out);
      const flags = written.map((f) => tcpSegmentOf(Uint8Array.from(f.bytes), f.linkType)?.flags ?? 0);
      expect(flags.some((f) => (f & 0x12) === 0x02)).toBe(true); // a SYN
      expect(flags.some((f) => (f & 0x01) !== 0)).toBe(true); // a FIN
      if (name.startsWith("nanosecond")) expect(written.some((f) => f.tsNsec % 1000 !== 0)).toBe(true);
      if (TSHARK) expect(tshark(out).status).toBe(0);
    },
  );

  it("nanosecond.pcap to pcap keeps the nanosecond magic and timestamps", async () => {
    const input = join(SYNTH, "nanosecond.pcap");
    const out = join(dir, "ns-out.pcap");
    await write("-Y", "kind == reply", input, out);
    expect([...readFileSync(out).subarray(0, 4)]).toEqual([0x4d, 0x3c, 0xb2, 0xa1]);
    const kept = await origins(input, out);
    expect(kept.length).toBe(summaryJson(input).length);
    expect((await frames(out)).some((f) => f.tsNsec % 1000 !== 0)).toBe(true);
  });

  it("refuses pcap for frames of several link types, and leaves no file", async () => {
    const out = join(dir, "mixed.pcap");
    await expect(write("-Y", "kind == call", join(SYNTH, "nanosecond.pcapng"), out)).rejects.toThrow(/pcap holds one link type/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp"))).toEqual([]);
    const ng = join(dir, "mixed.pcapng");
    await write("-Y", "kind == call", join(SYNTH, "nanosecond.pcapng"), ng);
    expect(new Set((await frames(ng)).map((f) => f.linkType)).size).toBeGreaterThan(1);
    if (TSHARK) expect(tshark(ng).status).toBe(0);
  });

  it("ip-fragments.pcap: a UDP reply in IP fragments brings every fragment", async () => {
    const input = join(SYNTH, "ip-fragments.pcap");
    const out = join(dir, "fragments.pcap");
    await write("-Y", "xid == 0x4001", input, out);
    expect(await origins(input, out)).toEqual([1, 2, 3, 4]);
    expect(summaryJson(out).map((l) => [l.frame, l.kind, l.procName, l.status])).toEqual([[1, "call", "DUMP", null], [4, "reply", "DUMP", "SUCCESS"]]);
  });
});

describe("write: helpers", () => {
  it("names formats by extension", () => {
    expect(["a.pcap", "a.PCAPNG", "a.cap", "a.ntar", "a.txt", "a"].map(formatForPath)).toEqual(["pcap", "pcapng", "pcap", "pcapng", null, null]);
  });

  it("reads TCP headers of every frame of the sample and rejects short or odd frames", async () => {
    let syn = 0;
    let tcp = 0;
    for await (const f of readFrames({ kind: "file", path: RPCBIND })) {
      const seg = tcpSegmentOf(f.bytes, f.linkType);
      if (!seg) continue;
      tcp++;
      if (seg.flags & 0x02 && !(seg.flags & 0x10)) syn++;
      expect(seg.payload).toBeGreaterThanOrEqual(0);
      // Every prefix of a frame is handled without an exception.
      for (let cut = 0; cut < f.bytes.length; cut += 7) tcpSegmentOf(f.bytes.subarray(0, cut), f.linkType);
    }
    // As tshark counts them: tcp.flags.syn == 1 && tcp.flags.ack == 0 (IPv4 and IPv6).
    expect(syn).toBe(15);
    expect(tcp).toBeGreaterThan(100);
    expect(tcpSegmentOf(new Uint8Array(0), 1)).toBeNull();
    expect(tcpSegmentOf(new Uint8Array(60), 9999)).toBeNull();
  });
});

describe("FrameBitmap (the selected frames, a bit per frame)", () => {
  it("holds what a Set would, for frames in any order, duplicates and far-apart numbers", () => {
    const bits = new FrameBitmap();
    const set = new Set<number>();
    let x = 7;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const frame = i % 3 === 0 ? x % 100 : x % 300_000;
      bits.add(frame);
      set.add(frame);
    }
    for (const far of [2 ** 31 - 1, 2 ** 31, 2 ** 32 + 5, 40_000_000]) {
      bits.add(far);
      set.add(far);
    }
    expect(bits.size).toBe(set.size);
    for (let f = 0; f < 300_100; f++) expect(bits.has(f), `frame ${f}`).toBe(set.has(f));
    for (const f of [2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 32 + 4, 2 ** 32 + 5, 40_000_000, 40_000_001]) {
      expect(bits.has(f), `frame ${f}`).toBe(set.has(f));
    }
    expect(bits.has(-1)).toBe(false);
    expect(bits.has(2 ** 40)).toBe(false);
  });

  it("refuses what is not a frame number", () => {
    const bits = new FrameBitmap();
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) expect(() => bits.add(bad), String(bad)).toThrow(RangeError);
  });
});
