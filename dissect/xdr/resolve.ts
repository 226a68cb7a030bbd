/**
 * The resolve pass: turns parsed `.x` files into readonly type descriptors.
 *
 * - Names may be used before they are defined (forward references), across files.
 * - Constants: decimal, hex, octal, negative, defined by other constants, enum
 *   members usable as constants and case labels. A name none of the files
 *   defines with const, enum or `#define` is looked up in `defines` (rpcgen -D),
 *   then the files' `%#define`s, then `headerConstants` (values shipped for C
 *   headers), then TRUE/FALSE (built in, RFC 4506 §4.4).
 * - Named types become `{kind: "ref"}` descriptors whose target is looked up
 *   lazily, so recursive types (linked lists through `*`) are representable.
 * - Errors: undefined names, duplicates (with where the other one is), a type that
 *   contains itself without `*` or `<>` (its size would be infinite, RFC 4506 §4.19),
 *   bad discriminant types, duplicate case labels, duplicate program versions
 *   and procedures.
 *
 * Recursion here follows the nesting of inline bodies in the text (bounded by the
 * parser); chains through names (constant → constant, typedef → typedef) are
 * walked with explicit depth counters.
 */
import type { Field, SourcePos, XdrType } from "../xdr-types.js";
import type {
  Declaration, DeclShape, Definition, EnumBody, EnumMember, ProcedureArg, SpecFile, StructBody, TypeSpec,
  UnionBody, Value,
} from "./ast.js";
import type { LoadOptions, ProcedureInfo, ProgramInfo, Schema, VersionInfo } from "./schema.js";
import { SchemaError, formatPos } from "./schema-error.js";

// Shared primitive descriptors.
export const XDR_INT: XdrType = Object.freeze({ kind: "int" });
export const XDR_UINT: XdrType = Object.freeze({ kind: "uint" });
export const XDR_HYPER: XdrType = Object.freeze({ kind: "hyper" });
export const XDR_UHYPER: XdrType = Object.freeze({ kind: "uhyper" });
export const XDR_BOOL: XdrType = Object.freeze({ kind: "bool" });
export const XDR_FLOAT: XdrType = Object.freeze({ kind: "float" });
export const XDR_DOUBLE: XdrType = Object.freeze({ kind: "double" });
export const XDR_QUADRUPLE: XdrType = Object.freeze({ kind: "quadruple" });
export const XDR_VOID: XdrType = Object.freeze({ kind: "void" });

/** Largest `<>` bound: XDR lengths are unsigned 32-bit (RFC 4506 §4.10). */
export const XDR_UNBOUNDED = 0xffffffff;

/**
 * Type names rpcgen passes through to C, where the XDR library defines them; used
 * when no loaded `.x` defines the name itself. char/short/long are each one 4-byte
 * XDR integer on the wire (xdr_char, xdr_short and xdr_long encode 4 bytes).
 */
const LIBRARY_TYPES: ReadonlyMap<string, XdrType> = new Map<string, XdrType>([
  ["char", XDR_INT], ["short", XDR_INT], ["long", XDR_INT],
  ["unsigned char", XDR_UINT], ["unsigned short", XDR_UINT], ["unsigned long", XDR_UINT],
  ["u_char", XDR_UINT], ["u_short", XDR_UINT], ["u_int", XDR_UINT], ["u_long", XDR_UINT],
  ["int8_t", XDR_INT], ["int16_t", XDR_INT], ["int32_t", XDR_INT], ["enum_t", XDR_INT],
  ["uint8_t", XDR_UINT], ["uint16_t", XDR_UINT], ["uint32_t", XDR_UINT],
  ["u_int8_t", XDR_UINT], ["u_int16_t", XDR_UINT], ["u_int32_t", XDR_UINT],
  ["int64_t", XDR_HYPER], ["quad_t", XDR_HYPER], ["longlong_t", XDR_HYPER],
  ["uint64_t", XDR_UHYPER], ["u_int64_t", XDR_UHYPER], ["u_quad_t", XDR_UHYPER], ["u_longlong_t", XDR_UHYPER],
  ["bool_t", XDR_BOOL],
  // <rpc/xdr.h>: struct netobj is xdr_netobj, opaque<MAX_NETOBJ_SZ = 1024>.
  ["netobj", Object.freeze({ kind: "opaque", max: 1024 })],
  // <rpc/auth.h>: des_block is 8 bytes of fixed opaque (xdr_des_block).
  ["des_block", Object.freeze({ kind: "opaque", fixed: 8, max: 8 })],
]);

