/**
 * `stats` over the real libvirt sample: per-procedure counts against counts taken
 * from Wireshark's libvirt plugin output, response times against the exchanges,
 * conversations and clients, filters, and the same figures from the built CLI
 * (text and --json), also on a capture holding both protocols.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { LibvirtExchange } from "../../dissect/rpc-types.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { compileFilter } from "../../ui/filter/evaluate.js";
import type { NameLookup } from "../../ui/filter/fields.js";
import { libvirtFilterBodies, libvirtFilterSubject } from "../../ui/libvirt-format.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";
import { formatStatsText, StatsCollector, statsToJson, type StatsReport } from "../../ui/stats.js";
import { runCli } from "../hostile/cli-run.js";
import { LIBVIRT_FIXTURE, LIBVIRT_SAMPLE, NFS_SAMPLE, writeMixedCapture, type MixedCapture } from "./mixed-capture.js";
import { REF, refCountsByProcedure } from "./reference.js";

let names: NameLookup;
let exchanges: LibvirtExchange[];

/** What runStats does, in process: exchanges when resolved, events and stream data as they come. */
async function libvirtStats(filter: string | null = null): Promise<StatsReport> {
  const registry = await loadRegistry({ userSpecs: [LIBVIRT_FIXTURE], defines: new Map() });
  names = namesFor(registry);
  const f = filter === null ? null : compileFilter(filter);
  const stats = new StatsCollector();
  const bodies = new Map<LibvirtExchange, ReturnType<typeof libvirtFilterBodies>>();
  exchanges = [];
  await analyzeCapture({ kind: "file", path: LIBVIRT_SAMPLE }, { limits: DEFAULT_LIMITS, registry, decodeBodies: f?.needsBody ?? false }, {
    libvirtMessage(m) {
      const ex = m.msg.exchange;
      if (ex) {
        const b = libvirtFilterBodies(m.body);
        const kept = bodies.get(ex);
        bodies.set(ex, { args: kept?.args ?? b.args, res: kept?.res ?? b.res });
        return;
      }
      if (f && !f(libvirtFilterSubject(m, names))) return;
      stats.addLibvirtMessage(m.msg, names);
    },
    libvirtExchangeResolved(ex) {
      exchanges.push(ex);
      const b = bodies.get(ex);
      if (f && !f({ exchange: null, message: null, args: b?.args ?? null, res: b?.res ?? null, names, libvirt: { message: null, exchange: ex } })) return;
      stats.addLibvirt(ex, names);
    },
  });
  return stats.result();
}

function rowOf(report: StatsReport, procName: string) {
  return report.procedures.find((p) => p.procName === procName);
}

