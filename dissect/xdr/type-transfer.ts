/**
 * XDR types handed to another thread. A type is a graph (named types are `ref`s
 * whose target is found through a function, and may be recursive), which structured
 * cloning cannot carry as it is: here each node gets a number, and children,
 * references included, are numbers. The sender numbers nodes once and sends each
 * node once; the receiver rebuilds the same graph, one object per node, so what
 * depends on identity (a linked list is a struct whose last field points back at it)
 * holds on both sides.
 */
import type { Field, XdrType } from "../xdr-types.js";

/** A field as sent: its name and its type's node. */
type WireField = readonly [name: string, type: number];

/** One node as sent (plain data). */
export type WireNode =
  | { readonly kind: "int" | "uint" | "hyper" | "uhyper" | "bool" | "float" | "double" | "quadruple" | "void" }
  | { readonly kind: "enum"; readonly name: string; readonly names: readonly (readonly [number, string])[] }
  | { readonly kind: "opaque" | "string"; readonly fixed?: number; readonly max: number }
  | { readonly kind: "array"; readonly of: number; readonly fixed?: number; readonly max: number }
  | { readonly kind: "optional"; readonly of: number }
  | { readonly kind: "struct"; readonly name: string; readonly fields: readonly WireField[] }
  | {
      readonly kind: "union"; readonly name: string; readonly disc: WireField;
      readonly arms: readonly (readonly [number, string, number])[]; readonly fallback?: WireField;
    }
  | { readonly kind: "ref"; readonly name: string; readonly target: number };

/** Nodes numbered from `first` on, in order. */
export interface WireNodes {
  readonly first: number;
  readonly nodes: readonly WireNode[];
}

/** The sending side: numbers nodes as they are first met. */
export class TypeSender {
  private readonly ids = new Map<XdrType, number>();
  private pending: WireNode[] = [];
  private firstPending = 0;

  /** The number of `type`'s node; nodes not sent yet are queued for takeNew(). */
  idOf(type: XdrType): number {
    const known = this.ids.get(type);
    if (known !== undefined) return known;
    // Numbered before its children, so that a cycle finds it.
    const id = this.firstPending + this.pending.length;
    this.ids.set(type, id);
    const at = this.pending.length;
    this.pending.push({ kind: "void" });
    this.pending[at] = this.encode(type);
    return id;
  }

  /** Nodes numbered since the last call (null when there are none), to send before any use of them. */
  takeNew(): WireNodes | null {
    if (this.pending.length === 0) return null;
    const batch = { first: this.firstPending, nodes: this.pending };
    this.firstPending += this.pending.length;
    this.pending = [];
    return batch;
  }

  private field(f: Field): WireField {
    return [f.name, this.idOf(f.type)];
  }

  private encode(t: XdrType): WireNode {
    switch (t.kind) {
      case "enum": return { kind: "enum", name: t.name, names: [...t.names] };
      case "opaque": case "string":
        return t.fixed !== undefined ? { kind: t.kind, fixed: t.fixed, max: t.max } : { kind: t.kind, max: t.max };
      case "array": {
        const of = this.idOf(t.of);
        return t.fixed !== undefined ? { kind: "array", of, fixed: t.fixed, max: t.max } : { kind: "array", of, max: t.max };
      }
      case "optional": return { kind: "optional", of: this.idOf(t.of) };
      case "struct": return { kind: "struct", name: t.name, fields: t.fields.map((f) => this.field(f)) };
      case "union": {
        const disc = this.field(t.disc);
        const arms = [...t.arms].map(([value, f]): readonly [number, string, number] => [value, f.name, this.idOf(f.type)]);
        return t.fallback
          ? { kind: "union", name: t.name, disc, arms, fallback: this.field(t.fallback) }
          : { kind: "union", name: t.name, disc, arms };
      }
      case "ref": return { kind: "ref", name: t.name, target: this.idOf(t.target()) };
      default: return { kind: t.kind };
    }
  }
}

/** The receiving side: the graph rebuilt from the batches, in the order they were taken. */
export class TypeReceiver {
  private readonly types: XdrType[] = [];

  get known(): number {
    return this.types.length;
  }

  add(batch: WireNodes): void {
    if (batch.first !== this.types.length) throw new Error(`type nodes from ${batch.first} arrived after ${this.types.length} nodes`);
    const types = this.types;
    const end = batch.first + batch.nodes.length;
    // Children may be nodes of this batch not built yet (or the node itself): looked up when first used.
    const node = (id: number): XdrType => {
      if (!(id >= 0 && id < end)) throw new Error(`type node ${id} not sent`);
      return types[id]!;
    };
    // Shells first (fields filled below), so that every node of the batch has its object.
    const shells: Record<string, unknown>[] = batch.nodes.map(() => ({}));
    for (let i = 0; i < shells.length; i++) types.push(shells[i] as unknown as XdrType);
    batch.nodes.forEach((n, i) => {
      const shell = shells[i]!;
      const field = ([name, id]: WireField): Field => ({ name, type: node(id) });
      switch (n.kind) {
        case "enum": Object.assign(shell, { kind: n.kind, name: n.name, names: new Map(n.names) }); break;
        case "opaque": case "string": Object.assign(shell, n); break;
        case "array": Object.assign(shell, { ...n, of: node(n.of) }); break;
        case "optional": Object.assign(shell, { kind: n.kind, of: node(n.of) }); break;
        case "struct": Object.assign(shell, { kind: n.kind, name: n.name, fields: n.fields.map(field) }); break;
        case "union":
          Object.assign(shell, {
            kind: n.kind, name: n.name, disc: field(n.disc),
            arms: new Map(n.arms.map(([value, name, id]) => [value, { name, type: node(id) }] as const)),
            ...(n.fallback ? { fallback: field(n.fallback) } : {}),
          });
          break;
        case "ref": {
          const target = node(n.target);
          Object.assign(shell, { kind: n.kind, name: n.name, target: () => target });
          break;
        }
        default: Object.assign(shell, { kind: n.kind }); break;
      }
    });
  }

  type(id: number): XdrType {
    const t = this.types[id];
    if (t === undefined) throw new Error(`type node ${id} not received`);
    return t;
  }
}
