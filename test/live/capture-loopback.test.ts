/**
 * End to end on the loopback interface: a real rpcbind, real rpcinfo calls, a real
 * libpcap capture through `rpcscope capture` (the command's run() in a child
 * process). Messages must be printed while the capture is still running, and the
 * file written with -w must give the same exchanges when read back by `summary`.
 * Other traffic on lo (port 111 included) may be captured too: the checks look for
 * what rpcinfo does and compare views of one capture, never exact totals. The tests
 * share one rpcbind, so they live in one file and run one after another.
 * Skipped, with the reason printed, only where capturing on lo is not permitted.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureNotPermittedReason, CLI, ENTRY, ensureBuilt, ensureRpcbind, ndjson, ROOT, run, start, waitFor } from "./helpers.js";

ensureBuilt();
const notPermitted = captureNotPermittedReason();
if (notPermitted) console.log(`test/live/capture-loopback: skipped: ${notPermitted}`);

const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
const socket = `rpcscope-live-${process.pid}`;
function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
}
const screen = (): string => tmux("capture-pane", "-p", "-t", "live");
const q = (w: string): string => `'${w.replace(/'/g, "'\\''")}'`;

type Json = Record<string, unknown>;

/** "kind xid proc transport" of every message, for comparing views of one capture. */
function key(o: Json): string {
  return `${o["kind"]} ${o["xid"]} ${o["procName"]} ${o["transport"]} #${o["frame"]}`;
}

/** Call/reply pairs: reply.peerFrame names the call's frame and the xid agrees. */
function pairs(objs: Json[]): { call: Json; reply: Json }[] {
  const byFrame = new Map(objs.map((o) => [o["frame"], o]));
  const out: { call: Json; reply: Json }[] = [];
  for (const r of objs) {
    if (r["kind"] !== "reply" || r["peerFrame"] === null) continue;
    const c = byFrame.get(r["peerFrame"]);
    if (c && c["kind"] === "call" && c["xid"] === r["xid"]) out.push({ call: c, reply: r });
  }
  return out;
}

