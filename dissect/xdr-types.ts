/**
 * Schemas as plain data (RFC 4506) and the decoded field tree.
 * Types are readonly descriptors discriminated by `kind`; named types are
 * referenced through `ref` so recursive types (linked lists) are representable.
 */
import type { Malformed } from "./malformed.js";

export interface SourcePos {
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

export interface Field {
  readonly name: string;
  readonly type: XdrType;
}

export type XdrType =
  | { readonly kind: "int" | "uint" | "hyper" | "uhyper" | "bool" | "float" | "double" | "quadruple" | "void" }
  | { readonly kind: "enum"; readonly name: string; readonly names: ReadonlyMap<number, string> }
  | { readonly kind: "opaque" | "string"; readonly fixed?: number; readonly max: number }
  | { readonly kind: "array"; readonly of: XdrType; readonly fixed?: number; readonly max: number }
  | { readonly kind: "optional"; readonly of: XdrType }
  | { readonly kind: "struct"; readonly name: string; readonly fields: readonly Field[] }
  | {
      readonly kind: "union"; readonly name: string; readonly disc: Field;
      readonly arms: ReadonlyMap<number, Field>; readonly fallback?: Field;
    }
  /** A named type (typedef, or struct/union/enum by name), resolved lazily through the schema. */
  | { readonly kind: "ref"; readonly name: string; readonly target: () => XdrType };

/** One decoded value with where it sits in the message bytes. */
export interface DecodedField {
  /** Field name, or "[i]" for an array element, "*" for optional data. */
  readonly name: string;
  /** Type name as written in the schema ("nfs_fh3", "unsigned int", "opaque<>"). */
  readonly typeName: string;
  /** Byte offset from the start of the RPC message (record). */
  readonly offset: number;
  readonly length: number;
  readonly value: DecodedValue;
}

export type DecodedValue =
  | { readonly kind: "int"; readonly value: number }
  | { readonly kind: "hyper"; readonly value: bigint }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean; readonly raw: number }
  | { readonly kind: "enum"; readonly value: number; readonly name: string | null }
  | { readonly kind: "opaque"; readonly bytes: Uint8Array }
  | { readonly kind: "string"; readonly bytes: Uint8Array; readonly text: string }
  | { readonly kind: "struct"; readonly fields: readonly DecodedField[] }
  | {
      readonly kind: "union"; readonly disc: DecodedField;
      /** The arm chosen by the discriminant; null for a void arm. */
      readonly arm: DecodedField | null;
    }
  | { readonly kind: "array"; readonly count: number; readonly elements: readonly DecodedField[] }
  | { readonly kind: "optional"; readonly value: DecodedField | null }
  | { readonly kind: "void" }
  /** Decoding stopped here; fields before it stay valid. */
  | { readonly kind: "malformed"; readonly error: Malformed };

/** A procedure of a program version, as the registry knows it. */
export interface ProcedureDef {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly name: string;
  readonly progName: string;
  /** One entry per argument (rpcgen -N style allows several); empty for void. */
  readonly args: readonly XdrType[];
  readonly result: XdrType;
  /** Where it was defined. */
  readonly source?: SourcePos;
}

/**
 * A decoded body whose opaque and string bytes are copies. Decoding leaves them
 * as views into the record, which is valid only while the record is handed on;
 * whoever keeps a body for later (a line written once its reply is seen, a filter
 * evaluated when the exchange ends) keeps this instead.
 */
export function detachDecoded(field: DecodedField): DecodedField {
  const v = field.value;
  switch (v.kind) {
    case "opaque":
      return { ...field, value: { kind: "opaque", bytes: v.bytes.slice() } };
    case "string":
      return { ...field, value: { kind: "string", bytes: v.bytes.slice(), text: v.text } };
    case "struct":
      return { ...field, value: { kind: "struct", fields: v.fields.map(detachDecoded) } };
    case "union":
      return { ...field, value: { kind: "union", disc: detachDecoded(v.disc), arm: v.arm && detachDecoded(v.arm) } };
    case "array":
      return { ...field, value: { kind: "array", count: v.count, elements: v.elements.map(detachDecoded) } };
    case "optional":
      return { ...field, value: { kind: "optional", value: v.value && detachDecoded(v.value) } };
    default:
      return field;
  }
}
