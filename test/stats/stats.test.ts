import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  formatStatsText, HISTOGRAM_RELATIVE_ERROR, RttDistribution, StatsCollector, statsToJson, type StatsReport,
} from "../../ui/stats.js";
import type { NameLookup } from "../../ui/filter/fields.js";
import { call, exchange, names, reply } from "../filter/fixtures.js";

/** Nearest-rank percentile of a sorted array, the definition the collector documents. */
function nearestRank(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Deterministic PRNG (mulberry32), so the test inputs are fixed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sample(): StatsReport {
  const c = new StatsCollector();
  // Three NFSv3 READs from one client, 1/2/3 ms.
  for (const [i, rtt] of [[1, 0.001], [2, 0.002], [3, 0.003]] as const) {
    c.add(exchange(call(100003, 3, 6, { xid: i, length: 140 }), reply("SUCCESS", { xid: i, length: 4200 }), { rtt }), names);
  }
  // A LOOKUP from another client over UDP that fails with NFS3ERR_NOENT (body status from the caller).
  c.add(exchange(
    call(100003, 3, 3, { transport: "udp", src: "10.0.0.6", sport: 900, length: 120 }),
    reply("SUCCESS", { transport: "udp", dst: "10.0.0.6", dport: 900, length: 100 }), { rtt: 0.0005 },
  ), names, null, "NFS3ERR_NOENT");
  // An unanswered MOUNT call, retransmitted twice; byte counts given by the caller.
  c.add(exchange(call(100005, 3, 1, { length: 80 }), null, { retransmits: 2 }), names, { call: 240, reply: 0 });
  // A PROG_UNAVAIL for an unknown program.
  c.add(exchange(call(400000, 1, 2, { length: 60 }), reply("PROG_UNAVAIL", { length: 24 }), { rtt: 0.004 }), names);
  // A reply without a call.
  c.add(exchange(null, reply("AUTH_ERROR", { dst: "10.0.0.8", dport: 950, length: 24 }), { rtt: null }), names);
  return c.result();
}

describe("StatsCollector", () => {
  const report = sample();

  it("counts per procedure", () => {
    expect(report.procedures.map((p) => [p.prog, p.vers, p.proc, p.progName, p.procName])).toEqual([
      [100003, 3, 3, "NFS_PROGRAM", "NFSPROC3_LOOKUP"],
      [100003, 3, 6, "NFS_PROGRAM", "NFSPROC3_READ"],
      [100005, 3, 1, "MOUNTPROG", "MOUNTPROC3_MNT"],
      [400000, 1, 2, null, "proc-2"],
    ]);
    const [lookup, read, mnt, unknown] = report.procedures;
    expect(read).toMatchObject({
      calls: 3, replies: 3, errors: 0, retransmissions: 0, unanswered: 0, callBytes: 420, replyBytes: 12600,
      errorsByStatus: [],
    });
    expect(read!.rtt).toEqual({ count: 3, min: 0.001, avg: 0.002, p50: 0.002, p95: 0.003, p99: 0.003, max: 0.003, exact: true });
    expect(lookup).toMatchObject({ calls: 1, replies: 1, errors: 1, errorsByStatus: [{ status: "NFS3ERR_NOENT", count: 1 }] });
    expect(mnt).toMatchObject({ calls: 1, replies: 0, errors: 0, retransmissions: 2, unanswered: 1, callBytes: 240, replyBytes: 0, rtt: null });
    expect(unknown).toMatchObject({ errors: 1, errorsByStatus: [{ status: "PROG_UNAVAIL", count: 1 }] });
  });

  it("counts totals", () => {
    expect(report.totals).toMatchObject({
      exchanges: 7, calls: 6, replies: 6, errors: 3, retransmissions: 2, unanswered: 1, unpairedReplies: 1,
      undecodedHeaders: 0, callBytes: 420 + 120 + 240 + 60, replyBytes: 12600 + 100 + 24 + 24,
    });
    expect(report.totals.rtt).toMatchObject({ count: 5, min: 0.0005, max: 0.004, p50: 0.002 });
  });

  it("counts per conversation and per client", () => {
    expect(report.conversations.map((c) => [c.transport, c.client, c.clientPort, c.server, c.serverPort, c.calls, c.replies])).toEqual([
      ["tcp", "10.0.0.5", 800, "10.0.0.1", 2049, 5, 4],
      ["udp", "10.0.0.6", 900, "10.0.0.1", 2049, 1, 1],
      ["tcp", "10.0.0.8", 950, "10.0.0.1", 2049, 0, 1],
    ]);
    expect(report.conversations[0]!.rtt).toEqual({ count: 4, min: 0.001, avg: 0.0025, max: 0.004 });
    expect(report.clients.map((c) => [c.address, c.calls, c.errors, c.unanswered])).toEqual([
      ["10.0.0.5", 5, 1, 1],
      ["10.0.0.6", 1, 1, 0],
      ["10.0.0.8", 0, 1, 0],
    ]);
  });

  it("caps conversations and clients", () => {
    const c = new StatsCollector({ maxConversations: 1, maxClients: 1 });
    c.add(exchange(call(1, 1, 1, { src: "10.0.0.1" }), null), names);
    c.add(exchange(call(1, 1, 1, { src: "10.0.0.2" }), null), names);
    c.add(exchange(call(1, 1, 1, { src: "10.0.0.2" }), null), names);
    const r = c.result();
    expect(r.conversations).toHaveLength(1);
    expect(r.clients).toHaveLength(1);
    expect(r.dropped).toEqual({ conversations: 2, clients: 2 });
    expect(r.totals.calls).toBe(3);
    expect(formatStatsText(r)).toContain("(2 exchanges of further conversations not listed)");
  });

  it("keeps rows apart whose numbers share a slot of the recent-row caches", () => {
    // Procedures 1, 65, 129 of one program share a slot (the slot is 6 bits of prog ^ vers << 5 ^ proc),
    // as do client ports 800 and 864 towards one server port; addresses alternate between clients.
    // Interleaved, every lookup displaces the other row; the counts must be those of a plain tally.
    const c = new StatsCollector();
    const rand = prng(7);
    const want = new Map<string, number>();
    const clients = new Map<string, number>();
    const conversations = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const proc = [1, 65, 129][Math.floor(rand() * 3)]!;
      const vers = rand() < 0.5 ? 3 : 35; // (3 << 5) and (35 << 5) share their low 6 bits: the same slot again
      const src = rand() < 0.5 ? "10.0.0.5" : "10.0.0.6";
      const sport = rand() < 0.5 ? 800 : 864;
      c.add(exchange(call(100003, vers, proc, { src, sport }), reply("SUCCESS", { dst: src, dport: sport })), names);
      const key = `${vers}/${proc}`;
      want.set(key, (want.get(key) ?? 0) + 1);
      clients.set(src, (clients.get(src) ?? 0) + 1);
      conversations.set(`${src}:${sport}`, (conversations.get(`${src}:${sport}`) ?? 0) + 1);
    }
    const r = c.result();
    expect(new Map(r.procedures.map((p) => [`${p.vers}/${p.proc}`, p.calls]))).toEqual(want);
    expect(new Map(r.clients.map((k) => [k.address, k.calls]))).toEqual(clients);
    expect(new Map(r.conversations.map((k) => [`${k.client}:${k.clientPort}`, k.calls]))).toEqual(conversations);
    expect(r.totals.calls).toBe(3000);
  });

  it("counts exchanges whose header could not be decoded", () => {
    const c = new StatsCollector();
    const ex = exchange(call(1, 1, 1), null);
    ex.call = { ...ex.call!, header: null };
    c.add(ex, names);
    expect(c.result().totals).toMatchObject({ undecodedHeaders: 1, calls: 0 });
    expect(c.result().procedures).toHaveLength(0);
  });
});

