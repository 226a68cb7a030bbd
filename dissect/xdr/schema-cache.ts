/**
 * A compiled one-file schema as plain JSON data, so that the built-in `.x` files
 * need not be lexed, parsed and resolved on every run (nfs3.x, nfs4.x and
 * rpcbind.x together took 25–35 ms of every start that met NFS). The build
 * compiles each built-in file with the very same front end and stores the result
 * with the text it came from; a run uses an entry only when the file's text is
 * that text, character for character, and compiles the file otherwise.
 *
 * Types travel as the numbered nodes of type-transfer.ts (the render thread's
 * format), so shared and recursive types come back as one object each, as the
 * resolver made them. Positions are [line, col] in the file the entry is for.
 */
import type { SourcePos, XdrType } from "../xdr-types.js";
import type { ProgramInfo, Schema } from "./schema.js";
import { TypeReceiver, TypeSender, type WireNode } from "./type-transfer.js";

type CachedPos = readonly [line: number, col: number];

/**
 * The program tables (schema.ts's ProgramInfo and its parts) over any kind of type,
 * position and argument name: the schema's own, and the cache's numbers, [line, col]
 * pairs and nulls (JSON has no undefined).
 */
interface ProcedureOf<T, P, N> {
  readonly name: string;
  readonly number: number;
  readonly args: readonly T[];
  readonly argNames: readonly N[];
  readonly result: T;
  readonly source: P;
}

interface ProgramOf<T, P, N> {
  readonly name: string;
  readonly number: number;
  readonly versions: readonly {
    readonly name: string;
    readonly number: number;
    readonly procedures: readonly ProcedureOf<T, P, N>[];
    readonly source: P;
  }[];
  readonly source: P;
}

type CachedProgram = ProgramOf<number, CachedPos, string | null>;

/** The same tables with every type, position and argument name converted (keys in the resolver's order). */
function mapPrograms<T, P, N, T2, P2, N2>(
  programs: readonly ProgramOf<T, P, N>[], type: (t: T) => T2, pos: (p: P) => P2, argName: (n: N) => N2,
): ProgramOf<T2, P2, N2>[] {
  return programs.map((p) => ({
    name: p.name,
    number: p.number,
    versions: p.versions.map((v) => ({
      name: v.name,
      number: v.number,
      procedures: v.procedures.map((q) => ({
        name: q.name,
        number: q.number,
        args: q.args.map(type),
        argNames: q.argNames.map(argName),
        result: type(q.result),
        source: pos(q.source),
      })),
      source: pos(v.source),
    })),
    source: pos(p.source),
  }));
}

/** One file's schema, with the text it was compiled from. */
export interface CachedSchema {
  readonly text: string;
  readonly nodes: readonly WireNode[];
  readonly types: readonly (readonly [name: string, node: number])[];
  readonly typeSources: readonly (readonly [name: string, line: number, col: number])[];
  readonly constants: readonly (readonly [name: string, value: number])[];
  readonly programs: readonly CachedProgram[];
}

/** The file the build writes: built-in file name → its compiled schema. */
export interface SchemaCacheFile {
  readonly format: typeof SCHEMA_CACHE_FORMAT;
  /** The header constants the files were compiled with (they can change what a file means). */
  readonly headerConstants: readonly (readonly [string, number])[];
  readonly specs: Readonly<Record<string, CachedSchema>>;
}

export const SCHEMA_CACHE_FORMAT = 1;

/** The schema of `path` alone (compiled from `text`) as cache data; throws when it holds a position of another file. */
export function encodeSchema(schema: Schema, path: string, text: string): CachedSchema {
  if (schema.files.length !== 1 || schema.files[0] !== path) throw new Error(`encodeSchema: the schema is not that of ${path} alone`);
  const sender = new TypeSender();
  const pos = (p: SourcePos): CachedPos => {
    if (p.file !== path) throw new Error(`encodeSchema: a position in ${p.file}, not ${path}`);
    return [p.line, p.col];
  };
  const programs: CachedProgram[] = mapPrograms(schema.programs, (t) => sender.idOf(t), pos, (n) => n ?? null);
  const types = [...schema.types].map(([name, t]) => [name, sender.idOf(t)] as const);
  const typeSources = [...schema.typeSources].map(([name, p]) => {
    const [line, col] = pos(p);
    return [name, line, col] as const;
  });
  return { text, nodes: sender.takeNew()?.nodes ?? [], types, typeSources, constants: [...schema.constants], programs };
}

/**
 * The schema back, its positions in `path`. Throws (an Error, never a SchemaError)
 * when the data does not hold together: a caller then compiles the file instead.
 */
export function decodeSchema(cached: CachedSchema, path: string): Schema {
  const receiver = new TypeReceiver();
  receiver.add({ first: 0, nodes: cached.nodes });
  const type = (id: number): XdrType => receiver.type(id);
  const pos = ([line, col]: CachedPos): SourcePos => ({ file: path, line, col });
  const programs: ProgramInfo[] = mapPrograms(cached.programs, type, pos, (n) => n ?? undefined);
  return {
    files: [path],
    types: new Map(cached.types.map(([name, id]) => [name, type(id)])),
    typeSources: new Map(cached.typeSources.map(([name, line, col]) => [name, { file: path, line, col }])),
    constants: new Map(cached.constants),
    programs,
  };
}

/** Whether the cache was made with these header constants (same names, same values, same order). */
export function sameHeaderConstants(cache: SchemaCacheFile, headerConstants: ReadonlyMap<string, number>): boolean {
  if (cache.headerConstants.length !== headerConstants.size) return false;
  let i = 0;
  for (const [name, value] of headerConstants) {
    const entry = cache.headerConstants[i++];
    if (!entry || entry[0] !== name || entry[1] !== value) return false;
  }
  return true;
}
