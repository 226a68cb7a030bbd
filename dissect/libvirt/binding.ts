/**
 * Binds libvirt procedures from its `.x` files by libvirt's naming convention
 * (the one its gendispatch.pl generator relies on), with no hand-written table:
 *
 * - a program is a `<P>_PROGRAM` constant with a `<P>_PROTOCOL_VERSION` constant
 *   (version 1 when absent) and an enum `<p>_procedure` (REMOTE_PROGRAM and
 *   remote_procedure; QEMU_, LXC_, ADMIN_, KEEPALIVE_ likewise);
 * - each member `<P>_PROC_<NAME> = n` is procedure n;
 * - its call body is the type `<p>_<name>_args`, its reply body `<p>_<name>_ret`,
 *   its event body (MESSAGE) `<p>_<name>_msg`, `<name>` in lower case; an absent
 *   type means an empty (void) body.
 *
 * The procedures go into the ProgramRegistry through its `addProcedures` extension
 * point, so names and types are found the same way as for ONC-RPC programs. The
 * body types are recorded as the procedure's arguments, named by role: "args"
 * (CALL body) and/or "msg" (MESSAGE body); the result is the `_ret` type.
 */
import type { ProgramRegistry, RegisteredProcedure, SpecSource } from "../registry.js";
import type { SourcePos, XdrType } from "../xdr-types.js";
import type { Schema } from "../xdr/schema.js";
import { libvirtBuiltinSchema } from "./builtin-spec.js";

export interface LibvirtProgramBinding {
  readonly prog: number;
  readonly vers: number;
  /** "REMOTE_PROGRAM", "QEMU_PROGRAM", … */
  readonly programSpecName: string;
  /** "remote_procedure", … */
  readonly enumName: string;
  readonly procedures: number;
  /** Procedures with a `_args`, `_ret` and `_msg` type. */
  readonly withArgs: number;
  readonly withRet: number;
  readonly withMsg: number;
}

const VOID: XdrType = Object.freeze({ kind: "void" });
const PROCEDURE_ENUM = /^([A-Za-z][A-Za-z0-9]*)_procedure$/;

function deref(t: XdrType | undefined): XdrType | undefined {
  for (let i = 0; i < 64 && t && t.kind === "ref"; i++) t = t.target();
  return t;
}

/**
 * Finds every libvirt-style program in `schema` and registers its procedures.
 * Returns what was bound (empty when the schema has no libvirt program).
 */
export function bindLibvirtProcedures(
  schema: Schema, registry: ProgramRegistry, options: { readonly source: SpecSource },
): LibvirtProgramBinding[] {
  const out: LibvirtProgramBinding[] = [];
  // Type names in lower case, so `remote_domain_get_info_args` is found whatever the case of the enum member.
  let lowerTypes: Map<string, string> | null = null;
  for (const [enumName, declared] of schema.types) {
    const m = PROCEDURE_ENUM.exec(enumName);
    if (!m) continue;
    const t = deref(declared);
    if (!t || t.kind !== "enum") continue;
    const stem = m[1]!;
    const upper = stem.toUpperCase();
    const prog = schema.constants.get(`${upper}_PROGRAM`);
    if (prog === undefined) continue;
    const vers = schema.constants.get(`${upper}_PROTOCOL_VERSION`) ?? 1;
    if (!lowerTypes) {
      lowerTypes = new Map();
      for (const name of schema.types.keys()) lowerTypes.set(name.toLowerCase(), name);
    }
    const lookup = (name: string): XdrType | undefined => {
      const actual = lowerTypes!.get(name);
      return actual === undefined ? undefined : schema.types.get(actual);
    };
    const prefix = `${upper}_PROC_`;
    const source = schema.typeSources.get(enumName);
    const defs: {
      prog: number; vers: number; proc: number; specName: string; args: XdrType[];
      argNames: string[]; result: XdrType; source?: SourcePos;
    }[] = [];
    let withArgs = 0;
    let withRet = 0;
    let withMsg = 0;
    for (const [proc, memberName] of t.names) {
      if (!memberName.toUpperCase().startsWith(prefix)) continue;
      const base = `${stem}_${memberName.slice(prefix.length)}`.toLowerCase();
      const args = lookup(`${base}_args`);
      const ret = lookup(`${base}_ret`);
      const msg = lookup(`${base}_msg`);
      const argTypes: XdrType[] = [];
      const argNames: string[] = [];
      if (args) {
        argTypes.push(args);
        argNames.push("args");
        withArgs++;
      }
      if (msg) {
        argTypes.push(msg);
        argNames.push("msg");
        withMsg++;
      }
      if (ret) withRet++;
      defs.push({
        prog, vers, proc, specName: memberName, args: argTypes, argNames, result: ret ?? VOID,
        ...(source ? { source } : {}),
      });
    }
    if (defs.length === 0) continue;
    defs.sort((a, b) => a.proc - b.proc);
    registry.addProcedures(defs, { source: options.source, programSpecName: `${upper}_PROGRAM` });
    out.push({
      prog, vers, programSpecName: `${upper}_PROGRAM`, enumName, procedures: defs.length, withArgs, withRet, withMsg,
    });
  }
  return out;
}

/** Registers the built-in keepalive program (PING, PONG) unless a spec already did. */
export function registerLibvirtBuiltins(registry: ProgramRegistry): void {
  bindLibvirtProcedures(libvirtBuiltinSchema(), registry, { source: "builtin" });
}

/** The type of a libvirt procedure's body in a given role, from a bound procedure. */
export function libvirtBodyType(def: RegisteredProcedure, role: "args" | "msg" | "ret"): XdrType | undefined {
  if (role === "ret") return def.result;
  const i = def.argNames.indexOf(role);
  return i < 0 ? undefined : def.args[i];
}

/**
 * What a spec loader does with every loaded schema: `registry.addSchema` (ONC-RPC
 * `program` blocks) and then libvirt's convention binding (a no-op for schemas
 * without a libvirt-style program).
 */
export function addSchemaWithLibvirt(
  registry: ProgramRegistry, schema: Schema, options: { readonly source: SpecSource },
): LibvirtProgramBinding[] {
  registry.addSchema(schema, options);
  return bindLibvirtProcedures(schema, registry, options);
}
