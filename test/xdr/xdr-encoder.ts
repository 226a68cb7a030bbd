/**
 * Test-only XDR encoder (RFC 4506) and helpers to compare a decoded tree with the
 * value it was encoded from. The value model:
 * int/uint/enum → number; hyper → bigint; bool → boolean; float/double → number;
 * opaque/string/quadruple → Uint8Array; void → null; array → XdrValue[];
 * optional → XdrValue | null; struct → { [field]: XdrValue }; union → { disc, arm }.
 *
 * The encoder also records each node's [offset, length] in pre-order, the order
 * in which the decoder's tree lists them, so byte ranges can be compared.
 */
import type { DecodedField, XdrType } from "../../dissect/xdr-types.js";
import { derefType } from "../../dissect/xdr/decoder.js";

export type XdrValue =
  | number
  | bigint
  | boolean
  | Uint8Array
  | null
  | readonly XdrValue[]
  | { readonly disc: number; readonly arm: XdrValue }
  | { readonly [field: string]: XdrValue };

export interface Encoded {
  readonly bytes: Uint8Array;
  /** [offset, length] of every node, pre-order. */
  readonly spans: readonly (readonly [number, number])[];
}

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.length, v | 0);
    this.length += 4;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.length, v);
    this.length += 8;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.length, v);
    this.length += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.length, v);
    this.length += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.length, v);
    this.length += 8;
  }

  /** Bytes plus zero padding to a multiple of 4 (RFC 4506 §4.9). */
  padded(bytes: Uint8Array): void {
    const total = (bytes.length + 3) & ~3;
    this.ensure(total);
    this.buf.set(bytes, this.length);
    this.buf.fill(0, this.length + bytes.length, this.length + total);
    this.length += total;
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function encodeXdr(type: XdrType, value: XdrValue): Encoded {
  const w = new Writer();
  const spans: [number, number][] = [];
  encodeInto(w, spans, type, value);
  return { bytes: w.result(), spans };
}

function encodeInto(w: Writer, spans: [number, number][], type: XdrType, value: XdrValue): void {
  const t = derefType(type);
  const span: [number, number] = [w.length, 0];
  spans.push(span);
  switch (t.kind) {
    case "int": case "enum": w.i32(value as number); break;
    case "uint": w.u32(value as number); break;
    case "bool": w.u32(value ? 1 : 0); break;
    case "hyper": w.i64(value as bigint); break;
    case "uhyper": w.u64(value as bigint); break;
    case "float": w.f32(value as number); break;
    case "double": w.f64(value as number); break;
    case "quadruple": w.padded(value as Uint8Array); break;
    case "void": break;
    case "opaque": case "string": {
      const bytes = value as Uint8Array;
      if (t.fixed === undefined) w.u32(bytes.length);
      w.padded(bytes);
      break;
    }
    case "array": {
      const items = value as readonly XdrValue[];
      if (t.fixed === undefined) w.u32(items.length);
      for (const item of items) encodeInto(w, spans, t.of, item);
      break;
    }
    case "optional":
      w.u32(value === null ? 0 : 1);
      if (value !== null) encodeInto(w, spans, t.of, value);
      break;
    case "struct": {
      const obj = value as { readonly [k: string]: XdrValue };
      for (const f of t.fields) encodeInto(w, spans, f.type, obj[f.name] ?? null);
      break;
    }
    case "union": {
      const u = value as { readonly disc: number; readonly arm: XdrValue };
      encodeInto(w, spans, t.disc.type, derefType(t.disc.type).kind === "bool" ? u.disc === 1 : u.disc);
      const key = derefType(t.disc.type).kind === "uint" ? u.disc >>> 0 : u.disc | 0;
      const arm = t.arms.get(key) ?? t.fallback;
      if (!arm) throw new Error(`encoder: no arm for ${u.disc}`);
      if (derefType(arm.type).kind !== "void") encodeInto(w, spans, arm.type, u.arm);
      break;
    }
    case "ref":
      throw new Error("unreachable: deref'd");
  }
  span[1] = w.length - span[0];
}

/** The value model of a decoded tree (the inverse of encodeXdr for well-formed input). */
export function decodedToValue(field: DecodedField): XdrValue {
  const v = field.value;
  switch (v.kind) {
    case "int": case "float": case "enum": return v.value;
    case "hyper": return v.value;
    case "bool": return v.value;
    case "opaque": case "string": return v.bytes;
    case "void": return null;
    case "array": return v.elements.map(decodedToValue);
    case "optional": return v.value ? decodedToValue(v.value) : null;
    case "struct": {
      const out: { [k: string]: XdrValue } = {};
      for (const f of v.fields) out[f.name] = decodedToValue(f);
      return out;
    }
    case "union": {
      const d = v.disc.value;
      const disc = d.kind === "bool" ? d.raw : d.kind === "int" || d.kind === "enum" ? d.value : NaN;
      return { disc, arm: v.arm ? decodedToValue(v.arm) : null };
    }
    case "malformed":
      throw new Error(`malformed: ${v.error.message}`);
  }
}

/** [offset, length] of every node of a decoded tree, pre-order. */
export function decodedSpans(field: DecodedField): [number, number][] {
  const out: [number, number][] = [];
  const stack: DecodedField[] = [field];
  while (stack.length) {
    const f = stack.pop()!;
    out.push([f.offset, f.length]);
    const v = f.value;
    const children: DecodedField[] = [];
    if (v.kind === "struct") children.push(...v.fields);
    else if (v.kind === "array") children.push(...v.elements);
    else if (v.kind === "optional" && v.value) children.push(v.value);
    else if (v.kind === "union") {
      children.push(v.disc);
      if (v.arm) children.push(v.arm);
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

/** Walks a decoded tree (iteratively) and returns its malformed field, if any. */
export function findMalformed(field: DecodedField): DecodedField | null {
  const stack: DecodedField[] = [field];
  while (stack.length) {
    const f = stack.pop()!;
    const v = f.value;
    if (v.kind === "malformed") return f;
    if (v.kind === "struct") stack.push(...v.fields);
    else if (v.kind === "array") stack.push(...v.elements);
    else if (v.kind === "optional" && v.value) stack.push(v.value);
    else if (v.kind === "union") {
      stack.push(v.disc);
      if (v.arm) stack.push(v.arm);
    }
  }
  return null;
}