describe("libvirt exchanges in stats", () => {
  let report: StatsReport;
  beforeAll(async () => {
    report = await libvirtStats();
  });

  it("one row per procedure, with calls, replies, events and errors as the plugin counts them", () => {
    const ref = refCountsByProcedure();
    expect(report.procedures.map((p) => p.procName).sort()).toEqual([...ref.keys()].sort());
    for (const p of report.procedures) {
      const r = ref.get(p.procName)!;
      expect({ name: p.procName, calls: p.calls, replies: p.replies, events: p.events, errors: p.errors })
        .toEqual({ name: p.procName, calls: r.calls, replies: r.replies, events: r.events, errors: r.errors });
      expect(p.protocol).toBe("libvirt");
      expect(p.streamMessages).toBe(0);
      expect(p.retransmissions).toBe(0);
      expect(p.unanswered).toBe(0);
    }
    expect(rowOf(report, "DOMAIN_LOOKUP_BY_NAME")).toMatchObject({
      prog: 0x20008086, vers: 1, proc: 23, progName: "libvirt", calls: 7, replies: 7, errors: 1,
      errorsByStatus: [{ status: "ERROR", count: 1 }],
    });
    expect(rowOf(report, "DOMAIN_EVENT_CALLBACK_LIFECYCLE")).toMatchObject({ calls: 0, replies: 0, events: 6, rtt: null });
    expect(rowOf(report, "PING")).toMatchObject({ progName: "libvirt-keepalive", events: 1, rtt: null });
    expect(rowOf(report, "PONG")).toMatchObject({ events: 1, rtt: null });
  });

  it("totals: 171 exchanges, 1 error, 8 events, all of them libvirt", () => {
    const calls = REF.filter((m) => m.type === 0).length;
    const events = REF.filter((m) => m.type === 2).length;
    expect(report.totals).toMatchObject({
      exchanges: calls, calls, replies: calls, errors: 1, events, streamMessages: 0, unanswered: 0, unpairedReplies: 0, undecodedHeaders: 0,
    });
    expect(report.libvirt).toMatchObject({ exchanges: calls, calls, replies: calls, errors: 1, events, unpairedReplies: 0 });
    expect(report.libvirt!.rtt!.count).toBe(calls);
  });

  it("response times: per procedure from its exchanges, nearest-rank percentiles", () => {
    for (const name of ["CONNECT_OPEN", "CONNECT_SUPPORTS_FEATURE", "DOMAIN_LOOKUP_BY_NAME"]) {
      const rtts = exchanges.filter((ex) => ex.call && names.procedureName(ex.prog, 1, ex.call.header!.proc) === name)
        .map((ex) => ex.rtt!).sort((a, b) => a - b);
      const row = rowOf(report, name)!;
      expect(row.rtt).toMatchObject({
        count: rtts.length, min: rtts[0], max: rtts[rtts.length - 1], exact: true,
        p50: rtts[Math.ceil(0.5 * rtts.length) - 1], p95: rtts[Math.ceil(0.95 * rtts.length) - 1],
      });
      expect(row.rtt!.avg).toBeCloseTo(rtts.reduce((a, b) => a + b, 0) / rtts.length, 12);
    }
    // CONNECT_OPEN's slowest answer is the 1.692 ms the summary shows for frame 11.
    expect(rowOf(report, "CONNECT_OPEN")!.rtt!.max).toBeCloseTo(0.001692, 6);
  });

  it("conversations: one per virsh connection, client side on the ephemeral port; one client", () => {
    const opens = REF.filter((m) => m.type === 0 && m.procName === "CONNECT_OPEN").length;
    expect(report.conversations).toHaveLength(opens);
    for (const c of report.conversations) expect(c).toMatchObject({ protocol: "libvirt", transport: "tcp", server: "127.0.0.1", serverPort: 16509 });
    expect(report.conversations.reduce((n, c) => n + c.calls, 0)).toBe(171);
    // virsh event's connection: 62 calls, the 6 lifecycle events and the keepalive PING/PONG.
    expect(report.conversations[0]).toMatchObject({ clientPort: 52366, calls: 62, replies: 62, events: 8 });
    expect(report.clients).toEqual([expect.objectContaining({ address: "127.0.0.1", calls: 171, replies: 171, errors: 1, events: 8 })]);
  });

  it("text: a libvirt header, Events column, the ERROR under Errors by status", () => {
    const text = formatStatsText(report, 200);
    const lines = text.split("\n");
    expect(lines[0]).toBe("libvirt statistics: 171 exchanges, 171 calls, 171 replies, 1 errors, 0 unanswered, 8 events");
    const header = lines.find((l) => l.startsWith("Program"))!;
    expect(header).toMatch(/^Program\s+Vers\s+Procedure\s+Calls\s+Replies\s+Errors\s+Unans\s+Events\s+Streams\s+Min/);
    expect(header).not.toContain("Retrans");
    expect(lines.find((l) => /\sDOMAIN_EVENT_CALLBACK_LIFECYCLE\s/.test(l))).toMatch(/^libvirt\s+1\s+DOMAIN_EVENT_CALLBACK_LIFECYCLE\s+0\s+0\s+0\s+0\s+6\s+0\s+-/);
    expect(lines.find((l) => l.startsWith("All"))).toMatch(/^All\s+171\s+171\s+1\s+0\s+8\s+0\s/);
    expect(lines.find((l) => /DOMAIN_LOOKUP_BY_NAME\s+ERROR/.test(l))).toMatch(/^libvirt\s+1\s+DOMAIN_LOOKUP_BY_NAME\s+ERROR\s+1$/);
  });

  it("JSON: libvirt totals and protocol on every row", () => {
    const json = JSON.parse(statsToJson(report)) as {
      libvirt: { exchanges: number; events: number }; procedures: { protocol: string; procName: string; events: number }[];
      conversations: { protocol: string }[];
    };
    expect(json.libvirt).toMatchObject({ exchanges: 171, events: 8 });
    expect(new Set(json.procedures.map((p) => p.protocol))).toEqual(new Set(["libvirt"]));
    expect(json.procedures.find((p) => p.procName === "PING")!.events).toBe(1);
    expect(new Set(json.conversations.map((c) => c.protocol))).toEqual(new Set(["libvirt"]));
  });
});

describe("stats with a filter on libvirt", () => {
  it("proc == DOMAIN_LOOKUP_BY_NAME keeps its row alone", async () => {
    const r = await libvirtStats("proc == DOMAIN_LOOKUP_BY_NAME");
    expect(r.procedures.map((p) => [p.procName, p.calls, p.errors])).toEqual([["DOMAIN_LOOKUP_BY_NAME", 7, 1]]);
    expect(r.totals.exchanges).toBe(7);
  });

  it("status == ERROR keeps the one failed exchange", async () => {
    const r = await libvirtStats("status == ERROR");
    expect(r.totals).toMatchObject({ exchanges: 1, errors: 1, events: 0 });
  });

  it("events only", async () => {
    const r = await libvirtStats("libvirt.type == MESSAGE");
    expect(r.totals).toMatchObject({ exchanges: 0, events: 8 });
    expect(r.procedures.map((p) => [p.procName, p.events])).toEqual([
      ["DOMAIN_EVENT_CALLBACK_LIFECYCLE", 6], ["PING", 1], ["PONG", 1],
    ]);
  });

  it("a body filter (res.message) needs and gets decoded bodies", async () => {
    const r = await libvirtStats("res.message contains \"not found\"");
    expect(r.procedures.map((p) => [p.procName, p.calls, p.errors])).toEqual([["DOMAIN_LOOKUP_BY_NAME", 1, 1]]);
  });

  it("rpc leaves libvirt out entirely", async () => {
    const r = await libvirtStats("rpc");
    expect(r.totals.exchanges).toBe(0);
    expect(r.procedures).toEqual([]);
  });
});

