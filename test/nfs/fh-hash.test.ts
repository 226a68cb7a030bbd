/**
 * fhHash must be Wireshark's nfs.fh.hash: every handle of every NFS message of the
 * real samples is compared with tshark's committed reference (samples/README.md).
 */
import { describe, expect, it } from "vitest";
import { fhHash, formatFh, formatFhHash } from "../../dissect/nfs-context.js";
import { runSample, tsharkReference } from "./helpers.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("fhHash", () => {
  it.each([
    // The CRC-32 check value (IEEE 802.3) and a few fixed points.
    ["123456789", 0xcbf43926],
    ["", 0x00000000],
    ["a", 0xe8b7be43],
    ["The quick brown fox jumps over the lazy dog", 0x414fa339],
  ])("CRC-32 of %j is %s", (text, crc) => {
    expect(fhHash(ascii(text))).toBe(crc);
  });

  it("formats as Wireshark shows it: 0x and eight hex digits", () => {
    expect(formatFh(ascii("123456789"))).toBe("0xcbf43926");
    expect(formatFhHash(0x1a)).toBe("0x0000001a");
    expect(formatFhHash(0xffffffff)).toBe("0xffffffff");
  });

  it("works on a subarray (zero-copy views into a record)", () => {
    const record = new Uint8Array([9, 9, ...ascii("123456789"), 9]);
    expect(fhHash(record.subarray(2, 11))).toBe(0xcbf43926);
  });

  for (const file of ["nfsv3.pcap", "nfsv4.pcap"]) {
    it(`equals tshark's nfs.fh.hash for every NFS message of ${file}`, async () => {
      const ours = (await runSample(file)).filter((s) => s.prog === 100003);
      const ref = tsharkReference(file).filter((l) => l.prog === 100003);
      expect(ours.length).toBe(ref.length);
      let agree = 0;
      let handles = 0;
      for (let i = 0; i < ref.length; i++) {
        const r = ref[i]!;
        const s = ours[i]!;
        expect([s.frame, s.kind]).toEqual([r.frame, r.kind]);
        const hashes = s.handles.map(fhHash);
        expect(hashes, `frame ${r.frame} ${r.kind}`).toEqual(r.fhHash ?? []);
        agree++;
        handles += hashes.length;
      }
      console.log(`[nfs] ${file}: fh hashes agree with tshark in ${agree}/${ref.length} NFS messages (${handles} handles)`);
      expect(agree).toBe(ref.length);
      expect(handles).toBeGreaterThan(25);
    });
  }
});
