/**
 * Schema-driven XDR decoder (RFC 4506): bytes + XdrType → DecodedField tree with
 * absolute offsets and lengths.
 *
 * Each type is compiled once into a small decode plan (cached per descriptor in a
 * WeakMap, registered before its children so recursive types resolve).
 *
 * Hostile input:
 * - Every length and count is checked, before anything is allocated or looped,
 *   against the declared maximum (`invalid`), the Limits (`over-limit`) and the
 *   bytes left (`short` past the message's end, `truncated` past what was captured).
 * - Decoding stops at the first malformed field; everything before stays in the tree
 *   and the malformed field carries a `Malformed` (code, offset, path).
 * - The JS stack does not grow with packet data: a self-referential list
 *   (`struct S { …; S *next; }`, RFC 4506 §4.19) is decoded in a loop and shown as
 *   an array of elements; every other nesting (struct, union, array, optional)
 *   counts against `maxXdrDepth`, capped at HARD_MAX_DEPTH whatever the limit says.
 *
 * A flattened list element covers its "value follows" word and the struct's fields
 * except the `next` pointer (the next element's word); the list node also covers
 * the final FALSE word. So element byte ranges tile the list exactly.
 */
import type { Limits } from "../../capture/limits.js";
import { Malformed, type Issue, type MalformedCode } from "../malformed.js";
import type { DecodedField, DecodedValue, XdrType } from "../xdr-types.js";

/** Nesting never goes deeper than this, even if Limits allow more (keeps the JS stack safe). */
export const HARD_MAX_DEPTH = 512;

const XDR_UNBOUNDED = 0xffffffff;

export interface DecodeOptions {
  /** Name of the top field (default "body"). */
  readonly name?: string;
  /** Type name shown for the top field (default: derived from the type). */
  readonly typeName?: string;
  /** First offset of `bytes` that was not captured (snaplen); reads past it are "truncated". */
  readonly truncatedAt?: number;
}

export interface DecodeResult {
  readonly field: DecodedField;
  /** Offset just past the last byte decoded (where it stopped, if malformed). */
  readonly end: number;
  /** The error decoding stopped at, or null when the body decoded completely. */
  readonly malformed: Malformed | null;
  /** Anomalies that did not stop decoding (a bool that is neither 0 nor 1). */
  readonly issues: readonly Issue[];
}

type DecodeFn = (c: Ctx, name: string, typeName: string) => DecodedField;

interface Plan {
  decode: DecodeFn;
  readonly typeName: string;
}

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY_BYTES.buffer);

/** Mutable decoding state for one body; one instance is reused from body to body. */
class Ctx {
  bytes: Uint8Array = EMPTY_BYTES;
  view: DataView = EMPTY_VIEW;
  pos = 0;
  capturedEnd = 0;
  declaredEnd = 0;
  depth = 0;
  fields = 0;
  failed: Malformed | null = null;
  readonly path: (string | number)[] = [];
  pathLen = 0;
  /** Allocated on the first issue only: most bodies have none. */
  issues: Issue[] | null = null;
  maxDepth = 0;
  maxFields = 0;
  maxElements = 0;
  maxOpaque = 0;
  busy = false;

  reset(bytes: Uint8Array, start: number, capturedEnd: number, declaredEnd: number, limits: Limits): void {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.capturedEnd = capturedEnd;
    this.declaredEnd = declaredEnd;
    this.depth = 0;
    this.fields = 0;
    this.failed = null;
    this.pathLen = 0;
    this.issues = null;
    this.maxDepth = Math.min(limits.maxXdrDepth, HARD_MAX_DEPTH);
    this.maxFields = limits.maxXdrFieldsPerBody;
    this.maxElements = limits.maxXdrArrayElements;
    this.maxOpaque = limits.maxXdrOpaqueBytes;
  }

  /** Lets go of the message bytes so the context does not keep them alive. */
  release(): void {
    this.bytes = EMPTY_BYTES;
    this.view = EMPTY_VIEW;
    this.busy = false;
  }

  issue(issue: Issue): void {
    (this.issues ??= []).push(issue);
  }

  /** Records the error and returns the malformed field that stands for it. */
  fail(code: MalformedCode, offset: number, name: string, typeName: string, detail: string): DecodedField {
    const error = new Malformed(code, offset, this.path.slice(0, this.pathLen), detail);
    this.failed = error;
    return { name, typeName, offset, length: 0, value: { kind: "malformed", error } };
  }

