/** Running the built CLI (dist/ui/rpcscope.cjs) as a user would, with raw stdout bytes kept. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../fuzz/harness.js";

export const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");
export const HOSTILE = join(ROOT, "samples", "hostile");

export interface CliResult {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

export function runCli(args: readonly string[], options: { readonly input?: Buffer; readonly env?: NodeJS.ProcessEnv } = {}): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p tsconfig.json)`);
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    input: options.input ?? Buffer.alloc(0),
    env: { ...process.env, ...options.env, RPCSCOPE_SPEC_PATH: "" },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

/**
 * Where the output would drive a terminal, or null: bytes that are not UTF-8, a C0
 * control other than \n, DEL, or a C1 control (U+0080–U+009F, which a UTF-8 terminal
 * reads from c2 80–c2 9f; CSI is U+009B).
 */
export function terminalControlIn(bytes: Buffer): string | null {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "output is not valid UTF-8";
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) {
      return `U+${c.toString(16).padStart(4, "0")} at ${i}: ${JSON.stringify(text.slice(Math.max(0, i - 30), i + 30))}`;
    }
  }
  return null;
}
