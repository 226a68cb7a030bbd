/**
 * Options every subcommand shares (specs, defines, limits, filter, output form),
 * and the small helpers that turn them into a registry and a capture source.
 * A subcommand in its own file parses its argv with `parseArgs({ options:
 * { ...COMMON_OPTIONS, ...its own } })` and calls `commonOptions(values)`.
 */
import { accessSync, closeSync, constants, openSync, statSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import type { CaptureSource } from "../capture/open-capture.js";
import { DEFAULT_LIMITS, withLimits, type Limits } from "../capture/limits.js";
import type { ProgramRegistry } from "../dissect/registry.js";
import { InputError } from "./analyze.js";
import { loadRegistry } from "./spec-loader.js";
import { compileFilter, type CompiledFilter } from "./filter/evaluate.js";

/** Bad command line: one line on stderr (escaped once, by cli.ts), exit status 2. */
export class UsageError extends Error {}

export interface CommonOptions {
  json: boolean;
  csv: boolean;
  verbose: boolean;
  specs: string[];
  defines: Map<string, number>;
  limits: Limits;
  filter: CompiledFilter | null;
}

export function parseDefines(values: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(-?(?:0x[0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*))$/.exec(v);
    if (!m) throw new UsageError(`--define expects NAME=NUMBER, got '${v}'`);
    out.set(m[1]!, Number.parseInt(m[2]!.replace(/^(-?)0([0-7]+)$/, "$1$2"), /^-?0[0-7]+$/.test(m[2]!) ? 8 : undefined));
  }
  return out;
}

export function parseLimits(values: readonly string[]): Limits {
  const overrides: Record<string, number> = {};
  for (const v of values) {
    const m = /^([A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(v);
    if (!m || !(m[1]! in DEFAULT_LIMITS)) {
      throw new UsageError(`--limit expects NAME=NUMBER with NAME one of ${Object.keys(DEFAULT_LIMITS).join(", ")}; got '${v}'`);
    }
    overrides[m[1]!] = Number(m[2]);
  }
  return withLimits(overrides as Partial<Limits>);
}

export function sourceFor(path: string): CaptureSource {
  if (path === "-") return { kind: "stdin" };
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${path}: no such file`);
    if (code === "EACCES") throw new InputError(`${path}: permission denied`);
    throw new InputError(`${path}: cannot read (${code ?? "error"})`);
  }
  if (st.isDirectory()) throw new InputError(`${path}: is a directory, not a capture file`);
  // stat succeeds on a file we may not read; find out now, not as a stack trace later.
  // A pipe or FIFO (`<(tcpdump -w - …)`) is only asked whether it may be read: opening
  // and closing it would leave its writer with no reader, killed by SIGPIPE.
  try {
    if (st.isFile()) closeSync(openSync(path, "r"));
    else accessSync(path, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") throw new InputError(`${path}: permission denied`);
    throw new InputError(`${path}: cannot read (${code ?? "error"})`);
  }
  return { kind: "file", path };
}

export async function registryFor(opts: CommonOptions): Promise<ProgramRegistry> {
  const env = process.env["RPCSCOPE_SPEC_PATH"];
  return loadRegistry({ userSpecs: opts.specs, defines: opts.defines, ...(env ? { specPathEnv: env } : {}) });
}


/** parseArgs option table shared by every subcommand. */
export const COMMON_OPTIONS = {
  json: { type: "boolean", default: false },
  csv: { type: "boolean", default: false },
  verbose: { type: "boolean", short: "V", default: false },
  spec: { type: "string", multiple: true, default: [] as string[] },
  define: { type: "string", multiple: true, default: [] as string[] },
  limit: { type: "string", multiple: true, default: [] as string[] },
  filter: { type: "string", short: "Y" },
  help: { type: "boolean", short: "h", default: false },
} satisfies NonNullable<ParseArgsConfig["options"]>;

export interface CommonValues {
  json: boolean;
  csv: boolean;
  verbose: boolean;
  spec: string[];
  define: string[];
  limit: string[];
  filter?: string | undefined;
}

export function commonOptions(values: CommonValues): CommonOptions {
  if (values.json && values.csv) throw new UsageError("--json and --csv cannot be used together");
  return {
    json: values.json,
    csv: values.csv,
    verbose: values.verbose,
    specs: values.spec,
    defines: parseDefines(values.define),
    limits: parseLimits(values.limit),
    filter: values.filter === undefined ? null : compileFilter(values.filter),
  };
}
