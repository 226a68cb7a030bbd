/**
 * End to end: the real `rpcscope FILE` on a real capture (samples/nfs/nfsv4.pcap),
 * in a real terminal (tmux), driven by send-keys and read back with capture-pane:
 * moving, expanding a tree node, filtering, statistics, quitting.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");
const SAMPLE = join(ROOT, "samples", "nfs", "nfsv4.pcap");
const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
if (!hasTmux) console.warn("SKIPPED test/tui/cli-tmux-e2e.test.ts: tmux is not installed (apt-get install tmux)");

const socket = `rpcscope-cli-${process.pid}`;
const session = "cli";
const tmux = (...args: string[]): string => execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
const screen = (): string => tmux("capture-pane", "-p", "-t", session);
const keys = (...k: string[]): void => void tmux("send-keys", "-t", session, ...k);
const literal = (s: string): void => void tmux("send-keys", "-t", session, "-l", s);
const selected = (s: string): string | undefined => s.split("\n").find((l) => /^>\s+\d+\s/.test(l));

async function waitFor(what: string, test: (s: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let shown = "";
  while (Date.now() < deadline) {
    shown = screen();
    if (test(shown)) return shown;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; screen was:\n${shown}`);
}

describe.skipIf(!hasTmux)("rpcscope FILE in tmux on a real NFSv4 capture", () => {
  beforeAll(() => {
    const q = (w: string) => `'${w.replace(/'/g, "'\\''")}'`;
    tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "40",
      `${q(process.execPath)} ${q(CLI)} ${q(SAMPLE)}; echo rpcscope-exit=$?; sleep 60`);
  });

  afterAll(() => {
    spawnSync("tmux", ["-L", socket, "kill-server"]);
    rmSync(join(process.env["TMUX_TMPDIR"] ?? "/tmp", `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  });

  it("shows the exchanges, the first one's detail and bytes, and the totals", async () => {
    const s = await waitFor("the loaded capture", (x) => x.includes("39 exchanges") && x.includes("Remote Procedure Call"));
    expect(selected(s)).toMatch(/^>\s+1\s+0\.000246 127\.0\.0\.1:832 -> 127\.0\.0\.1:2049\s+tcp 0x457d8940 nfs v4\s+NULL\s+SUCCESS/);
    expect(s).toMatch(/COMPOUND SETCLIENTID\s/);
    expect(s).toContain("Call in frame 4: TCP 127.0.0.1:832 -> 127.0.0.1:2049, 68 bytes");
    expect(s).toMatch(/0000 {2}45 7d 89 40 00 00 00 00 {2}00 00 00 02 00 01 86 a3/);
  });

  it("moves down and expands the credentials of the selected call", async () => {
    keys("j", "j", "j");
    let s = await waitFor("row 4 selected", (x) => /^>\s+4\s/m.test(x));
    expect(selected(s)).toMatch(/COMPOUND PUTROOTFH/);
    keys("Tab");
    for (let i = 0; i < 8; i++) keys("Down");
    s = await waitFor("the credentials node", (x) => /^>\s+\+ Credentials: AUTH_SYS/m.test(x));
    keys("Enter");
    s = await waitFor("expanded credentials", (x) => /^>\s+- Credentials: AUTH_SYS/m.test(x) && x.includes("Flavor: AUTH_SYS (1)"));
    keys("Down", "Down", "Down", "Down");
    s = await waitFor("the machine name", (x) => /^>\s+Machine name: libnfs/m.test(x));
    keys("Tab", "Tab");
  });

  it("filters to the READ compounds, then to errors, and reports a bad filter with its column", async () => {
    keys("/");
    literal("op == READ");
    keys("Enter");
    let s = await waitFor("the READ filter", (x) => x.includes("2 of 39 shown"));
    expect(s).toContain("filter: op == READ");
    expect(s.split("\n").filter((l) => /^[> ]\s+\d+\s+\d+\.\d{6} /.test(l)).every((l) => l.includes("COMPOUND PUTFH("))).toBe(true);
    keys("/", "C-u");
    literal("rtt >");
    keys("Enter");
    s = await waitFor("the filter error", (x) => /\^.*column \d+/.test(x) || x.includes("expected a value"));
    keys("Escape", "/", "C-u");
    literal("error");
    keys("Enter");
    s = await waitFor("the error filter", (x) => x.includes("1 of 39 shown"));
    expect(selected(s)).toMatch(/NFS4ERR_NOENT/);
  });

  it("opens the statistics screen and returns", async () => {
    keys("s");
    const s = await waitFor("statistics", (x) => x.includes("Service response time by procedure"));
    expect(s).toMatch(/nfs\s+4\s+COMPOUND\s+34\s+34/);
    keys("Escape");
    await waitFor("the list again", (x) => x.includes("filter: error"));
  });

  it("quits with status 0", async () => {
    keys("q");
    await waitFor("exit", (x) => x.includes("rpcscope-exit=0"));
  });
});