  /** The error for `n` bytes missing at `at`: truncated (not captured) or short (not in the message). */
  missing(at: number, n: number, name: string, typeName: string): DecodedField {
    if (at + n <= this.declaredEnd) {
      return this.fail("truncated", at, name, typeName,
        `${typeName} needs ${n} bytes, only ${Math.max(0, this.capturedEnd - at)} captured`);
    }
    return this.fail("short", at, name, typeName,
      `${typeName} needs ${n} bytes, the message has ${Math.max(0, this.declaredEnd - at)} left`);
  }

  tooManyFields(name: string, typeName: string): DecodedField {
    return this.fail("over-limit", this.pos, name, typeName,
      `more than ${this.maxFields} fields in one body (maxXdrFieldsPerBody)`);
  }

  tooDeep(name: string, typeName: string): DecodedField {
    return this.fail("over-limit", this.pos, name, typeName,
      `nesting deeper than ${this.maxDepth} levels (maxXdrDepth)`);
  }
}

// --- public entry points -------------------------------------------------------

const sharedCtx = new Ctx();
const NO_ISSUES: readonly Issue[] = Object.freeze([]);

/**
 * Decodes one value of `type` from `bytes[start, end)`. `bytes` is the whole RPC
 * message so offsets are absolute. Never throws for bad input.
 */
export function decodeXdr(
  type: XdrType,
  bytes: Uint8Array,
  start: number,
  end: number,
  limits: Limits,
  options: DecodeOptions = {},
): DecodeResult {
  const declaredEnd = Math.max(start, end);
  const capturedEnd = Math.max(start, Math.min(declaredEnd, bytes.length, options.truncatedAt ?? Infinity));
  const plan = planFor(type);
  // Decoding calls nothing outside this module, so one context serves every body;
  // a fresh one only if a decode were ever nested.
  const c = sharedCtx.busy ? new Ctx() : sharedCtx;
  c.busy = true;
  c.reset(bytes, start, capturedEnd, declaredEnd, limits);
  const name = options.name ?? "body";
  c.path[c.pathLen++] = name;
  const field = plan.decode(c, name, options.typeName ?? plan.typeName);
  const result: DecodeResult = { field, end: c.pos, malformed: c.failed, issues: c.issues ?? NO_ISSUES };
  c.release();
  return result;
}

/** The type name a field of this type shows ("unsigned int", "opaque<>", "nfs_fh3", "entry3 *"). */
export function xdrTypeName(t: XdrType): string {
  switch (t.kind) {
    case "ref": return t.name;
    case "uint": return "unsigned int";
    case "uhyper": return "unsigned hyper";
    case "enum": case "struct": case "union": return t.name;
    case "opaque": case "string":
      return t.fixed !== undefined ? `${t.kind}[${t.fixed}]` : t.max === XDR_UNBOUNDED ? `${t.kind}<>` : `${t.kind}<${t.max}>`;
    case "array":
      return `${xdrTypeName(t.of)}${t.fixed !== undefined ? `[${t.fixed}]` : t.max === XDR_UNBOUNDED ? "<>" : `<${t.max}>`}`;
    case "optional": return `${xdrTypeName(t.of)} *`;
    default: return t.kind;
  }
}

/** Follows `ref`s to a concrete descriptor (bounded: a broken chain ends as void). */
export function derefType(t: XdrType): XdrType {
  for (let i = 0; i < 1000 && t.kind === "ref"; i++) t = t.target();
  return t.kind === "ref" ? { kind: "void" } : t;
}

/**
 * Fewest bytes a value of this type can take on the wire: used to reject a count
 * that could not fit in the bytes left before looping over it.
 */