/** The library type names (for documentation and tests). */
export const LIBRARY_TYPE_NAMES: readonly string[] = [...LIBRARY_TYPES.keys()];

const BUILTIN_CONSTANTS: ReadonlyMap<string, number> = new Map([["TRUE", 1], ["FALSE", 0]]);

type TypeDefinition = Exclude<Definition, { kind: "const" } | { kind: "program" }>;

interface TypeEntry {
  readonly name: string;
  readonly def: TypeDefinition;
  readonly pos: SourcePos;
}

type ValueEntry =
  | { readonly kind: "const"; readonly name: string; readonly value: Value; readonly pos: SourcePos }
  | { readonly kind: "member"; readonly name: string; readonly body: EnumBody; readonly index: number; readonly pos: SourcePos }
  | { readonly kind: "macro"; readonly name: string; readonly value: number; readonly pos: SourcePos };

interface PendingUnion {
  readonly name: string;
  readonly body: UnionBody;
  readonly disc: Field;
  readonly arms: Map<number, Field>;
  readonly armFields: readonly Field[];
  unionType: XdrType;
}

type RefType = Extract<XdrType, { kind: "ref" }>;

class TooManyErrors {}

export function resolveSpecFiles(files: readonly SpecFile[], options: LoadOptions, errors: SchemaError[]): Schema {
  const r = new Resolver(options, errors);
  try {
    return r.run(files);
  } catch (e) {
    if (e instanceof TooManyErrors) return r.emptySchema(files);
    throw e;
  }
}

class Resolver {
  private readonly types = new Map<string, TypeEntry>();
  private readonly values = new Map<string, ValueEntry>();
  private readonly resolved = new Map<string, XdrType>();
  private readonly refs = new Map<string, RefType>();
  private readonly constantCache = new Map<string, number | null>();
  private readonly evaluating = new Set<string>();
  private readonly reported = new Set<string>();
  private readonly pendingUnions: PendingUnion[] = [];
  /** `%#define` values: below `defines`, above `headerConstants`. */
  private readonly passThrough = new Map<string, number>();
  private readonly defines: ReadonlyMap<string, number>;
  private readonly headerConstants: ReadonlyMap<string, number>;
  private readonly maxErrors: number;
  private readonly maxDepth: number;

  constructor(options: LoadOptions, private readonly errors: SchemaError[]) {
    this.defines = options.defines ?? new Map();
    this.headerConstants = options.headerConstants ?? new Map();
    this.maxErrors = options.maxErrors ?? 20;
    this.maxDepth = options.maxSchemaDepth ?? 64;
  }

  private error(pos: SourcePos, detail: string): void {
    this.errors.push(SchemaError.at(pos, detail));
    if (this.errors.length >= this.maxErrors) throw new TooManyErrors();
  }

  emptySchema(files: readonly SpecFile[]): Schema {
    return { files: files.map((f) => f.path), types: new Map(), typeSources: new Map(), constants: new Map(), programs: [] };
  }

  run(files: readonly SpecFile[]): Schema {
    const programs: { def: Extract<Definition, { kind: "program" }> }[] = [];
    for (const file of files) {
      for (const m of file.macros) {
        if (!m.passThrough) this.addValue({ kind: "macro", name: m.name, value: m.value, pos: m.pos });
        else if (!this.passThrough.has(m.name)) this.passThrough.set(m.name, m.value);
      }
      for (const def of file.definitions) {
        if (def.kind === "program") programs.push({ def });
        else if (def.kind === "const") this.addValue({ kind: "const", name: def.name, value: def.value, pos: def.pos });
        else this.addType(def);
      }
    }
    for (const entry of this.types.values()) this.resolved.set(entry.name, this.buildNamedType(entry));
    const cyclic = this.checkInfiniteTypes();
    for (const u of this.pendingUnions) this.finishUnion(u, cyclic);
    const programInfos = this.resolvePrograms(programs.map((p) => p.def));
    const constants = new Map<string, number>();
    for (const [name, entry] of this.values) {
      if (entry.kind === "const" && entry.value.kind === "string") continue;
      const v = this.constantCache.get(name) ?? this.tryConstant(name);
      if (v !== null && v !== undefined) constants.set(name, v);
    }
    const typeSources = new Map<string, SourcePos>();
    for (const [name, entry] of this.types) typeSources.set(name, entry.pos);
    return { files: files.map((f) => f.path), types: this.resolved, typeSources, constants, programs: programInfos };
  }

