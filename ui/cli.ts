#!/usr/bin/env node
// Entry point of the `rpcscope` command; the logic is in cli-main.ts so tests can call it.
import { errorLines, main } from "./cli-main.js";
import { escapeForTerminal } from "./text-safety.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const lines = errorLines(err);
    if (lines !== null) {
      for (const line of lines) process.stderr.write(`rpcscope: ${escapeForTerminal(line)}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`rpcscope: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
