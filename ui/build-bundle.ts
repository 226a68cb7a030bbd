/**
 * Build step (after tsc): the CLI's modules bundled into one CommonJS file,
 * `dist/ui/cli-bundle.cjs`, with the TUI and the subcommands loaded on demand in
 * chunks of their own (`dist/ui/bundle-*.cjs`). Node spends about 1M instructions per
 * module it resolves, reads and links: one file for the 66 modules of a `stats` run
 * starts it 25–30 ms sooner, the same code (measured in the README). The command
 * (`dist/ui/rpcscope.cjs`, ui/rpcscope.cts) runs the bundle with the V8 code cache
 * this step writes last, by running the command on a bundled sample. tsc's own entry,
 * `dist/ui/cli.js`, is the bundle's input and stays runnable. Without rolldown (a
 * production install) the command runs tsc's entry, and this step says so.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import rpcscope from "./rpcscope.cjs";

const uiDir = dirname(fileURLToPath(import.meta.url));
const input = join(uiDir, "cli.js");
const command = join(uiDir, "rpcscope.cjs");
const bundleFile = join(uiDir, "cli-bundle.cjs");
const cacheFile = rpcscope.cacheFileOf(bundleFile);
const samples = join(uiDir, "..", "..", "samples");

// A bundle of an earlier build would be run in place of tsc's entry: gone before anything else.
for (const name of readdirSync(uiDir)) {
  if (/^bundle-.*\.c?js$/.test(name) || name.startsWith("cli-bundle.cjs")) rmSync(join(uiDir, name));
}

let bundler: typeof import("rolldown");
try {
  bundler = await import("rolldown");
} catch {
  process.stderr.write("rolldown is not installed: the CLI runs unbundled, tsc's dist/ui/cli.js (it starts about 40 ms slower)\n");
  process.exit(0);
}

await bundler.build({
  input,
  platform: "node",
  // blessed (the TUI) and cap (live capture) are loaded from node_modules when used.
  external: ["blessed", "cap", /^node:/],
  logLevel: "warn",
  output: { dir: uiDir, format: "cjs", entryFileNames: "cli-bundle.cjs", chunkFileNames: "bundle-[name].cjs" },
});
const chunks = readdirSync(uiDir).filter((name) => /^bundle-.*\.cjs$/.test(name));
process.stdout.write(`bundled the CLI into ${bundleFile} (+ ${chunks.length} chunks loaded on demand)\n`);

// The code cache: each run starts from the cache the one before wrote, and adds what it compiled.
const nfs = join(samples, "nfs", "nfsv3.pcap");
if (!existsSync(nfs)) {
  process.stderr.write(`${nfs} is missing: no code cache written (the CLI starts about 10 ms slower)\n`);
  process.exit(0);
}
for (const args of [["stats", nfs], ["summary", "--json", nfs], ["summary", "--json", "-V", nfs], ["summary", nfs]]) {
  execFileSync(process.execPath, [command, ...args], {
    env: { ...process.env, RPCSCOPE_CODE_CACHE_OUT: cacheFile },
    stdio: ["ignore", "ignore", "inherit"],
  });
}
process.stdout.write(`wrote its code cache ${cacheFile} (${readFileSync(cacheFile).length} bytes)\n`);