  // --- collecting definitions ------------------------------------------------

  private addValue(entry: ValueEntry): void {
    const other = this.values.get(entry.name);
    if (other) {
      // cpp allows a macro to be redefined with the same value.
      if (other.kind === "macro" && entry.kind === "macro" && other.value === entry.value) return;
      this.error(entry.pos, `duplicate definition of '${entry.name}' (first defined at ${formatPos(other.pos)})`);
      return;
    }
    const type = this.types.get(entry.name);
    if (type) {
      this.error(entry.pos, `'${entry.name}' is already defined as a type at ${formatPos(type.pos)}`);
      return;
    }
    this.values.set(entry.name, entry);
  }

  private addType(def: TypeDefinition): void {
    const name = def.kind === "typedef" ? def.decl.name : def.name;
    if (def.kind === "typedef") {
      const d = def.decl;
      // `typedef struct foo foo;` restates C's tag as a type name: nothing new for XDR.
      if (d.shape.kind === "plain" && d.type.kind === "named" && d.type.name === name) {
        this.pendingSelfTypedefs.push({ name, pos: d.type.pos, tag: d.type.tag });
        return;
      }
    }
    const other = this.types.get(name);
    if (other) {
      this.error(def.pos, `duplicate definition of '${name}' (first defined at ${formatPos(other.pos)})`);
      return;
    }
    const value = this.values.get(name);
    if (value) {
      this.error(def.pos, `'${name}' is already defined as a constant at ${formatPos(value.pos)}`);
      return;
    }
    this.types.set(name, { name, def, pos: def.pos });
    if (def.kind === "enum") this.addEnumMembers(def.body);
    else if (def.kind === "struct") this.collectInline(def.body.fields);
    else if (def.kind === "union") this.collectInlineUnion(def.body);
    else this.collectInline([def.decl]);
  }

  private readonly pendingSelfTypedefs: { name: string; pos: SourcePos; tag: string | undefined }[] = [];

  private addEnumMembers(body: EnumBody): void {
    body.members.forEach((m: EnumMember, index) => {
      this.addValue({ kind: "member", name: m.name, body, index, pos: m.pos });
    });
  }

  /** Enum members of inline `enum {…}` bodies are constants too (C scoping). */
  private collectInline(decls: readonly Declaration[]): void {
    for (const d of decls) {
      if (d.kind !== "declaration") continue;
      const t = d.type;
      if (t.kind === "enum") this.addEnumMembers(t.body);
      else if (t.kind === "struct") this.collectInline(t.body.fields);
      else if (t.kind === "union") this.collectInlineUnion(t.body);
    }
  }

  private collectInlineUnion(body: UnionBody): void {
    const decls: Declaration[] = [body.discriminant, ...body.arms.map((a) => a.decl)];
    if (body.fallback) decls.push(body.fallback);
    this.collectInline(decls);
  }

  // --- constants -------------------------------------------------------------

