/**
 * A call's line is written once its reply is seen, so its decoded body is kept
 * while later records are read. The body must not point into bytes the reader
 * or the record pool have reused by then (they once did: about 1 file handle in
 * 200 came out as other messages' bytes on a larger capture).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../bench/generate-capture.js";
import { runCli } from "../hostile/cli-run.js";

let dir = "";
let capture = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rpcscope-held-"));
  capture = join(dir, "nfs.pcap");
  // About 11 MB: several of the reader's 4 MiB buffers, and many records over several segments.
  generate(capture, 4000, 64, 7);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The generator's file handles: 32 bytes starting 01000701 00000000 (bench/nfs-workload.ts). */
const HANDLE = /"data":"([0-9a-f]{64})"/g;

describe("bodies of calls written after their replies", () => {
  it("summary --json -V: every file handle is one the generator wrote", () => {
    const r = runCli(["summary", "--json", "-V", capture]);
    expect(r.status).toBe(0);
    const text = r.stdout.toString("utf8");
    const handles = [...text.matchAll(HANDLE)].map((m) => m[1]!);
    expect(handles.length).toBeGreaterThan(3000);
    const wrong = handles.filter((h) => !h.startsWith("0100070100000000"));
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it("summary -V -Y (lines held for the filter): every file handle line shows one the generator wrote", () => {
    const r = runCli(["summary", "-V", "-Y", "prog == nfs", capture]);
    expect(r.status).toBe(0);
    const lines = r.stdout.toString("utf8").split("\n").filter((l) => /^\s+data: .* = 32 bytes /.test(l));
    expect(lines.length).toBeGreaterThan(2000);
    const wrong = lines.filter((l) => !/ = 32 bytes 0100070100000000/.test(l));
    expect(wrong.slice(0, 3)).toEqual([]);
  });
});

describe("records kept only as far as the header (summary --json, stats)", () => {
  it("give the same lines as records kept whole (summary --json -V, bodies left out)", () => {
    const brief = runCli(["summary", "--json", capture]).stdout.toString("utf8").trim().split("\n");
    const full = runCli(["summary", "--json", "-V", capture]).stdout.toString("utf8").trim().split("\n");
    expect(brief.length).toBe(full.length);
    expect(brief.length).toBe(8000);
    const stripped = full.map((line) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      delete o["args"];
      delete o["res"];
      delete o["info"];
      return JSON.stringify(o);
    });
    expect(brief.map((l) => JSON.stringify(JSON.parse(l)))).toEqual(stripped);
  });
});