describe("response-time percentiles", () => {
  it("are exact nearest-rank up to the limit", () => {
    const dist = new RttDistribution(1000);
    const values = Array.from({ length: 100 }, (_, i) => (100 - i) / 1000); // added in reverse
    for (const v of values) dist.add(v);
    expect(dist.isExact).toBe(true);
    expect(dist.percentile(50)).toBe(0.05);
    expect(dist.percentile(95)).toBe(0.095);
    expect(dist.percentile(99)).toBe(0.099);
    expect(dist.percentile(100)).toBe(0.1);
    expect(dist.percentile(0)).toBe(0.001);
    expect(dist.summary()).toMatchObject({ count: 100, min: 0.001, max: 0.1, exact: true });
    expect(dist.summary()!.avg).toBeCloseTo(0.0505, 12);
  });

  it("stay within 1% of the exact value past the limit (100k samples)", () => {
    const rand = prng(42);
    const dist = new RttDistribution(1000);
    const values: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      // Log-uniform over 10 µs … 10 s, plus some exact ties.
      const v = i % 10 === 0 ? 0.001 : Math.pow(10, -5 + 6 * rand());
      values.push(v);
      dist.add(v);
    }
    expect(dist.isExact).toBe(false);
    values.sort((a, b) => a - b);
    for (const p of [1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]) {
      const exact = nearestRank(values, p);
      const estimate = dist.percentile(p);
      expect(Math.abs(estimate - exact) / exact).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR + 1e-9);
    }
    expect(dist.min).toBe(values[0]);
    expect(dist.max).toBe(values[values.length - 1]);
  });

  it("take a bucket handed on from another distribution as the one they would compute", () => {
    const rand = prng(7);
    // Totals and a procedure row switch to the histogram at different counts.
    const totals = new RttDistribution(50);
    const row = new RttDistribution(200);
    const alone = new RttDistribution(200);
    const bucketsSeen = new Set<number>();
    for (let i = 0; i < 5_000; i++) {
      const v = i % 97 === 0 ? 0 : Math.pow(10, -6 + 7 * rand());
      const bucket = totals.add(v);
      if (i >= 50) expect(bucket).toBeGreaterThanOrEqual(0);
      else expect(bucket).toBe(-1);
      bucketsSeen.add(bucket);
      row.add(v, bucket);
      alone.add(v);
    }
    expect(bucketsSeen.size).toBeGreaterThan(100);
    expect(row.isExact).toBe(false);
    for (const p of [1, 25, 50, 90, 99, 100]) expect(row.percentile(p)).toBe(alone.percentile(p));
    expect(row.summary()).toEqual(alone.summary());
    // A value that is not finite is not counted, and hands on what it was given.
    expect(row.add(Number.NaN, 17)).toBe(17);
    expect(row.count).toBe(5_000);
  });

  it("stay within 1% for any positive samples (property)", () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 1e-8, max: 5e4, noNaN: true }), { minLength: 1, maxLength: 400 }),
      fc.constantFrom(1, 50, 90, 95, 99, 100),
      (values, p) => {
        const dist = new RttDistribution(8);
        for (const v of values) dist.add(v);
        const sorted = [...values].sort((a, b) => a - b);
        const exact = nearestRank(sorted, p);
        expect(Math.abs(dist.percentile(p) - exact) / exact).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR + 1e-9);
      },
    ), { numRuns: 300 });
  });

  it("handle zero, negative and huge response times", () => {
    const dist = new RttDistribution(2);
    for (const v of [0, -0.001, 0, 2e6, Number.NaN, Number.POSITIVE_INFINITY]) dist.add(v);
    expect(dist.count).toBe(4);
    expect(dist.percentile(50)).toBe(-0.001);
    expect(dist.percentile(100)).toBe(2e6);
    expect(dist.min).toBe(-0.001);
  });

  it("the report says which method was used", () => {
    const c = new StatsCollector({ exactPercentileLimit: 5 });
    for (let i = 0; i < 4; i++) c.add(exchange(call(1, 1, 1), reply("SUCCESS"), { rtt: 0.001 * (i + 1) }), names);
    expect(c.result().percentileMethod).toBe("exact (nearest rank)");
    for (let i = 0; i < 4; i++) c.add(exchange(call(1, 1, 1), reply("SUCCESS"), { rtt: 0.001 * (i + 1) }), names);
    expect(c.result().percentileMethod).toBe("exact up to 5 samples per row, then a log-bucket histogram (within 1%)");
    expect(c.result().procedures[0]!.rtt!.exact).toBe(false);
  });
});

