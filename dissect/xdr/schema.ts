/**
 * What a loaded set of `.x` files is, once resolved: named types as readonly
 * descriptors, constants, and programs with their versions and procedures.
 */
import type { SourcePos, XdrType } from "../xdr-types.js";

export interface ProcedureInfo {
  readonly name: string;
  readonly number: number;
  /** One per argument; empty for `(void)`. */
  readonly args: readonly XdrType[];
  /** Argument names where the `.x` gave them (rpcgen -N style), else undefined. */
  readonly argNames: readonly (string | undefined)[];
  /** `{kind: "void"}` for a void result. */
  readonly result: XdrType;
  readonly source: SourcePos;
}

export interface VersionInfo {
  readonly name: string;
  readonly number: number;
  readonly procedures: readonly ProcedureInfo[];
  readonly source: SourcePos;
}

export interface ProgramInfo {
  readonly name: string;
  readonly number: number;
  readonly versions: readonly VersionInfo[];
  readonly source: SourcePos;
}

export interface Schema {
  /** Paths of the files it was loaded from, in load order. */
  readonly files: readonly string[];
  /**
   * Named types (typedef, struct, union, enum) to their descriptors. A typedef of a
   * named type maps to a `ref`; struct/union/enum map to their own descriptor.
   */
  readonly types: ReadonlyMap<string, XdrType>;
  /** Where each named type was defined. */
  readonly typeSources: ReadonlyMap<string, SourcePos>;
  /** `const` definitions, enum members and numeric `#define`s (string constants are left out). */
  readonly constants: ReadonlyMap<string, number>;
  readonly programs: readonly ProgramInfo[];
}

export interface LoadOptions {
  /**
   * The user's constants (rpcgen's -D), also visible to `#if`. They win over the
   * file's `%#define` (cpp substitutes them before rpcgen sees the name), not over
   * its `const`, enum members or `#define` (a later `#define` replaces a -D in cpp).
   */
  readonly defines?: ReadonlyMap<string, number>;
  /**
   * Values shipped for names a `.x` takes from C headers it never includes for cpp
   * (libvirt's LIBVIRT_DEFINES): the last resort before TRUE/FALSE, below anything
   * the files define themselves and below `defines`; visible to `#if` the same way.
   */
  readonly headerConstants?: ReadonlyMap<string, number>;
  /** Stop collecting after this many errors (default 20). */
  readonly maxErrors?: number;
  /** Longest chain of constants defined by constants or typedefs of typedefs (default 64). */
  readonly maxSchemaDepth?: number;
}