  /** A constant's value, or null after reporting why it has none. */
  private constant(name: string, use: SourcePos, depth: number): number | null {
    const cached = this.constantCache.get(name);
    if (cached !== undefined) return cached;
    const entry = this.values.get(name);
    if (!entry) {
      // A -D is substituted by cpp before the C compiler sees a %#define; shipped header values only fill gaps.
      const fromDefines = this.defines.get(name) ?? this.passThrough.get(name) ?? this.headerConstants.get(name) ??
        BUILTIN_CONSTANTS.get(name);
      if (fromDefines !== undefined) return fromDefines;
      if (this.types.has(name) || LIBRARY_TYPES.has(name)) {
        this.error(use, `'${name}' is a type, not a constant`);
      } else if (!this.reported.has(name)) {
        this.reported.add(name);
        this.error(use, `undefined constant '${name}' (if a C header defines it, pass --define ${name}=VALUE)`);
      }
      return null;
    }
    if (entry.kind === "macro") return entry.value;
    if (depth > this.maxDepth) {
      this.error(use, `constant '${name}' is defined through more than ${this.maxDepth} other constants`);
      return null;
    }
    if (this.evaluating.has(name)) {
      this.error(entry.pos, `constant '${name}' is defined in terms of itself`);
      this.constantCache.set(name, null);
      return null;
    }
    if (entry.kind === "const") {
      if (entry.value.kind === "string") {
        this.error(use, `'${name}' is a string constant, not a number`);
        return null;
      }
      this.evaluating.add(name);
      const v = this.value(entry.value, depth + 1);
      this.evaluating.delete(name);
      this.constantCache.set(name, v);
      return v;
    }
    return this.enumMember(entry, depth);
  }

  /** Evaluates the members of an enum in order (C numbering for members without `=`). */
  private enumMember(entry: Extract<ValueEntry, { kind: "member" }>, depth: number): number | null {
    const members = entry.body.members;
    let previous: number | null = -1;
    // Start after the nearest member already evaluated, not at the first: members are
    // evaluated in order, so an enum of n members resolves in O(n), not O(n²).
    let start = 0;
    for (let i = entry.index; i >= 0; i--) {
      const name = members[i]!.name;
      const cached = this.constantCache.get(name);
      if (cached !== undefined && this.values.get(name)?.kind === "member") {
        if (i === entry.index) return cached;
        previous = cached;
        start = i + 1;
        break;
      }
    }
    for (let i = start; i <= entry.index; i++) {
      const m = members[i]!;
      const cached = this.constantCache.get(m.name);
      if (cached !== undefined && this.values.get(m.name)?.kind === "member") {
        previous = cached;
        continue;
      }
      if (this.evaluating.has(m.name)) {
        this.error(m.pos, `enum member '${m.name}' is defined in terms of itself`);
        this.constantCache.set(m.name, null);
        return null;
      }
      this.evaluating.add(m.name);
      let v: number | null;
      if (m.value) v = this.value(m.value, depth + 1);
      else v = previous === null ? null : previous + 1;
      this.evaluating.delete(m.name);
      if (v !== null) v |= 0; // enums are signed 32-bit (RFC 4506 §4.3)
      // Only cache members that belong to this enum entry (a duplicate name belongs elsewhere).
      const owner = this.values.get(m.name);
      if (owner && owner.kind === "member" && owner.body === entry.body) this.constantCache.set(m.name, v);
      previous = v;
    }
    return previous;
  }

  private tryConstant(name: string): number | null {
    // Used for the exported constants map: don't report unused constants' errors twice.
    const before = this.errors.length;
    const v = this.constant(name, this.values.get(name)!.pos, 0);
    if (v === null) this.errors.length = before;
    return v;
  }

  private value(v: Value, depth = 0): number | null {
    if (v.kind === "number") return v.value;
    if (v.kind === "string") {
      this.error(v.pos, "a string constant cannot be used here");
      return null;
    }
    return this.constant(v.name, v.pos, depth);
  }

  private size(v: Value, what: string): number {
    const n = this.value(v);
    if (n === null) return 0;
    if (n < 0 || n > XDR_UNBOUNDED) {
      this.error(v.pos, `${what} must be between 0 and 4294967295, found ${n}`);
      return 0;
    }
    return n;
  }

  // --- types -----------------------------------------------------------------