export function minWireSize(t: XdrType): number {
  const cached = minSizeCache.get(t);
  if (cached !== undefined) return cached;
  minSizeCache.set(t, 0); // a cycle (only possible through refs) counts as 0 while computing
  let size: number;
  switch (t.kind) {
    case "int": case "uint": case "bool": case "float": case "enum": size = 4; break;
    case "hyper": case "uhyper": case "double": size = 8; break;
    case "quadruple": size = 16; break;
    case "void": size = 0; break;
    case "opaque": case "string": size = t.fixed !== undefined ? padded(t.fixed) : 4; break;
    case "optional": size = 4; break;
    case "array": size = t.fixed !== undefined ? t.fixed * minWireSize(t.of) : 4; break;
    case "struct": size = 0; for (const f of t.fields) size += minWireSize(f.type); break;
    case "union": {
      let least = t.fallback ? minWireSize(t.fallback.type) : Infinity;
      for (const f of t.arms.values()) least = Math.min(least, minWireSize(f.type));
      size = 4 + (least === Infinity ? 0 : least);
      break;
    }
    case "ref": size = minWireSize(derefType(t)); break;
  }
  minSizeCache.set(t, size);
  return size;
}

const minSizeCache = new WeakMap<XdrType, number>();

function padded(n: number): number {
  return n + ((4 - (n & 3)) & 3);
}

// --- compiling plans -------------------------------------------------------------

const planCache = new WeakMap<XdrType, Plan>();

function planFor(t: XdrType): Plan {
  const cached = planCache.get(t);
  if (cached) return cached;
  // Register before compiling children so a recursive type finds itself.
  const plan: Plan = { decode: unreachable, typeName: xdrTypeName(t) };
  planCache.set(t, plan);
  plan.decode = compile(t);
  return plan;
}

function unreachable(): never {
  throw new Error("XDR decode plan used before it was compiled");
}

function compile(t: XdrType): DecodeFn {
  switch (t.kind) {
    case "int": return decodeInt;
    case "uint": return decodeUint;
    case "enum": return compileEnum(t.names);
    case "bool": return decodeBool;
    case "hyper": return decodeHyper;
    case "uhyper": return decodeUhyper;
    case "float": return decodeFloat;
    case "double": return decodeDouble;
    case "quadruple": return decodeQuadruple;
    case "void": return decodeVoid;
    case "opaque": case "string":
      return t.fixed !== undefined ? compileFixedBytes(t.kind, t.fixed) : compileVariableBytes(t.kind, t.max);
    case "array": return compileArray(t.of, t.fixed, t.max);
    case "optional": {
      const list = listShape(t);
      return list ? compileList(list) : compileOptional(t.of);
    }
    case "struct": return compileStruct(t.fields.map((f) => f.name), t.fields.map((f) => f.type));
    case "union": return compileUnion(t);
    case "ref": {
      // A named type decodes exactly as its target; only the type name shown differs,
      // and callers pass that. The target may still be compiling (a recursive type):
      // then bind on first use, and let the plan call the target directly from then on.
      const target = planFor(derefType(t));
      if (target.decode !== unreachable) return target.decode;
      const self = planCache.get(t)!;
      return (c, name, typeName) => {
        self.decode = target.decode;
        return target.decode(c, name, typeName);
      };
    }
  }
}

function counted(c: Ctx): boolean {
  return ++c.fields <= c.maxFields;
}

const decodeInt: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
  c.pos = p + 4;
  return { name, typeName, offset: p, length: 4, value: { kind: "int", value: c.view.getInt32(p) } };
};

const decodeUint: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
  c.pos = p + 4;
  return { name, typeName, offset: p, length: 4, value: { kind: "int", value: c.view.getUint32(p) } };
};

function compileEnum(names: ReadonlyMap<number, string>): DecodeFn {
  return (c, name, typeName) => {
    const p = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
    c.pos = p + 4;
    const v = c.view.getInt32(p);
    return { name, typeName, offset: p, length: 4, value: { kind: "enum", value: v, name: names.get(v) ?? null } };
  };
}

const FALSE_VALUE: DecodedValue = Object.freeze({ kind: "bool", value: false, raw: 0 });
const TRUE_VALUE: DecodedValue = Object.freeze({ kind: "bool", value: true, raw: 1 });

const decodeBool: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
  c.pos = p + 4;
  const raw = c.view.getUint32(p);
  if (raw > 1) {
    // RFC 4506 §4.4: a bool is 0 or 1. Shown with its raw value; decoding goes on.
    c.issue({ code: "malformed", offset: p,
      detail: `invalid at +${p} (${pathText(c)}): bool is ${raw}, not 0 or 1` });
  }
  const value = raw === 0 ? FALSE_VALUE : raw === 1 ? TRUE_VALUE : { kind: "bool" as const, value: true, raw };
  return { name, typeName, offset: p, length: 4, value };
};

