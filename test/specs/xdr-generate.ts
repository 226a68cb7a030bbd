/**
 * Encodes a random value of a schema type (RFC 4506), for feeding generated
 * messages to an independent dissector. Sizes are kept small; recursion through
 * optional data (linked lists) stops after a few links.
 */
import type { XdrType } from "../../dissect/xdr-types.js";
import { deref } from "./xdr-walk.js";

/** A small deterministic PRNG (mulberry32) so a failing case can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class XdrWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number): this {
    this.room(4);
    this.view.setUint32(this.length, v >>> 0);
    this.length += 4;
    return this;
  }
  bytes(b: Uint8Array, withLength: boolean): this {
    if (withLength) this.u32(b.length);
    const padded = (b.length + 3) & ~3;
    this.room(padded);
    this.buf.set(b, this.length);
    this.buf.fill(0, this.length + b.length, this.length + padded);
    this.length += padded;
    return this;
  }
  string(s: string): this {
    return this.bytes(new TextEncoder().encode(s), true);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface GenerateOptions {
  /** Replaces the random choice for a named type (struct, union, enum or typedef). */
  readonly override?: (name: string, out: XdrWriter) => boolean;
  /** Union arms never to choose, by union name and discriminant value. */
  readonly avoid?: (union: string, disc: number) => boolean;
  /** Longest opaque or string generated. */
  readonly maxBytes?: number;
  /** Longest variable-length array generated. */
  readonly maxCount?: number;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

export function generate(type: XdrType, out: XdrWriter, random: () => number, options: GenerateOptions = {}, depth = 0): void {
  const pick = (n: number): number => Math.floor(random() * n);
  const maxBytes = options.maxBytes ?? 12;
  const maxCount = options.maxCount ?? 2;
  switch (type.kind) {
    case "ref": {
      if (options.override?.(type.name, out)) return;
      generate(type.target(), out, random, options, depth + 1);
      return;
    }
    case "void":
      return;
    case "int":
    case "uint":
    case "float":
      out.u32(pick(1000));
      return;
    case "bool":
      out.u32(pick(2));
      return;
    case "enum": {
      if (options.override?.(type.name, out)) return;
      const values = [...type.names.keys()];
      out.u32(values[pick(values.length)]!);
      return;
    }
    case "hyper":
    case "uhyper":
    case "double":
      out.u32(0).u32(pick(100000));
      return;
    case "quadruple":
      out.u32(0).u32(0).u32(0).u32(pick(1000));
      return;
    case "opaque":
    case "string": {
      const len = type.fixed ?? pick(Math.min(type.max, maxBytes) + 1);
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) b[i] = type.kind === "string" ? LETTERS.charCodeAt(pick(26)) : pick(256);
      out.bytes(b, type.fixed === undefined);
      return;
    }
    case "array": {
      const count = type.fixed ?? pick(Math.min(type.max, maxCount) + 1);
      if (type.fixed === undefined) out.u32(count);
      for (let i = 0; i < count; i++) generate(type.of, out, random, options, depth + 1);
      return;
    }
    case "optional": {
      const present = depth < 40 && pick(2) === 1;
      out.u32(present ? 1 : 0);
      if (present) generate(type.of, out, random, options, depth + 1);
      return;
    }
    case "struct":
      if (options.override?.(type.name, out)) return;
      for (const f of type.fields) generate(f.type, out, random, options, depth + 1);
      return;
    case "union": {
      if (options.override?.(type.name, out)) return;
      const avoided = (k: number): boolean => options.avoid?.(type.name, k) ?? false;
      const keys = [...type.arms.keys()].filter((k) => !avoided(k));
      // Values that select the default arm: the enum's other values, or small numbers no arm claims.
      const disc0 = deref(type.disc.type);
      const pool =
        disc0.kind === "enum" ? [...disc0.names.keys()]
        : disc0.kind === "bool" ? [0, 1]
        : Array.from({ length: 64 }, (_, i) => i + 1);
      const spare = type.fallback ? pool.filter((k) => !type.arms.has(k) && !avoided(k)) : [];
      const useDefault = spare.length > 0 && (keys.length === 0 || pick(keys.length + 1) === keys.length);
      let disc: number;
      let armType: XdrType;
      if (useDefault) {
        disc = spare[pick(spare.length)]!;
        armType = type.fallback!.type;
      } else {
        if (!keys.length) throw new Error(`union ${type.name} has no arm to choose`);
        disc = keys[pick(keys.length)]!;
        armType = type.arms.get(disc)!.type;
      }
      out.u32(disc);
      generate(armType, out, random, options, depth + 1);
      return;
    }
  }
}