  private refTo(name: string, pos: SourcePos, tag?: string): XdrType {
    const entry = this.types.get(name);
    if (entry) {
      if (tag && entry.def.kind !== "typedef" && entry.def.kind !== tag) {
        this.error(pos, `'${name}' is ${article(entry.def.kind)} ${entry.def.kind}, not ${article(tag)} ${tag} (defined at ${formatPos(entry.pos)})`);
      }
      let ref = this.refs.get(name);
      if (!ref) {
        const resolved = this.resolved;
        ref = { kind: "ref", name, target: () => resolved.get(name) ?? XDR_VOID };
        this.refs.set(name, ref);
      }
      return ref;
    }
    const library = LIBRARY_TYPES.get(name);
    if (library) {
      let ref = this.refs.get(name);
      if (!ref) {
        ref = { kind: "ref", name, target: () => library };
        this.refs.set(name, ref);
      }
      return ref;
    }
    const value = this.values.get(name);
    if (value) this.error(pos, `'${name}' is a constant, not a type (defined at ${formatPos(value.pos)})`);
    else this.error(pos, `undefined type '${name}'`);
    return XDR_VOID;
  }

  private typeSpec(spec: TypeSpec, owner: string): XdrType {
    switch (spec.kind) {
      case "primitive":
        switch (spec.name) {
          case "int": return XDR_INT;
          case "unsigned int": return XDR_UINT;
          case "hyper": return XDR_HYPER;
          case "unsigned hyper": return XDR_UHYPER;
          case "float": return XDR_FLOAT;
          case "double": return XDR_DOUBLE;
          case "quadruple": return XDR_QUADRUPLE;
          case "bool": return XDR_BOOL;
          case "opaque":
          case "string":
            // Only reachable through a declaration without a size (the parser prevents it).
            return { kind: spec.name, max: XDR_UNBOUNDED };
          default:
            return this.refTo(spec.name, spec.pos);
        }
      case "named":
        return this.refTo(spec.name, spec.pos, spec.tag);
      case "enum":
        return this.enumType(owner, spec.body);
      case "struct":
        return this.structType(owner, spec.body);
      case "union":
        return this.unionType(owner, spec.body);
    }
  }

  private shaped(spec: TypeSpec, shape: DeclShape, owner: string): XdrType {
    if (spec.kind === "primitive" && (spec.name === "opaque" || spec.name === "string")) {
      if (shape.kind === "fixed") {
        const n = this.size(shape.size, "an opaque size");
        return { kind: spec.name, fixed: n, max: n };
      }
      if (shape.kind === "variable") {
        return { kind: spec.name, max: shape.max ? this.size(shape.max, "a maximum size") : XDR_UNBOUNDED };
      }
      return { kind: spec.name, max: XDR_UNBOUNDED };
    }
    const base = this.typeSpec(spec, owner);
    switch (shape.kind) {
      case "plain": return base;
      case "optional": return { kind: "optional", of: base };
      case "fixed": {
        const n = this.size(shape.size, "an array size");
        return { kind: "array", of: base, fixed: n, max: n };
      }
      case "variable":
        return { kind: "array", of: base, max: shape.max ? this.size(shape.max, "a maximum size") : XDR_UNBOUNDED };
    }
  }

  private field(decl: Declaration, owner: string): Field {
    if (decl.kind === "void") return { name: "void", type: XDR_VOID };
    return { name: decl.name, type: this.shaped(decl.type, decl.shape, `${owner}.${decl.name}`) };
  }

  private buildNamedType(entry: TypeEntry): XdrType {
    const def = entry.def;
    switch (def.kind) {
      case "typedef": return this.shaped(def.decl.type, def.decl.shape, entry.name);
      case "enum": return this.enumType(entry.name, def.body);
      case "struct": return this.structType(entry.name, def.body);
      case "union": return this.unionType(entry.name, def.body);
    }
  }

  private enumType(name: string, body: EnumBody): XdrType {
    const names = new Map<number, string>();
    for (const m of body.members) {
      const v = this.constantCache.get(m.name) ?? this.constant(m.name, m.pos, 0);
      if (v !== null && !names.has(v)) names.set(v, m.name);
    }
    return { kind: "enum", name, names };
  }

  private structType(name: string, body: StructBody): XdrType {
    const fields: Field[] = [];
    const seen = new Map<string, SourcePos>();
    for (const d of body.fields) {
      if (d.kind === "declaration") {
        const other = seen.get(d.name);
        if (other) this.error(d.pos, `duplicate field '${d.name}' in struct '${name}' (first at ${formatPos(other)})`);
        seen.set(d.name, d.pos);
      }
      fields.push(this.field(d, name));
    }
    return { kind: "struct", name, fields };
  }

