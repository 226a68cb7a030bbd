/**
 * An XDR body written as JSON straight from its bytes, for `summary --json -V`:
 * the text writeBodyJson gives for the decoded tree, without building the tree
 * (on NFS READ replies, building and walking it was about a third of the time).
 *
 * Only the common case is handled here: a body that decodes completely, with no
 * issue at all. It makes the decoder's checks in the decoder's order (field count,
 * nesting, declared maxima, Limits, bytes left) and gives up at the first one that
 * fails, or at anything the decoder would note (a bool that is neither 0 nor 1):
 * the caller then takes back what was written and decodes the body the usual way,
 * which locates the problem. A test compares both on every body of every sample.
 */
import type { Limits } from "../capture/limits.js";
import type { XdrType } from "../dissect/xdr-types.js";
import { derefType, fixedShape, HARD_MAX_DEPTH, listShape, minWireSize, utf8Text, type FixedShape } from "../dissect/xdr/decoder.js";
import { enumNameBytes, keyBytes, writeJsonNumber, writeJsonString } from "./body-json.js";
import { GrowingPieces } from "./line-writer.js";
import { jsonSafeString } from "./text-safety.js";

const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(NO_BYTES.buffer);

/** State for one body; one instance serves every body (nothing here calls back out). */
class Cursor {
  out!: GrowingPieces;
  /** Only the checks, nothing written (see checkXdrJson): strings are not even made. */
  checking = false;
  bytes: Uint8Array = NO_BYTES;
  view: DataView = NO_VIEW;
  pos = 0;
  end = 0;
  depth = 0;
  fields = 0;
  maxDepth = 0;
  maxFields = 0;
  maxElements = 0;
  maxOpaque = 0;

  /** Counts one decoded field, as the decoder does; false past the limit. */
  counted(): boolean {
    return ++this.fields <= this.maxFields;
  }
}

/** Writes one value and returns true, or returns false (the output is then the caller's to take back). */
type WriteFn = (c: Cursor) => boolean;

interface WritePlan {
  write: WriteFn;
}

const cursor = new Cursor();

/**
 * Writes the JSON of a `type` value that fills `bytes[start, bytes.length)` exactly
 * and returns true; false when the body is anything but complete and clean (then
 * the output holds a partial write: take it back with `out.truncate`).
 */
export function writeXdrJson(out: GrowingPieces, type: XdrType, bytes: Uint8Array, start: number, limits: Limits): boolean {
  return run(out, false, type, bytes, start, limits);
}

/**
 * Whether writeXdrJson would write this body (true exactly when it would return
 * true), found by the same code with the output thrown away: for a caller that
 * has the body written elsewhere (another thread) and must know now whether it can.
 */
export function checkXdrJson(type: XdrType, bytes: Uint8Array, start: number, limits: Limits): boolean {
  return run(discard ??= new DiscardedPieces(), true, type, bytes, start, limits);
}

/** Pieces that go nowhere: the checks of a write without its cost. */
class DiscardedPieces extends GrowingPieces {
  constructor() {
    super(64);
  }
  override room(): void {}
  override ascii(): void {}
  override int(): void {}
  override bytes(): void {}
  override raw(): void {}
  override utf8(): void {}
  override hex(): void {}
  override asciiJsonString(): boolean {
    return true;
  }
  override truncate(): void {}
  override get length(): number {
    return 0;
  }
}

let discard: DiscardedPieces | null = null;

function run(out: GrowingPieces, checking: boolean, type: XdrType, bytes: Uint8Array, start: number, limits: Limits): boolean {
  const c = cursor;
  c.out = out;
  c.checking = checking;
  c.bytes = bytes;
  c.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  c.pos = start;
  c.end = bytes.length;
  c.depth = 0;
  c.fields = 0;
  c.maxDepth = Math.min(limits.maxXdrDepth, HARD_MAX_DEPTH);
  c.maxFields = limits.maxXdrFieldsPerBody;
  c.maxElements = limits.maxXdrArrayElements;
  c.maxOpaque = limits.maxXdrOpaqueBytes;
  // Bytes after the body would be a "trailing-bytes" issue.
  const ok = planFor(type).write(c) && c.pos === c.end;
  // Let go of the record, which is reused.
  c.bytes = NO_BYTES;
  c.view = NO_VIEW;
  return ok;
}

const planCache = new WeakMap<XdrType, WritePlan>();

function planFor(t: XdrType): WritePlan {
  const cached = planCache.get(t);
  if (cached) return cached;
  const plan: WritePlan = { write: unreachable };
  // Registered before compiling, so that a recursive type finds itself.
  planCache.set(t, plan);
  plan.write = compile(t);
  return plan;
}