describe("rpcscope stats (built CLI)", () => {
  let mixed: MixedCapture;
  beforeAll(async () => {
    mixed = await writeMixedCapture();
  });
  afterAll(() => mixed?.remove());

  function statsJson(args: readonly string[]): StatsReport {
    const r = runCli(["stats", "--json", "--spec", LIBVIRT_FIXTURE, ...args]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return JSON.parse(r.stdout.toString("utf8")) as StatsReport;
  }

  it("--json on the libvirt sample: per-procedure calls as the plugin counts them", () => {
    const report = statsJson([LIBVIRT_SAMPLE]);
    const ref = refCountsByProcedure();
    for (const p of report.procedures) expect([p.procName, p.calls, p.events, p.errors]).toEqual([p.procName, ref.get(p.procName)!.calls, ref.get(p.procName)!.events, ref.get(p.procName)!.errors]);
    expect(report.procedures).toHaveLength(ref.size);
    expect(report.libvirt).toMatchObject({ exchanges: 171, events: 8, errors: 1 });
  });

  it("-Y on the libvirt sample", () => {
    const report = statsJson(["-Y", "libvirt && proc == DOMAIN_LOOKUP_BY_NAME", LIBVIRT_SAMPLE]);
    expect(report.procedures.map((p) => [p.procName, p.calls, p.replies, p.errors])).toEqual([["DOMAIN_LOOKUP_BY_NAME", 7, 7, 1]]);
    const events = statsJson(["-Y", "kind == event", LIBVIRT_SAMPLE]);
    expect(events.totals).toMatchObject({ exchanges: 0, events: 8 });
  });

  it("text on the libvirt sample ends with both message counts", () => {
    const r = runCli(["stats", "--spec", LIBVIRT_FIXTURE, LIBVIRT_SAMPLE]);
    const text = r.stdout.toString("utf8");
    expect(text.split("\n")[0]).toBe("libvirt statistics: 171 exchanges, 171 calls, 171 replies, 1 errors, 0 unanswered, 8 events");
    expect(text.trimEnd().split("\n").pop()).toBe("448 frames, 0 RPC messages, 350 libvirt messages");
  });

  it("both protocols: ONC-RPC rows as for NFS alone, libvirt rows beside them, totals of both", () => {
    const nfs = statsJson([NFS_SAMPLE]);
    const both = statsJson([mixed.path]);
    const oncRows = both.procedures.filter((p) => p.protocol === "onc-rpc");
    expect(oncRows).toEqual(nfs.procedures);
    expect(both.procedures.filter((p) => p.protocol === "libvirt")).toHaveLength(refCountsByProcedure().size);
    expect(nfs.libvirt).toBeNull();
    expect(both.libvirt).toMatchObject({ exchanges: 171, calls: 171, errors: 1, events: 8 });
    expect(both.totals.exchanges).toBe(nfs.totals.exchanges + 171);
    expect(both.totals.calls).toBe(nfs.totals.calls + 171);
    expect(both.conversations.filter((c) => c.protocol === "onc-rpc")).toEqual(nfs.conversations);
    // A filter on one protocol leaves the other out; on NFS it changes nothing.
    expect(statsJson(["-Y", "rpc", mixed.path]).procedures).toEqual(nfs.procedures);
    expect(statsJson(["-Y", "prog == nfs", mixed.path]).procedures).toEqual(statsJson(["-Y", "prog == nfs", NFS_SAMPLE]).procedures);
    const lv = statsJson(["-Y", "libvirt", mixed.path]);
    expect(lv.totals.exchanges).toBe(171);
    expect(lv.procedures.every((p) => p.protocol === "libvirt")).toBe(true);
  });

  it("text of both protocols: a combined header and the libvirt share", () => {
    const text = runCli(["stats", "--spec", LIBVIRT_FIXTURE, mixed.path]).stdout.toString("utf8");
    const [first, second] = text.split("\n");
    expect(first).toMatch(/^ONC-RPC and libvirt statistics: \d+ exchanges, .* 8 events$/);
    expect(second).toBe("  of which libvirt: 171 exchanges, 171 calls, 171 replies, 1 errors, 0 unanswered, 8 events");
  });
});
