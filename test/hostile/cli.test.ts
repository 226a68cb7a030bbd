/**
 * Bad command-line input: each case gives exactly one clear line on stderr
 * ("rpcscope: …"), exit status 2, nothing on stdout, and never a stack trace.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { ROOT, SAMPLES } from "../fuzz/harness.js";
import { CLI, HOSTILE, runCli, terminalControlIn } from "./cli-run.js";

const dir = mkdtempSync(join(tmpdir(), "rpcscope-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const CAPTURE = join(HOSTILE, "tcp-hole.pcap");

/** One line on stderr, exit 2, no stdout, no stack frame; returns the line without the prefix. */
function expectUsageError(args: readonly string[], message: string | RegExp, input?: Buffer): void {
  const r = runCli(args, input ? { input } : {});
  expect(r.stderr).not.toContain("    at ");
  expect(r.stderr).not.toContain("internal error");
  expect(r.stderr.endsWith("\n")).toBe(true);
  expect(r.stderr.split("\n")).toHaveLength(2);
  expect(r.stderr.startsWith("rpcscope: ")).toBe(true);
  const line = r.stderr.slice("rpcscope: ".length, -1);
  if (typeof message === "string") expect(line).toBe(message);
  else expect(line).toMatch(message);
  expect(r.status).toBe(2);
  expect(r.stdout.length).toBe(0);
  expect(terminalControlIn(Buffer.from(r.stderr))).toBeNull();
}

describe("bad command-line input: one line on stderr, exit status 2", () => {
  it("a missing file", () => {
    expectUsageError(["summary", "/nonexistent/capture.pcap"], "/nonexistent/capture.pcap: no such file");
  });

  it("a directory", () => {
    expectUsageError(["summary", dir], `${dir}: is a directory, not a capture file`);
  });

  it("a file that is not a capture", () => {
    expectUsageError(["summary", file("notes.txt", "hello world, not a capture\n")],
      'not a pcap or pcapng capture: first bytes 68 65 6c 6c 6f 20 77 6f "hello world, not" (at file offset 0)');
  });

  it("a file that is gzip data but not a capture inside", () => {
    const gz = spawnSync("gzip", ["-c"], { input: "plain text, not pcap" }).stdout;
    expectUsageError(["summary", file("text.gz", gz)], /^not a pcap or pcapng capture: first bytes 70 6c 61 69 6e/);
  });

  it("an empty file, and empty standard input", () => {
    expectUsageError(["summary", file("empty.pcap", "")], "empty input: not a capture file (at file offset 0)");
    expectUsageError(["summary", "-"], "empty input: not a capture file (at file offset 0)");
  });

  it("a capture whose first frame has an unsupported link type", () => {
    const pcap = readFileSync(join(SAMPLES, "synthetic", "vlan.pcap"));
    const bad = Buffer.from(pcap);
    bad.writeUInt32LE(147, 20); // LINKTYPE_USER0
    expectUsageError(["summary", file("user0.pcap", bad)], "unsupported link type 147 in frame 1");
  });

  it("unknown options, a missing option value, a missing or extra file, an unknown command", () => {
    expectUsageError(["summary", "--frobnicate", CAPTURE], /^Unknown option '--frobnicate'/);
    expectUsageError(["summary", CAPTURE, "-Y"], "Option '-Y, --filter <value>' argument missing");
    expectUsageError(["summary"], "summary takes exactly one capture file (or '-')");
    expectUsageError(["stats", CAPTURE, CAPTURE], "stats takes exactly one capture file (or '-')");
    expectUsageError([], "no capture file given (see rpcscope --help)");
    expectUsageError(["bogus", "extra"], "unknown command 'bogus' (see rpcscope --help)");
  });

  it("a bad filter", () => {
    expectUsageError(["summary", "-Y", "rtt >", CAPTURE], "bad filter: column 6: expected a value after '>', found end of expression");
    expectUsageError(["summary", "-Y", "((prog == nfs", CAPTURE], /^bad filter: /);
    expectUsageError(["summary", "-Y", "\x1b]0;x\x07", CAPTURE], /^bad filter: .*\\x1b/);
  });

  it("a .x with a syntax error, one that contains itself, and one that does not exist, via --spec", () => {
    const bad = file("bad.x", "struct s {\n  int a\n};\n");
    expectUsageError(["summary", "--spec", bad, CAPTURE], `${bad}:3:1: expected ';', found '}'`);
    const self = file("self.x", "/* x */\nstruct node {\n  int v;\n  node next;\n};\n");
    expectUsageError(["summary", "--spec", self, CAPTURE],
      `${self}:2:1: type 'node' contains itself (node → node) without '*' or '<>': its size would be infinite`);
    expectUsageError(["summary", "--spec", join(dir, "missing.x"), CAPTURE], /missing\.x:1:1: cannot read specification: ENOENT/);
  });

  it("a .x with several errors: one located line each, as a compiler prints them", () => {
    const many = file("many.x", "struct a { int x; };\nstruct a { int y; };\ntypedef zork q;\n");
    const r = runCli(["summary", "--spec", many, CAPTURE]);
    expect(r.status).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr.split("\n")).toEqual([
      `rpcscope: ${many}:2:1: duplicate definition of 'a' (first defined at ${many}:1:1)`,
      `rpcscope: ${many}:3:9: undefined type 'zork'`,
      "",
    ]);
  });

  it("--define malformed", () => {
    expectUsageError(["summary", "--define", "FOO", CAPTURE], "--define expects NAME=NUMBER, got 'FOO'");
    expectUsageError(["summary", "--define", "1X=2", CAPTURE], "--define expects NAME=NUMBER, got '1X=2'");
    // Whatever the message says, a control character never gets through.
    expectUsageError(["summary", "--define", "X=\x1b[2J", CAPTURE], /^--define expects NAME=NUMBER, got 'X=\\+x1b\[2J'$/);
  });

  // Regression: user text used to be escaped twice (where the message was built and again
  // by ui/cli.ts), so ESC showed as "\\x1b". Now only cli.ts escapes the whole line.
  it("user text in a usage error is escaped once", () => {
    expectUsageError(["summary", "--define", "X=\x1b[2J", CAPTURE], "--define expects NAME=NUMBER, got 'X=\\x1b[2J'");
    expectUsageError(["\x1b]0;t\x07", "extra"], "unknown command '\\x1b]0;t\\x07' (see rpcscope --help)");
  });

  it("--limit unknown or not a number", () => {
    const names = Object.keys(DEFAULT_LIMITS).join(", ");
    expectUsageError(["summary", "--limit", "nope=3", CAPTURE], `--limit expects NAME=NUMBER with NAME one of ${names}; got 'nope=3'`);
    expectUsageError(["summary", "--limit", "maxRecordBytes=abc", CAPTURE],
      `--limit expects NAME=NUMBER with NAME one of ${names}; got 'maxRecordBytes=abc'`);
    expectUsageError(["summary", "--limit", "maxRecordBytes", CAPTURE], /^--limit expects NAME=NUMBER/);
  });

  it("a file name carrying escape sequences is shown escaped", () => {
    expectUsageError(["summary", "/nonexistent/\x1b]0;owned\x07.pcap"], "/nonexistent/\\x1b]0;owned\\x07.pcap: no such file");
  });

  it("every limit set to 0 is accepted and the run ends normally (nothing divides by zero or loops)", () => {
    const zero = Object.keys(DEFAULT_LIMITS).flatMap((n) => ["--limit", `${n}=0`]);
    for (const f of ["synthetic/ip-fragments.pcap", "demo-service/baseline-1.pcap", "rpcbind/rpcinfo-tcp-udp.pcapng"]) {
      const r = runCli(["summary", "-V", ...zero, join(SAMPLES, f)]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout.toString()).toMatch(/\d+ frames, \d+ RPC messages/);
    }
  });
});

