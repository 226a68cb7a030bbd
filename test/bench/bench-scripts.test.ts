/**
 * The bench's bound (bench/minimal-pass.ts) must do the work `stats` does on the
 * bench's captures, or the time between the two rows would compare unlike things:
 * on a generated capture it finds the same calls, replies and response times per
 * procedure over TCP as `rpcscope stats --json`. The layer rows (bench/layers.ts)
 * must carry what the analysis carries: the messages `summary --json` lists. The
 * TUI's load (bench/tui-load.ts) must load what `rpcscope FILE` shows: a row per
 * exchange `stats` counts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../bench/generate-capture.js";
import { ROOT } from "../fuzz/harness.js";
import { runCli } from "../hostile/cli-run.js";

const MINIMAL = join(ROOT, "dist", "bench", "minimal-pass.js");
const LAYERS = join(ROOT, "dist", "bench", "layers.js");
const TUI_LOAD = join(ROOT, "dist", "bench", "tui-load.js");

interface Row {
  calls: number;
  replies: number;
  avgMs: number;
  maxMs: number;
}

let dir = "";
let capture = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rpcscope-minimal-"));
  capture = join(dir, "nfs.pcap");
  // Two segment sizes: records split across segments and several in one.
  generate(capture, 3000, 8, 11, [1448, 8948]);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function minimalRows(file: string): { head: string; rows: Map<string, Row> } {
  const r = spawnSync(process.execPath, [MINIMAL, file], { encoding: "utf8", timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  const [head, ...lines] = r.stdout.trimEnd().split("\n");
  const rows = new Map<string, Row>();
  for (const line of lines) {
    const m = /^(\d+\/\d+\/\d+)\s+calls (\d+)\s+replies (\d+)\s+avg ([\d.]+) ms\s+max ([\d.]+) ms$/.exec(line);
    expect(m, line).not.toBeNull();
    rows.set(m![1]!, { calls: Number(m![2]), replies: Number(m![3]), avgMs: Number(m![4]), maxMs: Number(m![5]) });
  }
  return { head: head!, rows };
}

describe("the bench's scripts", () => {
  it("finds what rpcscope stats finds over TCP", () => {
    const { head, rows } = minimalRows(capture);
    const stats = runCli(["stats", "--json", capture]);
    expect(stats.status, stats.stderr).toBe(0);
    const report = JSON.parse(stats.stdout.toString("utf8")) as {
      procedures: { prog: number; vers: number; proc: number; calls: number; replies: number; rtt: { avg: number; max: number } }[];
    };
    // The portmapper's GETPORT goes over UDP, which the bound leaves out.
    const tcp = report.procedures.filter((p) => p.prog !== 100000);
    expect(tcp.length).toBeGreaterThan(3);
    expect([...rows.keys()].sort()).toEqual(tcp.map((p) => `${p.prog}/${p.vers}/${p.proc}`).sort());
    for (const p of tcp) {
      const row = rows.get(`${p.prog}/${p.vers}/${p.proc}`)!;
      expect(row.calls).toBe(p.calls);
      expect(row.replies).toBe(p.replies);
      expect(row.maxMs).toBeCloseTo(p.rtt.max * 1000, 3);
      expect(row.avgMs).toBeCloseTo(p.rtt.avg * 1000, 3);
    }
    const messages = tcp.reduce((n, p) => n + p.calls + p.replies, 0);
    expect(head).toMatch(new RegExp(`^\\d+ frames, ${messages} records, 8 TCP connections$`));
  });

  it("refuses what it does not read, with a message", () => {
    const r = spawnSync(process.execPath, [MINIMAL, join(ROOT, "samples", "rpcbind", "rpcinfo-tcp-udp.pcapng")], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("minimal-pass: only little-endian microsecond pcap files\n");
  });

  it("layers: the RPC layer hands on every message summary --json lists, and resolves every exchange", () => {
    const json = runCli(["summary", "--json", capture]);
    expect(json.status, json.stderr).toBe(0);
    const lines = json.stdout.toString("utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { frame: number; kind: string });
    const floor = spawnSync(process.execPath, [join(ROOT, "dist", "bench", "read-floor.js"), capture], { encoding: "utf8" });
    const frames = Number(/^(\d+) frames/.exec(floor.stdout)?.[1]);
    expect(frames).toBeGreaterThan(Math.max(...lines.map((l) => l.frame)) - 1);
    const calls = lines.filter((l) => l.kind === "call").length;
    const rpc = spawnSync(process.execPath, [LAYERS, "rpc", capture], { encoding: "utf8" });
    expect(rpc.status, rpc.stderr).toBe(0);
    expect(rpc.stdout).toMatch(new RegExp(`^${frames} frames, ${lines.length} RPC messages \\(\\d+ bytes kept\\), ${calls} exchanges resolved\n$`));
    const transport = spawnSync(process.execPath, [LAYERS, "transport", capture], { encoding: "utf8" });
    expect(transport.status, transport.stderr).toBe(0);
    expect(transport.stdout).toMatch(new RegExp(`^${frames} frames, \\d+ UDP datagrams and TCP chunks \\(\\d+ bytes\\)\n$`));
    const wrong = spawnSync(process.execPath, [LAYERS, "tcp", capture], { encoding: "utf8" });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toBe("usage: layers transport|rpc FILE\n");
  });

  it("loads the TUI's rows: one per exchange stats counts, on the generated capture and on a sample", () => {
    for (const file of [capture, join(ROOT, "samples", "nfs", "nfsv3.pcap")]) {
      const r = spawnSync(process.execPath, [TUI_LOAD, file], { encoding: "utf8", timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const m = /^(\d+) rows, (\d+) exchanges loaded in \d+ ms; the event loop waited \d+ ms at most\n$/.exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      const stats = runCli(["stats", "--json", file]);
      expect(stats.status, stats.stderr).toBe(0);
      const exchanges = (JSON.parse(stats.stdout.toString("utf8")) as { totals: { exchanges: number } }).totals.exchanges;
      expect(exchanges).toBeGreaterThan(50);
      expect(Number(m![2])).toBe(exchanges);
      expect(Number(m![1])).toBe(exchanges);
    }
  });
});
