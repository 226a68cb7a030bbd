/**
 * Fuzzing below RPC: IP and TCP/UDP header fields set to hostile values (header
 * lengths, total lengths, fragment offsets, flags, sequence numbers, data offsets,
 * UDP lengths), frames cut by a pretend snaplen, and frames dropped, duplicated and
 * reordered. Frames go straight into the packet decoder; every frame must come out
 * accounted for and nothing may throw.
 */
import { describe, expect, it } from "vitest";
import type { Frame } from "../../capture/frame.js";
import { LinkType } from "../../capture/frame.js";
import { withLimits } from "../../capture/limits.js";
import {
  checkCounts, endSuite, fuzzOne, fuzzRegistry, getU32, INTERESTING_U16, INTERESTING_U32, parseCapture, Rng, runFrames,
  setU16, setU32, startSuite, tally, type SuiteStats,
} from "./harness.js";
import { capturePrefix, seedCaptures, type Seed } from "./seeds.js";
import { readSample } from "./harness.js";
import type { ProgramRegistry } from "../../dissect/registry.js";

const SEED = 0x5eed1e55;

/** Offset of the IP header in a frame, or -1 when the link type is not one we build. */
export function ipOffset(f: Frame): number {
  const b = f.bytes;
  switch (f.linkType) {
    case LinkType.ETHERNET: {
      let off = 12;
      while (off + 2 <= b.length && [0x8100, 0x88a8, 0x9100].includes((b[off]! << 8) | b[off + 1]!)) off += 4;
      return off + 2;
    }
    case LinkType.LINUX_SLL: return 16;
    case LinkType.LINUX_SLL2: return 20;
    case LinkType.NULL: case LinkType.LOOP: return 4;
    case LinkType.RAW: case LinkType.IPV4: case LinkType.IPV6: return 0;
    default: return -1;
  }
}

interface Layout {
  readonly ip: number;
  readonly version: number;
  /** Offset of the TCP/UDP header, or -1. */
  readonly l4: number;
  readonly protocol: number;
}

function layout(f: Frame): Layout | null {
  const ip = ipOffset(f);
  const b = f.bytes;
  if (ip < 0 || ip >= b.length) return null;
  const version = b[ip]! >> 4;
  if (version === 4 && ip + 20 <= b.length) {
    const ihl = (b[ip]! & 15) * 4;
    return { ip, version, l4: ip + ihl < b.length ? ip + ihl : -1, protocol: b[ip + 9]! };
  }
  if (version === 6 && ip + 40 <= b.length) return { ip, version, l4: ip + 40, protocol: b[ip + 6]! };
  return { ip, version, l4: -1, protocol: -1 };
}

/** One field mutation in a copy of the frame's bytes; returns its description. */
function mutateHeader(rng: Rng, bytes: Uint8Array, l: Layout): string {
  const { ip, l4 } = l;
  const choices: (() => string)[] = [];
  if (l.version === 4) {
    choices.push(
      () => { bytes[ip] = 0x40 | rng.int(16); return `IHL=${bytes[ip]! & 15}`; },
      () => { bytes[ip] = (rng.int(16) << 4) | (bytes[ip]! & 15); return `IP version=${bytes[ip]! >> 4}`; },
      () => { const v = rng.pick(INTERESTING_U16); setU16(bytes, ip + 2, v); return `IPv4 total length=${v}`; },
      () => { const v = rng.pick([0x2000, 0x2001, 0x1fff, 0x3fff, 0x0001, 0x4000, rng.int(0x10000)]); setU16(bytes, ip + 6, v); return `IPv4 flags/offset=0x${v.toString(16)}`; },
      () => { const v = rng.pick([0, 1, 6, 17, 41, 44, 255]); bytes[ip + 9] = v; return `IPv4 protocol=${v}`; },
    );
  } else if (l.version === 6) {
    choices.push(
      () => { const v = rng.pick(INTERESTING_U16); setU16(bytes, ip + 4, v); return `IPv6 payload length=${v}`; },
      () => { const v = rng.pick([0, 6, 17, 43, 44, 51, 59, 60, 255]); bytes[ip + 6] = v; return `IPv6 next header=${v}`; },
    );
  }
  if (l4 >= 0 && l.protocol === 6) {
    choices.push(
      () => { const v = rng.pick(INTERESTING_U32); setU32(bytes, l4 + 4, v); return `TCP seq=${v}`; },
      () => { const d = rng.pick([1, -1, 1000, -1000, 0x7fffffff, 0x80000000, 65536]); setU32(bytes, l4 + 4, (getU32(bytes, l4 + 4) + d) >>> 0); return `TCP seq+=${d}`; },
      () => { const v = rng.pick(INTERESTING_U32); setU32(bytes, l4 + 8, v); return `TCP ack=${v}`; },
      () => { const v = rng.int(16); bytes[l4 + 12] = (v << 4) | (bytes[l4 + 12]! & 15); return `TCP data offset=${v * 4}`; },
      () => { const v = rng.int(256); bytes[l4 + 13] = v; return `TCP flags=0x${v.toString(16)}`; },
      () => { const v = rng.pick([0x02, 0x01, 0x04, 0x03, 0x07, 0x12, 0x11]); bytes[l4 + 13] = v; return `TCP flags=0x${v.toString(16)}`; },
      () => { const v = rng.pick([0, 111, 2049, 611, 65535]); setU16(bytes, l4 + rng.int(2) * 2, v); return `TCP port=${v}`; },
    );
    const payload = l4 + ((bytes[l4 + 12]! >> 4) * 4);
    if (payload + 4 <= bytes.length) {
      const words = (bytes.length - payload) >> 2;
      const payloadWord = (): string => {
        const at = payload + 4 * rng.int(words);
        const v = rng.pick(INTERESTING_U32);
        setU32(bytes, at, v);
        return `TCP payload word @${at - payload}=0x${v.toString(16)}`;
      };
      choices.push(payloadWord, payloadWord, payloadWord);
    }
  }
  if (l4 >= 0 && l.protocol === 17) {
    choices.push(
      () => { const v = rng.pick(INTERESTING_U16); setU16(bytes, l4 + 4, v); return `UDP length=${v}`; },
      () => { const v = rng.pick([0, 111, 2049, 611, 65535]); setU16(bytes, l4 + rng.int(2) * 2, v); return `UDP port=${v}`; },
    );
  }
  if (choices.length === 0) {
    const at = rng.int(bytes.length);
    bytes[at] = rng.int(256);
    return `byte ${at}`;
  }
  return rng.pick(choices)();
}

