/**
 * The TUI's load of a capture without the screen: a CaptureIndex fed by analyzeCapture
 * as `rpcscope FILE` feeds it (ui/cli-main.ts, runTuiOnFile), for the bench's row and
 * by hand:
 *
 *   node dist/bench/tui-load.js FILE
 *
 * Prints the time until every row is in, the rows and exchanges, and the longest the
 * event loop waited for a turn meanwhile (what a key press or a redraw would wait).
 */
import { analyzeCapture } from "../ui/analyze.js";
import { CaptureIndex } from "../ui/capture-index.js";
import { commonOptions, registryFor, sourceFor } from "../ui/cli-options.js";
import { namesFor } from "../ui/names.js";

const path = process.argv[2];
if (!path) {
  process.stderr.write("usage: tui-load FILE\n");
  process.exit(2);
}
const opts = commonOptions({ json: false, csv: false, verbose: false, spec: [], define: [], limit: [] });
const registry = await registryFor(opts);
const index = new CaptureIndex({ title: path, live: false, registry, names: namesFor(registry), limits: opts.limits });

// A timer every 10 ms: how late it runs is how long the loop was kept from its turn.
const TICK_MS = 10;
let longestWait = 0;
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  longestWait = Math.max(longestWait, now - last - TICK_MS);
  last = now;
}, TICK_MS);

const started = performance.now();
await analyzeCapture(
  sourceFor(path),
  { limits: opts.limits, registry, ...index.decodeOptions(), yieldBetweenBatches: true, onProgress: (read, total) => index.progressUpdate(read, total) },
  index.handlers(),
);
index.finished();
const loadMs = performance.now() - started;
clearInterval(timer);
const { counts } = index.progress();
process.stdout.write(
  `${index.rowCount()} rows, ${counts.exchanges} exchanges loaded in ${loadMs.toFixed(0)} ms; ` +
    `the event loop waited ${Math.max(0, longestWait).toFixed(0)} ms at most\n`,
);
index.close();
