/**
 * The short "info" text of a row: the operations of an NFSv4 COMPOUND
 * ("SEQUENCE PUTFH READ"), or the name a call is about (a LOOKUP's file name).
 */
import type { DecodedField } from "../dissect/xdr-types.js";

const NAME_FIELD = /^(name|filename|dirpath|path|linkname|objname)$/i;

/** Enum names of the discriminants of an `argarray`/`resarray` of unions, OP_ prefix removed. */
function compoundOps(root: DecodedField, arrayName: string): string | null {
  if (root.value.kind !== "struct") return null;
  const arr = root.value.fields.find((f) => f.name === arrayName);
  if (!arr || arr.value.kind !== "array") return null;
  const ops: string[] = [];
  for (const el of arr.value.elements) {
    if (el.value.kind !== "union") continue;
    const d = el.value.disc.value;
    if (d.kind === "enum") ops.push(d.name ? d.name.replace(/^OP_/, "") : String(d.value));
    if (ops.length >= 16) {
      ops.push("…");
      break;
    }
  }
  return ops.length ? ops.join(" ") : null;
}

/** The first name-like string within a few levels of the arguments. */
function firstName(root: DecodedField): string | null {
  const queue: { f: DecodedField; depth: number }[] = [{ f: root, depth: 0 }];
  for (let i = 0; i < queue.length && i < 64; i++) {
    const { f, depth } = queue[i]!;
    if (f.value.kind === "string" && NAME_FIELD.test(f.name)) return f.value.text;
    if (depth >= 3) continue;
    if (f.value.kind === "struct") for (const c of f.value.fields) queue.push({ f: c, depth: depth + 1 });
    else if (f.value.kind === "union" && f.value.arm) queue.push({ f: f.value.arm, depth: depth + 1 });
  }
  return null;
}

export function messageInfo(args: DecodedField | null, res: DecodedField | null): string {
  if (args) {
    const ops = compoundOps(args, "argarray");
    if (ops) return ops;
    const name = firstName(args);
    if (name !== null) return `"${name}"`;
  }
  void res;
  return "";
}