function pathText(c: Ctx): string {
  let out = "";
  for (let i = 0; i < c.pathLen; i++) {
    const part = c.path[i]!;
    out += typeof part === "number" ? `[${part}]` : out ? `.${part}` : part;
  }
  return out;
}

const decodeHyper: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 8 > c.capturedEnd) return c.missing(p, 8, name, typeName);
  c.pos = p + 8;
  return { name, typeName, offset: p, length: 8, value: { kind: "hyper", value: c.view.getBigInt64(p) } };
};

const decodeUhyper: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 8 > c.capturedEnd) return c.missing(p, 8, name, typeName);
  c.pos = p + 8;
  return { name, typeName, offset: p, length: 8, value: { kind: "hyper", value: c.view.getBigUint64(p) } };
};

const decodeFloat: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
  c.pos = p + 4;
  return { name, typeName, offset: p, length: 4, value: { kind: "float", value: c.view.getFloat32(p) } };
};

const decodeDouble: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 8 > c.capturedEnd) return c.missing(p, 8, name, typeName);
  c.pos = p + 8;
  return { name, typeName, offset: p, length: 8, value: { kind: "float", value: c.view.getFloat64(p) } };
};

/** RFC 4506 §4.8: 128-bit IEEE quadruple; JS has no such number, so its 16 bytes are shown. */
const decodeQuadruple: DecodeFn = (c, name, typeName) => {
  const p = c.pos;
  if (!counted(c)) return c.tooManyFields(name, typeName);
  if (p + 16 > c.capturedEnd) return c.missing(p, 16, name, typeName);
  c.pos = p + 16;
  return { name, typeName, offset: p, length: 16, value: { kind: "opaque", bytes: c.bytes.subarray(p, p + 16) } };
};

const VOID_VALUE: DecodedValue = Object.freeze({ kind: "void" });

const decodeVoid: DecodeFn = (c, name, typeName) => {
  if (!counted(c)) return c.tooManyFields(name, typeName);
  return { name, typeName, offset: c.pos, length: 0, value: VOID_VALUE };
};

const textDecoder = new TextDecoder("utf-8", { fatal: false });

/** UTF-8 with invalid sequences replaced by U+FFFD (measured: TextDecoder beats hand-made ASCII paths). */
export function utf8Text(bytes: Uint8Array): string {
  return bytes.length === 0 ? "" : textDecoder.decode(bytes);
}

function bytesValue(kind: "opaque" | "string", bytes: Uint8Array): DecodedValue {
  return kind === "opaque" ? { kind, bytes } : { kind, bytes, text: utf8Text(bytes) };
}

/** opaque[n] / a fixed string: n bytes plus padding to a multiple of 4 (RFC 4506 §4.9). */
function compileFixedBytes(kind: "opaque" | "string", n: number): DecodeFn {
  const total = padded(n);
  return (c, name, typeName) => {
    const p = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (n > c.maxOpaque) {
      return c.fail("over-limit", p, name, typeName, `${typeName} is ${n} bytes, more than ${c.maxOpaque} (maxXdrOpaqueBytes)`);
    }
    if (p + total > c.capturedEnd) return c.missing(p, total, name, typeName);
    c.pos = p + total;
    return { name, typeName, offset: p, length: total, value: bytesValue(kind, c.bytes.subarray(p, p + n)) };
  };
}

/** opaque<max> / string<max>: a length word, the bytes, padding (RFC 4506 §4.10, §4.11). */
function compileVariableBytes(kind: "opaque" | "string", max: number): DecodeFn {
  return (c, name, typeName) => {
    const p = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
    const n = c.view.getUint32(p);
    if (n > max) {
      return c.fail("invalid", p, name, typeName, `length ${n} exceeds the declared maximum of ${typeName}`);
    }
    if (n > c.maxOpaque) {
      return c.fail("over-limit", p, name, typeName, `length ${n} is more than ${c.maxOpaque} (maxXdrOpaqueBytes)`);
    }
    const total = padded(n);
    if (p + 4 + total > c.capturedEnd) {
      c.pos = p + 4;
      return c.missing(p + 4, total, name, typeName);
    }
    c.pos = p + 4 + total;
    return { name, typeName, offset: p, length: 4 + total, value: bytesValue(kind, c.bytes.subarray(p + 4, p + 4 + n)) };
  };
}

