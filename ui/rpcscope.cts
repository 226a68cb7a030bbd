#!/usr/bin/env node
/**
 * The `rpcscope` command as installed (package.json's bin): the CLI bundle the build
 * makes (`dist/ui/cli-bundle.cjs`, see build-bundle.ts), run with V8's code cache.
 *
 * Start-up is part of every run: on a small capture `stats` took 0.111 s, of which
 * node itself 0.06 s. This file is CommonJS because an ES module entry starts node's
 * ES module loader first (about 9 ms); the bundle is read back from the cache the
 * build wrote beside it (bytecode of the functions a few runs compiled) instead of
 * compiled (about 10 ms more): 0.094 s.
 *
 * The cache is only an accelerator. V8 checks it against the source, its own version
 * and its flags, and rejects it when they differ (a rebuilt bundle, another node,
 * `--cpu-prof`): the bundle is then compiled from source, with the same result.
 * Nothing here writes unless the build asks (RPCSCOPE_CODE_CACHE_OUT).
 */
import fs = require("node:fs");
import nodeModule = require("node:module");
import path = require("node:path");
import vm = require("node:vm");

/** The CommonJS wrapper, on the source's first line so that line numbers stay the bundle's own. */
const WRAPPER_START = "(function (exports, require, module, __filename, __dirname) {";
const WRAPPER_END = "\n})";

type ModuleWrapper = (
  exports: object, require: NodeJS.Require, module: NodeJS.Module, filename: string, dirname: string,
) => void;

interface CompiledBundle {
  readonly script: vm.Script;
  /** Whether a cache was there and V8 refused it (the source was compiled instead). */
  readonly cacheRejected: boolean;
  /** Runs the bundle's top level once, as node runs a CommonJS module. */
  run(): void;
}

/** The cache file the build writes beside a bundle. */
function cacheFileOf(bundleFile: string): string {
  return `${bundleFile}.cache`;
}

/** Compiles `bundleFile`, with its code cache when there is one. */
function compileBundle(bundleFile: string, cacheFile = cacheFileOf(bundleFile)): CompiledBundle {
  // A shebang is a comment only on a file's first line: inside the wrapper it goes (its newline stays).
  const source = fs.readFileSync(bundleFile, "utf8").replace(/^#!.*/, "");
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined; // none written: compile from source
  }
  const script = new vm.Script(WRAPPER_START + source + WRAPPER_END, {
    filename: bundleFile,
    ...(cachedData ? { cachedData } : {}),
  });
  return {
    script,
    cacheRejected: cachedData !== undefined && script.cachedDataRejected === true,
    run() {
      const wrapper = script.runInThisContext() as ModuleWrapper;
      // Registered as node registers a module it loads: the chunks require the bundle for
      // what they share, and must get this instance, not a second run of the CLI.
      const module = new nodeModule(bundleFile);
      module.filename = bundleFile;
      require.cache[bundleFile] = module;
      wrapper.call(module.exports, module.exports, nodeModule.createRequire(bundleFile), module, bundleFile, path.dirname(bundleFile));
      module.loaded = true;
    },
  };
}

/**
 * Runs the bundle. When RPCSCOPE_CODE_CACHE_OUT names a file (the build does), the
 * code cache is written there as the process exits: it then holds every function the
 * run compiled, and those of the cache the run started from.
 */
function runBundle(bundleFile: string): void {
  const bundle = compileBundle(bundleFile);
  const out = process.env["RPCSCOPE_CODE_CACHE_OUT"];
  if (out) {
    process.on("exit", () => {
      const temporary = `${out}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, bundle.script.createCachedData());
      fs.renameSync(temporary, out);
    });
  }
  bundle.run();
}

if (require.main === module) {
  const bundleFile = path.join(__dirname, "cli-bundle.cjs");
  // Built without rolldown: tsc's unbundled entry does the same, starting slower.
  if (fs.existsSync(bundleFile)) runBundle(bundleFile);
  else void import("./cli.js");
}

export = { cacheFileOf, compileBundle };
