/**
 * `npm run bench`: rpcscope against tshark on the same generated captures, in the
 * same run. Each command runs as a whole process, several times; we report the
 * median wall time, the CPU seconds and the peak RSS (from /usr/bin/time -v when
 * present, else by sampling /proc/PID/status VmHWM).
 *
 *   npm run bench -- [--exchanges 250000] [--runs 3] [--mss 1448,8948,65483] [--file existing.pcap] [--no-tshark] [--gzip] [--keep-env]
 *
 * --mss sets the segment sizes the connections take in turn; the default mixes
 * Ethernet, jumbo and loopback sizes, --mss 1448 gives a capture off Ethernet.
 * --gzip also times `summary`, `--json` and `stats` on the capture gzipped (level 1,
 * made once next to it): decompression must not cost the memory bound.
 *
 * Each run is one round over every command, so that drift in the machine's speed
 * touches all of them alike; ratios are the median of the ratios within rounds.
 *
 * Commands run without NODE_EXTRA_CA_CERTS when the environment sets it (--keep-env
 * keeps it): node then reads and parses every certificate of that file before any
 * script starts (30–50 ms a start on this project's machine, which sets it to the
 * system's whole bundle), and rpcscope makes no TLS connection. The bench says so
 * and measures that start-up both ways.
 */
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_MSS, generate, parseMssList } from "./generate-capture.js";
import { GOAL_ROWS, goalLines, judgeGoals, median } from "./goals.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");
const FLOOR = join(ROOT, "dist", "bench", "read-floor.js");
const MINIMAL = join(ROOT, "dist", "bench", "minimal-pass.js");
const LAYERS = join(ROOT, "dist", "bench", "layers.js");
const TUI_LOAD = join(ROOT, "dist", "bench", "tui-load.js");

interface Measurement {
  seconds: number;
  peakRssMb: number;
  /** User plus system CPU seconds of the process and its threads (null without /usr/bin/time -v). */
  cpuSeconds: number | null;
}

function hasTimeV(): boolean {
  return existsSync("/usr/bin/time") && spawnSync("/usr/bin/time", ["-v", "true"]).status === 0;
}

async function runOnce(cmd: string, args: readonly string[], useTimeV: boolean, env: NodeJS.ProcessEnv): Promise<Measurement> {
  const start = process.hrtime.bigint();
  const argv = useTimeV ? ["-v", cmd, ...args] : [...args];
  const child = spawn(useTimeV ? "/usr/bin/time" : cmd, argv, { stdio: ["ignore", "ignore", "pipe"], env });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    stderr += d;
    if (stderr.length > 1 << 20) stderr = stderr.slice(-65536);
  });
  let sampledKb = 0;
  const sampler = useTimeV
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
          if (m) sampledKb = Math.max(sampledKb, Number(m[1]));
        } catch {
          // the process may have exited between ticks
        }
      }, 20);
  const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  if (sampler) clearInterval(sampler);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  const cpuSeconds = user && system ? Number(user[1]) + Number(system[1]) : null;
  return { seconds, peakRssMb: (m ? Number(m[1]) : sampledKb) / 1024, cpuSeconds };
}