function unreachable(): never {
  throw new Error("XDR JSON plan used before it was compiled");
}

function padded(n: number): number {
  return n + ((4 - (n & 3)) & 3);
}

function ascii(c: Cursor, text: string): void {
  c.out.room(text.length);
  c.out.ascii(text);
}

function compile(t: XdrType): WriteFn {
  switch (t.kind) {
    case "int": return writeInt;
    case "uint": return writeUint;
    case "enum": return compileEnum(t.names);
    case "bool": return writeBool;
    case "hyper": return writeHyper;
    case "uhyper": return writeUhyper;
    case "float": return writeFloat;
    case "double": return writeDouble;
    case "quadruple": return writeQuadruple;
    case "void": return writeVoid;
    case "opaque": case "string": return t.fixed !== undefined ? compileFixedBytes(t.kind, t.fixed) : compileVariableBytes(t.kind, t.max);
    case "array": return compileArray(t.of, t.fixed, t.max);
    case "optional": {
      const list = listShape(t);
      return list ? compileList(list.struct) : compileOptional(t.of);
    }
    case "struct": return compileStruct(t);
    case "union": return compileUnion(t);
    case "ref": {
      const target = planFor(derefType(t));
      if (target.write !== unreachable) return target.write;
      const self = planCache.get(t)!;
      return (c) => {
        self.write = target.write;
        return target.write(c);
      };
    }
  }
}

/** A fixed-size leaf: counted, and all its bytes present. */
function leaf(c: Cursor, size: number): boolean {
  return c.counted() && c.pos + size <= c.end;
}

const writeInt: WriteFn = (c) => {
  if (!leaf(c, 4)) return false;
  writeJsonNumber(c.out, c.view.getInt32(c.pos));
  c.pos += 4;
  return true;
};

const writeUint: WriteFn = (c) => {
  if (!leaf(c, 4)) return false;
  writeJsonNumber(c.out, c.view.getUint32(c.pos));
  c.pos += 4;
  return true;
};

function compileEnum(names: ReadonlyMap<number, string>): WriteFn {
  return (c) => {
    if (!leaf(c, 4)) return false;
    const v = c.view.getInt32(c.pos);
    c.pos += 4;
    const name = names.get(v);
    if (name !== undefined) {
      const bytes = enumNameBytes(name);
      c.out.room(bytes.length);
      c.out.bytes(bytes);
    } else {
      writeJsonNumber(c.out, v);
    }
    return true;
  };
}

const writeBool: WriteFn = (c) => {
  if (!leaf(c, 4)) return false;
  const raw = c.view.getUint32(c.pos);
  // Any other value is an issue the decoder reports: leave it to the decoder.
  if (raw > 1) return false;
  c.pos += 4;
  ascii(c, raw === 1 ? "true" : "false");
  return true;
};

/** 2^53 / 2^32: a high word below this (in size) makes an exactly representable number. */
const SAFE_HIGH = 0x200000;

/** A 64-bit integer as the decimal string a BigInt gives (quoted, as JSON holds hypers). */
function writeQuotedInteger(c: Cursor, n: number | bigint): void {
  c.out.room(1);
  c.out.ascii('"');
  if (typeof n === "number") {
    c.out.room(24);
    c.out.int(n);
  } else {
    ascii(c, n.toString());
  }
  c.out.room(1);
  c.out.ascii('"');
}

const writeHyper: WriteFn = (c) => {
  if (!leaf(c, 8)) return false;
  const hi = c.view.getInt32(c.pos);
  // Number → text is much cheaper than BigInt → text, and the same for safe integers.
  writeQuotedInteger(c, hi >= -SAFE_HIGH && hi < SAFE_HIGH ? hi * 0x1_0000_0000 + c.view.getUint32(c.pos + 4) : c.view.getBigInt64(c.pos));
  c.pos += 8;
  return true;
};

const writeUhyper: WriteFn = (c) => {
  if (!leaf(c, 8)) return false;
  const hi = c.view.getUint32(c.pos);
  writeQuotedInteger(c, hi < SAFE_HIGH ? hi * 0x1_0000_0000 + c.view.getUint32(c.pos + 4) : c.view.getBigUint64(c.pos));
  c.pos += 8;
  return true;
};

const writeFloat: WriteFn = (c) => {
  if (!leaf(c, 4)) return false;
  writeJsonNumber(c.out, c.view.getFloat32(c.pos));
  c.pos += 4;
  return true;
};

const writeDouble: WriteFn = (c) => {
  if (!leaf(c, 8)) return false;
  writeJsonNumber(c.out, c.view.getFloat64(c.pos));
  c.pos += 8;
  return true;
};

