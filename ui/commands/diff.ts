/**
 * `rpcscope diff BASE NEW`: protocol regressions between two captures of the
 * same workload (see ui/diff.ts for what is compared and how).
 *
 * Exit status: 1 when a category named in --fail-on has regressions, 0
 * otherwise; usage errors and unusable input throw (the CLI turns them into
 * one line on stderr and exit status 2).
 */
import { parseArgs } from "node:util";
import { LineWriter } from "../line-writer.js";
import { COMMON_OPTIONS, commonOptions, registryFor, sourceFor, UsageError } from "../cli-options.js";
import { namesFor } from "../names.js";
import { escapeForTerminal } from "../text-safety.js";
import {
  DEFAULT_IGNORES, DIFF_CATEGORIES, diffCaptures, diffToJson, failingCategories, formatDiffText, IgnorePatternError,
  IgnoreSet, type DiffCategory,
} from "../diff.js";

export const DIFF_USAGE = `Usage: rpcscope diff BASE NEW [options]

Compares two captures of the same workload and reports what changed:
procedures that appeared or disappeared or whose call count changed, new error
statuses per procedure (RPC-level like PROG_MISMATCH, body-level like
NFS3ERR_NOENT), response-time regressions, and per conversation (aligned by
server endpoint and program, in order of first appearance) the first exchange
where the sequence of procedures or the decoded arguments/results differ, with
a field-level diff.

Options:
  --latency-ratio R      a p50 or p95 more than R times the base's is a regression
                         (default 1.5) …
  --latency-floor T      … when it is also at least T slower (default 1ms; units
                         ns, us, ms, s; a plain number is seconds)
  --ignore PATTERN       leave fields out of the body comparison (repeatable):
                         a dotted path from args, res, call or reply with * for one
                         segment and ** for any number (res.*.verf,
                         args.entries[*].cookie); a pattern not starting at a root
                         matches at any depth (verf); type:NAME ignores fields of
                         that .x type (type:nfstime3)
  --no-default-ignores   compare also what differs on every run (default ignores:
                         ${DEFAULT_IGNORES.join(", ")})
  --fail-on LIST         categories that make the exit status 1, comma-separated:
                         errors, latency, procedures, bodies, all (default), none
  --max-fields N         field changes listed per exchange (default 50; with -V 10,000)
  --json                 one JSON object instead of text
  -Y, --filter EXPR      compare only the exchanges the filter selects (evaluated per
                         exchange, as in the terminal UI)
  --spec, --define, --limit   as for summary

Exit status: 0 no regression in the --fail-on categories, 1 regressions, 2 bad usage
or unusable input.`;

const DIFF_OPTIONS = {
  "latency-ratio": { type: "string" },
  "latency-floor": { type: "string" },
  ignore: { type: "string", multiple: true, default: [] as string[] },
  "no-default-ignores": { type: "boolean", default: false },
  "fail-on": { type: "string" },
  "max-fields": { type: "string" },
} as const;

/** "1ms", "250us", "0.5s", "2" (seconds) → seconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} expects a duration such as 1ms, 250us or 0.5s; got '${escapeForTerminal(text)}'`);
  const scale = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1 }[m[2] ?? "s"] ?? 1;
  return Number(m[1]) * scale;
}

export function parseFailOn(text: string | undefined): DiffCategory[] {
  if (text === undefined) return [...DIFF_CATEGORIES];
  const out: DiffCategory[] = [];
  for (const raw of text.split(",")) {
    const word = raw.trim().toLowerCase();
    if (word === "" || word === "none") continue;
    if (word === "all") {
      for (const c of DIFF_CATEGORIES) if (!out.includes(c)) out.push(c);
      continue;
    }
    if (!(DIFF_CATEGORIES as readonly string[]).includes(word)) {
      throw new UsageError(`--fail-on takes ${DIFF_CATEGORIES.join(", ")}, all or none; got '${escapeForTerminal(raw)}'`);
    }
    if (!out.includes(word as DiffCategory)) out.push(word as DiffCategory);
  }
  return out;
}

/** Where the report goes (stdout by default; tests pass their own). */
export interface CommandOutput {
  write(text: string): void;
}

/** Writes text to standard output in one go (a closed pipe ends quietly, see LineWriter). */
function writeStdout(text: string): void {
  const w = new LineWriter(1);
  w.line(text.endsWith("\n") ? text.slice(0, -1) : text);
  w.flush();
}

export async function run(argv: string[], output?: CommandOutput): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...DIFF_OPTIONS },
  });
  const write = (text: string): void => (output ? output.write(text) : writeStdout(text));
  if (values.help) {
    write(`${DIFF_USAGE}\n`);
    return 0;
  }
  const opts = commonOptions(values);
  if (positionals.length !== 2) throw new UsageError("diff takes two capture files: BASE NEW (see rpcscope diff --help)");
  const [basePath, newPath] = positionals as [string, string];
  if (basePath === "-" || newPath === "-") throw new UsageError("diff reads each file twice, so it needs files, not '-'");

  let latencyRatio = 1.5;
  if (values["latency-ratio"] !== undefined) {
    latencyRatio = Number(values["latency-ratio"]);
    if (!Number.isFinite(latencyRatio) || latencyRatio < 1 || values["latency-ratio"].trim() === "") {
      throw new UsageError(`--latency-ratio expects a number of at least 1; got '${escapeForTerminal(values["latency-ratio"])}'`);
    }
  }
  const latencyFloor = values["latency-floor"] === undefined ? 0.001 : parseDuration(values["latency-floor"], "--latency-floor");
  let maxFields = opts.verbose ? 10_000 : 50;
  if (values["max-fields"] !== undefined) {
    maxFields = Number(values["max-fields"]);
    if (!Number.isInteger(maxFields) || maxFields < 0) {
      throw new UsageError(`--max-fields expects a whole number; got '${escapeForTerminal(values["max-fields"])}'`);
    }
  }
  const failOn = parseFailOn(values["fail-on"]);
  const ignore = [...(values["no-default-ignores"] ? [] : DEFAULT_IGNORES), ...values.ignore];
  try {
    new IgnoreSet(ignore); // report a bad pattern before reading anything
  } catch (err) {
    if (err instanceof IgnorePatternError) throw new UsageError(err.message);
    throw err;
  }

  const baseSource = sourceFor(basePath);
  const newSource = sourceFor(newPath);
  const registry = await registryFor(opts);
  const names = namesFor(registry);
  let warnedNoTempFile = false;
  const report = await diffCaptures(
    { label: basePath, source: baseSource },
    { label: newPath, source: newSource },
    {
      limits: opts.limits, registry, names, filter: opts.filter, latencyRatio, latencyFloor, ignore, maxFieldChanges: maxFields,
      columns: {
        onFallback: (reason) => {
          // Once for both captures.
          if (warnedNoTempFile) return;
          warnedNoTempFile = true;
          process.stderr.write(`rpcscope: warning: no temporary file for diff's per-exchange numbers (${escapeForTerminal(reason)}); keeping them in memory\n`);
        },
      },
    },
  );
  write(opts.json ? `${diffToJson(report, failOn)}\n` : formatDiffText(report, failOn));
  for (const s of [report.base, report.new]) {
    if (s.truncated) process.stderr.write(`rpcscope: warning: ${s.file} is cut short: ${s.truncated}\n`);
  }
  return failingCategories(report, failOn).length > 0 ? 1 : 0;
}
