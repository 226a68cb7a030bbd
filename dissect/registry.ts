/**
 * The program registry: (prog, vers, proc) → procedure definition, as Wireshark's
 * per-program procedure tables, but filled at run time from `.x` schemas. Built-in
 * and user specifications go through the same path; a user's wins for the same
 * (prog, vers). Also decodes call arguments and reply results with those types.
 */
import type { Limits } from "../capture/limits.js";
import type { Issue } from "./malformed.js";
import type { RpcCall, RpcReply } from "./rpc-types.js";
import type { DecodedField, ProcedureDef, SourcePos, XdrType } from "./xdr-types.js";
import { decodeXdr, xdrTypeName, type DecodeResult } from "./xdr/decoder.js";
import { WELL_KNOWN_PROGRAMS } from "./xdr/program-names.js";
import type { Schema } from "./xdr/schema.js";

export type SpecSource = "builtin" | "user";

/** A procedure as the registry holds it: ProcedureDef plus what the `.x` said. */
export interface RegisteredProcedure extends ProcedureDef {
  /** The name in the `.x` ("NFSPROC3_READ"); `name` is the display name ("READ"). */
  readonly specName: string;
  /** Argument names where the `.x` gave them; else undefined. */
  readonly argNames: readonly (string | undefined)[];
  readonly specSource: SpecSource;
}

export interface CallDecode {
  readonly def?: ProcedureDef;
  /** Decoded arguments; null when the procedure is unknown. Several arguments form one struct-like node. */
  readonly args: DecodedField | null;
  /** Offset just past the decoded arguments (where decoding stopped, if malformed). */
  readonly end: number;
  readonly issues: readonly Issue[];
}

export interface ReplyDecode {
  readonly def?: ProcedureDef;
  /** Decoded results; null unless the reply status is SUCCESS and the procedure is known. */
  readonly res: DecodedField | null;
  readonly end: number;
  readonly issues: readonly Issue[];
}

interface VersionEntry {
  readonly source: SpecSource;
  readonly programSpecName: string;
  readonly procedures: Map<number, RegisteredProcedure>;
}

const VOID: XdrType = Object.freeze({ kind: "void" });

/** A specification not compiled yet: `load` adds it when one of `programs` is first asked about. */
interface DeferredSpec {
  /** Program and version numbers it may define (a superset will do); null: any, loaded at the first question. */
  readonly programs: ReadonlySet<number> | null;
  readonly load: () => void;
  /** What its loader knows of it without loading it (the build's index of the built-ins). */
  readonly facts: DeferredFacts | undefined;
}

/** Known of a deferred specification before it is loaded. */
export interface DeferredFacts {
  /**
   * How far into a reply's results a status word of any of its procedures lies, its
   * offset plus 4 (0: none), as ui/body-status.ts works it out.
   */
  readonly resultStatusEnd: number;
}

export class ProgramRegistry {
  /** program → version → its procedures (numbers as keys: no string made per lookup). */
  private readonly versions = new Map<number, Map<number, VersionEntry>>();
  private readonly specProgramNames = new Map<number, string>();
  private readonly argsTypes = new WeakMap<ProcedureDef, XdrType>();
  private deferred: DeferredSpec[] = [];
  /** The (prog, vers) last looked up with specs deferred: none of them is due for it any more. */
  private checkedProg = -1;
  private checkedVers = -1;

  /**
   * A specification added only when a program it may define is first looked up (the
   * built-in NFSv4 specification alone is 20 ms of compiling, spent on every run that
   * never sees NFSv4). Rank works as with addSchema in any order: a built-in never
   * replaces a user's specification, whenever it is loaded.
   */
  addDeferred(programs: ReadonlySet<number> | null, load: () => void, facts?: DeferredFacts): void {
    this.deferred.push({ programs, load, facts });
    this.checkedProg = -1;
  }

