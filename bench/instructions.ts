/**
 * `npm run bench:instructions`: instructions per exchange, counted by valgrind, for
 * each layer of the analysis and the main commands. Wall times on a shared virtual
 * machine drift by 30–50% from run to run, too much to see a change of a few
 * percent; an instruction count does not drift. Each command runs on two generated
 * captures (10,000 and 30,000 NFS exchanges over 64 connections, Ethernet-sized
 * segments) and the difference is divided by 20,000: start-up, module loading and
 * compilation cancel out, what is left is the cost of one more exchange.
 *
 * node runs single-threaded (the garbage collector's and compiler's work is on the
 * main thread and counted) with fixed hash and random seeds. What remains varies by
 * about 1% between runs (the asynchronous file reads). Instructions are not time
 * (cache misses, the kernel's copy of the file, and other threads are not in them),
 * but a change that saves instructions on the hot path saves time.
 *
 *   npm run bench:instructions [-- --exchanges 10000]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generate } from "./generate-capture.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DIST = join(ROOT, "dist");

function valgrindPresent(): boolean {
  return spawnSync("valgrind", ["--version"]).status === 0;
}

/** Instructions valgrind counted for one run of `node …args`. */
function instructions(args: readonly string[]): number {
  const r = spawnSync("valgrind", [
    "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
    process.execPath, "--single-threaded", "--hash-seed=1", "--random-seed=1", "--predictable", ...args,
  ], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} under valgrind exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (!m) throw new Error(`no instruction count in valgrind's output: ${r.stderr.slice(-500)}`);
  return Number(m[1]!.replace(/,/g, ""));
}

function main(): void {
  const { values } = parseArgs({ options: { exchanges: { type: "string", default: "10000" } } });
  const small = Number(values.exchanges);
  if (!Number.isSafeInteger(small) || small < 1000) throw new Error("--exchanges: a whole number of at least 1000");
  const large = 3 * small;
  if (!valgrindPresent()) {
    process.stderr.write("bench:instructions needs valgrind (apt-get install valgrind)\n");
    process.exitCode = 2;
    return;
  }
  const dir = join(ROOT, "bench", "out");
  mkdirSync(dir, { recursive: true });
  const files = [small, large].map((n) => {
    const file = join(dir, `nfs-${n}-mss1448.pcap`);
    if (!existsSync(file)) generate(file, n, 64, 1, [1448]);
    return file;
  });
  const cli = join(DIST, "ui", "rpcscope.cjs");
  const rows: [string, string[]][] = [
    ["read every frame", [join(DIST, "bench", "read-floor.js")]],
    ["minimal stats pass (a bound)", [join(DIST, "bench", "minimal-pass.js")]],
    ["… + packet decoding, TCP reassembly", [join(DIST, "bench", "layers.js"), "transport"]],
    ["… + record marking, RPC headers, XID matching", [join(DIST, "bench", "layers.js"), "rpc"]],
    ["rpcscope stats", [cli, "stats"]],
    ["rpcscope summary --json", [cli, "summary", "--json"]],
  ];
  process.stdout.write(`instructions per exchange (valgrind; ${large} − ${small} exchanges)\n`);
  for (const [label, args] of rows) {
    const [a, b] = files.map((f) => instructions([...args, f]));
    process.stdout.write(`${label.padEnd(48)} ${Math.round((b! - a!) / (large - small)).toString().padStart(8)}\n`);
  }
}

main();