// ── An unreadable file ─────────────────────────────────────────────────────────
// chmod 000 does not stop root (CI runs as root). There, the CLI is run with the
// capabilities that let root read anything dropped from its bounding set
// (setpriv, util-linux), which makes the kernel refuse the read as it would for a user.

const unreadable = file("unreadable.pcap", readFileSync(CAPTURE));
chmodSync(unreadable, 0o000);
const readableAnyway = (() => {
  try {
    readFileSync(unreadable);
    return true;
  } catch {
    return false;
  }
})();
const setprivWorks = readableAnyway &&
  spawnSync("setpriv", ["--bounding-set=-dac_override,-dac_read_search", "--", process.execPath, "-e",
    `require("fs").readFileSync(${JSON.stringify(unreadable)})`]).status === 1;
const unreadablePrefix = readableAnyway ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] : [];
const canTestUnreadable = !readableAnyway || setprivWorks;
if (!canTestUnreadable) {
  console.log("[cli] skipping the unreadable-file test: running as root and setpriv cannot drop CAP_DAC_OVERRIDE here");
}

describe("an unreadable file", () => {
  // Regression: sourceFor() used to only stat() the path, so an unreadable file failed
  // later with a stack trace (exit 70). It now opens the file and reports EACCES as one line.
  (canTestUnreadable ? it : it.skip)("a file without read permission: one line, exit 2", () => {
    const [cmd, ...pre] = [...unreadablePrefix, process.execPath];
    const r = spawnSync(cmd!, [...pre, CLI, "summary", unreadable], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).not.toContain("    at ");
    expect(r.stderr).toBe(`rpcscope: ${unreadable}: permission denied\n`);
    expect(r.status).toBe(2);
  });
});
