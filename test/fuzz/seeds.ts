/**
 * Seed captures for the fuzzers: the committed small samples, and the first records
 * of the bigger real ones (cut at a record boundary, so the seed itself is valid).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { SAMPLES, readSample } from "./harness.js";
import { recordStarts } from "./capture-fields.js";

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** The first records of a capture, cut at the last record start at or before `maxBytes`. */
export function capturePrefix(bytes: Uint8Array, maxBytes: number): Uint8Array {
  if (bytes.length <= maxBytes) return bytes;
  let cut = 0;
  for (const s of recordStarts(bytes)) {
    if (s <= maxBytes) cut = s;
    else break;
  }
  return bytes.subarray(0, cut);
}

let cached: Seed[] | null = null;

export function seedCaptures(): Seed[] {
  if (cached) return cached;
  const seeds: Seed[] = [];
  for (const f of readdirSync(join(SAMPLES, "synthetic")).sort()) {
    if (f.endsWith(".pcap") || f.endsWith(".pcapng")) seeds.push({ name: `synthetic/${f}`, bytes: readSample(`synthetic/${f}`) });
  }
  seeds.push({ name: "demo-service/baseline-1.pcap", bytes: readSample("demo-service/baseline-1.pcap") });
  seeds.push({ name: "demo-service/variant-error.pcap", bytes: readSample("demo-service/variant-error.pcap") });
  seeds.push({ name: "rpcbind/rpcinfo-tcp-udp.pcapng", bytes: readSample("rpcbind/rpcinfo-tcp-udp.pcapng") });
  seeds.push({ name: "nfs/nfsv3.pcap (first 24 KiB)", bytes: capturePrefix(readSample("nfs/nfsv3.pcap"), 24 * 1024) });
  seeds.push({ name: "nfs/nfsv4.pcap (first 24 KiB)", bytes: capturePrefix(readSample("nfs/nfsv4.pcap"), 24 * 1024) });
  cached = seeds;
  return seeds;
}
