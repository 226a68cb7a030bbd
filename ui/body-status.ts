/**
 * The status of a reply body (NFS3ERR_NOENT, MNT3ERR_ACCES, nlm4_denied…) read
 * straight from the bytes, without decoding the body: where the status enum sits is
 * worked out once per procedure from its result type. `stats` uses it so that error
 * counts by body status cost a word read per reply. It finds what
 * ui/filter/fields.ts bodyErrorName finds on a decoded tree (a test checks both agree).
 */
import type { ProgramRegistry, RegisteredProcedure } from "../dissect/registry.js";
import type { RpcCall, RpcReply } from "../dissect/rpc-types.js";
import type { XdrType } from "../dissect/xdr-types.js";
import { derefType } from "../dissect/xdr/decoder.js";

interface StatusPlan {
  /** Byte offset of the status word from the start of the results. */
  readonly offset: number;
  readonly names: ReadonlyMap<number, string>;
}

const hasStat = (name: string | undefined): boolean => name !== undefined && /stat/i.test(name);

/** The name a field's type is written with: a typedef or enum name, when it has one. */
function writtenName(t: XdrType): string | undefined {
  return t.kind === "ref" || t.kind === "enum" ? t.name : undefined;
}

/** Size of a value of this type when it is the same for every value, else null. */
function fixedSize(t: XdrType, depth = 0): number | null {
  if (depth > 32) return null;
  const d = derefType(t);
  switch (d.kind) {
    case "int": case "uint": case "bool": case "float": case "enum": return 4;
    case "hyper": case "uhyper": case "double": return 8;
    case "quadruple": return 16;
    case "void": return 0;
    case "opaque": case "string": return d.fixed !== undefined ? (d.fixed + 3) & ~3 : null;
    case "array": {
      if (d.fixed === undefined) return null;
      const each = fixedSize(d.of, depth + 1);
      return each === null ? null : each * d.fixed;
    }
    case "struct": {
      let total = 0;
      for (const f of d.fields) {
        const s = fixedSize(f.type, depth + 1);
        if (s === null) return null;
        total += s;
      }
      return total;
    }
    default:
      return null;
  }
}

function planFor(result: XdrType): StatusPlan | null {
  const t = derefType(result);
  if (t.kind === "union") {
    const disc = derefType(t.disc.type);
    if (disc.kind === "enum" && (hasStat(t.disc.name) || hasStat(writtenName(t.disc.type)))) return { offset: 0, names: disc.names };
    return null;
  }
  if (t.kind === "struct") {
    let offset = 0;
    for (const f of t.fields) {
      const ft = derefType(f.type);
      if (ft.kind === "enum" && (hasStat(f.name) || hasStat(writtenName(f.type)))) return { offset, names: ft.names };
      const size = fixedSize(f.type);
      if (size === null) return null;
      offset += size;
    }
    return null;
  }
  if (t.kind === "enum" && hasStat(writtenName(result))) return { offset: 0, names: t.names };
  return null;
}

/** A procedure's plan, remembered by its numbers (see BodyStatusReader.recent). */
interface RecentPlan {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** Undefined: the registry does not know the procedure. */
  readonly plan: StatusPlan | null | undefined;
}

export class BodyStatusReader {
  private readonly plans = new Map<RegisteredProcedure, StatusPlan | null>();
  /**
   * The plans used last, by a hash of the procedure numbers: every reply asks, and the
   * registry's lookup is three maps deep, then the plan a fourth. A procedure the
   * registry learns later (a deferred specification) is loaded by its first lookup,
   * so a remembered answer does not go stale.
   */
  private readonly recent = new Array<RecentPlan | null>(64).fill(null);

  constructor(private readonly registry: ProgramRegistry) {}

  /**
   * How far into a reply's results any status word lies (its offset plus 4, over
   * every procedure of the registry): records need to be kept no further than the
   * header plus this for `read` to find every status.
   */
  furthestStatusEnd(): number {
    // Specifications still deferred count by what the build worked out for them, when
    // it did: loading every one of them to look cost a `stats` run 8–12 ms of its start.
    const deferred = this.registry.deferredFacts();
    let end = 0;
    if (deferred !== null) for (const facts of deferred) end = Math.max(end, facts.resultStatusEnd);
    for (const prog of deferred !== null ? this.registry.registeredPrograms() : this.registry.knownPrograms()) {
      for (const vers of this.registry.versionsOf(prog)) {
        for (const def of this.registry.proceduresOf(prog, vers)) {
          const plan = this.planOf(def);
          if (plan) end = Math.max(end, plan.offset + 4);
        }
      }
    }
    return end;
  }

  private planOf(def: RegisteredProcedure): StatusPlan | null {
    let plan = this.plans.get(def);
    if (plan === undefined) {
      plan = planFor(def.result);
      this.plans.set(def, plan);
    }
    return plan;
  }

  /** The plan of the results' status when the record (of `length` bytes) holds its word; null when it does not; undefined without a plan. */
  private located(call: RpcCall, reply: RpcReply, length: number): StatusPlan | null | undefined {
    const plan = this.planByNumbers(call.prog, call.vers, call.proc);
    if (!plan) return undefined;
    return reply.bodyOffset + plan.offset + 4 > length ? null : plan;
  }

  private planByNumbers(prog: number, vers: number, proc: number): StatusPlan | null | undefined {
    const slot = (prog ^ (vers << 5) ^ proc) & 63;
    const r = this.recent[slot]!;
    if (r !== null && r.proc === proc && r.vers === vers && r.prog === prog) return r.plan;
    const def = this.registry.lookup(prog, vers, proc);
    const plan = def ? this.planOf(def) : undefined;
    this.recent[slot] = { prog, vers, proc, plan };
    return plan;
  }

  /**
   * The status enum of a reply's results as its bytes hold it (the value, and its
   * name when the enum has one), 0 included; null when the results are too short to
   * hold it; undefined when the results' type has no status at a fixed place (decode
   * them to know).
   */
  status(call: RpcCall, reply: RpcReply, record: Uint8Array): { readonly name: string | undefined; readonly value: number } | null | undefined {
    const plan = this.located(call, reply, record.length);
    if (!plan) return plan;
    const value = wordAt(record, reply.bodyOffset + plan.offset);
    return { name: plan.names.get(value), value };
  }

  /** The body status name when it is an error (not 0), else null. */
  read(call: RpcCall, reply: RpcReply, record: Uint8Array): string | null {
    return this.readAt(call, reply, record, 0, record.length);
  }

  /** The same for a record lying at [start, end) of `data`, read there. */
  readAt(call: RpcCall, reply: RpcReply, data: Uint8Array, start: number, end: number): string | null {
    if (reply.status !== "SUCCESS") return null;
    const plan = this.located(call, reply, end - start);
    if (!plan) return null;
    const v = wordAt(data, start + reply.bodyOffset + plan.offset);
    if (v === 0) return null;
    return plan.names.get(v) ?? `UNKNOWN(${v})`;
  }
}

/** The signed 32-bit word at `at` (an enum's value). */
function wordAt(record: Uint8Array, at: number): number {
  return (record[at]! << 24) | (record[at + 1]! << 16) | (record[at + 2]! << 8) | record[at + 3]!;
}