describe.skipIf(notPermitted !== null)("rpcscope capture on lo against a real rpcbind", () => {
  let rpcbind: Awaited<ReturnType<typeof ensureRpcbind>>;
  // Made in beforeAll: a skipped suite's body is still collected, but its afterAll never runs.
  let dir = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rpcscope-live-"));
    rpcbind = await ensureRpcbind();
    if (typeof rpcbind === "string") console.log(`test/live/capture-loopback: cannot run: ${rpcbind}`);
  });

  afterAll(async () => {
    if (typeof rpcbind !== "string") await rpcbind.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("prints each exchange while capturing, and the -w pcapng file reads back to the same exchanges", async () => {
    if (typeof rpcbind === "string") throw new Error(rpcbind);
    const file = join(dir, "live.pcapng");
    const cap = start(["capture", "-i", "lo", "-f", "port 111", "-w", file, "--duration", "60", "--json"]);
    expect(await waitFor(() => cap.stderr.includes("capturing on lo"), 10_000)).toBe(true);

    // 1. rpcinfo over TCP: GETADDR (v4) to find the service, then NULL (v2) to it.
    expect(run("rpcinfo", ["-T", "tcp", "127.0.0.1", "100000", "2"]).status).toBe(0);
    // The reply lines are out while the capture goes on (nothing waits for the end).
    const tcpSeen = await waitFor(() => pairs(ndjson(cap.stdout)).some((p) => p.call["transport"] === "tcp" && p.call["procName"] === "NULL"), 5_000);
    expect(tcpSeen, `no TCP NULL exchange printed live; stdout so far:\n${cap.stdout}`).toBe(true);
    expect(cap.child.exitCode).toBeNull();

    // 2. The same over UDP; 3. rpcinfo -p: DUMP (v2) over TCP.
    expect(run("rpcinfo", ["-T", "udp", "127.0.0.1", "100000", "2"]).status).toBe(0);
    expect(await waitFor(() => pairs(ndjson(cap.stdout)).some((p) => p.call["transport"] === "udp" && p.call["procName"] === "NULL"), 5_000)).toBe(true);
    const dump = run("rpcinfo", ["-p", "127.0.0.1"]);
    expect(dump.status).toBe(0);
    expect(await waitFor(() => pairs(ndjson(cap.stdout)).some((p) => p.call["procName"] === "DUMP"), 5_000)).toBe(true);
    expect(cap.child.exitCode).toBeNull();

    // SIGTERM ends it cleanly: exit 0, the report on stderr, the file complete.
    cap.child.kill("SIGTERM");
    expect(await cap.exited).toBe(0);
    expect(cap.stderr).toMatch(/stopped \(terminated \(SIGTERM\)\): (\d+) packets received, \1 written to /);
    expect(cap.stderr).toMatch(/pcap_stats\) are not available through the cap binding; instead, the kernel's counters for lo/);
    // GETADDR answers name rpcbind's own port: learned, though it was well known already.
    expect(cap.stderr).toMatch(/RPC ports learned from portmapper replies: .*tcp\/111, udp\/111/);

    const live = ndjson(cap.stdout);
    const livePairs = pairs(live);
    const summary = (p: { call: Json; reply: Json }) => `${p.call["transport"]} v${p.call["vers"]} ${p.call["procName"]} ${p.reply["status"]}`;
    const seen = new Set(livePairs.map(summary));
    expect(seen).toContain("tcp v4 GETADDR SUCCESS");
    expect(seen).toContain("tcp v2 NULL SUCCESS");
    expect(seen).toContain("udp v4 GETADDR SUCCESS");
    expect(seen).toContain("udp v2 NULL SUCCESS");
    expect(seen).toContain("tcp v2 DUMP SUCCESS");
    for (const p of livePairs) {
      expect(p.call["progName"]).toBe("portmapper");
      expect(p.reply["rtt"]).toEqual(expect.any(Number));
      // Live, a call's line goes out before its reply exists.
      expect(p.call["peerFrame"]).toBeNull();
    }

    // Read the file back: the same messages, frame numbers and exchanges.
    const back = run(process.execPath, [CLI, "summary", file, "--json"]);
    expect(back.status, back.stderr).toBe(0);
    const fromFile = ndjson(back.stdout);
    expect(fromFile.map(key)).toEqual(live.map(key));
    expect(pairs(fromFile).map((p) => `${p.call["frame"]}-${p.reply["frame"]}`)).toEqual(livePairs.map((p) => `${p.call["frame"]}-${p.reply["frame"]}`));
    // Replies agree field for field (times come from the file's nanosecond timestamps).
    const replies = (objs: Json[]) => objs.filter((o) => o["kind"] === "reply");
    expect(replies(fromFile)).toEqual(replies(live));
  });

  it("the first packet after the capture starts is captured", async () => {
    const cap = start(["capture", "-i", "lo", "-c", "1", "--duration", "30", "udp", "dst", "port", "40999"]);
    expect(await waitFor(() => cap.stderr.includes("capturing on lo"), 10_000)).toBe(true);
    const sock = createSocket("udp4");
    await new Promise<void>((resolve) => sock.send(Buffer.from("first"), 40999, "127.0.0.1", () => resolve()));
    sock.close();
    expect(await cap.exited).toBe(0);
    expect(cap.stderr).toMatch(/stopped \(-c packet count reached\): 1 packets received/);
  });

  it("-c stops after that many packets and -w .pcap writes exactly those", async () => {
    if (typeof rpcbind === "string") throw new Error(rpcbind);
    const file = join(dir, "count.pcap");
    const cap = start(["capture", "-i", "lo", "-w", file, "-c", "4", "--duration", "60", "udp", "port", "111"]);
    expect(await waitFor(() => cap.stderr.includes("capturing on lo"), 10_000)).toBe(true);
    // Each rpcinfo -T udp makes 4 datagrams (GETADDR call/reply, NULL call/reply).
    for (let i = 0; i < 3 && cap.child.exitCode === null; i++) run("rpcinfo", ["-T", "udp", "127.0.0.1", "100000", "2"]);
    expect(await cap.exited).toBe(0);
    expect(cap.stderr).toMatch(/stopped \(-c packet count reached\): 4 packets received, 4 written to /);
    const lines = cap.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/^ +[1-4] +\d+\.\d{6}  127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+  UDP  xid=0x[0-9a-f]{8}  (Call|Reply) +portmapper v[24] /);
    // The file holds exactly the 4 packets, and reads back to the same lines.
    const back = run(process.execPath, [CLI, "summary", file]);
    expect(back.status).toBe(0);
    expect(back.stdout).toMatch(/^4 frames, 4 RPC messages/m);
    expect(back.stdout.split("\n").slice(0, 4)).toEqual(lines);
  });

  it("a -Y display filter selects calls by their reply, live", async () => {
    if (typeof rpcbind === "string") throw new Error(rpcbind);
    const cap = start(["capture", "-i", "lo", "-f", "port 111", "--duration", "60", "-Y", "proc == NULL && status == SUCCESS"]);
    expect(await waitFor(() => cap.stderr.includes("capturing on lo"), 10_000)).toBe(true);
    run("rpcinfo", ["-T", "tcp", "127.0.0.1", "100000", "2"]);
    expect(await waitFor(() => /Reply +portmapper v2 NULL/.test(cap.stdout), 5_000)).toBe(true);
    cap.child.kill("SIGINT");
    expect(await cap.exited).toBe(0);
    const lines = cap.stdout.trim().split("\n");
    // Only NULL exchanges (the GETADDR before each is filtered out), a call line before its reply.
    for (const line of lines) expect(line).toMatch(/(Call +portmapper v2 NULL$|Reply +portmapper v2 NULL  SUCCESS  call #\d+)/);
    expect(lines.findIndex((l) => / Call /.test(l))).toBeLessThan(lines.findIndex((l) => / Reply /.test(l)));
    expect(cap.stderr).toMatch(/stopped \(interrupted \(SIGINT\)\)/);
  });

  it("the terminal UI on a live capture (tmux): rows appear as rpcinfo runs, q ends it cleanly", async (ctx) => {
    if (typeof rpcbind === "string") throw new Error(rpcbind);
    if (!hasTmux) {
      console.log("test/live/capture-loopback: live TUI test skipped: tmux is not installed (apt-get install tmux)");
      ctx.skip();
    }
    const file = join(dir, "tui.pcap");
    const err = join(dir, "tui-stderr.txt");
    const command = `${q(process.execPath)} ${q(ENTRY)} tui -i lo -f 'port 111' -w ${q(file)} 2>${q(err)}; echo "exit $?" >>${q(err)}; sleep 60`;
    tmux("new-session", "-d", "-s", "live", "-x", "140", "-y", "30", "-c", ROOT, command);
    try {
      expect(await waitFor(() => screen().includes("LIVE"), 15_000), screen()).toBe(true);
      expect(run("rpcinfo", ["-T", "tcp", "127.0.0.1", "100000", "2"]).status).toBe(0);
      expect(await waitFor(() => /tcp\s+0x[0-9a-f]{8}\s+portmappe\S*\s+NULL\s+SUCCESS/.test(screen()), 5_000), screen()).toBe(true);
      expect(run("rpcinfo", ["-T", "udp", "127.0.0.1", "100000", "2"]).status).toBe(0);
      expect(await waitFor(() => /udp\s+0x[0-9a-f]{8}\s+portmappe\S*\s+NULL\s+SUCCESS/.test(screen()), 5_000), screen()).toBe(true);
      const shown = Number(/live: lo \| (\d+) exchanges/.exec(screen())?.[1] ?? 0);
      expect(shown).toBeGreaterThanOrEqual(4);

      tmux("send-keys", "-t", "live", "q");
      const ended = () => {
        try {
          return readFileSync(err, "utf8").includes("exit ");
        } catch {
          return false;
        }
      };
      expect(await waitFor(ended, 10_000)).toBe(true);
      const report = readFileSync(err, "utf8");
      expect(report).toMatch(/capture on lo stopped \(user quit\): (\d+) packets received, \1 written to /);
      expect(report).toMatch(/exit 0\n/);
      const back = run(process.execPath, [CLI, "summary", file]);
      const exchanges = Number(/RPC messages \(\d+ calls, \d+ replies\), (\d+) exchanges/.exec(back.stdout)?.[1] ?? 0);
      expect(exchanges).toBeGreaterThanOrEqual(shown);
    } finally {
      spawnSync("tmux", ["-L", socket, "kill-server"]);
    }
  });
});
