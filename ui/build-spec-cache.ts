/**
 * Build step (after tsc): compiles the built-in `.x` files and writes them where
 * loadRegistry looks for them (`dist/builtin-specs.json`), so a run reads their
 * types instead of compiling them, and an index of what a run needs to know of each
 * before loading it (`dist/builtin-specs-index.json`). A file whose text differs
 * from the one stored is compiled at run time as before, and its index entry is not
 * used, so a stale cache costs time, never meaning.
 */
import { renameSync, writeFileSync } from "node:fs";
import { builtinCachePath, makeBuiltinSchemaCache, makeBuiltinSpecIndex, specIndexPathFor } from "./spec-loader.js";

function writeJson(target: string, data: unknown): void {
  const temporary = `${target}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(data));
  renameSync(temporary, target);
}

const target = builtinCachePath();
const cache = makeBuiltinSchemaCache();
writeJson(target, cache);
// What a run needs of each file before loading it (`stats` asks how far into replies
// any status word lies): known from this small file, no file is loaded to find out.
const indexPath = specIndexPathFor(target);
writeJson(indexPath, makeBuiltinSpecIndex());
process.stdout.write(`compiled ${Object.keys(cache.specs).length} built-in specifications into ${target}, indexed in ${indexPath}\n`);
