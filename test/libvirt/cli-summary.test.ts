/**
 * `rpcscope summary -Y …` (the built CLI, dist/ui/rpcscope.cjs) on the libvirt sample
 * and on a capture holding both protocols: text, --json and --csv, with counts
 * from Wireshark's libvirt plugin output.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../hostile/cli-run.js";
import { LIBVIRT_FIXTURE, LIBVIRT_SAMPLE, NFS_SAMPLE, writeMixedCapture, type MixedCapture } from "./mixed-capture.js";
import { REF, refFrames } from "./reference.js";

interface JsonLine {
  protocol: string;
  frame: number;
  procName?: string;
  msgType?: string;
  status?: string;
  peerFrame: number | null;
  rtt: number | null;
  res?: unknown;
}

function summary(args: readonly string[]): string {
  const r = runCli(["summary", "--spec", LIBVIRT_FIXTURE, ...args]);
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r.stdout.toString("utf8");
}

function json(args: readonly string[]): JsonLine[] {
  return summary(["--json", ...args]).split("\n").filter(Boolean).map((l) => JSON.parse(l) as JsonLine);
}

/** Frame numbers of the text lines that show a libvirt message. */
function textFrames(text: string): number[] {
  return text.split("\n").filter((l) => / serial=\d+ /.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

describe("rpcscope summary -Y on the libvirt sample", () => {
  it("libvirt && proc == DOMAIN_LOOKUP_BY_NAME: the plugin's 14 messages", () => {
    const text = summary(["-Y", "libvirt && proc == DOMAIN_LOOKUP_BY_NAME", LIBVIRT_SAMPLE]);
    const expected = refFrames((m) => m.procName === "DOMAIN_LOOKUP_BY_NAME");
    expect(expected).toHaveLength(14);
    expect(textFrames(text)).toEqual(expected);
    // The totals still describe the whole capture.
    expect(text).toContain("libvirt: 350 messages (171 calls, 171 replies, 8 events)");
  });

  it("--json: status == ERROR gives the call (with its reply's frame) and the ERROR reply", () => {
    const lines = json(["-Y", "status == ERROR", LIBVIRT_SAMPLE]);
    expect(lines.map((l) => [l.frame, l.msgType, l.status, l.peerFrame])).toEqual([
      [160, "CALL", "OK", 161], [161, "REPLY", "ERROR", 160],
    ]);
    expect(lines[1]!.rtt).toBeGreaterThan(0);
    expect(json(["-Y", "libvirt.status == ERROR", LIBVIRT_SAMPLE]).map((l) => l.frame)).toEqual(refFrames((m) => m.status === 1));
  });

  it("--json -V with a body filter decodes and shows the remote_error", () => {
    const lines = json(["-V", "-Y", "res.code == 42", LIBVIRT_SAMPLE]);
    expect(lines.map((l) => l.frame)).toEqual([161]);
    expect(JSON.stringify(lines[0])).toContain("Domain not found");
  });

  it("--csv: libvirt rows in the summary's columns, the serial in the xid column", () => {
    const all = summary(["--csv", LIBVIRT_SAMPLE]).trimEnd().split("\n");
    expect(all).toHaveLength(1 + REF.length);
    const header = all[0]!.split(",");
    const rows = summary(["--csv", "-Y", "libvirt.type == MESSAGE", LIBVIRT_SAMPLE]).trimEnd().split("\n").slice(1)
      .map((l) => Object.fromEntries(l.split(",").map((cell, i) => [header[i]!, cell])));
    const events = REF.filter((m) => m.type === 2);
    expect(rows.map((r) => [Number(r["frame"]), r["kind"], r["procedure"], Number(r["xid"])])).toEqual(
      events.map((m) => [m.frame, "message", m.procName, m.serial]),
    );
    const error = summary(["--csv", "-Y", "libvirt.status == ERROR", LIBVIRT_SAMPLE]).trimEnd().split("\n")[1]!.split(",");
    expect(error[header.indexOf("status")]).toBe("ERROR");
    expect(error[header.indexOf("peer_frame")]).toBe("160");
    expect(error[header.indexOf("program")]).toBe("libvirt");
  });

  it("a misspelt libvirt field is a usage error with a suggestion", () => {
    const r = runCli(["summary", "-Y", "libvirt.typ == CALL", LIBVIRT_SAMPLE]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("did you mean 'libvirt.type'");
    const r2 = runCli(["summary", "-Y", "libvirt.proc == 23", LIBVIRT_SAMPLE]);
    expect(r2.stderr).toContain("did you mean 'libvirt && proc'");
  });

  it("--help documents the libvirt fields", () => {
    const help = runCli(["--help"]).stdout.toString("utf8");
    for (const field of ["libvirt.type", "libvirt.serial", "libvirt.status", "libvirt.error", "  rpc ", "  libvirt "]) expect(help).toContain(field);
  });
});

describe("rpcscope summary -Y on both protocols", () => {
  let mixed: MixedCapture;
  beforeAll(async () => {
    mixed = await writeMixedCapture();
  });
  afterAll(() => mixed?.remove());

  it("a filter gives the ONC-RPC lines of NFS alone; ONC-RPC-only filters no libvirt line", () => {
    for (const filter of ["prog == nfs && proc == READ", "rtt > 1ms", "rpc"]) {
      const alone = json(["-Y", filter, NFS_SAMPLE]);
      const both = json(["-Y", filter, mixed.path]);
      expect(both.filter((l) => l.protocol !== "libvirt").length, filter).toBe(alone.length);
      if (filter === "rtt > 1ms") {
        // A generic field: libvirt replies slower than 1 ms (and their calls) are selected too.
        expect(both.filter((l) => l.protocol === "onc-rpc")).toEqual(alone);
        expect(both.filter((l) => l.protocol === "libvirt").length).toBeGreaterThan(0);
      } else {
        expect(both).toEqual(alone);
      }
    }
  });

  it("a filter mixing the protocols selects from each", () => {
    const filter = "(libvirt && libvirt.status == ERROR) || (rpc && proc == READ)";
    const reads = json(["-Y", "proc == READ", NFS_SAMPLE]);
    expect(reads.length).toBeGreaterThan(0);
    const lines = json(["-Y", filter, mixed.path]);
    expect(lines.filter((l) => l.protocol === "onc-rpc")).toEqual(reads);
    expect(lines.filter((l) => l.protocol === "libvirt").map((l) => l.frame)).toEqual([161 + mixed.nfsFrames]);
    const text = summary(["-Y", filter, mixed.path]);
    expect(textFrames(text)).toEqual([161 + mixed.nfsFrames]);
  });
});
