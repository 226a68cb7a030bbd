/** Shared pieces of the live-capture tests: running the entry, waiting for output, rpcbind. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ENTRY = join(ROOT, "test", "live", "entry.mjs");
export const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");

/** dist/ must be built (npm test runs tsc first; `npx vitest` alone may not). */
export function ensureBuilt(): void {
  if (existsSync(join(ROOT, "dist", "ui", "commands", "capture.js")) && existsSync(join(ROOT, "dist", "capture", "live-capture.js"))) return;
  const r = spawnSync("npx", ["tsc", "-p", "tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
}

export interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

export function start(args: readonly string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [ENTRY, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const running: Running = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.on("close", (code) => resolve(code))),
  };
  child.stdout!.setEncoding("utf8").on("data", (s: string) => (running.stdout += s));
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (running.stderr += s));
  return running;
}

/** Polls `check` every 20 ms until it holds or `ms` pass; returns whether it held. */
export async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Whether this process may capture on lo: the cap binding loads and the interface
 * opens. Returns null when it may, else the reason (printed by the skipping test).
 */
export function captureNotPermittedReason(): string | null {
  const probe = run(process.execPath, [ENTRY, "capture", "-i", "lo", "-f", "udp port 9", "--duration", "0.05"]);
  if (probe.status === 0) return null;
  return `live capture on lo is not possible here: ${probe.stderr.trim() || `exit status ${probe.status}`}`;
}

/** An rpcbind answering on 127.0.0.1: the running one, or one started here (stop() ends only that one). */
export async function ensureRpcbind(): Promise<{ started: boolean; stop(): Promise<void> } | string> {
  const rpcinfo = which("rpcinfo");
  if (!rpcinfo) return "rpcinfo is not installed (Debian package rpcbind)";
  if (run("rpcinfo", ["-T", "tcp", "127.0.0.1", "100000", "2"]).status === 0) return { started: false, async stop() {} };
  const rpcbind = which("rpcbind");
  if (!rpcbind) return "rpcbind is not installed (Debian package rpcbind)";
  const child = spawn(rpcbind, ["-w", "-f"], { stdio: "ignore" });
  const up = await waitFor(() => run("rpcinfo", ["-T", "tcp", "127.0.0.1", "100000", "2"]).status === 0, 10_000);
  if (!up) {
    child.kill("SIGTERM");
    return "rpcbind -w -f did not start answering on 127.0.0.1";
  }
  return {
    started: true,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await gone;
    },
  };
}

/** The NDJSON objects of an output (lines that are not JSON are an error). */
export function ndjson(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
}
