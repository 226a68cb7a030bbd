/**
 * `summary` (text) decodes the NFS replies its info text learns from (LOOKUP,
 * CREATE…) and reads only the status word of the others (READ, GETATTR…). Its
 * lines must be the ones `summary -V` gives, where every body is decoded: errors
 * and successes of both kinds, and a reply whose call was never seen.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEthernetIpv4Udp } from "../../capture/packet-builder.js";
import { MemorySink, PcapWriter } from "../../capture/capture-writer.js";
import { runCli } from "../hostile/cli-run.js";

const NFS = 100003;
const words = (...values: number[]): number[] => values;
const fh = (n: number): number[] => [8, 0x01020304, n];
/** post_op_attr / pre_op_attr with nothing following. */
const NO_ATTR = 0;

/** [proc, call arguments, reply results] as XDR words. */
const EXCHANGES: [number, number[], number[]][] = [
  [1, fh(1), words(70)], // GETATTR → NFS3ERR_STALE (void arm)
  [4, [...fh(2), 0x1f], words(13, NO_ATTR)], // ACCESS → NFS3ERR_ACCES
  [6, [...fh(3), 0, 4096, 512], words(5, NO_ATTR)], // READ → NFS3ERR_IO
  [7, [...fh(4), 0, 0, 0, 2, 0], words(28, NO_ATTR, NO_ATTR)], // WRITE → NFS3ERR_NOSPC (wcc_data)
  [21, [...fh(5), 0, 0, 0], words(12345, NO_ATTR, NO_ATTR)], // COMMIT → a status without a name
  [6, [...fh(6), 0, 0, 4], words(0, NO_ATTR, 4, 1, 4, 0x61626364)], // READ → 4 bytes, EOF
  [3, [...fh(7), 8, 0x66696c65, 0x2e747874], words(2, NO_ATTR)], // LOOKUP "file.txt" → NFS3ERR_NOENT
  [3, [...fh(7), 1, 0x61000000], words(0, ...fh(8), NO_ATTR, NO_ATTR)], // LOOKUP "a" → handle 8
  [1, fh(8), words(13)], // GETATTR of the handle just learned → NFS3ERR_ACCES
  [7, [...fh(9), 0, 0, 0, 2, 0, 0xdead], words(28, NO_ATTR, NO_ATTR)], // WRITE with a word after its arguments (trailing bytes)
  [6, [...fh(10), 0, 0], words(5, NO_ATTR)], // READ cut inside its count
];

function bytesOf(ws: readonly number[]): Uint8Array {
  const out = Buffer.alloc(ws.length * 4);
  ws.forEach((w, i) => out.writeUInt32BE(w >>> 0, i * 4));
  return out;
}

let dir = "";
let capture = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rpcscope-info-"));
  capture = join(dir, "nfs-errors.pcap");
  const sink = new MemorySink();
  const w = new PcapWriter(sink, { linkType: 1 });
  let t = 0;
  const udp = (fromClient: boolean, payload: Uint8Array): void => {
    const bytes = buildEthernetIpv4Udp({
      src: fromClient ? "127.0.0.1" : "127.0.0.2", dst: fromClient ? "127.0.0.2" : "127.0.0.1",
      sport: fromClient ? 800 : 2049, dport: fromClient ? 2049 : 800, payload,
    });
    w.writeFrame({ tsSec: 1_700_000_000, tsNsec: (t += 1000), bytes });
  };
  EXCHANGES.forEach(([proc, args, res], i) => {
    const xid = 0x100 + i;
    udp(true, bytesOf([xid, 0, 2, NFS, 3, proc, 0, 0, 0, 0, ...args]));
    udp(false, bytesOf([xid, 1, 0, 0, 0, 0, ...res]));
  });
  // A READ reply whose call is not in the capture.
  udp(false, bytesOf([0x999, 1, 0, 0, 0, 0, 70, NO_ATTR]));
  w.flush();
  writeFileSync(capture, sink.bytes());
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("summary's info text without decoding READ/GETATTR… replies", () => {
  it("gives the lines that full decoding (-V) gives", () => {
    const plain = runCli(["summary", capture]);
    const full = runCli(["summary", "-V", capture]);
    expect(plain.status).toBe(0);
    expect(full.status).toBe(0);
    const lines = plain.stdout.toString("utf8").split("\n");
    // -V adds indented tree lines under each message line.
    const fullLines = full.stdout.toString("utf8").split("\n").filter((l) => !/^ {10}/.test(l));
    expect(lines).toEqual(fullLines);
    const text = lines.join("\n");
    for (const status of ["NFS3ERR_STALE", "NFS3ERR_ACCES", "NFS3ERR_IO", "NFS3ERR_NOSPC", "UNKNOWN(12345)", "NFS3ERR_NOENT"]) {
      expect(text).toContain(status);
    }
    // The GETATTR after the LOOKUP names the file the LOOKUP reply taught.
    expect(lines.filter((l) => / Reply .*GETATTR fh 0x[0-9a-f]{8}\/a NFS3ERR_ACCES$/.test(l)).length).toBe(1);
    expect(text).toContain('"file.txt" NFS3ERR_NOENT');
    // Calls the info text reads as facts, and those that are not clean (decoded after all, with their issue).
    expect(text).toContain("WRITE fh 0x");
    expect(lines.filter((l) => / Call .*READ fh 0x[0-9a-f]{8} 512@4096$/.test(l)).length).toBe(1);
  });

  it("summary --json -V: arguments from the bytes, info from facts, as with every body decoded", () => {
    // A filter makes every body decode into a tree first; this one lets every message through.
    const direct = runCli(["summary", "--json", "-V", capture]);
    const decoded = runCli(["summary", "--json", "-V", "-Y", "frame > 0", capture]);
    expect(direct.status).toBe(0);
    expect(decoded.status).toBe(0);
    const lines = direct.stdout.toString("utf8").trim().split("\n");
    expect(lines).toEqual(decoded.stdout.toString("utf8").trim().split("\n"));
    const objects = lines.map((l) => JSON.parse(l) as { info?: string; args?: unknown; issues?: { code: string }[] });
    expect(objects.filter((o) => o.info?.startsWith("WRITE fh 0x") && o.args !== undefined).length).toBeGreaterThan(0);
    expect(objects.some((o) => o.issues?.some((i) => i.code === "trailing-bytes"))).toBe(true);
  });
});
