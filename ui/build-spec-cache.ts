/**
 * Build step (after tsc): compiles the built-in `.x` files and writes them where
 * loadRegistry looks for them (`dist/builtin-specs.json`), so a run reads their
 * types instead of compiling them. A file whose text differs from the one stored
 * is compiled at run time as before, so a stale cache costs time, never meaning.
 */
import { renameSync, writeFileSync } from "node:fs";
import { builtinCachePath, makeBuiltinSchemaCache } from "./spec-loader.js";

const target = builtinCachePath();
const cache = makeBuiltinSchemaCache();
const temporary = `${target}.${process.pid}.tmp`;
writeFileSync(temporary, JSON.stringify(cache));
renameSync(temporary, target);
process.stdout.write(`compiled ${Object.keys(cache.specs).length} built-in specifications into ${target}\n`);