  /**
   * Loads the deferred specifications that may define `prog` (null: all of them),
   * or with `vers`, that version of it: a file's numbers hold its versions' too.
   */
  private loadDeferred(prog: number | null, vers?: number): void {
    // Called on every lookup while any spec waits: nothing is allocated unless one is due.
    let due: DeferredSpec[] | null = null;
    for (const d of this.deferred) {
      if (prog === null || d.programs === null || (d.programs.has(prog) && (vers === undefined || d.programs.has(vers)))) {
        (due ??= []).push(d);
      }
    }
    if (due === null) return;
    const loading = due;
    this.deferred = this.deferred.filter((d) => !loading.includes(d));
    for (const d of loading) d.load();
  }

  /** Adds every program of a loaded schema. A user spec replaces a built-in one per (prog, vers). */
  addSchema(schema: Schema, options: { readonly source: SpecSource }): void {
    for (const program of schema.programs) {
      for (const version of program.versions) {
        this.addProcedures(
          version.procedures.map((p) => ({
            prog: program.number, vers: version.number, proc: p.number, specName: p.name,
            args: p.args, argNames: p.argNames, result: p.result, source: p.source,
          })),
          { source: options.source, programSpecName: program.name },
        );
      }
    }
  }

  /**
   * Extension point: procedures bound some other way than a `program` block (libvirt
   * numbers its procedures by convention from an enum). All must share one (prog, vers).
   */
  addProcedures(
    defs: readonly {
      readonly prog: number; readonly vers: number; readonly proc: number; readonly specName: string;
      readonly args: readonly XdrType[]; readonly argNames?: readonly (string | undefined)[];
      readonly result: XdrType; readonly source?: SourcePos;
    }[],
    options: { readonly source: SpecSource; readonly programSpecName: string },
  ): void {
    const first = defs[0];
    if (!first) return;
    const existing = this.versions.get(first.prog)?.get(first.vers);
    // Built-ins never replace a user's; a later spec of the same rank replaces an earlier one.
    if (existing && existing.source === "user" && options.source === "builtin") return;
    if (!this.specProgramNames.has(first.prog) || options.source === "user") {
      this.specProgramNames.set(first.prog, options.programSpecName);
    }
    const progName = this.programName(first.prog) ?? options.programSpecName;
    const procedures = new Map<number, RegisteredProcedure>();
    for (const d of defs) {
      if (d.prog !== first.prog || d.vers !== first.vers) {
        throw new Error("addProcedures: all procedures must belong to one program version");
      }
      const def: RegisteredProcedure = {
        prog: d.prog, vers: d.vers, proc: d.proc,
        name: displayProcedureName(d.specName, options.programSpecName),
        progName, specName: d.specName,
        args: d.args, argNames: d.argNames ?? d.args.map(() => undefined), result: d.result,
        specSource: options.source,
        ...(d.source ? { source: d.source } : {}),
      };
      procedures.set(d.proc, def);
    }
    let byVersion = this.versions.get(first.prog);
    if (!byVersion) {
      byVersion = new Map();
      this.versions.set(first.prog, byVersion);
    }
    byVersion.set(first.vers, { source: options.source, programSpecName: options.programSpecName, procedures });
  }

  lookup(prog: number, vers: number, proc: number): RegisteredProcedure | undefined {
    // Lookups come in runs of one program version: check the deferred specs once a run.
    if (this.deferred.length > 0 && (prog !== this.checkedProg || vers !== this.checkedVers)) {
      this.loadDeferred(prog, vers);
      this.checkedProg = prog;
      this.checkedVers = vers;
    }
    return this.versions.get(prog)?.get(vers)?.procedures.get(proc);
  }