describe("formatStatsText", () => {
  const report = sample();

  it("renders an aligned procedure table with percentiles", () => {
    const text = formatStatsText(report, 200);
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "ONC-RPC statistics: 7 exchanges, 6 calls, 6 replies, 3 errors, 2 retransmissions, 1 unanswered, 1 replies without a call");
    const header = lines.find((l) => l.startsWith("Program"))!;
    expect(header).toMatch(/^Program\s+Vers\s+Procedure\s+Calls\s+Replies\s+Errors\s+Retrans\s+Unans\s+Min\s+Avg\s+P50\s+P95\s+P99\s+Max\s+Call bytes\s+Reply bytes$/);
    const read = lines.find((l) => l.includes("NFSPROC3_READ"))!;
    expect(read).toMatch(/^NFS_PROGRAM\s+3\s+NFSPROC3_READ\s+3\s+3\s+0\s+0\s+0\s+1\.000\s+2\.000\s+2\.000\s+3\.000\s+3\.000\s+3\.000\s+420\s+12600$/);
    // Right-aligned numbers: the Calls column ends at the same place on every row.
    const end = header.indexOf("Calls") + "Calls".length;
    expect(read.slice(0, end)).toMatch(/3$/);
    expect(lines.find((l) => l.includes("MOUNTPROC3_MNT"))).toMatch(/\s-\s+-\s+-\s+-\s+-\s+-\s+240\s+0$/);
    expect(lines.find((l) => l.startsWith("All"))).toMatch(/^All\s+6\s+6\s+3\s+2\s+1\s/);
    expect(text).toContain("Errors by status");
    expect(lines.find((l) => l.includes("NFS3ERR_NOENT"))).toMatch(/^NFS_PROGRAM\s+3\s+NFSPROC3_LOOKUP\s+NFS3ERR_NOENT\s+1$/);
    expect(lines.find((l) => l.includes("PROG_UNAVAIL"))).toMatch(/^400000\s+1\s+proc-2\s+PROG_UNAVAIL\s+1$/);
    expect(text).toContain("Conversations");
    expect(lines.find((l) => l.startsWith("udp"))).toMatch(/^udp\s+10\.0\.0\.6:900\s+10\.0\.0\.1:2049\s+1\s+1\s+1\s+0\s+0\s+0\.500/);
    expect(text).toContain("Clients");
  });

  it("drops low-priority columns to fit the width", () => {
    const text = formatStatsText(report, 80);
    for (const line of text.split("\n")) {
      if (!line.startsWith("ONC-RPC statistics") && !line.startsWith("Response times")) expect(line.length).toBeLessThanOrEqual(80);
    }
    const header = text.split("\n").find((l) => l.startsWith("Program"))!;
    expect(header).not.toContain("Call bytes");
    expect(header).toContain("Calls");
    expect(header).toContain("Errors");
  });

  it("escapes names that came from a packet or a schema", () => {
    const evil: NameLookup = { ...names, procedureName: () => "X\u001b]0;pwned\u0007\u009b" };
    const c = new StatsCollector();
    c.add(exchange(call(7, 1, 1), reply("SUCCESS")), evil);
    const text = formatStatsText(c.result());
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(text).toContain("X\\x1b]0;pwned\\x07\\u{9b}");
    const json = statsToJson(c.result());
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});

describe("statsToJson", () => {
  it("round-trips the report's numbers", () => {
    const parsed = JSON.parse(statsToJson(sample())) as {
      version: number; totals: { exchanges: number }; procedures: { procName: string; rtt: { p95: number } | null }[];
      conversations: unknown[]; clients: unknown[];
    };
    expect(parsed.version).toBe(1);
    expect(parsed.totals.exchanges).toBe(7);
    expect(parsed.procedures.find((p) => p.procName === "NFSPROC3_READ")!.rtt!.p95).toBe(0.003);
    expect(parsed.conversations).toHaveLength(3);
    expect(parsed.clients).toHaveLength(3);
  });
});
