/**
 * Peak memory on the worst inputs: generated at test time into a temporary
 * directory (never committed) by samples/make-hostile.ts, then run through the CLI
 * under /usr/bin/time -v (or, without it, a wrapper that reports the child's own
 * maxRSS). The bound is generous: it catches memory that grows with the input
 * instead of with the limits.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fdSink } from "../../capture/capture-writer.js";
import { writeManyFlowsWithHoles, writeTinyFragments } from "../../samples/make-hostile.js";
import { ROOT } from "../fuzz/harness.js";
import { CLI, HOSTILE } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "rpcscope-rss-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RSS_BOUND_KB = 1536 * 1024;

/** Peak RSS (KiB) and stdout of `rpcscope summary FILE`. */
function peakRss(file: string): { kb: number; stdout: string; status: number | null } {
  if (existsSync("/usr/bin/time")) {
    const r = spawnSync("/usr/bin/time", ["-v", process.execPath, CLI, "summary", file], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no RSS in /usr/bin/time output: ${r.stderr.slice(-500)}`);
    return { kb: Number(m[1]), stdout: r.stdout, status: r.status };
  }
  console.log("[rss] /usr/bin/time not found: measuring with process.resourceUsage() in the child");
  const script = `import(${JSON.stringify(join(ROOT, "dist", "ui", "cli-main.js"))}).then(async (m) => {
    const code = await m.main(["summary", ${JSON.stringify(file)}]);
    process.stderr.write("maxRSS " + process.resourceUsage().maxRSS + "\\n");
    process.exitCode = code;
  });`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const m = /maxRSS (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no RSS from the child: ${r.stderr.slice(-500)}`);
  return { kb: Number(m[1]), stdout: r.stdout, status: r.status };
}

function generate(name: string, write: (sink: ReturnType<typeof fdSink>) => void): string {
  const path = join(dir, name);
  const fd = openSync(path, "w");
  try {
    write(fdSink(fd));
  } finally {
    closeSync(fd);
  }
  return path;
}

describe("peak RSS on the worst inputs", () => {
  it("16,000 TCP flows that each leave a hole with 8,000 bytes waiting behind it (133 MB capture)", () => {
    const file = generate("holes.pcap", (sink) => writeManyFlowsWithHoles(sink, 16_000, 8_000));
    const r = peakRss(file);
    console.log(`[rss] many flows with holes: peak RSS ${(r.kb / 1024).toFixed(0)} MiB`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("80000 frames, 16000 RPC messages (16000 calls, 0 replies)");
    expect(r.stdout).toContain("16000 TCP gaps");
    expect(r.kb).toBeLessThan(RSS_BOUND_KB);
  });

  it("500,000 tiny IPv4 fragments of datagrams that never complete (22 MB capture)", () => {
    const file = generate("fragments.pcap", (sink) => writeTinyFragments(sink, 500_000));
    const r = peakRss(file);
    console.log(`[rss] tiny fragments: peak RSS ${(r.kb / 1024).toFixed(0)} MiB`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("500000 frames, 0 RPC messages");
    expect(r.kb).toBeLessThan(RSS_BOUND_KB);
  });

  it("a record mark announcing 2 GB allocates nothing for it", () => {
    const r = peakRss(join(HOSTILE, "record-mark-2gb.pcap"));
    console.log(`[rss] record mark of 2 GB: peak RSS ${(r.kb / 1024).toFixed(0)} MiB`);
    expect(r.stdout).toContain("record-too-long");
    expect(r.kb).toBeLessThan(256 * 1024);
  });
});
