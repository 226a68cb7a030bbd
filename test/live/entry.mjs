// Runs one rpcscope subcommand's run(argv) from dist/, as the CLI will once the
// lead wires it: node test/live/entry.mjs capture -i lo … | interfaces | tui -i lo ….
import { errorLines } from "../../dist/ui/cli-main.js";
import { escapeForTerminal } from "../../dist/ui/text-safety.js";

const [command = "", ...rest] = process.argv.slice(2);
async function main() {
  if (command === "capture") return (await import("../../dist/ui/commands/capture.js")).run(rest);
  if (command === "interfaces") return (await import("../../dist/ui/commands/interfaces.js")).run(rest);
  if (command === "tui") {
    // As "rpcscope -i IFACE" will: the common options plus the capture ones, then the live TUI.
    const { parseArgs } = await import("node:util");
    const { COMMON_OPTIONS, commonOptions } = await import("../../dist/ui/cli-options.js");
    const capture = await import("../../dist/ui/commands/capture.js");
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { ...COMMON_OPTIONS, ...capture.CAPTURE_OPTIONS } });
    return capture.runLiveTui({ settings: capture.liveSettings(values, positionals), common: commonOptions(values) });
  }
  throw new Error(`entry.mjs: unknown command ${command}`);
}
main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
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