const INDEX_NAMES: string[] = [];
function indexName(i: number): string {
  if (i < 4096) return (INDEX_NAMES[i] ??= `[${i}]`);
  return `[${i}]`;
}

function compileArray(of: XdrType, fixed: number | undefined, max: number): DecodeFn {
  const elem = planFor(of);
  const elemTypeName = elem.typeName;
  const elemMin = minWireSize(of);
  return (c, name, typeName) => {
    const start = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    let count: number;
    if (fixed === undefined) {
      if (start + 4 > c.capturedEnd) return c.missing(start, 4, name, typeName);
      count = c.view.getUint32(start);
      if (count > max) {
        return c.fail("invalid", start, name, typeName, `count ${count} exceeds the declared maximum of ${typeName}`);
      }
    } else {
      count = fixed;
    }
    if (count > c.maxElements) {
      return c.fail("over-limit", start, name, typeName, `${count} elements, more than ${c.maxElements} (maxXdrArrayElements)`);
    }
    const dataStart = fixed === undefined ? start + 4 : start;
    // Each element takes at least elemMin bytes: reject a count the message cannot hold.
    if (count * elemMin > c.declaredEnd - dataStart) {
      return c.fail("short", start, name, typeName,
        `${count} elements need at least ${count * elemMin} bytes, the message has ${Math.max(0, c.declaredEnd - dataStart)} left`);
    }
    if (c.depth >= c.maxDepth) return c.tooDeep(name, typeName);
    c.pos = dataStart;
    c.depth++;
    const elements: DecodedField[] = [];
    const at = c.pathLen++;
    for (let i = 0; i < count; i++) {
      c.path[at] = i;
      elements.push(elem.decode(c, indexName(i), elemTypeName));
      if (c.failed) break;
    }
    c.pathLen--;
    c.depth--;
    return { name, typeName, offset: start, length: c.pos - start, value: { kind: "array", count, elements } };
  };
}

function compileOptional(of: XdrType): DecodeFn {
  const inner = planFor(of);
  const innerTypeName = inner.typeName;
  return (c, name, typeName) => {
    const p = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (p + 4 > c.capturedEnd) return c.missing(p, 4, name, typeName);
    const flag = c.view.getUint32(p);
    if (flag > 1) return c.fail("invalid", p, name, typeName, `optional-data flag is ${flag}, not 0 or 1`);
    c.pos = p + 4;
    if (flag === 0) return { name, typeName, offset: p, length: 4, value: { kind: "optional", value: null } };
    if (c.depth >= c.maxDepth) return c.tooDeep(name, typeName);
    c.depth++;
    const value = inner.decode(c, "*", innerTypeName);
    c.depth--;
    return { name, typeName, offset: p, length: c.pos - p, value: { kind: "optional", value } };
  };
}

interface ListShape {
  /** The element struct. */
  readonly struct: Extract<XdrType, { kind: "struct" }>;
}

/** `T *` where T is a struct whose last field is again `T *`: a linked list (RFC 4506 §4.19). */
export function listShape(t: Extract<XdrType, { kind: "optional" }>): ListShape | null {
  const s = derefType(t.of);
  if (s.kind !== "struct") return null;
  const last = s.fields[s.fields.length - 1];
  if (!last) return null;
  const next = derefType(last.type);
  if (next.kind !== "optional" || derefType(next.of) !== s) return null;
  return { struct: s };
}