function tsharkVersion(): string | null {
  const r = spawnSync("tshark", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? (r.stdout.split("\n")[0] ?? null) : null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      exchanges: { type: "string", default: "250000" },
      runs: { type: "string", default: "3" },
      file: { type: "string" },
      "no-tshark": { type: "boolean", default: false },
      mss: { type: "string", default: DEFAULT_MSS.join(",") },
      gzip: { type: "boolean", default: false },
      "keep-env": { type: "boolean", default: false },
    },
  });
  const runs = Number(values.runs);
  let file = values.file;
  if (!file) {
    const dir = join(ROOT, "bench", "out");
    mkdirSync(dir, { recursive: true });
    const mss = parseMssList(values.mss);
    const shape = values.mss === DEFAULT_MSS.join(",") ? "" : `-mss${mss.join("-")}`;
    file = join(dir, `nfs-${values.exchanges}${shape}.pcap`);
    if (!existsSync(file)) {
      process.stdout.write(`generating ${file} (${values.exchanges} exchanges over 64 TCP connections, MSS ${mss.join("/")})…\n`);
      generate(file, Number(values.exchanges), 64, 1, mss);
    }
  }
  const useTimeV = hasTimeV();
  const size = statSync(file).size;
  const tshark = values["no-tshark"] ? null : tsharkVersion();
  process.stdout.write(`file ${file}: ${(size / 1e6).toFixed(1)} MB; node ${process.version}; ${tshark ?? "tshark not run"}\n`);
  process.stdout.write(`median of ${runs} runs; peak RSS via ${useTimeV ? "/usr/bin/time -v" : "/proc VmHWM sampling"}\n`);
  const node = process.execPath;
  // The environment the timed commands get (see the head of this file).
  let childEnv: NodeJS.ProcessEnv = process.env;
  if (process.env["NODE_EXTRA_CA_CERTS"] !== undefined) {
    const without = { ...process.env };
    delete without["NODE_EXTRA_CA_CERTS"];
    const startUp = async (env: NodeJS.ProcessEnv): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 9; i++) times.push((await runOnce(node, ["-e", "0"], false, env)).seconds);
      return median(times);
    };
    const withCerts = await startUp(process.env);
    const withoutCerts = await startUp(without);
    const ms = (s: number): string => `${(s * 1000).toFixed(0)} ms`;
    process.stdout.write(
      `NODE_EXTRA_CA_CERTS is set (${process.env["NODE_EXTRA_CA_CERTS"]}): node starts in ${ms(withCerts)} with it, ` +
        `${ms(withoutCerts)} without (medians of 9); ${values["keep-env"] ? "kept (--keep-env)" : "the commands run without it (--keep-env keeps it)"}\n`,
    );
    if (!values["keep-env"]) childEnv = without;
  }
  process.stdout.write("\n");

  const rows: [string, string, readonly string[]][] = [
    ["read every frame (floor)", node, [FLOOR, file]],
    // The least work a stats pass can do in JavaScript (not a decoder: see minimal-pass.ts).
    ["minimal stats pass (a bound)", node, [MINIMAL, file]],
    // The analysis cut off after a layer: where the time of summary --json and stats goes.
    ["… + packet decoding, TCP reassembly", node, [LAYERS, "transport", file]],
    ["… + RPC records, headers, XID matching", node, [LAYERS, "rpc", file]],
    ["rpcscope summary", node, [CLI, "summary", file]],
    [GOAL_ROWS.json, node, [CLI, "summary", "--json", file]],
    [GOAL_ROWS.stats, node, [CLI, "stats", file]],
    [GOAL_ROWS.bodies, node, [CLI, "summary", "--json", "-V", file]],
    // The same without its render thread, to show what the thread gives in the same run.
    ["rpcscope summary --json -V, one thread", "env", ["RPCSCOPE_RENDER_THREAD=off", node, CLI, "summary", "--json", "-V", file]],
    ["rpcscope summary -V (bodies as text)", node, [CLI, "summary", "-V", file]],
    ["rpcscope summary --csv", node, [CLI, "summary", "--csv", file]],
    // Every body of both files decoded and compared: the capture against itself.
    ["rpcscope diff F F", node, [CLI, "diff", file, file]],
    // `rpcscope FILE` loading every row, without the screen (its memory grows with the rows).
    ["TUI: load every row (no screen)", node, [TUI_LOAD, file]],
  ];
  if (values.gzip) {
    const gz = `${file}.gz`;
    if (!existsSync(gz)) {
      process.stdout.write(`compressing ${file} to ${gz}…\n`);
      await pipeline(createReadStream(file), createGzip({ level: 1 }), createWriteStream(`${gz}.part`));
      renameSync(`${gz}.part`, gz);
    }
    rows.push(
      ["rpcscope summary (gzipped)", node, [CLI, "summary", gz]],
      ["rpcscope summary --json (gzipped)", node, [CLI, "summary", "--json", gz]],
      ["rpcscope stats (gzipped)", node, [CLI, "stats", gz]],
    );
  }
  // libpcap's own bare read, as the project's goals were set against.
  if (spawnSync("tcpdump", ["--version"]).status === 0) rows.splice(1, 0, [GOAL_ROWS.bareRead, "tcpdump", ["-r", file, "-w", "/dev/null"]]);
  if (tshark) {
    rows.push([GOAL_ROWS.tsharkFields, "tshark", ["-r", file, "-Y", "rpc", "-T", "fields", "-e", "rpc.xid", "-e", "rpc.msgtyp", "-e", "rpc.procedure", "-e", "rpc.time"]]);
    // tshark's default one-line summaries (a line per frame, NFS info included): the text summary's counterpart.
    rows.push(["tshark -Y rpc (text lines)", "tshark", ["-r", file, "-Y", "rpc"]]);
    rows.push([GOAL_ROWS.tsharkSrt, "tshark", ["-r", file, "-q", "-z", "rpc,srt,100003,3"]]);
    rows.push([GOAL_ROWS.tsharkFull, "tshark", ["-r", file, "-V", "-Y", "rpc"]]);
  }
  // Round by round, every command once per round: this machine's speed drifts over
  // minutes, and commands measured side by side see the same drift. Ratios are taken
  // within each round (neighbours in time) and their median reported.
  const samples = new Map<string, Measurement[]>();
  for (let round = 1; round <= runs; round++) {
    process.stderr.write(`round ${round} of ${runs}…\n`);
    for (const [label, cmd, args] of rows) {
      try {
        const m = await runOnce(cmd, args, useTimeV, childEnv);
        samples.set(label, [...(samples.get(label) ?? []), m]);
      } catch (err) {
        process.stdout.write(`${label.padEnd(40)} FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  }
  const results = new Map<string, Measurement>();
  // CPU s above the wall time is work done on other cores (GC helpers, file reads, other threads).
  process.stdout.write(`${"command".padEnd(40)} ${"median s".padStart(9)} ${"CPU s".padStart(6)} ${"MB/s".padStart(8)} ${"peak RSS MB".padStart(12)}  all runs s\n`);
  for (const [label] of rows) {
    const all = samples.get(label);
    if (!all || all.length === 0) continue;
    const cpu = all.every((x) => x.cpuSeconds !== null) ? median(all.map((x) => x.cpuSeconds!)) : null;
    const m = { seconds: median(all.map((x) => x.seconds)), peakRssMb: Math.max(...all.map((x) => x.peakRssMb)), cpuSeconds: cpu };
    results.set(label, m);
    process.stdout.write(
      `${label.padEnd(40)} ${m.seconds.toFixed(2).padStart(9)} ${(cpu === null ? "-" : cpu.toFixed(2)).padStart(6)} ` +
        `${(size / 1e6 / m.seconds).toFixed(0).padStart(8)} ${m.peakRssMb.toFixed(0).padStart(12)}  ` +
        `${all.map((x) => x.seconds.toFixed(2)).join(" ")}\n`,
    );
  }
  const ratio = (a: string, b: string): string => {
    const xs = samples.get(a);
    const ys = samples.get(b);
    if (!xs || !ys || xs.length === 0 || xs.length !== ys.length) return "n/a";
    const each = xs.map((x, i) => ys[i]!.seconds / x.seconds);
    return `${median(each).toFixed(1)}× (rounds: ${each.map((r) => r.toFixed(1)).join(", ")})`;
  };
  process.stdout.write("\nratios, median of the rounds' (how many times faster than the second):\n");
  process.stdout.write(`  summary --json vs tshark -T fields:   ${ratio("rpcscope summary --json", "tshark -Y rpc -T fields")}\n`);
  process.stdout.write(`  stats vs tshark -z rpc,srt:           ${ratio("rpcscope stats", "tshark -z rpc,srt,100003,3")}\n`);
  process.stdout.write(`  summary (text) vs tshark -Y rpc:      ${ratio("rpcscope summary", "tshark -Y rpc (text lines)")}\n`);
  process.stdout.write(`  bodies vs tshark -V:                  ${ratio("rpcscope summary --json -V (bodies)", "tshark -V (full decode)")}\n`);
  process.stdout.write(`  bodies as text vs tshark -V:          ${ratio("rpcscope summary -V (bodies as text)", "tshark -V (full decode)")}\n`);
  process.stdout.write(`  bodies, render thread vs one thread:  ${ratio("rpcscope summary --json -V (bodies)", "rpcscope summary --json -V, one thread")}\n`);
  process.stdout.write("how many times slower than a bare read:\n");
  const floor = results.get("read every frame (floor)");
  const libpcap = results.get("tcpdump -r F -w /dev/null (libpcap)");
  for (const label of ["minimal stats pass (a bound)", "rpcscope summary --json", "rpcscope stats"]) {
    const m = results.get(label);
    if (floor && m) {
      const vsLibpcap = libpcap ? `, ${(m.seconds / libpcap.seconds).toFixed(1)}× tcpdump's` : "";
      process.stdout.write(`  ${label}: ${(m.seconds / floor.seconds).toFixed(1)}× our reader's${vsLibpcap}\n`);
    }
  }
  process.stdout.write("goals (issue #9; set on a capture of 250,000 NFSv3 exchanges, `--mss 1448`):\n");
  for (const line of goalLines(judgeGoals(samples))) process.stdout.write(`${line}\n`);
}

await main();