  private unionType(name: string, body: UnionBody): XdrType {
    const disc = this.field(body.discriminant, name);
    const arms = new Map<number, Field>();
    const armFields = body.arms.map((a) => this.field(a.decl, name));
    const fallback = body.fallback ? this.field(body.fallback, name) : undefined;
    const unionType: XdrType = fallback ? { kind: "union", name, disc, arms, fallback } : { kind: "union", name, disc, arms };
    this.pendingUnions.push({ name, body, disc, arms, armFields, unionType });
    return unionType;
  }

  /** Follows refs to a concrete descriptor; undefined for a chain that does not end. */
  private deref(t: XdrType): XdrType | undefined {
    for (let i = 0; i <= this.maxDepth * 4 && t.kind === "ref"; i++) t = t.target();
    return t.kind === "ref" ? undefined : t;
  }

  /** Case labels need the discriminant's type, which may be defined later in the file. */
  private finishUnion(u: PendingUnion, cyclic: ReadonlySet<string>): void {
    const discRef = u.disc.type;
    if (discRef.kind === "ref" && cyclic.has(discRef.name)) return;
    const disc = this.deref(discRef);
    const discPos = u.body.discriminant.pos;
    const ok = disc !== undefined && (disc.kind === "int" || disc.kind === "uint" || disc.kind === "enum" || disc.kind === "bool");
    if (!ok) {
      this.error(discPos, `union '${u.name}': the discriminant must be int, unsigned int, enum or bool, found ${disc ? describeType(discRef) : "a type that never ends"}`);
      return;
    }
    const unsigned = disc.kind === "uint";
    const where = new Map<number, SourcePos>();
    u.body.arms.forEach((arm, i) => {
      for (const label of arm.labels) {
        const raw = this.value(label);
        if (raw === null) continue;
        const key = unsigned ? raw >>> 0 : raw | 0;
        const other = where.get(key);
        if (other) {
          this.error(label.pos, `duplicate case label ${key} in union '${u.name}' (first at ${formatPos(other)})`);
          continue;
        }
        where.set(key, label.pos);
        u.arms.set(key, u.armFields[i]!);
      }
    });
  }

  /**
   * A type that contains itself other than through optional data or a variable-length
   * array has no finite encoding (in C it is an incomplete type). Finds such cycles
   * with an iterative depth-first search over "contains directly" edges.
   */
  private checkInfiniteTypes(): ReadonlySet<string> {
    const edges = new Map<string, string[]>();
    const armsOf = new Map<XdrType, readonly Field[]>();
    for (const u of this.pendingUnions) armsOf.set(u.unionType, u.armFields);
    for (const [name, type] of this.resolved) edges.set(name, directlyContained(type, armsOf));
    const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
    const cyclic = new Set<string>();
    for (const root of edges.keys()) {
      if (state.has(root)) continue;
      const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
      state.set(root, 1);
      while (stack.length) {
        const top = stack[stack.length - 1]!;
        const out = edges.get(top.name) ?? [];
        if (top.next >= out.length) {
          state.set(top.name, 2);
          stack.pop();
          continue;
        }
        const child = out[top.next++]!;
        if (!edges.has(child)) continue; // library type
        const s = state.get(child);
        if (s === undefined) {
          state.set(child, 1);
          stack.push({ name: child, next: 0 });
        } else if (s === 1) {
          const from = stack.findIndex((f) => f.name === child);
          const cycle = [...stack.slice(from).map((f) => f.name), child];
          for (const c of cycle) cyclic.add(c);
          const entry = this.types.get(child)!;
          this.error(entry.pos, `type '${child}' contains itself (${cycle.join(" → ")}) without '*' or '<>': its size would be infinite`);
        }
      }
    }
    for (const t of this.pendingSelfTypedefs) {
      if (!this.types.has(t.name)) this.refTo(t.name, t.pos, t.tag);
    }
    return cyclic;
  }

  // --- programs --------------------------------------------------------------

