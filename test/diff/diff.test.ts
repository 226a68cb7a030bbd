/**
 * `rpcscope diff` on real recordings of the demo service (samples/README.md,
 * "Regression set"): the same workload twice, and three variants that each
 * change one thing. Each comparison must report exactly that change, in the
 * text and the JSON output, with the documented exit status.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../bench/generate-capture.js";
import { run } from "../../ui/commands/diff.js";
import { UsageError } from "../../ui/cli-options.js";
import { diffCaptures, IgnoreSet, LeafHasher, type DiffReport } from "../../ui/diff.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DEMO = join(ROOT, "samples", "demo-service");
const SPEC = ["--spec", join(DEMO, "demo.x")];
const capture = (name: string): string => join(DEMO, `${name}.pcap`);

interface ClientLogLine {
  seq: number;
  xid: number;
  procName: string;
  args: unknown[];
  result: unknown;
}

function clientLog(name: string): ClientLogLine[] {
  return readFileSync(join(DEMO, `${name}.client-log.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ClientLogLine);
}

async function diff(...args: string[]): Promise<{ code: number; text: string }> {
  let text = "";
  const code = await run(args, { write: (t) => { text += t; } });
  return { code, text };
}

async function diffJson(...args: string[]): Promise<{ code: number; report: DiffReport & { failing: string[]; failOn: string[] } }> {
  const { code, text } = await diff("--json", ...args);
  expect(text.endsWith("\n")).toBe(true);
  expect(text.trim().split("\n")).toHaveLength(1);
  return { code, report: JSON.parse(text) as DiffReport & { failing: string[]; failOn: string[] } };
}

describe("diff: baseline-1 against baseline-2 (the same workload twice)", () => {
  it("finds no difference and exits 0, although every XID and time differs", async () => {
    // The recordings really do differ where runs always differ.
    const xids1 = clientLog("baseline-1").map((l) => l.xid);
    const xids2 = clientLog("baseline-2").map((l) => l.xid);
    expect(xids1).toHaveLength(10);
    expect(xids1.filter((x, i) => x === xids2[i])).toEqual([]);

    const { code, text } = await diff(...SPEC, capture("baseline-1"), capture("baseline-2"));
    expect(code).toBe(0);
    expect(text).toContain("Procedures: no change in calls per procedure\n");
    expect(text).toContain("Error statuses: no change\n");
    expect(text).toContain("Response times: no regression (p50 or p95 more than ×1.5 and at least 1.000ms slower)\n");
    expect(text).toContain("Conversations: 2 compared, no difference\n");
    expect(text.endsWith("No differences.\n")).toBe(true);

    const { code: jsonCode, report } = await diffJson(...SPEC, capture("baseline-1"), capture("baseline-2"));
    expect(jsonCode).toBe(0);
    expect(report).toMatchObject({
      version: 1,
      base: { frames: 36, exchanges: 10, calls: 10, conversations: 2, truncated: null },
      new: { frames: 36, exchanges: 10, calls: 10, conversations: 2, truncated: null },
      procedures: [], errors: [], latency: [], conversations: [], conversationsCompared: 2,
      regressions: { errors: 0, latency: 0, procedures: 0, bodies: 0 },
      failing: [],
    });
  });

  it("without the default ignores, the XID is the one field that differs", async () => {
    const { code, report } = await diffJson(...SPEC, "--no-default-ignores", capture("baseline-1"), capture("baseline-2"));
    expect(code).toBe(1);
    expect(report.regressions).toEqual({ errors: 0, latency: 0, procedures: 0, bodies: 2 });
    expect(report.conversations).toHaveLength(2);
    for (const c of report.conversations) {
      expect(c.sequence).toBeNull();
      expect(c.body?.base.position).toBe(1);
      expect(c.body?.fields.map((f) => [f.path, f.change])).toEqual([["call.xid", "changed"]]);
    }
    const first = report.conversations[0]!.body!;
    expect(first.fields[0]).toEqual({
      path: "call.xid", change: "changed",
      base: `0x${clientLog("baseline-1")[0]!.xid.toString(16).padStart(8, "0")}`,
      new: `0x${clientLog("baseline-2")[0]!.xid.toString(16).padStart(8, "0")}`,
    });
  });
});

describe("diff: baseline against variant-error (CHECK answers DEMO_IO_ERROR)", () => {
  it("reports exactly the new error status on CHECK, and its body difference", async () => {
    const { code, report } = await diffJson(...SPEC, capture("baseline-1"), capture("variant-error"));
    expect(code).toBe(1);
    expect(report.procedures).toEqual([]);
    expect(report.latency).toEqual([]);
    expect(report.errors).toEqual([{
      prog: 0x20406080, vers: 2, proc: 6, program: "demo v2", procName: "CHECK",
      status: "DEMO_IO_ERROR", change: "new", baseCount: 0, newCount: 1, baseCalls: 1, newCalls: 1,
    }]);
    expect(report.regressions).toEqual({ errors: 1, latency: 0, procedures: 0, bodies: 1 });
    // The same exchange, field by field: the status changed and the checksum arm is gone.
    expect(report.conversations).toHaveLength(1);
    const conv = report.conversations[0]!;
    expect(conv).toMatchObject({ transport: "tcp", server: "127.0.0.1", serverPort: 23456, program: "demo", ordinal: 2,
      presence: "both", baseExchanges: 7, newExchanges: 7, sequence: null });
    expect(conv.body?.base).toMatchObject({ position: 5, procName: "CHECK", callFrame: 25, replyFrame: 26, status: "SUCCESS", bodyStatus: null });
    expect(conv.body?.new).toMatchObject({ position: 5, procName: "CHECK", status: "SUCCESS", bodyStatus: "DEMO_IO_ERROR",
      xid: clientLog("variant-error").find((l) => l.procName === "CHECK")!.xid });
    expect(conv.body?.fields).toEqual([
      { path: "res.status", change: "changed", base: "DEMO_OK", new: "DEMO_IO_ERROR" },
      { path: "res.checksum", change: "removed", base: "6018027440424182931", new: null },
    ]);
    expect(conv.body?.fieldsOmitted).toBe(0);
  });

  it("prints the same in text", async () => {
    const { code, text } = await diff(...SPEC, capture("baseline-1"), capture("variant-error"));
    expect(code).toBe(1);
    expect(text).toContain("Error statuses:\n  ! demo v2 CHECK: DEMO_IO_ERROR new, 0 of 1 call → 1 of 1 call\n");
    expect(text).toContain("Procedures: no change in calls per procedure\n");
    expect(text).toContain("Response times: no regression");
    expect(text).toContain(
      "    first body difference: base #5 CHECK  SUCCESS (frames 25/26), new #5 CHECK  DEMO_IO_ERROR (frames 25/26)\n" +
      "      ~ res.status: DEMO_OK → DEMO_IO_ERROR\n" +
      "      - res.checksum: 6018027440424182931\n");
    expect(text).toContain("Regressions: errors 1, bodies 1 (failing on errors, bodies)\n");
  });

  it("exits 1 with --fail-on errors and 0 with --fail-on latency", async () => {
    expect((await diff(...SPEC, "--fail-on", "errors", capture("baseline-1"), capture("variant-error"))).code).toBe(1);
    const latencyOnly = await diff(...SPEC, "--fail-on", "latency", capture("baseline-1"), capture("variant-error"));
    expect(latencyOnly.code).toBe(0);
    expect(latencyOnly.text).toContain("Regressions: errors 1, bodies 1 (none of them in --fail-on latency)\n");
    expect((await diff(...SPEC, "--fail-on", "none", capture("baseline-1"), capture("variant-error"))).code).toBe(0);
    const { report } = await diffJson(...SPEC, "--fail-on", "procedures,latency", capture("baseline-1"), capture("variant-error"));
    expect(report.failOn).toEqual(["procedures", "latency"]);
    expect(report.failing).toEqual([]);
  });

  it("leaves ignored fields and filtered-out exchanges out of the comparison", async () => {
    const ignored = await diffJson(...SPEC, "--ignore", "res.status", "--ignore", "checksum", capture("baseline-1"), capture("variant-error"));
    expect(ignored.report.conversations).toEqual([]);
    expect(ignored.report.errors).toHaveLength(1); // statuses still count: ignoring is about the field diff
    const byType = await diffJson(...SPEC, "--ignore", "type:check_res", "--fail-on", "bodies", capture("baseline-1"), capture("variant-error"));
    expect(byType.code).toBe(0);
    expect(byType.report.regressions.bodies).toBe(0);
    const filtered = await diffJson(...SPEC, "-Y", "proc != CHECK", capture("baseline-1"), capture("variant-error"));
    expect(filtered.code).toBe(0);
    expect(filtered.report).toMatchObject({ errors: [], conversations: [], base: { exchanges: 9 }, new: { exchanges: 9 } });
    expect(filtered.report.settings.filter).toBe("proc != CHECK");
  });
});

describe("diff: baseline against variant-delay (STORE sleeps 30 ms)", () => {
  it("reports exactly a response-time regression on STORE", async () => {
    const { code, report } = await diffJson(...SPEC, capture("baseline-1"), capture("variant-delay"));
    expect(code).toBe(1);
    expect(report.procedures).toEqual([]);
    expect(report.errors).toEqual([]);
    expect(report.conversations).toEqual([]);
    expect(report.regressions).toEqual({ errors: 0, latency: 1, procedures: 0, bodies: 0 });
    expect(report.latency).toHaveLength(1);
    const l = report.latency[0]!;
    expect(l).toMatchObject({ prog: 0x20406080, vers: 2, proc: 1, program: "demo v2", procName: "STORE", baseCount: 1, newCount: 1 });
    expect(l.p50.regression).toBe(true);
    expect(l.p95.regression).toBe(true);
    expect(l.p50.base).toBeLessThan(0.001);
    expect(l.p50.new).toBeGreaterThanOrEqual(0.030);
    expect(l.p50.ratio).toBeCloseTo(l.p50.new / l.p50.base, 9);
  });

  it("prints it, and --fail-on / --latency-floor / --latency-ratio decide", async () => {
    const { code, text } = await diff(...SPEC, capture("baseline-1"), capture("variant-delay"));
    expect(code).toBe(1);
    expect(text).toMatch(/\nResponse-time regressions \(p50 or p95 more than ×1\.5 and at least 1\.000ms slower\):\n {2}! demo v2 STORE: p50 \d+µs → 30\.\d{3}ms ×\d+\.\d !, p95 \d+µs → 30\.\d{3}ms ×\d+\.\d ! \(1 → 1 replies\)\n/);
    expect(text).toContain("Regressions: latency 1 (failing on latency)\n");
    expect((await diff(...SPEC, "--fail-on", "errors,procedures,bodies", capture("baseline-1"), capture("variant-delay"))).code).toBe(0);
    expect((await diff(...SPEC, "--latency-floor", "50ms", capture("baseline-1"), capture("variant-delay"))).code).toBe(0);
    expect((await diff(...SPEC, "--latency-ratio", "10000", capture("baseline-1"), capture("variant-delay"))).code).toBe(0);
  });

  it("does not count microsecond noise: with no floor, small procedures trip the ratio", async () => {
    // NULL takes 56 µs in baseline-1 and 51 µs in variant-delay, CHECK 20 → 14 µs, …: which
    // ones cross ×1.5 is noise. With the default 1 ms floor none may count.
    const noFloor = await diffJson(...SPEC, "--latency-floor", "0", "--latency-ratio", "1.01", capture("variant-delay"), capture("baseline-1"));
    expect(noFloor.report.latency.length).toBeGreaterThan(0);
    expect(noFloor.report.latency.some((l) => l.procName === "STORE")).toBe(false);
    const withFloor = await diffJson(...SPEC, "--latency-ratio", "1.01", capture("variant-delay"), capture("baseline-1"));
    expect(withFloor.report.latency).toEqual([]);
  });
});

describe("diff: baseline against variant-extra-call (one more CLASSIFY after ADD3)", () => {
  it("reports the one count change and the inserted exchange, with its fields", async () => {
    const { code, report } = await diffJson(...SPEC, capture("baseline-1"), capture("variant-extra-call"));
    expect(code).toBe(1);
    expect(report.procedures).toEqual([{
      prog: 0x20406080, vers: 2, proc: 3, program: "demo v2", procName: "CLASSIFY", change: "count", baseCalls: 1, newCalls: 2,
    }]);
    expect(report.errors).toEqual([]);
    expect(report.latency).toEqual([]);
    expect(report.conversations).toHaveLength(1);
    const conv = report.conversations[0]!;
    expect(conv).toMatchObject({ serverPort: 23456, ordinal: 2, presence: "both", baseExchanges: 7, newExchanges: 8, body: null });
    const s = conv.sequence!;
    // The client log says which call is the extra one: seq 6, CLASSIFY(TINT_RED center (1, 2)).
    const extra = clientLog("variant-extra-call").find((l) => l.seq === 6)!;
    expect(extra.args).toEqual([{ kind: "TINT_RED", center: { x: 1, y: 2 } }]);
    expect(s).toMatchObject({
      kind: "inserted", count: 1, base: null, contextStart: 1,
      new: { position: 3, procName: "CLASSIFY", callFrame: 21, replyFrame: 22, xid: extra.xid, status: "SUCCESS" },
      baseContext: ["STORE", "ADD3", "CLASSIFY", "REVERSE", "CHECK"],
      newContext: ["STORE", "ADD3", "CLASSIFY", "CLASSIFY", "REVERSE", "CHECK"],
    });
    expect(s.fields).toEqual([
      { path: "call.cred.flavor", change: "added", base: null, new: "none" },
      { path: "args.kind", change: "added", base: null, new: "TINT_RED" },
      { path: "args.center.x", change: "added", base: null, new: "1" },
      { path: "args.center.y", change: "added", base: null, new: "2" },
      { path: "reply.status", change: "added", base: null, new: "SUCCESS" },
      { path: "res.kind", change: "added", base: null, new: "TINT_GREEN" },
    ]);
    expect(report.regressions).toEqual({ errors: 0, latency: 0, procedures: 2, bodies: 0 });
  });

  it("prints it, and the other way round it is a missing exchange", async () => {
    const { text } = await diff(...SPEC, capture("baseline-1"), capture("variant-extra-call"));
    expect(text).toContain("Procedures:\n  ~ demo v2 CLASSIFY: calls 1 → 2\n");
    expect(text).toContain(
      "  tcp 127.0.0.1:23456 demo #2 (clients 127.0.0.1:611 → 127.0.0.1:772, 7 → 8 exchanges)\n" +
      "    first sequence difference: 1 exchange inserted in new at #3 CLASSIFY  SUCCESS (frames 21/22)\n" +
      "      base: #1 STORE, #2 ADD3, #3 CLASSIFY, #4 REVERSE, #5 CHECK\n" +
      "      new:  #1 STORE, #2 ADD3, #3 CLASSIFY, #4 CLASSIFY, #5 REVERSE, #6 CHECK\n" +
      "      + call.cred.flavor: none\n" +
      "      + args.kind: TINT_RED\n");
    expect(text).not.toContain("first body difference");

    const back = await diffJson(...SPEC, capture("variant-extra-call"), capture("baseline-1"));
    expect(back.report.procedures).toMatchObject([{ procName: "CLASSIFY", baseCalls: 2, newCalls: 1 }]);
    expect(back.report.conversations[0]!.sequence).toMatchObject({
      kind: "removed", count: 1, new: null, base: { position: 3, procName: "CLASSIFY", callFrame: 21 },
    });
    expect(back.report.conversations[0]!.sequence!.fields.every((f) => f.change === "removed")).toBe(true);
  });
});

/**
 * A capture of the bench generator's NFS workload (`exchanges` over `connections`) and
 * the same file cut after `frames` frames: each conversation of the cut one is the start
 * of its whole one. Made before the suite's tests run (not while they are collected: a
 * run that skips them leaves nothing behind), removed after.
 */
