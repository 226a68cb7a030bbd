/**
 * The synthetic edge-case captures (samples/synthetic/README.md states what each
 * holds) give exactly the expected exchanges: xid, procedure, status, the decoded
 * result where it tells (GETPORT's port, DUMP's number of mappings), and the
 * stream-level issues (gaps, malformed) — no more, no fewer.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");

interface Line {
  frame: number;
  xid: number | null;
  kind: string;
  procName: string | null;
  status: string | null;
  peerFrame: number | null;
  transport: string;
  src: string;
  mismatch?: { low: number; high: number };
  res?: unknown;
  issues?: { code: string }[];
}

function run(sample: string): { lines: Line[]; totals: string } {
  const path = join(ROOT, "samples", "synthetic", sample);
  const json = execFileSync(process.execPath, [CLI, "summary", "--json", "-V", path], { encoding: "utf8" });
  const text = execFileSync(process.execPath, [CLI, "summary", path], { encoding: "utf8" });
  const lines = json.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line);
  return { lines, totals: text.trim().split("\n").at(-1) ?? "" };
}

/** "xid procName status result" per matched reply, in frame order. */
function exchanges(lines: Line[]): string[] {
  return lines
    .filter((l) => l.kind === "reply")
    .map((l) => {
      const res = Array.isArray(l.res) ? `${l.res.length} mappings` : l.res === undefined ? "-" : JSON.stringify(l.res);
      return `0x${(l.xid ?? 0).toString(16).padStart(8, "0")} ${l.procName} ${l.status} ${res}`;
    });
}

function allMatched(lines: Line[]): void {
  for (const l of lines) expect(l.peerFrame, `frame ${l.frame} xid ${l.xid} has a peer`).not.toBeNull();
}

describe("synthetic edge cases give exactly the expected exchanges", () => {
  it("record-split: a record over many segments, multi-fragment records, several records per segment", () => {
    const { lines, totals } = run("record-split.pcap");
    expect(exchanges(lines)).toEqual([
      "0x00001001 GETPORT SUCCESS 2049",
      "0x00001002 DUMP SUCCESS 14 mappings",
      "0x00001003 NULL SUCCESS null",
      "0x00001004 NULL SUCCESS null",
      "0x00001005 NULL SUCCESS null",
      "0x00001006 GETPORT SUCCESS 20048",
    ]);
    allMatched(lines);
    expect(lines.find((l) => l.xid === 0x1001 && l.kind === "call")).toMatchObject({ frame: 16 });
    expect(lines.every((l) => !l.issues)).toBe(true);
    expect(totals).toMatch(/0 malformed, 0 TCP gaps$/);
  });

  it("tcp-out-of-order: out-of-order and retransmitted segments reassemble once", () => {
    const { lines, totals } = run("tcp-out-of-order.pcap");
    expect(exchanges(lines)).toEqual([
      "0x00002001 GETPORT SUCCESS 2049",
      "0x00002002 DUMP SUCCESS 14 mappings",
      "0x00002003 NULL SUCCESS null",
    ]);
    allMatched(lines);
    expect(totals).toMatch(/0 retransmissions, 0 malformed, 0 TCP gaps$/);
  });

  it("tcp-lost-segment: the gap is reported, the cut reply is malformed, the rest still pairs", () => {
    const { lines, totals } = run("tcp-lost-segment.pcap");
    expect(exchanges(lines)).toEqual([
      "0x00003001 GETPORT SUCCESS 2049",
      "0x00003003 GETPORT SUCCESS 32803",
      "0x00003004 GETPORT SUCCESS 662",
    ]);
    const calls = lines.filter((l) => l.kind === "call").map((l) => l.xid);
    expect(calls).toEqual([0x3001, 0x3002, 0x3003, 0x3004]);
    expect(lines.find((l) => l.xid === 0x3002)?.peerFrame).toBeNull();
    expect(lines.filter((l) => l.kind === "malformed")).toHaveLength(1);
    expect(totals).toMatch(/4 exchanges, 1 unmatched calls, 0 orphan replies, 0 retransmissions, 1 malformed, 1 TCP gaps$/);
  });

  it("ip-fragments: fragmented UDP replies over IPv4 and IPv6 are rebuilt", () => {
    const { lines } = run("ip-fragments.pcap");
    expect(exchanges(lines)).toEqual([
      "0x00004001 DUMP SUCCESS 160 mappings",
      "0x00004002 GETPORT SUCCESS 2049",
      "0x00004003 DUMP SUCCESS 160 mappings",
    ]);
    allMatched(lines);
    expect(lines.find((l) => l.xid === 0x4003 && l.kind === "reply")?.src).toBe("::1");
  });

  it("vlan: 802.1Q and QinQ frames", () => {
    const { lines } = run("vlan.pcap");
    expect(exchanges(lines)).toEqual([
      "0x00005001 GETPORT SUCCESS 2049",
      "0x00005002 NULL SUCCESS null",
      "0x00005003 GETPORT SUCCESS 2049",
      "0x00005004 proc-7 PROC_UNAVAIL -",
    ]);
    allMatched(lines);
  });

  for (const [file, base] of [["sll2.pcap", 0x6000], ["sll.pcap", 0x6100]] as const) {
    it(`${file}: Linux cooked capture`, () => {
      const { lines } = run(file);
      const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
      expect(exchanges(lines)).toEqual([`${hex(base + 1)} GETPORT SUCCESS 2049`, `${hex(base + 2)} DUMP SUCCESS 14 mappings`]);
      allMatched(lines);
    });
  }

  it("null-loopback: BSD loopback with IPv4 and IPv6 families", () => {
    const { lines } = run("null-loopback.pcap");
    expect(exchanges(lines)).toEqual([
      "0x00006201 GETPORT SUCCESS 2049",
      "0x00006202 DUMP SUCCESS 14 mappings",
      "0x00006203 GETPORT SUCCESS 2049",
      "0x00006204 NULL SUCCESS null",
    ]);
    allMatched(lines);
  });

  it("nanosecond.pcapng: two sections in opposite byte orders, two interfaces, ns timestamps", () => {
    const { lines } = run("nanosecond.pcapng");
    expect(exchanges(lines)).toEqual([
      "0x00007001 GETPORT SUCCESS 2049",
      "0x00007002 NULL SUCCESS null",
      "0x00007003 NULL PROG_MISMATCH -",
      "0x00007004 NULL RPC_MISMATCH -",
    ]);
    expect(lines.find((l) => l.xid === 0x7003 && l.kind === "reply")?.mismatch).toEqual({ low: 2, high: 4 });
    expect(lines.find((l) => l.xid === 0x7004 && l.kind === "reply")?.mismatch).toEqual({ low: 2, high: 2 });
    allMatched(lines);
  });

  it("nanosecond.pcap: the nanosecond pcap magic", () => {
    const { lines } = run("nanosecond.pcap");
    expect(exchanges(lines)).toEqual(["0x00007101 GETPORT SUCCESS 2049", "0x00007102 DUMP SUCCESS 14 mappings"]);
    allMatched(lines);
  });

  it("midstream: the record tail before the first mark is skipped, no exchange is invented", () => {
    const { lines, totals } = run("midstream.pcap");
    expect(exchanges(lines)).toEqual(["0x00008001 GETPORT SUCCESS 2049", "0x00008002 NULL SUCCESS null"]);
    allMatched(lines);
    expect(lines.some((l) => l.xid === 0x8000)).toBe(false);
    expect(totals).toMatch(/0 orphan replies/);
  });
});