function withBytes(f: Frame, bytes: Uint8Array, no: number, originalLength = Math.max(bytes.length, f.originalLength)): Frame {
  return { ...f, no, bytes, originalLength };
}

/** A mutated frame sequence: header fields, snaplen cuts, drops, duplicates, reordering. */
function mutateFrames(rng: Rng, frames: readonly Frame[]): { frames: Frame[]; what: string[] } {
  const out: Frame[] = frames.map((f) => ({ ...f }));
  const what: string[] = [];
  for (let k = 1 + rng.int(4); k > 0 && out.length > 0; k--) {
    const i = rng.int(out.length);
    const f = out[i]!;
    switch (rng.int(6)) {
      case 0:
      case 1:
      case 2: {
        const l = layout(f);
        if (!l) break;
        const bytes = f.bytes.slice();
        what.push(`frame ${i + 1}: ${mutateHeader(rng, bytes, l)}`);
        out[i] = withBytes(f, bytes, f.no);
        break;
      }
      case 3: {
        // A snaplen cut: fewer bytes captured than were on the wire.
        const keep = rng.int(f.bytes.length + 1);
        what.push(`frame ${i + 1}: snaplen ${keep}`);
        out[i] = withBytes(f, f.bytes.slice(0, keep), f.no, f.originalLength);
        break;
      }
      case 4: {
        const j = rng.int(out.length);
        what.push(`swap ${i + 1}<->${j + 1}`);
        out[i] = out[j]!;
        out[j] = f;
        break;
      }
      default: {
        if (rng.chance(0.5)) {
          what.push(`drop ${i + 1}`);
          out.splice(i, 1);
        } else {
          what.push(`duplicate ${i + 1}`);
          out.splice(i, 0, { ...f });
        }
      }
    }
  }
  // Wireshark numbers frames by position in the file; so do we.
  return { frames: out.map((f, n) => ({ ...f, no: n + 1 })), what };
}

function runMutations(
  registry: ProgramRegistry, stats: SuiteStats, rng: Rng, rounds: (name: string) => number, limits = withLimits({}),
  seeds: readonly Seed[] = seedCaptures(), libvirt = false,
): void {
  for (const seed of seeds) {
    const { frames, error } = parseCapture(seed.bytes);
    expect(error).toBeNull();
    for (let r = rounds(seed.name); r > 0; r--) {
      const m = mutateFrames(rng, frames);
      const label = `${seed.name}: ${m.what.join("; ")}`;
      const total = m.frames.reduce((n, f) => n + f.bytes.length, 0);
      const key = new Uint8Array([total & 0xff, (total >> 8) & 0xff, m.frames.length & 0xff, r & 0xff]);
      fuzzOne(stats, label, key, () => {
        const out = runFrames(m.frames, { registry, limits, libvirt });
        checkCounts({ frames: m.frames.length, counts: out.counts, messages: out.messages, resolved: out.resolved });
        tally(stats, out.counts.frameIssues > 0 ? "frame issues reported" : "no frame issue");
        return out;
      });
    }
  }
}

describe("fuzz: IP, TCP and UDP headers", () => {
  it("hostile header fields, snaplen cuts, drops, duplicates and reordering: every frame accounted for", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("packet headers");
    runMutations(registry, stats, new Rng(SEED), (name) => (name.includes("nfs") ? 120 : 90));
    endSuite(stats);
  });

  it("the same with tiny limits (flows, buffers, fragments, pending calls): limits hit, never a crash", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("packet headers, tiny limits");
    const limits = withLimits({
      maxFlows: 2, maxTcpBufferedPerDirection: 64, maxTcpBufferedTotal: 256, maxFragmentBuffers: 1,
      maxFragmentBytesTotal: 256, maxPendingCalls: 2, maxRecordBytes: 128, flowIdleSeconds: 0.0005,
      fragmentTimeoutSeconds: 0.0005, replyTimeoutSeconds: 0.0005, maxXdrArrayElements: 2, maxXdrDepth: 2,
      maxXdrOpaqueBytes: 8, maxXdrFieldsPerBody: 10,
    });
    runMutations(registry, stats, new Rng(SEED + 1), () => 40, limits);
    endSuite(stats);
  });

  it("libvirt traffic with the libvirt framing registered: hostile headers and payload words, every frame accounted for", async () => {
    const registry = await fuzzRegistry();
    const stats = startSuite("libvirt packets");
    const seed: Seed = { name: "libvirt/libvirt-test.pcap (first 24 KiB)", bytes: capturePrefix(readSample("libvirt/libvirt-test.pcap"), 24 * 1024) };
    // The framing is really in use: the unmutated seed yields libvirt messages.
    expect(runFrames(parseCapture(seed.bytes).frames, { registry, libvirt: true }).libvirtMessages).toBeGreaterThan(10);
    runMutations(registry, stats, new Rng(SEED + 2), () => 250, withLimits({}), [seed], true);
    endSuite(stats);
  });
});