function compileList(shape: ListShape): DecodeFn {
  const fields = shape.struct.fields.slice(0, -1);
  const names = fields.map((f) => f.name);
  const plans = fields.map((f) => planFor(f.type));
  const typeNames = plans.map((p) => p.typeName);
  const elementTypeName = shape.struct.name;
  return (c, name, typeName) => {
    const start = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (c.depth + 2 > c.maxDepth) return c.tooDeep(name, typeName);
    c.depth += 2;
    const elements: DecodedField[] = [];
    const at = c.pathLen;
    c.pathLen += 2;
    for (let i = 0; ; i++) {
      const p = c.pos;
      c.path[at] = i;
      c.path[at + 1] = i === 0 ? "*" : "next";
      c.pathLen = at + 1;
      if (p + 4 > c.capturedEnd) {
        elements.push(c.missing(p, 4, indexName(i), elementTypeName));
        break;
      }
      const flag = c.view.getUint32(p);
      if (flag > 1) {
        elements.push(c.fail("invalid", p, indexName(i), elementTypeName, `optional-data flag is ${flag}, not 0 or 1`));
        break;
      }
      c.pos = p + 4;
      if (flag === 0) break;
      if (i >= c.maxElements) {
        c.pos = p;
        elements.push(c.fail("over-limit", p, indexName(i), elementTypeName,
          `list longer than ${c.maxElements} elements (maxXdrArrayElements)`));
        break;
      }
      if (!counted(c)) {
        c.pos = p;
        elements.push(c.tooManyFields(indexName(i), elementTypeName));
        break;
      }
      const values: DecodedField[] = [];
      c.pathLen = at + 2;
      for (let k = 0; k < plans.length; k++) {
        c.path[at + 1] = names[k]!;
        values.push(plans[k]!.decode(c, names[k]!, typeNames[k]!));
        if (c.failed) break;
      }
      elements.push({ name: indexName(i), typeName: elementTypeName, offset: p, length: c.pos - p,
        value: { kind: "struct", fields: values } });
      if (c.failed) break;
    }
    c.pathLen = at;
    c.depth -= 2;
    return { name, typeName, offset: start, length: c.pos - start,
      value: { kind: "array", count: elements.length, elements } };
  };
}

function compileStruct(names: readonly string[], types: readonly XdrType[]): DecodeFn {
  const plans = types.map((t) => planFor(t));
  const typeNames = plans.map((p) => p.typeName);
  const n = plans.length;
  return (c, name, typeName) => {
    const start = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (c.depth >= c.maxDepth) return c.tooDeep(name, typeName);
    c.depth++;
    const fields: DecodedField[] = new Array<DecodedField>();
    const at = c.pathLen++;
    for (let i = 0; i < n; i++) {
      const fieldName = names[i]!;
      c.path[at] = fieldName;
      fields.push(plans[i]!.decode(c, fieldName, typeNames[i]!));
      if (c.failed) break;
    }
    c.pathLen--;
    c.depth--;
    return { name, typeName, offset: start, length: c.pos - start, value: { kind: "struct", fields } };
  };
}

interface ArmPlan {
  readonly name: string;
  readonly plan: Plan | null; // null: void arm
}

function compileUnion(t: Extract<XdrType, { kind: "union" }>): DecodeFn {
  const discPlan = planFor(t.disc.type);
  const discName = t.disc.name;
  const discTypeName = discPlan.typeName;
  const discKind = derefType(t.disc.type).kind;
  const unsigned = discKind === "uint";
  const armFor = (f: { name: string; type: XdrType }): ArmPlan => ({
    name: f.name,
    plan: derefType(f.type).kind === "void" ? null : planFor(f.type),
  });
  const arms = new Map<number, ArmPlan>();
  for (const [k, f] of t.arms) arms.set(k, armFor(f));
  const fallback = t.fallback ? armFor(t.fallback) : null;
  return (c, name, typeName) => {
    const start = c.pos;
    if (!counted(c)) return c.tooManyFields(name, typeName);
    if (c.depth >= c.maxDepth) return c.tooDeep(name, typeName);
    c.depth++;
    const at = c.pathLen++;
    c.path[at] = discName;
    const disc = discPlan.decode(c, discName, discTypeName);
    let arm: DecodedField | null = null;
    if (!c.failed) {
      const key = unsigned ? c.view.getUint32(disc.offset) : c.view.getInt32(disc.offset);
      const chosen = arms.get(key) ?? fallback;
      if (!chosen) {
        c.path[at] = "arm";
        arm = c.fail("invalid", disc.offset, "arm", typeName,
          `no arm of ${typeName} for discriminant ${key} and no default`);
      } else if (chosen.plan) {
        c.path[at] = chosen.name;
        arm = chosen.plan.decode(c, chosen.name, chosen.plan.typeName);
      }
    }
    c.pathLen--;
    c.depth--;
    return { name, typeName, offset: start, length: c.pos - start, value: { kind: "union", disc, arm } };
  };
}

// --- fast path: validate without building fields ---------------------------------