function writeHexString(c: Cursor, from: number, n: number): void {
  c.out.room(n * 2 + 2);
  c.out.ascii('"');
  c.out.hex(c.bytes.subarray(from, from + n));
  c.out.ascii('"');
}

const writeQuadruple: WriteFn = (c) => {
  if (!leaf(c, 16)) return false;
  writeHexString(c, c.pos, 16);
  c.pos += 16;
  return true;
};

const writeVoid: WriteFn = (c) => {
  if (!c.counted()) return false;
  ascii(c, "null");
  return true;
};

function writeBytes(c: Cursor, kind: "opaque" | "string", from: number, n: number): void {
  if (c.checking) return;
  if (kind === "opaque") writeHexString(c, from, n);
  else writeJsonString(c.out, jsonSafeString(utf8Text(c.bytes.subarray(from, from + n))));
}

function compileFixedBytes(kind: "opaque" | "string", n: number): WriteFn {
  const total = padded(n);
  return (c) => {
    if (!c.counted() || n > c.maxOpaque || c.pos + total > c.end) return false;
    writeBytes(c, kind, c.pos, n);
    c.pos += total;
    return true;
  };
}

function compileVariableBytes(kind: "opaque" | "string", max: number): WriteFn {
  return (c) => {
    const p = c.pos;
    if (!c.counted() || p + 4 > c.end) return false;
    const n = c.view.getUint32(p);
    if (n > max || n > c.maxOpaque || p + 4 + padded(n) > c.end) return false;
    writeBytes(c, kind, p + 4, n);
    c.pos = p + 4 + padded(n);
    return true;
  };
}

function compileArray(of: XdrType, fixed: number | undefined, max: number): WriteFn {
  const elem = planFor(of);
  const elemMin = minWireSize(of);
  return (c) => {
    const start = c.pos;
    if (!c.counted()) return false;
    let count: number;
    if (fixed === undefined) {
      if (start + 4 > c.end) return false;
      count = c.view.getUint32(start);
      if (count > max) return false;
    } else {
      count = fixed;
    }
    const dataStart = fixed === undefined ? start + 4 : start;
    if (count > c.maxElements || count * elemMin > c.end - dataStart || c.depth >= c.maxDepth) return false;
    c.pos = dataStart;
    c.depth++;
    ascii(c, "[");
    for (let i = 0; i < count; i++) {
      if (i > 0) ascii(c, ",");
      if (!elem.write(c)) return false;
    }
    ascii(c, "]");
    c.depth--;
    return true;
  };
}

function compileOptional(of: XdrType): WriteFn {
  const inner = planFor(of);
  return (c) => {
    const p = c.pos;
    if (!c.counted() || p + 4 > c.end) return false;
    const flag = c.view.getUint32(p);
    if (flag > 1) return false;
    c.pos = p + 4;
    if (flag === 0) {
      ascii(c, "null");
      return true;
    }
    if (c.depth >= c.maxDepth) return false;
    c.depth++;
    const ok = inner.write(c);
    c.depth--;
    return ok;
  };
}

interface FieldPlan {
  readonly key: Uint8Array;
  readonly plan: WritePlan;
}

function fieldPlans(fields: readonly { readonly name: string; readonly type: XdrType }[]): FieldPlan[] {
  return fields.map((f) => ({ key: keyBytes(f.name), plan: planFor(f.type) }));
}

/** `{"a":…,"b":…}` with each field's key (its JSON text and colon, encoded once). */
function writeFields(c: Cursor, fields: readonly FieldPlan[]): boolean {
  c.out.room(1);
  c.out.ascii("{");
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    c.out.room(f.key.length + 1);
    if (i > 0) c.out.ascii(",");
    c.out.bytes(f.key);
    if (!f.plan.write(c)) return false;
  }
  c.out.room(1);
  c.out.ascii("}");
  return true;
}

/** A linked list (`struct S { …; S *next; }`) as the decoder shows it: an array of its elements' other fields. */
function compileList(struct: Extract<XdrType, { kind: "struct" }>): WriteFn {
  const fields = fieldPlans(struct.fields.slice(0, -1));
  return (c) => {
    if (!c.counted() || c.depth + 2 > c.maxDepth) return false;
    c.depth += 2;
    ascii(c, "[");
    for (let i = 0; ; i++) {
      const p = c.pos;
      if (p + 4 > c.end) return false;
      const flag = c.view.getUint32(p);
      if (flag > 1) return false;
      c.pos = p + 4;
      if (flag === 0) break;
      if (i >= c.maxElements || !c.counted()) return false;
      if (i > 0) ascii(c, ",");
      if (!writeFields(c, fields)) return false;
    }
    ascii(c, "]");
    c.depth -= 2;
    return true;
  };
}

