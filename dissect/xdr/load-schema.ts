/**
 * Entry point of the `.x` front end: lexer → parser → resolve, over several files
 * at once (they may use each other's types and constants).
 */
import type { SpecFile } from "./ast.js";
import { parseSpecFile } from "./parser.js";
import { resolveSpecFiles } from "./resolve.js";
import type { LoadOptions, Schema } from "./schema.js";
import { SchemaError } from "./schema-error.js";

export interface SourceText {
  readonly path: string;
  readonly text: string;
}

export interface SchemaResult {
  /** Present when there were no errors. */
  readonly schema?: Schema;
  readonly errors: readonly SchemaError[];
  /** The parsed files (for `#include` resolution by a loader). */
  readonly files: readonly SpecFile[];
}

/** Parses and resolves; never throws a SchemaError, returns the errors instead. */
export function compileSchema(sources: readonly SourceText[], options: LoadOptions = {}): SchemaResult {
  const errors: SchemaError[] = [];
  const maxErrors = options.maxErrors ?? 20;
  const parseOptions = {
    ...(options.defines ? { defines: options.defines } : {}),
    ...(options.headerConstants ? { headerConstants: options.headerConstants } : {}),
    maxErrors,
    maxNesting: options.maxSchemaDepth ?? 64,
  };
  const files: SpecFile[] = [];
  for (const src of sources) {
    if (errors.length >= maxErrors) break;
    files.push(parseSpecFile(src.path, src.text, errors, parseOptions));
  }
  // Resolving after syntax errors would mostly report names the broken definitions left undefined.
  if (errors.length) return { errors, files };
  const schema = resolveSpecFiles(files, { ...options, maxErrors }, errors);
  return errors.length ? { errors, files } : { schema, errors, files };
}

/** Loads `.x` sources into one schema; throws a SchemaError listing every error found. */
export function loadSchema(sources: readonly SourceText[], options: LoadOptions = {}): Schema {
  const result = compileSchema(sources, options);
  if (!result.schema) throw SchemaError.combine(result.errors);
  return result.schema;
}