export interface ValidateResult {
  /** True exactly when decodeXdr would find nothing malformed. */
  readonly ok: boolean;
  /** End of the body when ok; otherwise unspecified (decode it to locate the error). */
  readonly end: number;
}

/**
 * Walks a body as decodeXdr does — same checks, same limits, same field count — but
 * builds nothing. Use it to learn a body's length or whether it is well formed; decode
 * it when it is not, to get the located Malformed.
 */
export function validateXdr(
  type: XdrType,
  bytes: Uint8Array,
  start: number,
  end: number,
  limits: Limits,
  truncatedAt?: number,
): ValidateResult {
  const declaredEnd = Math.max(start, end);
  const capturedEnd = Math.max(start, Math.min(declaredEnd, bytes.length, truncatedAt ?? Infinity));
  const skip = skipFor(type);
  const c = sharedCtx.busy ? new Ctx() : sharedCtx;
  c.busy = true;
  c.reset(bytes, start, capturedEnd, declaredEnd, limits);
  const ok = skip.run(c);
  const result = { ok, end: c.pos };
  c.release();
  return result;
}

type SkipFn = (c: Ctx) => boolean;

interface SkipPlan {
  run: SkipFn;
}

/**
 * What is static about a type whose encoding has one size: its bytes, the fields it
 * decodes into, its nesting, and the largest fixed array / opaque inside (limits).
 */
export interface FixedShape {
  readonly size: number;
  readonly fields: number;
  readonly nesting: number;
  readonly largestArray: number;
  readonly largestOpaque: number;
}

const fixedCache = new WeakMap<XdrType, FixedShape | null>();

export function fixedShape(t: XdrType): FixedShape | null {
  const cached = fixedCache.get(t);
  if (cached !== undefined) return cached;
  fixedCache.set(t, null); // recursion means variable size
  let shape: FixedShape | null = null;
  const leaf = (size: number): FixedShape => ({ size, fields: 1, nesting: 0, largestArray: 0, largestOpaque: 0 });
  switch (t.kind) {
    case "int": case "uint": case "bool": case "float": case "enum": shape = leaf(4); break;
    case "hyper": case "uhyper": case "double": shape = leaf(8); break;
    case "quadruple": shape = leaf(16); break;
    case "void": shape = leaf(0); break;
    case "opaque": case "string":
      if (t.fixed !== undefined) shape = { ...leaf(padded(t.fixed)), largestOpaque: t.fixed };
      break;
    case "array": {
      const e = t.fixed !== undefined ? fixedShape(t.of) : null;
      if (t.fixed === 0) {
        // No element is ever decoded: only the array itself counts.
        shape = { size: 0, fields: 1, nesting: 1, largestArray: 0, largestOpaque: 0 };
      } else if (e && t.fixed !== undefined) {
        shape = {
          size: e.size * t.fixed, fields: 1 + e.fields * t.fixed, nesting: 1 + e.nesting,
          largestArray: Math.max(t.fixed, e.largestArray), largestOpaque: e.largestOpaque,
        };
      }
      break;
    }
    case "struct": {
      let size = 0, fields = 1, nesting = 0, largestArray = 0, largestOpaque = 0;
      let all = true;
      for (const f of t.fields) {
        const s = fixedShape(f.type);
        if (!s) {
          all = false;
          break;
        }
        size += s.size;
        fields += s.fields;
        nesting = Math.max(nesting, s.nesting);
        largestArray = Math.max(largestArray, s.largestArray);
        largestOpaque = Math.max(largestOpaque, s.largestOpaque);
      }
      if (all) shape = { size, fields, nesting: nesting + 1, largestArray, largestOpaque };
      break;
    }
    case "ref": shape = fixedShape(derefType(t)); break;
    default: break; // optional, union, variable-length: size depends on the data
  }
  fixedCache.set(t, shape);
  return shape;
}

const skipCache = new WeakMap<XdrType, SkipPlan>();

function skipFor(t: XdrType): SkipPlan {
  const cached = skipCache.get(t);
  if (cached) return cached;
  const plan: SkipPlan = { run: unreachable };
  skipCache.set(t, plan);
  plan.run = compileSkip(t);
  return plan;
}

