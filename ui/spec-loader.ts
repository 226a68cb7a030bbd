/**
 * Finds and loads `.x` specifications into a ProgramRegistry:
 * 1. every built-in `dissect/specs/*.x` (each file on its own: they are independent),
 * 2. each directory in RPCSCOPE_SPEC_PATH (colon-separated; a directory's `*.x`
 *    files load together, so they may use each other's types),
 * 3. the `--spec` files (together, in the order given).
 * Later sources override earlier ones for the same (program, version). libvirt's
 * shipped C-header constants fill in names that neither `--define` nor the files
 * define (LoadOptions.headerConstants). A quoted `#include "file"` in a user spec
 * is followed (relative to the including file) when that file is not loaded
 * already, as cpp would for rpcgen.
 * Errors are thrown as SchemaError (file:line:col).
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ProgramRegistry, type DeferredFacts } from "../dissect/registry.js";
import { LIBVIRT_DEFINES, addSchemaWithLibvirt, registerLibvirtBuiltins } from "../dissect/libvirt/index.js";
import { compileSchema, type SourceText } from "../dissect/xdr/load-schema.js";
import { BodyStatusReader } from "./body-status.js";
import type { LoadOptions, Schema } from "../dissect/xdr/schema.js";
import { SchemaError } from "../dissect/xdr/schema-error.js";
import { parseXdrNumber } from "../dissect/xdr/lexer.js";
import {
  decodeSchema, encodeSchema, SCHEMA_CACHE_FORMAT, sameHeaderConstants, type CachedSchema, type SchemaCacheFile,
} from "../dissect/xdr/schema-cache.js";

export interface LoadRegistryOptions {
  readonly userSpecs: readonly string[];
  readonly defines: ReadonlyMap<string, number>;
  /** Value of RPCSCOPE_SPEC_PATH. */
  readonly specPathEnv?: string;
  /** Directory of the built-in specs (default: found from this module's location). */
  readonly builtinDir?: string;
  /**
   * The built-in specs compiled by the build (ui/build-spec-cache.ts); null: compile
   * them here. Default: `builtin-specs.json` beside the compiled `ui/` directory.
   */
  readonly builtinCache?: string | null;
}

/** Most files one load may pull in through `#include`. */
const MAX_INCLUDED_FILES = 256;

export async function loadRegistry(options: LoadRegistryOptions): Promise<ProgramRegistry> {
  const registry = new ProgramRegistry();
  const load = loadOptions(options.defines);
  registerLibvirtBuiltins(registry);
  const builtinDir = options.builtinDir ?? builtinSpecDir();
  // A --define may change what a built-in file means: then they are all compiled here.
  const cachePath = options.defines.size === 0 ? (options.builtinCache === undefined ? builtinCachePath() : options.builtinCache) : null;
  let cache: SchemaCacheFile | null | undefined;
  const index = cachePath === null ? null : readSpecIndex(specIndexPathFor(cachePath));
  for (const path of listSpecFiles(builtinDir)) {
    // Loaded when first needed: most captures use one or two of them.
    const text = readFileSync(path, "utf8");
    registry.addDeferred(programNumbersIn(text), () => {
      if (cache === undefined) cache = cachePath === null ? null : readSchemaCache(cachePath, load);
      const schema = cachedSchema(cache, path, text) ?? compileBuiltin(path, text, load);
      addSchemaWithLibvirt(registry, schema, { source: "builtin" });
    }, indexedFacts(index, path, text));
  }
  for (const dir of (options.specPathEnv ?? "").split(":")) {
    if (!dir || !isDirectory(dir)) continue;
    const files = listSpecFiles(dir);
    if (files.length) addSchemaWithLibvirt(registry, loadGroup(files, load, true), { source: "user" });
  }
  if (options.userSpecs.length) {
    addSchemaWithLibvirt(registry, loadGroup(options.userSpecs, load, true), { source: "user" });
  }
  return registry;
}

