/**
 * End to end: the demo program (the TUI on 1,000,000 synthetic exchanges) runs in
 * a real terminal, tmux, driven by send-keys and read back with capture-pane.
 * The lead adds the same test against the real CLI.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatHeader, layoutColumns } from "../../ui/tui/exchange-columns.js";
import { STYLES, lineText } from "../../ui/tui/styled-line.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const hasTmux = spawnSync("tmux", ["-V"], { encoding: "utf8" }).status === 0;
if (!hasTmux) {
  console.warn("SKIPPED test/tui/tmux-e2e.test.ts: tmux is not installed (apt-get install tmux) — the TUI was not tested in a terminal");
}

const socket = `rpcscope-test-${process.pid}`;
const session = "tui";
const buildDir = join(repo, "dist", `.tui-e2e-${process.pid}`);

function tmux(...args: string[]): string {
  return execFileSync("tmux", ["-L", socket, "-f", "/dev/null", ...args], { encoding: "utf8" });
}
const screen = (): string => tmux("capture-pane", "-p", "-t", session);
const keys = (...names: string[]): void => void tmux("send-keys", "-t", session, ...names);
const text = (literal: string): void => void tmux("send-keys", "-t", session, "-l", literal);
const paneInfo = (format: string): string => tmux("display-message", "-p", "-t", session, format).trim();

async function waitFor(what: string, test: (shown: string) => boolean, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let shown = "";
  while (Date.now() < deadline) {
    shown = screen();
    if (test(shown)) return shown;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; screen was:\n${shown}`);
}
const shellQuote = (word: string): string => `'${word.replace(/'/g, "'\\''")}'`;
const lines = (shown: string): string[] => shown.split("\n");
const selectedListLine = (shown: string): string | undefined => lines(shown).find((l) => /^>\s+\d+\s/.test(l));

describe.skipIf(!hasTmux)("TUI end to end in tmux (120x40, 1,000,000 rows)", () => {
  beforeAll(() => {
    // Build only the TUI (and what it imports) into a private directory, so the
    // test does not depend on other modules compiling.
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(join(buildDir, "tsconfig.json"), JSON.stringify({
      extends: "../../tsconfig.json",
      compilerOptions: { outDir: ".", rootDir: "../..", sourceMap: false },
      include: [],
      files: ["../../ui/tui/demo.ts"],
    }));
    const tsc = spawnSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", join(buildDir, "tsconfig.json")], { encoding: "utf8" });
    if (tsc.status !== 0) throw new Error(`tsc failed on the TUI:\n${tsc.stdout}${tsc.stderr}`);
    const demo = join(buildDir, "ui/tui/demo.js");
    expect(existsSync(demo)).toBe(true);
    // The shell prints the demo's exit status and stays, so that the screen can
    // still be read after the demo quits (kill-server ends it).
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40",
      `${shellQuote(process.execPath)} ${shellQuote(demo)} --rows 1000000; echo demo-exit=$?; sleep 120`,
      ";", "set-option", "-t", session, "remain-on-exit", "on");
  });

  afterAll(() => {
    spawnSync("tmux", ["-L", socket, "kill-server"]);
    // tmux can leave its socket file behind.
    const uid = process.getuid?.() ?? 0;
    rmSync(join(process.env["TMUX_TMPDIR"] ?? "/tmp", `tmux-${uid}`, socket), { force: true });
    rmSync(buildDir, { recursive: true, force: true });
  });

  it("starts on the first exchange with the columns, the detail, the bytes and the status line", async () => {
    const shown = await waitFor("the first screen", (s) => s.includes("1,000,000 exchanges") && s.includes("- Remote Procedure Call"));
    const l = lines(shown);
    expect(l[0]).toMatch(/^\s+No\.\s+Time Client -> Server\s+XID\s+Program\s+Procedure \/ Info\s+Status\s+RTT/);
    expect(selectedListLine(shown)).toMatch(/^>\s+1\s+0\.001370 /);
    expect(shown).toContain(" Detail: #1 NFS v4 COMPOUND");
    expect(shown).toMatch(/ 0000 {2}5a 00 00 07 00 00 00 00 {2}00 00 00 02 00 01 86 a3 {2}Z\.\.\.\.\.\.\.\.\.\.\.\.\.\.\./);
    expect(l[39]).toMatch(/^ demo \(1000000 rows\) \| 1,000,000 exchanges \| [\d,]+ errors .*\?:help q:quit$/);
  });

  it("shows the hostile row's escape sequences as text: no title change, no cleared screen", () => {
    const shown = screen();
    const row7 = lines(shown).find((l) => /^\s+7\s/.test(l));
    expect(row7).toContain("COMPOUND \\x1b]0;pwned");
    expect(paneInfo("#{pane_title}")).not.toContain("pwned");
    expect(lines(shown)[0]).toContain("Client -> Server"); // \x1b[2J did not wipe the screen
  });

  it("moves down with j and shows the new exchange's detail", async () => {
    keys("j", "j", "j");
    const shown = await waitFor("exchange 4 selected and decoded", (s) =>
      /^>\s+4\s/m.test(s) && s.includes(" Detail: #4 NFS v3 LOOKUP") && s.includes("- Remote Procedure Call"));
    expect(selectedListLine(shown)).toContain("NFS3ERR_NOENT");
  });

  it("expands a tree node: Tab to the detail, down to Credentials, Right", async () => {
    keys("Tab");
    for (let i = 0; i < 7; i++) keys("j");
    await waitFor("the cursor on Credentials", (s) => /^>\s+\+ Credentials: AUTH_UNIX/m.test(s));
    keys("Right");
    const shown = await waitFor("Credentials open", (s) => /^>\s+- Credentials: AUTH_UNIX/m.test(s));
    expect(shown).toMatch(/^\s+Flavor: AUTH_UNIX \(1\)/m);
    expect(shown).toMatch(/^\s+Length: \d+/m);
  });

  it("filters: a bad expression shows a caret under the error and stays in the prompt; a good one applies", async () => {
    keys("/");
    text("proc == READ && bogus == 1");
    keys("Enter");
    let shown = await waitFor("the filter error", (s) => s.includes("unknown field 'bogus'"));
    const prompt = lines(shown).findIndex((l) => l.startsWith("Filter: proc == READ && bogus == 1"));
    expect(prompt).toBeGreaterThan(0);
    const caret = lines(shown)[prompt + 1] ?? "";
    expect(caret.indexOf("^")).toBe("Filter: ".length + "proc == READ && ".length);
    // The cursor went to the error; End then Ctrl-U clears the line.
    keys("End", "C-u");
    text("proc == READ");
    keys("Enter");
    shown = await waitFor("the filtered view", (s) => s.includes("filter: proc == READ") && !s.includes("Filter: "), 30_000);
    const rows = lines(shown).slice(1, 17);
    expect(rows.every((l) => /\sREAD file-\d+\.dat\s/.test(l))).toBe(true);
    expect(shown).toMatch(/\| [\d,]+ of 1,000,000 shown \|/);
  });

  it("opens the statistics screen with s and closes it with q", async () => {
    keys("s");
    let shown = await waitFor("statistics", (s) => s.includes(" Statistics"));
    expect(shown).toMatch(/^NFS v3 READ\s+\d+\s+\d+\s+[\d.]+ms/m);
    keys("q");
    shown = await waitFor("the list again", (s) => s.includes("Client -> Server"));
    expect(paneInfo("#{pane_dead}")).toBe("0");
  });

  it("re-lays out when the terminal is resized", async () => {
    tmux("resize-window", "-t", session, "-x", "90", "-y", "30");
    const expected = lineText(formatHeader(layoutColumns(90), STYLES.title)).trimEnd();
    const shown = await waitFor("the narrower layout", (s) => (lines(s)[29] ?? "").includes("?:help"));
    expect(lines(shown)[0]?.trimEnd()).toBe(expected);
    expect(expected).not.toContain("XID"); // a narrower column set than at 120
    expect(lines(shown).filter((l) => l.length > 0).every((l) => l.length <= 90)).toBe(true);
    expect(lines(shown)[29]).toContain("filter: proc == READ");
  });

  it("quits with q, restoring the terminal", async () => {
    keys("q");
    // The shell around the demo prints its exit status on the normal screen.
    const shown = await waitFor("the program to end", (s) => s.includes("demo-exit="));
    expect(shown).toContain("demo-exit=0");
    expect(screen()).not.toContain("Client -> Server"); // the alternate screen is gone
  });
});