function wholeAndPart(exchanges: number, connections: number, seed: number, frames: number): { whole: string; part: string } {
  const dir = join(tmpdir(), `rpcscope-diff-${process.pid}-${seed}`);
  const whole = join(dir, "whole.pcap");
  const part = join(dir, "part.pcap");
  beforeAll(() => {
    mkdirSync(dir, { recursive: true });
    generate(whole, exchanges, connections, seed);
    const bytes = readFileSync(whole);
    let end = 24;
    for (let frame = 0; frame < frames; frame++) end += 16 + bytes.readUInt32LE(end + 8);
    writeFileSync(part, bytes.subarray(0, end));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { whole, part };
}

describe("diff: a capture against the first part of itself (long runs missing at the end)", () => {
  const { whole, part } = wholeAndPart(400, 4, 11, 250);

  it("names the first exchanges of an inserted run, and counts the rest instead of listing them", async () => {
    const { report } = await diffJson(part, whole);
    const inserted = report.conversations.filter((c) => c.sequence?.kind === "inserted");
    expect(inserted.length).toBeGreaterThanOrEqual(3);
    for (const c of inserted) {
      const s = c.sequence!;
      // The rest of the conversation is missing from the cut file: tens of exchanges.
      expect(s.count).toBe(c.newExchanges - c.baseExchanges);
      expect(s.count).toBeGreaterThan(11);
      // Two before the run, then the run's first 11 (MAX_SHIFT + CONTEXT_AFTER); the rest counted.
      expect(s.newContext).toHaveLength(s.new!.position - s.contextStart + 11);
      expect(s.contextOmitted).toBe(s.count - 11);
      expect(s.baseContext).toHaveLength(c.baseExchanges - s.contextStart + 1);
    }
    const { text } = await diff(part, whole);
    const s = inserted[0]!.sequence!;
    const last = s.contextStart + s.newContext.length - 1;
    expect(text).toContain(`, #${last} ${s.newContext.at(-1)}, … and ${s.count - 11} more\n`);
    // Every line short: no line of all the run's names.
    expect(Math.max(...text.split("\n").map((l) => l.length))).toBeLessThan(400);
  });

  it("the other way round, a removed run is cut the same way, on the base side", async () => {
    const { report } = await diffJson(whole, part);
    const removed = report.conversations.filter((c) => c.sequence?.kind === "removed");
    expect(removed.length).toBeGreaterThanOrEqual(3);
    for (const c of removed) {
      const s = c.sequence!;
      expect(s.count).toBe(c.baseExchanges - c.newExchanges);
      expect(s.baseContext).toHaveLength(s.base!.position - s.contextStart + 11);
      expect(s.contextOmitted).toBe(s.count - 11);
    }
    const { text } = await diff(whole, part);
    expect(text).toMatch(/\n {6}base: #\d+ [^\n]*, … and \d+ more\n {6}new: {2}#/);
  });

  it("a short run is named whole, with the exchanges after it, and nothing is said to be left out", async () => {
    const { report } = await diffJson(...SPEC, capture("baseline-1"), capture("variant-extra-call"));
    expect(report.conversations[0]!.sequence).toMatchObject({ kind: "inserted", count: 1, contextOmitted: 0 });
    const { text } = await diff(...SPEC, capture("baseline-1"), capture("variant-extra-call"));
    expect(text).not.toContain("… and");
  });
});

describe("diff: different protocols (NFSv3 against NFSv4)", () => {
  it("lists appeared and disappeared procedures, conversations only on one side, and replaced sequences", async () => {
    const { code, report, } = await diffJson(join(ROOT, "samples/nfs/nfsv3.pcap"), join(ROOT, "samples/nfs/nfsv4.pcap"));
    expect(code).toBe(1);
    expect(report.procedures).toContainEqual(expect.objectContaining({ program: "nfs v4", procName: "COMPOUND", change: "appeared", baseCalls: 0, newCalls: 34 }));
    expect(report.procedures).toContainEqual(expect.objectContaining({ program: "nfs v3", procName: "LOOKUP", change: "disappeared", baseCalls: 7, newCalls: 0 }));
    expect(report.errors).toContainEqual(expect.objectContaining({ procName: "COMPOUND", status: "NFS4ERR_NOENT", change: "new" }));
    expect(report.errors).toContainEqual(expect.objectContaining({ procName: "LOOKUP", status: "NFS3ERR_NOENT", change: "gone" }));
    expect(report.regressions.errors).toBe(1); // "gone" is not a regression
    const nfs = report.conversations.filter((c) => c.serverPort === 2049);
    expect(nfs.length).toBeGreaterThan(0);
    expect(nfs[0]!.sequence).toMatchObject({ kind: "replaced", base: { position: 1, vers: 3 }, new: { position: 1, vers: 4 } });
    expect(nfs[0]!.sequence!.baseContext[0]).toBe("v3 NULL");
    expect(report.conversations.some((c) => c.presence === "base-only" && c.serverPort === 111)).toBe(true);
  });
});

describe("diff: the per-exchange numbers written to disk and read back", () => {
  // Blocks of 2 entries and a 64-byte budget for the tails: nearly every entry is written
  // to the file, changed there when its reply comes, and read back for the alignment.
  // The reports must be those of the default (everything in memory on captures this size).
  const small = { blockEntries: 2, tailBudgetBytes: 64 };
  const { whole, part } = wholeAndPart(600, 3, 5, 700);
  const input = (path: string) => ({ label: path, source: { kind: "file" as const, path } });

  it("gives the same report as with everything in memory, for samples, a cut capture and a filter", async () => {
    const registry = await loadRegistry({ userSpecs: [join(DEMO, "demo.x")], defines: new Map() });
    const names = namesFor(registry);
    const { compileFilter } = await import("../../ui/filter/evaluate.js");
    const pairs: [string, string][] = [
      [capture("baseline-1"), capture("variant-extra-call")], [capture("variant-extra-call"), capture("baseline-1")],
      [capture("baseline-1"), capture("variant-error")], [part, whole], [whole, part], [whole, whole],
    ];
    let differences = 0;
    for (const [a, b] of pairs) {
      for (const filter of [null, compileFilter("proc != GETATTR && proc != STORE")]) {
        const options = { limits: DEFAULT_LIMITS, registry, names, filter };
        const inMemory = await diffCaptures(input(a), input(b), options);
        const onDisk = await diffCaptures(input(a), input(b), { ...options, columns: small });
        expect(onDisk, `${a} ${b} ${filter?.source ?? ""}`).toEqual(inMemory);
        differences += inMemory.conversations.length;
      }
    }
    expect(differences).toBeGreaterThan(10);
  });
});

describe("diff: the conversation limit", () => {
  it("still counts statuses of exchanges beyond it, but does not align them", async () => {
    const registry = await loadRegistry({ userSpecs: [join(DEMO, "demo.x")], defines: new Map() });
    const input = (name: string) => ({ label: name, source: { kind: "file" as const, path: capture(name) } });
    const report = await diffCaptures(input("baseline-1"), input("variant-error"),
      { limits: DEFAULT_LIMITS, registry, names: namesFor(registry), maxConversations: 1 });
    expect(report.base).toMatchObject({ conversations: 1, exchangesNotAligned: 7, exchanges: 10 });
    expect(report.errors).toMatchObject([{ procName: "CHECK", status: "DEMO_IO_ERROR", change: "new" }]);
    expect(report.conversations).toEqual([]); // CHECK's conversation is the second one
  });
});

describe("diff: usage", () => {
  it("rejects bad command lines with a UsageError (exit status 2 in the CLI)", async () => {
    const a = capture("baseline-1");
    await expect(diff(a)).rejects.toThrow(UsageError);
    await expect(diff(a, "-")).rejects.toThrow(/needs files/);
    await expect(diff("--fail-on", "speed", a, a)).rejects.toThrow(/--fail-on takes errors, latency, procedures, bodies/);
    await expect(diff("--latency-ratio", "0.5", a, a)).rejects.toThrow(UsageError);
    await expect(diff("--latency-floor", "fast", a, a)).rejects.toThrow(/duration/);
    await expect(diff("--ignore", "res..verf", a, a)).rejects.toThrow(UsageError);
    await expect(diff("--max-fields", "1.5", a, a)).rejects.toThrow(UsageError);
  });

  it("prints its help", async () => {
    const { code, text } = await diff("--help");
    expect(code).toBe(0);
    expect(text).toMatch(/^Usage: rpcscope diff BASE NEW/);
    expect(text).toContain("--fail-on LIST");
  });
});

describe("IgnoreSet", () => {
  const cases: [string, string, boolean][] = [
    ["res.*.verf", "res.resok.verf", true],
    ["res.*.verf", "res.verf", false],
    ["res.*.verf", "res.a.b.verf", false],
    ["res.**.verf", "res.verf", true],
    ["res.**.verf", "res.a.b.verf", true],
    ["verf", "args.where.verf", true],
    ["verf", "res.verf", true],
    ["verf", "res.verfx", false],
    ["args.entries[*].cookie", "args.entries[3].cookie", true],
    ["args.entries[*].cookie", "args.entries[3].name", false],
    ["args.entries.*.cookie", "args.entries[0].cookie", true],
    ["time_*", "res.obj.time_delta", true],
    ["time_*", "res.obj.xtime_delta", false],
    ["res.**", "res.anything.below", true],
    ["res.**", "args.x", false],
    ["call.cred.stamp", "call.cred.stamp", true],
    ["call.cred.stamp", "call.cred.uid", false],
    ["res.status", "res.status.sub", true], // a matched path takes everything below it
  ];
  it.each(cases)("%s on %s → %s", (pattern, path, expected) => {
    expect(new IgnoreSet([pattern]).ignoresPath(path)).toBe(expected);
  });

  it("rejects what it cannot read", () => {
    expect(() => new IgnoreSet(["a..b"])).toThrow(/dotted path/);
    expect(() => new IgnoreSet(["res."])).toThrow(/dotted path/);
    expect(() => new IgnoreSet(["type:"])).toThrow(/bad type name/);
  });
});

describe("LeafHasher: bulk data", () => {
  const hashOf = (bytes: Uint8Array): string => {
    const h = new LeafHasher();
    h.start(0x811c9dc5, 0x9747b28c);
    h.bytes("args", bytes);
    return `${h.a >>> 0}:${h.b >>> 0}`;
  };
  /** The bytes at `offset` in a larger buffer (records are views at any alignment). */
  const at = (bytes: Uint8Array, offset: number): Uint8Array => {
    const big = new Uint8Array(bytes.length + 8);
    big.set(bytes, offset);
    return big.subarray(offset, offset + bytes.length);
  };
  const sample = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);

  it("hashes the same bytes alike whatever their alignment in memory", () => {
    for (let n = 0; n <= 41; n++) {
      const bytes = sample(n);
      const aligned = hashOf(at(bytes, 0));
      for (const offset of [1, 2, 3, 4, 5]) expect(hashOf(at(bytes, offset)), `${n} bytes at +${offset}`).toBe(aligned);
    }
  });

  it("tells apart a change of any one bit, in either lane, in the last odd word or in the tail bytes", () => {
    for (const n of [1, 3, 4, 7, 8, 12, 13, 16, 31]) {
      const bytes = sample(n);
      const seen = new Set([hashOf(bytes)]);
      for (let i = 0; i < n; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const changed = bytes.slice();
          changed[i] ^= 1 << bit;
          const h = hashOf(i % 2 === 0 ? changed : at(changed, 1));
          expect(seen.has(h), `${n} bytes, byte ${i} bit ${bit}`).toBe(false);
          seen.add(h);
        }
      }
    }
  });

  it("tells apart lengths, trailing zero bytes included, and words swapped between the lanes", () => {
    const hashes = new Set<string>();
    for (let n = 0; n <= 16; n++) hashes.add(hashOf(new Uint8Array(n)));
    expect(hashes.size).toBe(17);
    const ab = Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0);
    const ba = Uint8Array.of(2, 0, 0, 0, 1, 0, 0, 0);
    expect(hashOf(ab)).not.toBe(hashOf(ba));
  });
});