function compileStruct(t: Extract<XdrType, { kind: "struct" }>): WriteFn {
  const fields = fieldPlans(t.fields);
  // Found on the first check (a recursive type's shape needs all of it compiled).
  let whole: FixedShape | null | undefined;
  return (c) => {
    if (c.checking) {
      if (whole === undefined) whole = checkableWhole(t);
      if (whole !== null) return checkWhole(c, whole);
    }
    if (!c.counted() || c.depth >= c.maxDepth) return false;
    c.depth++;
    const ok = writeFields(c, fields);
    c.depth--;
    return ok;
  };
}

/**
 * For checkXdrJson, a struct of one size with no bool inside (fattr3, nfstime3…) is
 * checked as a whole: its fields, nesting, size and largest fixed array and opaque are
 * static, and nothing in it depends on the bytes (a bool of 2 would).
 */
function checkableWhole(t: XdrType): FixedShape | null {
  const shape = fixedShape(t);
  return shape !== null && !holdsBool(t) ? shape : null;
}

/**
 * Whether a type of one size has a bool that is written (one in an array of length 0
 * never is, and such an array may lead back into a cycle: its element is not followed).
 */
function holdsBool(t: XdrType, seen = new Set<XdrType>()): boolean {
  const d = derefType(t);
  if (seen.has(d)) return false;
  seen.add(d);
  switch (d.kind) {
    case "bool": return true;
    case "struct": return d.fields.some((f) => holdsBool(f.type, seen));
    case "array": return d.fixed !== 0 && holdsBool(d.of, seen);
    default: return false;
  }
}

/**
 * What writing a whole fixed struct would check, at once: every field counted, the
 * deepest nesting (each level is checked as depth >= maxDepth, which a limit with a
 * fraction makes differ from depth + nesting > maxDepth), limits, bytes present.
 */
function checkWhole(c: Cursor, s: FixedShape): boolean {
  c.fields += s.fields;
  if (c.fields > c.maxFields || c.depth + s.nesting - 1 >= c.maxDepth || s.largestArray > c.maxElements ||
    s.largestOpaque > c.maxOpaque || c.pos + s.size > c.end) return false;
  c.pos += s.size;
  return true;
}

interface ArmPlan {
  readonly key: Uint8Array;
  /** The arm's value in the discriminant's place (the arm has the discriminant's name). */
  readonly replacesDisc: boolean;
  /** null: a void arm (nothing follows the discriminant). */
  readonly plan: WritePlan | null;
}

function compileUnion(t: Extract<XdrType, { kind: "union" }>): WriteFn {
  const disc = planFor(t.disc.type);
  const discKey = keyBytes(t.disc.name);
  const unsigned = derefType(t.disc.type).kind === "uint";
  const armFor = (f: { readonly name: string; readonly type: XdrType }): ArmPlan => {
    const isVoid = derefType(f.type).kind === "void";
    return { key: keyBytes(f.name), replacesDisc: !isVoid && f.name === t.disc.name, plan: isVoid ? null : planFor(f.type) };
  };
  const arms = new Map<number, ArmPlan>();
  for (const [k, f] of t.arms) arms.set(k, armFor(f));
  const fallback = t.fallback ? armFor(t.fallback) : null;
  return (c) => {
    if (!c.counted() || c.depth >= c.maxDepth) return false;
    c.depth++;
    const p = c.pos;
    // The discriminant is read before it is written: the arm decides whether it is shown.
    if (p + 4 > c.end) return false;
    const key = unsigned ? c.view.getUint32(p) : c.view.getInt32(p);
    const chosen = arms.get(key) ?? fallback;
    c.out.room(discKey.length + 1);
    c.out.ascii("{");
    c.out.bytes(discKey);
    if (chosen !== null && chosen.replacesDisc) {
      // The discriminant still counts as a field and takes its bytes, as in the decoder.
      const mark = c.out.length;
      if (!disc.write(c)) return false;
      c.out.truncate(mark);
    } else if (!disc.write(c)) {
      return false;
    }
    // No arm for this value and no default: malformed, the decoder's to report.
    if (chosen === null) return false;
    if (chosen.plan !== null) {
      if (!chosen.replacesDisc) {
        c.out.room(chosen.key.length + 1);
        c.out.ascii(",");
        c.out.bytes(chosen.key);
      }
      if (!chosen.plan.write(c)) return false;
    }
    c.out.room(1);
    c.out.ascii("}");
    c.depth--;
    return true;
  };
}
