/**
 * A capture named by a path that is a pipe or FIFO, as `rpcscope stats <(tcpdump -w - …)`
 * gives: the CLI reads it as a stream, with the same output as from the file, and its
 * writer is not killed (SIGPIPE) by a reader that opens the FIFO and closes it again.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../hostile/cli-run.js";
import { sampleCaptures } from "../sample-files.js";

const dir = mkdtempSync(join(tmpdir(), "rpcscope-pipe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI on a FIFO that a separate `cat` fills from `file`; its output, status and the writer's status. */
async function runOnFifo(args: readonly string[], file: string): Promise<{ stdout: string; stderr: string; status: number | null; writer: number | null }> {
  const fifo = join(dir, `fifo-${Math.random().toString(36).slice(2)}`);
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  // cat writes into the FIFO through a shell redirection, as a process substitution does.
  const sh = spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", file, fifo], { stdio: "ignore" });
  const writerExit = new Promise<number | null>((resolve) => sh.on("exit", (code) => resolve(code)));
  const cli = spawn(process.execPath, [CLI, ...args, fifo], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RPCSCOPE_SPEC_PATH: "" } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  cli.stdout.on("data", (b: Buffer) => out.push(b));
  cli.stderr.on("data", (b: Buffer) => err.push(b));
  // A CLI stuck opening a FIFO whose writer is gone is stopped: status null.
  const stuck = setTimeout(() => cli.kill("SIGKILL"), 15_000);
  const status = await new Promise<number | null>((resolve) => cli.on("close", (code) => resolve(code)));
  clearTimeout(stuck);
  // A writer still waiting once the CLI is gone (a reader that never opened the FIFO) is stopped: status null.
  const stop = setTimeout(() => sh.kill("SIGKILL"), 2000);
  const writer = await writerExit;
  clearTimeout(stop);
  return { stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), status, writer };
}

describe("a capture read from a pipe or FIFO path", () => {
  const nfs = sampleCaptures().find((f) => f.endsWith("nfsv3.pcap"))!;
  const pcapng = sampleCaptures().find((f) => f.endsWith(".pcapng"))!;

  for (const args of [["stats"], ["summary", "--json"], ["summary", "-V"]]) {
    it(`${args.join(" ")}: the same output as from the file, plain and gzip-compressed`, async () => {
      const gz = join(dir, "nfsv3.pcap.gz");
      writeFileSync(gz, gzipSync(readFileSync(nfs)));
      for (const file of [nfs, gz, pcapng]) {
        const expected = runCli([...args, file]);
        expect(expected.status).toBe(0);
        const got = await runOnFifo(args, file);
        expect(got.stderr, file).toBe("");
        expect(got.status).toBe(0);
        expect(got.writer).toBe(0);
        expect(got.stdout.length).toBeGreaterThan(100);
        expect(got.stdout).toBe(expected.stdout.toString("utf8"));
      }
    });
  }

});