/** One built-in file compiled as loadRegistry compiles it (the build's cache holds exactly this); throws SchemaError. */
export function compileBuiltin(path: string, text: string, load: LoadOptions = loadOptions(new Map())): Schema {
  const result = compileSchema([{ path, text }], load);
  if (!result.schema) throw SchemaError.combine(result.errors);
  return result.schema;
}

/** The built-in files compiled, as the build writes them to builtinCachePath() (ui/build-spec-cache.ts). */
export function makeBuiltinSchemaCache(builtinDir: string = builtinSpecDir()): SchemaCacheFile {
  const load = loadOptions(new Map());
  const specs: Record<string, CachedSchema> = {};
  for (const path of listSpecFiles(builtinDir)) {
    const text = readFileSync(path, "utf8");
    specs[basename(path)] = encodeSchema(compileBuiltin(path, text, load), path, text);
  }
  return { format: SCHEMA_CACHE_FORMAT, headerConstants: [...(load.headerConstants ?? new Map())], specs };
}

/**
 * The build's compiled built-ins, or null when there is no such file or it is not
 * one for these header constants (the files are then compiled as they are needed).
 */
function readSchemaCache(path: string, load: LoadOptions): SchemaCacheFile | null {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
  if (typeof data !== "object" || data === null) return null;
  const cache = data as SchemaCacheFile;
  if (cache.format !== SCHEMA_CACHE_FORMAT || !Array.isArray(cache.headerConstants) || typeof cache.specs !== "object" || cache.specs === null) {
    return null;
  }
  return sameHeaderConstants(cache, load.headerConstants ?? new Map()) ? cache : null;
}

/** The cached schema of the built-in `path` when the cache holds one for exactly this text. */
function cachedSchema(cache: SchemaCacheFile | null, path: string, text: string): Schema | null {
  const name = basename(path);
  const entry = cache && Object.hasOwn(cache.specs, name) ? cache.specs[name] : undefined;
  if (!entry || entry.text !== text) return null;
  try {
    return decodeSchema(entry, path);
  } catch {
    return null; // not data this build wrote: compile the file instead
  }
}

/**
 * The build's index of the built-in files: what a run needs to know of each before
 * loading it, with the text it was worked out from (compared whole, natively: a hash
 * of the texts in JavaScript cost more at start-up, in the interpreter, than the
 * loading it spared).
 */
export interface SpecIndexFile {
  readonly format: number;
  readonly specs: Record<string, { readonly text: string } & DeferredFacts>;
}

const SPEC_INDEX_FORMAT = 1;

/** The index beside the schema cache at `cachePath`. */
export function specIndexPathFor(cachePath: string): string {
  return join(dirname(cachePath), `${basename(cachePath, ".json")}-index.json`);
}

/** The index of the built-in files, as the build writes it beside builtinCachePath(). */
export function makeBuiltinSpecIndex(builtinDir: string = builtinSpecDir()): SpecIndexFile {
  const load = loadOptions(new Map());
  const specs: Record<string, { readonly text: string } & DeferredFacts> = {};
  for (const path of listSpecFiles(builtinDir)) {
    const text = readFileSync(path, "utf8");
    // Worked out on a registry of this file alone, as a run registers it.
    const registry = new ProgramRegistry();
    addSchemaWithLibvirt(registry, compileBuiltin(path, text, load), { source: "builtin" });
    specs[basename(path)] = { text, resultStatusEnd: new BodyStatusReader(registry).furthestStatusEnd() };
  }
  return { format: SPEC_INDEX_FORMAT, specs };
}

function readSpecIndex(path: string): SpecIndexFile | null {
  try {
    const data: unknown = JSON.parse(readFileSync(path, "utf8"));
    if (typeof data !== "object" || data === null) return null;
    const index = data as SpecIndexFile;
    return index.format === SPEC_INDEX_FORMAT && typeof index.specs === "object" && index.specs !== null ? index : null;
  } catch {
    return null;
  }
}

