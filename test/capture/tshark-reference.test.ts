/**
 * Our readers against tshark on the synthetic samples: frame numbers, timestamps
 * (to the nanosecond) and captured lengths must agree. Skipped, with the reason
 * printed, when tshark is not installed.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFrames } from "../../capture/open-capture.js";
import { MemorySink, PcapWriter, PcapngWriter } from "../../capture/capture-writer.js";
import { LinkType } from "../../capture/frame.js";
import { pseudoRandomBytes } from "./helpers.js";

const DIR = join(import.meta.dirname, "..", "..", "samples", "synthetic");

function findTshark(): string | null {
  try {
    execFileSync("tshark", ["--version"], { stdio: "ignore" });
    return "tshark";
  } catch {
    return null;
  }
}

const tshark = findTshark();
const files = readdirSync(DIR).filter((n) => /\.pcap(ng)?$/.test(n)).sort();

if (!tshark) {
  console.log("tshark-reference: tshark is not installed (apt-get install tshark); comparison with tshark skipped");
}

describe.skipIf(!tshark)("frames agree with tshark", () => {
  it("has synthetic samples to compare", () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });
  for (const name of files) {
    it(name, async () => {
      expect(await ours(join(DIR, name))).toEqual(theirs(join(DIR, name)));
    });
  }

  it("edge-case files made on the fly: big-endian pcap, 2^-p and 10^-3 resolutions, if_tsoffset, SPB, obsolete PB", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-tshark-"));
    try {
      const pcapSink = new MemorySink();
      const pw = new PcapWriter(pcapSink, { linkType: LinkType.ETHERNET, littleEndian: false, nanosecond: true, snaplen: 64 });
      for (let i = 0; i < 5; i++) pw.writeFrame({ tsSec: 1_600_000_000 + i * 1000, tsNsec: i * 111_111_111, bytes: pseudoRandomBytes(30 + i * 20, i + 1) });
      pw.flush();
      writeFileSync(join(dir, "be.pcap"), pcapSink.bytes());

      const ngSink = new MemorySink();
      const nw = new PcapngWriter(ngSink, { littleEndian: false });
      nw.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 0x80 | 20 });
      nw.addInterface({ linkType: LinkType.RAW, tsResolution: 3, tsOffset: 1_500_000_000 });
      nw.addInterface({ linkType: LinkType.ETHERNET, tsResolution: 9 });
      nw.writeFrame(0, { tsSec: 1_700_000_000, tsNsec: 500_000_000, bytes: pseudoRandomBytes(60, 9) });
      nw.writeFrame(1, { tsSec: 1_500_000_123, tsNsec: 456_000_000, bytes: pseudoRandomBytes(40, 10) });
      nw.writeFrame(2, { tsSec: 1_700_000_001, tsNsec: 999_999_999, bytes: pseudoRandomBytes(70, 11), originalLength: 90 });
      nw.writeRawBlock(0x00000002, obsoletePacketBlock(2, 1_700_000_002_000_000_000n, pseudoRandomBytes(50, 12)));
      nw.writeRawBlock(0x00000bad, new Uint8Array(12)); // custom block: a numbered record in Wireshark
      nw.writeRawBlock(0x00000123, new Uint8Array(12)); // unknown: skipped by both
      nw.startSection(true);
      nw.addInterface({ linkType: LinkType.ETHERNET, snaplen: 48 });
      nw.writeSimplePacket(pseudoRandomBytes(48, 13), 100);
      nw.writeFrame(0, { tsSec: 1_700_000_003, tsNsec: 1000, bytes: pseudoRandomBytes(48, 14) });
      nw.flush();
      writeFileSync(join(dir, "mixed.pcapng"), ngSink.bytes());

      expect(await ours(join(dir, "be.pcap"))).toEqual(theirs(join(dir, "be.pcap")));
      // Records that are not packets (the custom block) keep their number but yield no frame.
      const records = theirs(join(dir, "mixed.pcapng"));
      expect(records[4]).toMatch(/^5 {2}\d+ \d+$/);
      // An SPB has no timestamp: tshark prints none, our frame says 0.
      const packetsOnly = records.filter((_, i) => i !== 4).map((line) => line.replace(/^(\d+) {2}/, "$1 0.000000000 "));
      expect(await ours(join(dir, "mixed.pcapng"))).toEqual(packetsOnly);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Obsolete Packet Block body (big-endian, as the section): interface, drops, 64-bit ns timestamp, lengths, data. */
function obsoletePacketBlock(interfaceId: number, units: bigint, data: Uint8Array): Uint8Array {
  const body = new Uint8Array(20 + ((data.length + 3) & ~3));
  const v = new DataView(body.buffer);
  v.setUint16(0, interfaceId);
  v.setUint32(4, Number(units >> 32n));
  v.setUint32(8, Number(units & 0xffffffffn));
  v.setUint32(12, data.length);
  v.setUint32(16, data.length);
  body.set(data, 20);
  return body;
}

function theirs(path: string): string[] {
  const out = execFileSync(tshark as string, ["-r", path, "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return out.trim().split("\n").map((line) => line.split("\t").join(" "));
}

async function ours(path: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const f of readFrames({ kind: "file", path })) {
    lines.push(`${f.no} ${f.tsSec}.${String(f.tsNsec).padStart(9, "0")} ${f.bytes.length} ${f.originalLength}`);
  }
  return lines;
}
