/**
 * Build step (after tsc): the CLI's modules bundled into one file, `dist/ui/cli.js`,
 * with the TUI and the subcommands loaded on demand in chunks of their own
 * (`dist/ui/bundle-*.js`). Node spends about 1M instructions per module it resolves,
 * reads and links: one file for the 66 modules of a `stats` run starts it 25–30 ms
 * sooner, the same code (measured in the README). tsc's own entry is kept as
 * `dist/ui/cli-entry.js` and is the bundle's input, so the step can run again.
 * Without rolldown (a production install) the unbundled entry stays, and it says so.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const uiDir = dirname(fileURLToPath(import.meta.url));
const entry = join(uiDir, "cli.js");
const input = join(uiDir, "cli-entry.js");

let bundler: typeof import("rolldown");
try {
  bundler = await import("rolldown");
} catch {
  process.stderr.write("rolldown is not installed: dist/ui/cli.js stays unbundled (it starts about 25 ms slower)\n");
  process.exit(0);
}

// tsc's entry imports cli-main.js; a bundle does not. Keep tsc's as the input.
if (readFileSync(entry, "utf8").includes('from "./cli-main.js"')) {
  renameSync(entry, input);
  if (existsSync(`${entry}.map`)) renameSync(`${entry}.map`, `${input}.map`);
} else if (!existsSync(input)) {
  throw new Error(`${entry} is already a bundle and ${input} is missing: run tsc first`);
}
for (const name of readdirSync(uiDir)) if (/^bundle-.*\.js$/.test(name)) rmSync(join(uiDir, name));

await bundler.build({
  input,
  platform: "node",
  // blessed (the TUI) and cap (live capture) are loaded from node_modules when used.
  external: ["blessed", "cap", /^node:/],
  logLevel: "warn",
  output: { dir: uiDir, format: "esm", entryFileNames: "cli.js", chunkFileNames: "bundle-[name].js" },
});
const chunks = readdirSync(uiDir).filter((name) => /^bundle-.*\.js$/.test(name));
process.stdout.write(`bundled the CLI into ${entry} (+ ${chunks.length} chunks loaded on demand)\n`);