/** What the index says of `path`, when it says it of exactly this text. */
function indexedFacts(index: SpecIndexFile | null, path: string, text: string): DeferredFacts | undefined {
  const name = basename(path);
  const entry = index && Object.hasOwn(index.specs, name) ? index.specs[name] : undefined;
  if (!entry || entry.text !== text || !Number.isSafeInteger(entry.resultStatusEnd) || entry.resultStatusEnd < 0) return undefined;
  return { resultStatusEnd: entry.resultStatusEnd };
}

/** Where the build writes the compiled built-ins: `dist/builtin-specs.json` for code run from `dist/ui/`. */
export function builtinCachePath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "builtin-specs.json");
}

/** Loads files as one schema, as loadRegistry loads `--spec` files; throws SchemaError. */
export function loadSpecFiles(paths: readonly string[], defines: ReadonlyMap<string, number>): Schema {
  return loadGroup(paths, loadOptions(defines), true);
}

/**
 * libvirt's .x files take constants from C headers; ours ship as header constants,
 * not as defines, so the files' own `%#define`s win over them (and a --define over both).
 */
function loadOptions(defines: ReadonlyMap<string, number>): LoadOptions {
  return { defines, headerConstants: LIBVIRT_DEFINES };
}

/** Loads files as one schema (following `#include "…"` when asked); throws SchemaError. */
function loadGroup(paths: readonly string[], options: LoadOptions, followIncludes: boolean): Schema {
  const sources: SourceText[] = [];
  const seen = new Set<string>();
  const add = (path: string, from?: { file: string; line: number; col: number }): void => {
    const key = canonical(path);
    if (seen.has(key)) return;
    seen.add(key);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (from) throw new SchemaError(from.file, from.line, from.col, `cannot read included file '${path}': ${why}`);
      throw new SchemaError(path, 1, 1, `cannot read specification: ${why}`);
    }
    sources.push({ path, text });
  };
  for (const p of paths) add(p);
  for (let round = 0; followIncludes; round++) {
    const result = compileSchema(sources, options);
    let added = false;
    for (const file of result.files) {
      for (const inc of file.includes) {
        const target = resolve(dirname(file.path), inc.path);
        if (seen.has(canonical(target))) continue;
        if (!existsSync(target)) continue; // cpp would fail; the undefined names will say what is missing
        if (sources.length >= MAX_INCLUDED_FILES) {
          throw new SchemaError(inc.pos.file, inc.pos.line, inc.pos.col, `more than ${MAX_INCLUDED_FILES} files included`);
        }
        add(target, inc.pos);
        added = true;
      }
    }
    if (!added) {
      if (!result.schema) throw SchemaError.combine(result.errors);
      return result.schema;
    }
  }
  const result = compileSchema(sources, options);
  if (!result.schema) throw SchemaError.combine(result.errors);
  return result.schema;
}

/**
 * The numbers a `.x` text may give its programs, without compiling it: every
 * `} = N;` (closing a program or a version, or in a comment: a superset does no
 * harm). Null when one of them is a name rather than a number, so the file's
 * programs cannot be told without compiling it.
 */
export function programNumbersIn(text: string): Set<number> | null {
  const numbers = new Set<number>();
  for (const m of text.matchAll(/\}\s*=\s*([^;\s]+)\s*;/g)) {
    const value = parseXdrNumber(m[1]!);
    if (value === undefined) return null;
    numbers.add(value);
  }
  return numbers;
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listSpecFiles(dir: string): string[] {
  if (!isDirectory(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".x"))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * `<root>/dissect/specs`, found from this module: sources run from `<root>/ui/`,
 * compiled code from `<root>/dist/ui/`; the specs are only in the source tree.
 */
export function builtinSpecDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "dissect", "specs");
    if (isDirectory(candidate) && existsSync(join(dir, "package.json"))) return candidate;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), "..", "dissect", "specs");
}