  private resolvePrograms(defs: readonly Extract<Definition, { kind: "program" }>[]): ProgramInfo[] {
    const out: ProgramInfo[] = [];
    const versionsSeen = new Map<string, SourcePos>();
    const namesSeen = new Map<string, SourcePos>();
    for (const p of defs) {
      const other = namesSeen.get(p.name);
      if (other) this.error(p.pos, `duplicate program '${p.name}' (first defined at ${formatPos(other)})`);
      namesSeen.set(p.name, p.pos);
      const number = (this.value(p.number) ?? 0) >>> 0;
      const versions: VersionInfo[] = [];
      for (const v of p.versions) {
        const vnum = (this.value(v.number) ?? 0) >>> 0;
        const key = `${number}/${vnum}`;
        const prev = versionsSeen.get(key);
        if (prev) {
          this.error(v.pos, `duplicate version ${vnum} of program ${number} (first defined at ${formatPos(prev)})`);
          continue;
        }
        versionsSeen.set(key, v.pos);
        const procedures: ProcedureInfo[] = [];
        const procNumbers = new Map<number, SourcePos>();
        const procNames = new Map<string, SourcePos>();
        for (const proc of v.procedures) {
          const pnum = (this.value(proc.number) ?? 0) >>> 0;
          const dupNum = procNumbers.get(pnum);
          const dupName = procNames.get(proc.name);
          if (dupNum) {
            this.error(proc.pos, `duplicate procedure number ${pnum} in version '${v.name}' (first at ${formatPos(dupNum)})`);
            continue;
          }
          if (dupName) {
            this.error(proc.pos, `duplicate procedure '${proc.name}' in version '${v.name}' (first at ${formatPos(dupName)})`);
            continue;
          }
          procNumbers.set(pnum, proc.pos);
          procNames.set(proc.name, proc.pos);
          procedures.push({
            name: proc.name,
            number: pnum,
            args: proc.args.map((a) => this.procedureArg(a, proc.name)),
            argNames: proc.args.map((a) => a.name),
            result: proc.result ? this.procedureArg(proc.result, proc.name) : XDR_VOID,
            source: proc.pos,
          });
        }
        versions.push({ name: v.name, number: vnum, procedures, source: v.pos });
      }
      out.push({ name: p.name, number, versions, source: p.pos });
    }
    return out;
  }

  private procedureArg(a: ProcedureArg, owner: string): XdrType {
    return this.shaped(a.type, a.shape, owner);
  }
}

function article(word: string): string {
  return word === "enum" ? "an" : "a";
}

/** Names of the named types `t` contains directly (not behind `*` or `<>`). */
function directlyContained(t: XdrType, armsOf: ReadonlyMap<XdrType, readonly Field[]>): string[] {
  const out: string[] = [];
  const work: XdrType[] = [t];
  while (work.length) {
    const x = work.pop()!;
    switch (x.kind) {
      case "ref": out.push(x.name); break;
      case "struct": for (const f of x.fields) work.push(f.type); break;
      case "union":
        // The arms map is filled in after this check; its fields are known already.
        work.push(x.disc.type);
        for (const f of armsOf.get(x) ?? x.arms.values()) work.push(f.type);
        if (x.fallback) work.push(x.fallback.type);
        break;
      case "array": if (x.fixed !== undefined && x.fixed > 0) work.push(x.of); break;
      default: break;
    }
  }
  return out;
}

/** A short description of a type for messages ("string<>", "foo", "int"). */
export function describeType(t: XdrType): string {
  switch (t.kind) {
    case "ref": return t.name;
    case "uint": return "unsigned int";
    case "uhyper": return "unsigned hyper";
    case "enum": case "struct": case "union": return `${t.kind} ${t.name}`;
    case "opaque": case "string":
      return t.fixed !== undefined ? `${t.kind}[${t.fixed}]` : t.max === XDR_UNBOUNDED ? `${t.kind}<>` : `${t.kind}<${t.max}>`;
    case "array":
      return `${describeType(t.of)}${t.fixed !== undefined ? `[${t.fixed}]` : t.max === XDR_UNBOUNDED ? "<>" : `<${t.max}>`}`;
    case "optional": return `${describeType(t.of)} *`;
    default: return t.kind;
  }
}