function compileSkip(t: XdrType): SkipFn {
  const fixed = fixedShape(t);
  if (fixed) {
    const { size, fields, nesting, largestArray, largestOpaque } = fixed;
    return (c) => {
      if (c.fields + fields > c.maxFields || c.depth + nesting > c.maxDepth) return false;
      if (largestArray > c.maxElements || largestOpaque > c.maxOpaque) return false;
      if (c.pos + size > c.capturedEnd) return false;
      c.fields += fields;
      c.pos += size;
      return true;
    };
  }
  switch (t.kind) {
    case "opaque": case "string": {
      const max = t.max;
      return (c) => {
        const p = c.pos;
        if (!counted(c) || p + 4 > c.capturedEnd) return false;
        const n = c.view.getUint32(p);
        if (n > max || n > c.maxOpaque || p + 4 + padded(n) > c.capturedEnd) return false;
        c.pos = p + 4 + padded(n);
        return true;
      };
    }
    case "array": {
      const elem = skipFor(t.of);
      const elemMin = minWireSize(t.of);
      const { fixed: fixedCount, max } = t;
      return (c) => {
        const start = c.pos;
        if (!counted(c)) return false;
        let count: number;
        if (fixedCount === undefined) {
          if (start + 4 > c.capturedEnd) return false;
          count = c.view.getUint32(start);
          if (count > max) return false;
        } else {
          count = fixedCount;
        }
        if (count > c.maxElements) return false;
        const dataStart = fixedCount === undefined ? start + 4 : start;
        if (count * elemMin > c.declaredEnd - dataStart || c.depth >= c.maxDepth) return false;
        c.pos = dataStart;
        c.depth++;
        for (let i = 0; i < count; i++) if (!elem.run(c)) return false;
        c.depth--;
        return true;
      };
    }
    case "optional": {
      const list = listShape(t);
      if (list) {
        const fields = list.struct.fields.slice(0, -1).map((f) => skipFor(f.type));
        return (c) => {
          if (!counted(c) || c.depth + 2 > c.maxDepth) return false;
          c.depth += 2;
          for (let i = 0; ; i++) {
            const p = c.pos;
            if (p + 4 > c.capturedEnd) return false;
            const flag = c.view.getUint32(p);
            if (flag > 1) return false;
            c.pos = p + 4;
            if (flag === 0) break;
            if (i >= c.maxElements || !counted(c)) return false;
            for (const f of fields) if (!f.run(c)) return false;
          }
          c.depth -= 2;
          return true;
        };
      }
      const inner = skipFor(t.of);
      return (c) => {
        const p = c.pos;
        if (!counted(c) || p + 4 > c.capturedEnd) return false;
        const flag = c.view.getUint32(p);
        if (flag > 1) return false;
        c.pos = p + 4;
        if (flag === 0) return true;
        if (c.depth >= c.maxDepth) return false;
        c.depth++;
        const ok = inner.run(c);
        c.depth--;
        return ok;
      };
    }
    case "struct": {
      const fields = t.fields.map((f) => skipFor(f.type));
      return (c) => {
        if (!counted(c) || c.depth >= c.maxDepth) return false;
        c.depth++;
        for (const f of fields) if (!f.run(c)) return false;
        c.depth--;
        return true;
      };
    }
    case "union": {
      const disc = skipFor(t.disc.type);
      const unsigned = derefType(t.disc.type).kind === "uint";
      const armSkip = (type: XdrType): SkipPlan | null => (derefType(type).kind === "void" ? null : skipFor(type));
      const arms = new Map<number, SkipPlan | null>();
      for (const [k, f] of t.arms) arms.set(k, armSkip(f.type));
      const fallback = t.fallback ? armSkip(t.fallback.type) : undefined;
      return (c) => {
        if (!counted(c) || c.depth >= c.maxDepth) return false;
        c.depth++;
        const p = c.pos;
        if (!disc.run(c)) return false;
        const key = unsigned ? c.view.getUint32(p) : c.view.getInt32(p);
        const arm = arms.has(key) ? arms.get(key) : fallback;
        if (arm === undefined) return false;
        if (arm !== null && !arm.run(c)) return false;
        c.depth--;
        return true;
      };
    }
    case "ref": {
      const target = skipFor(derefType(t));
      if (target.run !== unreachable) return target.run;
      const self = skipCache.get(t)!;
      return (c) => {
        self.run = target.run;
        return target.run(c);
      };
    }
    default:
      throw new Error(`unreachable: ${t.kind} has a fixed size`);
  }
}
