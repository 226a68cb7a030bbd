#!/usr/bin/env node
// Entry point of the `rpcscope` command; the logic is in cli-main.ts so tests can call it.
import { errorLine, main } from "./cli-main.js";
import { escapeForTerminal } from "./text-safety.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const line = errorLine(err);
    if (line !== null) {
      process.stderr.write(`rpcscope: ${escapeForTerminal(line)}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`rpcscope: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
