/**
 * Syntax tree of the XDR / RPC language (RFC 4506 §6.3, RFC 5531 §12.2), as the
 * parser builds it: names are not resolved yet, every node keeps where it was
 * written so the resolve pass can point at it.
 */
import type { SourcePos } from "../xdr-types.js";

export type { SourcePos };

/** A number, a named constant (or enum member), or — only in `const` — a string. */
export type Value =
  | { readonly kind: "number"; readonly value: number; readonly pos: SourcePos }
  | { readonly kind: "name"; readonly name: string; readonly pos: SourcePos }
  | { readonly kind: "string"; readonly text: string; readonly pos: SourcePos };

/**
 * Built-in type keywords after normalisation: rpcgen's `char`, `short` and `long`
 * are kept as written (they are one 4-byte XDR integer each, but the name is shown).
 */
export type PrimitiveName =
  | "int" | "unsigned int" | "hyper" | "unsigned hyper" | "float" | "double" | "quadruple" | "bool"
  | "char" | "unsigned char" | "short" | "unsigned short" | "long" | "unsigned long"
  | "opaque" | "string";

/** type-specifier (RFC 4506 §6.3). */
export type TypeSpec =
  | { readonly kind: "primitive"; readonly name: PrimitiveName; readonly pos: SourcePos }
  /** A name; `tag` when written `struct foo`, `union foo` or `enum foo`. */
  | { readonly kind: "named"; readonly name: string; readonly tag?: "struct" | "union" | "enum"; readonly pos: SourcePos }
  /** Anonymous `enum { … }`, `struct { … }`, `union switch (…) { … }` written in place. */
  | { readonly kind: "enum"; readonly body: EnumBody; readonly pos: SourcePos }
  | { readonly kind: "struct"; readonly body: StructBody; readonly pos: SourcePos }
  | { readonly kind: "union"; readonly body: UnionBody; readonly pos: SourcePos };

/** How a declaration wraps its type (RFC 4506 §6.3 declaration). */
export type DeclShape =
  | { readonly kind: "plain" }
  | { readonly kind: "fixed"; readonly size: Value }
  /** `<N>`; `max` absent for `<>`. */
  | { readonly kind: "variable"; readonly max?: Value }
  | { readonly kind: "optional" };

export type Declaration =
  | { readonly kind: "void"; readonly pos: SourcePos }
  | {
      readonly kind: "declaration";
      readonly type: TypeSpec;
      readonly name: string;
      readonly shape: DeclShape;
      readonly pos: SourcePos;
    };

export interface EnumMember {
  readonly name: string;
  /** Absent when the `.x` relies on C's implicit numbering (rpcgen accepts it). */
  readonly value?: Value;
  readonly pos: SourcePos;
}

export interface EnumBody {
  readonly members: readonly EnumMember[];
  readonly pos: SourcePos;
}

export interface StructBody {
  readonly fields: readonly Declaration[];
  readonly pos: SourcePos;
}

export interface CaseArm {
  readonly labels: readonly Value[];
  readonly decl: Declaration;
  readonly pos: SourcePos;
}

export interface UnionBody {
  readonly discriminant: Declaration;
  readonly arms: readonly CaseArm[];
  readonly fallback?: Declaration;
  readonly pos: SourcePos;
}

/** One argument of a procedure (RFC 5531 §12.2; names and `<>` are rpcgen -N extensions). */
export interface ProcedureArg {
  readonly type: TypeSpec;
  readonly name?: string;
  readonly shape: DeclShape;
  readonly pos: SourcePos;
}

export interface ProcedureDefNode {
  readonly kind: "procedure";
  readonly name: string;
  readonly number: Value;
  /** null for `void`. */
  readonly result: ProcedureArg | null;
  /** Empty for `(void)`. */
  readonly args: readonly ProcedureArg[];
  readonly pos: SourcePos;
}

export interface VersionDefNode {
  readonly kind: "version";
  readonly name: string;
  readonly number: Value;
  readonly procedures: readonly ProcedureDefNode[];
  readonly pos: SourcePos;
}

export type Definition =
  | { readonly kind: "const"; readonly name: string; readonly value: Value; readonly pos: SourcePos }
  | { readonly kind: "typedef"; readonly decl: Declaration & { readonly kind: "declaration" }; readonly pos: SourcePos }
  | { readonly kind: "enum"; readonly name: string; readonly body: EnumBody; readonly pos: SourcePos }
  | { readonly kind: "struct"; readonly name: string; readonly body: StructBody; readonly pos: SourcePos }
  | { readonly kind: "union"; readonly name: string; readonly body: UnionBody; readonly pos: SourcePos }
  | {
      readonly kind: "program";
      readonly name: string;
      readonly number: Value;
      readonly versions: readonly VersionDefNode[];
      readonly pos: SourcePos;
    };

/** `#include "file"` lines met while lexing; the loader may resolve them. */
export interface IncludeDirective {
  readonly path: string;
  readonly pos: SourcePos;
}

export interface SpecFile {
  readonly path: string;
  readonly definitions: readonly Definition[];
  readonly includes: readonly IncludeDirective[];
  /** Numeric `#define` and `%#define` lines (cpp or the C compiler would substitute them). */
  readonly macros: readonly MacroDefinition[];
}

export interface MacroDefinition {
  readonly name: string;
  readonly value: number;
  readonly pos: SourcePos;
  /** From a `%#define` (C pass-through): below the files' own definitions and --define, above shipped header constants. */
  readonly passThrough: boolean;
}
