/**
 * A strict XDR walker over the schema descriptors, for checking the built-in
 * specs against captured traffic. It stands in for the project's body decoder
 * in these tests (it does not build a tree) and is deliberately stricter than a
 * dissector should be: an unknown enum value, a bool other than 0/1, non-zero
 * padding, an over-long opaque or a union value with no arm all stop the walk,
 * because each of them means the spec and the bytes disagree about the layout.
 */
import type { XdrType } from "../../dissect/xdr-types.js";

export class WalkError extends Error {
  constructor(readonly offset: number, readonly path: string, detail: string) {
    super(`${detail} at +${offset} (${path})`);
  }
}

export interface WalkHooks {
  /** Called with the discriminant of every union decoded, by union name. */
  readonly union?: (name: string, disc: number) => void;
}

const MAX_DEPTH = 400;

export function walk(type: XdrType, view: DataView, offset: number, hooks: WalkHooks = {}, path = "", depth = 0): number {
  if (depth > MAX_DEPTH) throw new WalkError(offset, path, "nesting too deep");
  const need = (n: number): void => {
    if (offset + n > view.byteLength) throw new WalkError(offset, path, `needs ${n} bytes, ${view.byteLength - offset} left`);
  };
  const word = (): number => {
    need(4);
    const v = view.getUint32(offset);
    offset += 4;
    return v;
  };
  const bytes = (len: number): void => {
    const padded = (len + 3) & ~3;
    need(padded);
    for (let i = offset + len; i < offset + padded; i++) {
      if (view.getUint8(i) !== 0) throw new WalkError(i, path, "non-zero padding");
    }
    offset += padded;
  };

  switch (type.kind) {
    case "ref":
      return walk(type.target(), view, offset, hooks, path || type.name, depth + 1);
    case "void":
      return offset;
    case "int":
    case "uint":
    case "float":
      word();
      return offset;
    case "bool": {
      const v = word();
      if (v > 1) throw new WalkError(offset - 4, path, `bool is ${v}`);
      return offset;
    }
    case "enum": {
      const v = word() | 0;
      if (!type.names.has(v)) throw new WalkError(offset - 4, path, `${v} is not a value of enum ${type.name}`);
      return offset;
    }
    case "hyper":
    case "uhyper":
    case "double":
      need(8);
      return offset + 8;
    case "quadruple":
      need(16);
      return offset + 16;
    case "opaque":
    case "string": {
      const len = type.fixed ?? word();
      if (len > type.max) throw new WalkError(offset - 4, path, `length ${len} over the maximum ${type.max}`);
      bytes(len);
      return offset;
    }
    case "array": {
      const count = type.fixed ?? word();
      if (count > type.max) throw new WalkError(offset - 4, path, `count ${count} over the maximum ${type.max}`);
      // Every element takes at least 4 bytes unless it is void: a cheap bound before looping.
      if (count * 4 > view.byteLength - offset && deref(type.of).kind !== "void") {
        throw new WalkError(offset, path, `count ${count} cannot fit`);
      }
      for (let i = 0; i < count; i++) offset = walk(type.of, view, offset, hooks, `${path}[${i}]`, depth + 1);
      return offset;
    }
    case "optional": {
      const present = word();
      if (present > 1) throw new WalkError(offset - 4, path, `optional flag is ${present}`);
      return present ? walk(type.of, view, offset, hooks, `${path}*`, depth + 1) : offset;
    }
    case "struct":
      for (const f of type.fields) offset = walk(f.type, view, offset, hooks, `${path}.${f.name}`, depth + 1);
      return offset;
    case "union": {
      const discType = deref(type.disc.type);
      const start = offset;
      offset = walk(type.disc.type, view, offset, hooks, `${path}.${type.disc.name}`, depth + 1);
      const raw = view.getUint32(start);
      const disc = discType.kind === "uint" ? raw : raw | 0;
      hooks.union?.(type.name, disc);
      const arm = type.arms.get(disc) ?? type.fallback;
      if (!arm) throw new WalkError(start, path, `no arm of union ${type.name} for ${disc}`);
      return walk(arm.type, view, offset, hooks, `${path}.${arm.name}`, depth + 1);
    }
  }
}

export function deref(t: XdrType): XdrType {
  let cur = t;
  for (let i = 0; i < 64 && cur.kind === "ref"; i++) cur = cur.target();
  return cur;
}
