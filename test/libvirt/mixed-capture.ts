/**
 * A capture holding both protocols, made from two real samples: the NFSv3 sample
 * (ONC-RPC) followed by the libvirt sample, whose timestamps are moved to start one
 * second after the last NFS frame. Written once per test file to a temporary
 * directory (not under samples/: the sample tests run over every file there).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFrames } from "../../capture/open-capture.js";
import { MemorySink, PcapWriter } from "../../capture/capture-writer.js";
import { ROOT } from "../sample-files.js";

export const NFS_SAMPLE = join(ROOT, "samples/nfs/nfsv3.pcap");
export const LIBVIRT_SAMPLE = join(ROOT, "samples/libvirt/libvirt-test.pcap");
export const LIBVIRT_FIXTURE = join(ROOT, "samples/libvirt/libvirt-fixture.x");
export const LIBVIRT_REFERENCE = join(ROOT, "samples/libvirt/libvirt-test.pcap.tshark-libvirt.ndjson");

export interface MixedCapture {
  readonly path: string;
  /** Frames taken from the NFS sample (they keep their numbers; the libvirt frames follow). */
  readonly nfsFrames: number;
  readonly remove: () => void;
}

export async function writeMixedCapture(): Promise<MixedCapture> {
  const sink = new MemorySink();
  const writer = new PcapWriter(sink, { linkType: 1, nanosecond: true });
  let nfsFrames = 0;
  let endSec = 0;
  for await (const f of readFrames({ kind: "file", path: NFS_SAMPLE })) {
    writer.writeFrame({ tsSec: f.tsSec, tsNsec: f.tsNsec, bytes: f.bytes.slice(), originalLength: f.originalLength });
    nfsFrames++;
    endSec = f.tsSec;
  }
  let shift: number | null = null;
  for await (const f of readFrames({ kind: "file", path: LIBVIRT_SAMPLE })) {
    shift ??= endSec + 1 - f.tsSec;
    writer.writeFrame({ tsSec: f.tsSec + shift, tsNsec: f.tsNsec, bytes: f.bytes.slice(), originalLength: f.originalLength });
  }
  writer.flush();
  const dir = mkdtempSync(join(tmpdir(), "rpcscope-mixed-"));
  const path = join(dir, "nfsv3-then-libvirt.pcap");
  writeFileSync(path, sink.bytes());
  return { path, nfsFrames, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
