/**
 * The TUI on synthetic data, until (and beside) the real CLI:
 *
 *   node dist/ui/tui/demo.js [--rows N] [--live] [--load-seconds S]
 *
 * The end-to-end test drives this program inside tmux.
 */
import { runTui } from "./app.js";
import { DemoDataSource } from "./demo-source.js";

function numberArg(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`${name} wants a number\n`);
    process.exit(2);
  }
  return value;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const source = new DemoDataSource({
    rows: Math.floor(numberArg(args, "--rows", 1_000_000)),
    live: args.includes("--live"),
    loadSeconds: numberArg(args, "--load-seconds", 0),
  });
  await runTui(source, {});
  source.stop();
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
