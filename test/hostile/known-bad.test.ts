/**
 * Known-bad shapes, each with the exact issue rpcscope reports for it. The captures
 * are the committed samples/hostile/ files (made by samples/make-hostile.ts); each
 * is run through every stage in memory (test/fuzz/harness.ts) and, where the CLI
 * adds something (exit status, the warning line), through the built CLI.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CaptureError } from "../../capture/frame.js";
import { CaptureTruncatedError } from "../../capture/capture-format.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import { makeHostileSamples, renderHostileReadme } from "../../samples/make-hostile.js";
import { fuzzRegistry, runCapture, type RunOutcome } from "../fuzz/harness.js";
import { HOSTILE, runCli } from "./cli-run.js";

let registry: ProgramRegistry;
beforeAll(async () => {
  registry = await fuzzRegistry();
});

function hostile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(HOSTILE, name)));
}

function run(name: string): RunOutcome {
  return runCapture(hostile(name), { registry, keepLines: true });
}

function issuesOf(o: RunOutcome, code: string): string[] {
  return o.streamIssues.filter((i) => i.code === code).map((i) => i.detail);
}

function messageIssues(o: RunOutcome, xid: number): string[] {
  const m = o.messages.find((x) => x.msg.header?.xid === xid && x.msg.header.kind === "call");
  if (!m) throw new Error(`no call with xid 0x${xid.toString(16)}`);
  return [...m.msg.issues, ...m.bodyIssues].map((i) => `${i.code}: ${i.detail}`);
}

describe("hostile samples", () => {
  it("the committed files and README are exactly what samples/make-hostile.ts generates", () => {
    const samples = makeHostileSamples();
    expect(samples.length).toBeGreaterThanOrEqual(11);
    for (const s of samples) {
      expect(Buffer.from(hostile(s.name)).equals(Buffer.from(s.bytes)), s.name).toBe(true);
      // Small enough to commit.
      expect(s.bytes.length).toBeLessThan(4096);
    }
    expect(readFileSync(join(HOSTILE, "README.md"), "utf8")).toBe(renderHostileReadme(samples));
  });
});

describe("known-bad shapes", () => {
  it("a pcap cut inside its 24-byte file header: one CaptureError line, exit 2, no frame", () => {
    const o = run("cut-in-file-header.pcap");
    expect(o.frames).toBe(0);
    expect(o.captureError).toBeInstanceOf(CaptureError);
    expect(o.captureError).not.toBeInstanceOf(CaptureTruncatedError);
    expect(o.captureError!.message).toBe("capture file header is cut off: the input ends after 13 bytes (at file offset 13)");
    const cli = runCli(["summary", join(HOSTILE, "cut-in-file-header.pcap")]);
    expect(cli.status).toBe(2);
    expect(cli.stderr).toBe("rpcscope: capture file header is cut off: the input ends after 13 bytes (at file offset 13)\n");
    expect(cli.stdout.length).toBe(0);
  });

  it("a pcapng cut inside its section header block: the same, for pcapng", () => {
    const whole = hostile("cut-in-pcapng-block.pcapng");
    const o = runCapture(whole.subarray(0, 20), { registry });
    expect(o.frames).toBe(0);
    expect(o.captureError!.message).toBe("capture file header is cut off: the input ends after 20 bytes (at file offset 20)");
  });

  it("a pcap cut inside a packet record: the frames before it are decoded, then one warning line, exit 0", () => {
    const o = run("cut-in-packet-record.pcap");
    expect(o.frames).toBe(6);
    expect(o.captureError).toBeInstanceOf(CaptureTruncatedError);
    expect((o.captureError as CaptureTruncatedError).completeFrames).toBe(6);
    expect(o.captureError!.fileOffset).toBe(512);
    expect(o.counts).toMatchObject({ calls: 2, replies: 1, answered: 1, unanswered: 1 });
    const cli = runCli(["summary", join(HOSTILE, "cut-in-packet-record.pcap")]);
    expect(cli.status).toBe(0);
    expect(cli.stderr).toBe(
      "rpcscope: warning: capture file is cut short: capture is cut short: the file ends inside a packet record " +
        "(46 of 88 bytes present) after 6 complete frames (at file offset 512)\n",
    );
    expect(cli.stdout.toString()).toContain("6 frames, 3 RPC messages (2 calls, 1 replies), 2 exchanges, 1 unmatched calls");
  });

  it("a pcapng cut inside an enhanced packet block: the same, for pcapng", () => {
    const o = run("cut-in-pcapng-block.pcapng");
    expect(o.frames).toBe(6);
    expect(o.captureError).toBeInstanceOf(CaptureTruncatedError);
    expect(o.captureError!.message).toBe(
      "capture is cut short: the file ends inside a pcapng block (20 of 104 bytes present) after 6 complete frames (at file offset 644)",
    );
    const cli = runCli(["summary", "--json", join(HOSTILE, "cut-in-pcapng-block.pcapng")]);
    expect(cli.status).toBe(0);
    expect(cli.stderr).toMatch(/^rpcscope: warning: capture file is cut short: .*\(at file offset 644\)\n$/);
    expect(cli.stdout.toString().trim().split("\n")).toHaveLength(3);
  });

  it("a capture that ends in the middle of an RPC record: the record is handed on truncated, and the stream says why", () => {
    const o = run("rpc-record-cut.pcap");
    expect(issuesOf(o, "truncated")).toEqual(["stream ended (end) inside a record: 376 bytes of the current fragment never seen"]);
    expect(messageIssues(o, 0x2001)).toEqual([
      "truncated: only 120 of 496 bytes captured",
      "truncated: arguments: truncated at +96 (args.data): opaque<> needs 400 bytes, only 24 captured",
    ]);
    expect(o.counts).toMatchObject({ messages: 1, truncated: 1, unanswered: 1 });
  });

  it("snaplen-cut packets: headers still decoded, the body marked truncated (UDP and TCP)", () => {
    const o = run("snaplen-120.pcap");
    const calls = o.messages.filter((m) => m.msg.header?.kind === "call");
    expect(calls.map((m) => [m.msg.transport, m.msg.header?.kind === "call" ? m.msg.header.proc : -1])).toEqual([["udp", 7], ["tcp", 7]]);
    expect(messageIssues(o, 0x3001)).toEqual([
      "truncated: only 92 of 396 bytes captured",
      "truncated: arguments: truncated at +92 (args.data): opaque<> needs 4 bytes, only 0 captured",
    ]);
    expect(messageIssues(o, 0x3002)).toEqual([
      "truncated: only 76 of 396 bytes captured",
      "truncated: arguments: truncated at +76 (args.offset): offset3 needs 8 bytes, only 0 captured",
    ]);
    // The file handle before the cut is decoded.
    const args = calls[0]!.args;
    expect(args?.value.kind).toBe("struct");
    expect(issuesOf(o, "truncated")[0]).toMatch(/cut by the snaplen/);
    // Snaplen cuts are not malformed frames.
    expect(o.counts.malformed).toBe(0);
  });

  it("a zero-length record fragment is reported, and the record around it still decodes", () => {
    const o = run("zero-length-fragment.pcap");
    expect(issuesOf(o, "zero-length-fragment")).toEqual(["record mark 0x00000000 announces an empty fragment"]);
    expect(o.counts).toMatchObject({ zeroLengthFragments: 1, calls: 2, replies: 2, answered: 2, malformed: 0 });
  });

  it("a record mark announcing 2 GB: record-too-long with the bytes skipped, nothing allocated for it", () => {
    const o = run("record-mark-2gb.pcap");
    expect(issuesOf(o, "record-too-long")).toEqual([
      "record of 2147483647 bytes exceeds maxRecordBytes (16777216); 100 bytes skipped before the record was cut off",
    ]);
    expect(o.counts).toMatchObject({ recordsTooLong: 1, tooLongBytes: 100, answered: 1 });
    const cli = runCli(["summary", join(HOSTILE, "record-mark-2gb.pcap")]);
    expect(cli.stdout.toString()).toContain(
      "     8  record-too-long: record of 2147483647 bytes exceeds maxRecordBytes (16777216); 100 bytes skipped before the record was cut off\n",
    );
  });

  it("a TCP stream with a hole inside a record: gap reported, record marking stays in step, the call is kept truncated", () => {
    const o = run("tcp-hole.pcap");
    expect(issuesOf(o, "gap")).toEqual(["8 bytes missing from the stream (loss or buffer limit) inside a record; record marking stays in step"]);
    expect(messageIssues(o, 0x601)).toEqual([
      "truncated: only 44 of 56 bytes captured",
      "truncated: arguments: truncated at +44 (args.vers): unsigned int needs 4 bytes, only 0 captured",
    ]);
    expect(o.counts).toMatchObject({ tcpGaps: 1, gapBytes: 8, calls: 3, answered: 3, orphanReplies: 0, resyncs: 0 });
  });

  it("a TCP hole that takes a record mark: gap, then resynchronisation", () => {
    const o = run("tcp-hole-resync.pcap");
    expect(issuesOf(o, "gap")).toEqual(["12 bytes missing from the stream (loss or buffer limit); resynchronising"]);
    expect(messageIssues(o, 0x651)).toEqual([
      "truncated: only 46 of 56 bytes captured",
      "truncated: arguments: truncated at +44 (args.vers): unsigned int needs 4 bytes, only 2 captured",
    ]);
    // The reply to the call whose mark was lost is shown as such, never paired by guess.
    const orphan = o.messages.find((m) => m.msg.header?.xid === 0x652);
    expect(orphan?.msg.issues.map((i) => i.code)).toEqual(["unpaired-reply"]);
  });

  // The resynchronisation itself lands on a shifted phantom: see test/corpus (resync-phantom-record.pcap).

  it("a union whose discriminant has no arm and no default: invalid, located, decoding stops there", () => {
    const o = run("union-no-arm.pcap");
    expect(messageIssues(o, 0x700)).toEqual([
      "malformed: invalid at +76 (args.guard.check): bool is 5, not 0 or 1",
      "malformed: arguments: invalid at +76 (args.guard.arm): no arm of sattrguard3 for discriminant 5 and no default",
    ]);
    const cli = runCli(["summary", "-V", join(HOSTILE, "union-no-arm.pcap")]);
    expect(cli.stdout.toString()).toContain(
      "arm: sattrguard3 = MALFORMED: invalid at +76 (args.guard.arm): no arm of sattrguard3 for discriminant 5 and no default  [76+0]",
    );
  });

  it("a .x type that contains itself without '*': a SchemaError at file:line:col", () => {
    const text = "/* a list gone wrong */\nconst N = 4;\n  struct node {\n  int value;\n  node next;\n};\n";
    const r = compileSchema([{ path: "self.x", text }]);
    expect(r.schema).toBeUndefined();
    expect(r.errors.map((e) => e.message)).toEqual([
      "self.x:3:3: type 'node' contains itself (node → node) without '*' or '<>': its size would be infinite",
    ]);
    const mutual = compileSchema([{ path: "m.x", text: "typedef inner outer;\nstruct inner {\n  outer again;\n};\n" }]);
    expect(mutual.errors.map((e) => e.message)).toEqual([
      "m.x:1:1: type 'outer' contains itself (outer → inner → outer) without '*' or '<>': its size would be infinite",
    ]);
    // With '*' it is a list, and fine.
    expect(compileSchema([{ path: "ok.x", text: "struct node { int value; node *next; };" }]).errors).toEqual([]);
  });
});