  /** Versions of a program that have a specification, ascending. */
  versionsOf(prog: number): number[] {
    if (this.deferred.length > 0) this.loadDeferred(prog);
    return [...(this.versions.get(prog)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The facts of every specification still deferred; null when one of them came without. */
  deferredFacts(): DeferredFacts[] | null {
    const all: DeferredFacts[] = [];
    for (const d of this.deferred) {
      if (d.facts === undefined) return null;
      all.push(d.facts);
    }
    return all;
  }

  /** Programs with procedures added so far, ascending; no deferred specification is loaded. */
  registeredPrograms(): number[] {
    return [...this.versions.keys()].sort((a, b) => a - b);
  }

  /** Procedures of one program version, by number. */
  proceduresOf(prog: number, vers: number): readonly RegisteredProcedure[] {
    if (this.deferred.length > 0) this.loadDeferred(prog, vers);
    const entry = this.versions.get(prog)?.get(vers);
    return entry ? [...entry.procedures.values()].sort((a, b) => a.proc - b.proc) : [];
  }

  /** Every program number with a name: the well-known table and every specified program, ascending. */
  knownPrograms(): number[] {
    if (this.deferred.length > 0) this.loadDeferred(null);
    const out = new Set<number>(WELL_KNOWN_PROGRAMS.keys());
    for (const prog of this.specProgramNames.keys()) out.add(prog);
    return [...out].sort((a, b) => a - b);
  }

  /** Short lowercase name ("nfs", "portmapper", "mountd"); from a spec for unknown numbers. */
  programName(prog: number): string | undefined {
    const known = WELL_KNOWN_PROGRAMS.get(prog);
    if (known) return known.name;
    if (this.deferred.length > 0) this.loadDeferred(prog);
    const spec = this.specProgramNames.get(prog);
    return spec === undefined ? undefined : programStem(spec).toLowerCase();
  }

  /** The label tshark shows ("NFS", "Portmap", "MOUNT"); from a spec for unknown numbers. */
  programDisplayName(prog: number): string | undefined {
    const known = WELL_KNOWN_PROGRAMS.get(prog);
    if (known) return known.display;
    if (this.deferred.length > 0) this.loadDeferred(prog);
    const spec = this.specProgramNames.get(prog);
    return spec === undefined ? undefined : programStem(spec).toUpperCase();
  }

  /** Display name of a procedure ("GETPORT", "GETATTR", "MNT"); "NULL" for an unknown 0, else "proc-17". */
  procedureName(prog: number, vers: number, proc: number): string {
    const def = this.lookup(prog, vers, proc);
    if (def) return def.name;
    return proc === 0 ? "NULL" : `proc-${proc}`;
  }

  /** The type of a call's arguments, or null without a specification for it. */
  argumentsTypeOf(call: RpcCall): XdrType | null {
    const def = this.lookup(call.prog, call.vers, call.proc);
    return def ? this.argumentsType(def) : null;
  }

  /** The type of a call's results, or null without a specification for it. */
  resultTypeOf(call: RpcCall): XdrType | null {
    return this.lookup(call.prog, call.vers, call.proc)?.result ?? null;
  }

  /** Decodes a call's arguments (they start at call.bodyOffset and run to the end of the record). */
  decodeCall(call: RpcCall, record: Uint8Array, limits: Limits, truncatedAt?: number): CallDecode {
    const def = this.lookup(call.prog, call.vers, call.proc);
    const start = call.bodyOffset;
    if (!def) return undecoded(call, record, start, truncatedAt, "arguments");
    const out = this.decodeBody(this.argumentsType(def), "args", record, start, limits, truncatedAt, "arguments");
    return { def, args: out.field, end: out.end, issues: out.issues };
  }

  /** Decodes a reply's results; only a SUCCESS reply carries them (RFC 5531 §9). */
  decodeReply(call: RpcCall, reply: RpcReply, record: Uint8Array, limits: Limits, truncatedAt?: number): ReplyDecode {
    const def = this.lookup(call.prog, call.vers, call.proc);
    const start = reply.bodyOffset;
    if (reply.status !== "SUCCESS") return def ? { def, res: null, end: start, issues: [] } : { res: null, end: start, issues: [] };
    if (!def) {
      const u = undecoded(call, record, start, truncatedAt, "results");
      return { res: u.args, end: u.end, issues: u.issues };
    }
    const out = this.decodeBody(def.result, "res", record, start, limits, truncatedAt, "results");
    return { def, res: out.field, end: out.end, issues: out.issues };
  }

  /** One argument as itself; several as one struct named after the procedure's arguments. */
  private argumentsType(def: ProcedureDef): XdrType {
    if (def.args.length === 0) return VOID;
    if (def.args.length === 1) return def.args[0]!;
    let t = this.argsTypes.get(def);
    if (!t) {
      const names = (def as Partial<RegisteredProcedure>).argNames ?? [];
      t = {
        kind: "struct",
        name: `(${def.args.map((a) => xdrTypeName(a)).join(", ")})`,
        fields: def.args.map((type, i) => ({ name: names[i] ?? `arg${i + 1}`, type })),
      };
      this.argsTypes.set(def, t);
    }
    return t;
  }

  private decodeBody(
    type: XdrType, name: string, record: Uint8Array, start: number, limits: Limits,
    truncatedAt: number | undefined, what: string,
  ): { field: DecodedField; end: number; issues: Issue[] } {
    // With truncatedAt, the record holds only the captured bytes and the message goes on
    // beyond them: running out of bytes is "truncated", never "short".
    const end = truncatedAt === undefined ? record.length : Infinity;
    const result: DecodeResult = decodeXdr(type, record, start, end, limits,
      truncatedAt === undefined ? { name } : { name, truncatedAt });
    const issues: Issue[] = [...result.issues];
    const m = result.malformed;
    if (m) {
      issues.push({ code: m.code === "truncated" ? "truncated" : "malformed", detail: `${what}: ${m.message}`, offset: m.offset });
    } else if (truncatedAt === undefined && result.end < record.length) {
      issues.push({ code: "trailing-bytes", detail: `${record.length - result.end} bytes after the ${what}`, offset: result.end });
    }
    return { field: result.field, end: result.end, issues };
  }
}

/** No specification: NULL (procedure 0) takes and returns nothing by convention (RFC 5531 §12.1). */
function undecoded(call: RpcCall, record: Uint8Array, start: number, truncatedAt: number | undefined, what: string): CallDecode {
  const empty = start >= record.length && truncatedAt === undefined;
  if (call.proc === 0 && empty) {
    return { args: { name: what === "arguments" ? "args" : "res", typeName: "void", offset: start, length: 0, value: { kind: "void" } }, end: start, issues: [] };
  }
  return {
    args: null,
    end: start,
    issues: [{
      code: "body-undecoded",
      detail: `no specification for program ${call.prog} version ${call.vers} procedure ${call.proc}: ${Math.max(0, record.length - start)} bytes of ${what} not decoded`,
      offset: start,
    }],
  };
}

/** "NFS_PROGRAM" → "NFS", "RQUOTAPROG" → "RQUOTA", "SM_PROG" → "SM". */
export function programStem(specName: string): string {
  const stem = specName.replace(/_?(PROGRAM|PROG)$/i, "");
  return stem || specName;
}

/**
 * tshark-style procedure names: strip `XXXPROC[n]_` or `XXX_PROC_` ("NFSPROC3_GETATTR" →
 * "GETATTR", "PMAPPROC_GETPORT" → "GETPORT", "REMOTE_PROC_AUTH_LIST" → "AUTH_LIST"), or a prefix that repeats
 * the program's name ("SM_MON" in SM_PROG → "MON", "NLM4_LOCK" in NLM_PROG → "LOCK").
 */
export function displayProcedureName(specName: string, programSpecName: string): string {
  const proc = /^[A-Za-z0-9]*_?PROC[0-9]*_(.+)$/.exec(specName);
  if (proc) return proc[1]!;
  const stem = programStem(programSpecName).replace(/_/g, "").toUpperCase();
  const m = /^([A-Za-z]+)[0-9]*_(.+)$/.exec(specName);
  if (m && stem && m[1]!.toUpperCase() === stem) return m[2]!;
  return specName;
}
