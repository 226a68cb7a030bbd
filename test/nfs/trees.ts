/**
 * Hand-built decoded trees in the decoder's shapes (dissect/xdr/decoder.ts):
 * structs list their fields, unions carry disc + arm, linked lists are arrays.
 * Offsets are not used by the NFS context and are left 0.
 */
import type { DecodedField, DecodedValue } from "../../dissect/xdr-types.js";

const enc = new TextEncoder();

function f(name: string, typeName: string, value: DecodedValue, length = 0): DecodedField {
  return { name, typeName, offset: 0, length, value };
}

export const int = (name: string, value: number): DecodedField => f(name, "unsigned int", { kind: "int", value });
export const hyper = (name: string, value: bigint | number): DecodedField =>
  f(name, "unsigned hyper", { kind: "hyper", value: BigInt(value) });
export const bool = (name: string, value: boolean): DecodedField => f(name, "bool", { kind: "bool", value, raw: value ? 1 : 0 });
export const enumv = (name: string, value: number, enumName: string | null = null): DecodedField =>
  f(name, "enum", { kind: "enum", value, name: enumName });
export const str = (name: string, text: string): DecodedField =>
  f(name, "string<>", { kind: "string", bytes: enc.encode(text), text });
export const opaque = (name: string, bytes: Uint8Array | string): DecodedField =>
  f(name, "opaque<>", { kind: "opaque", bytes: typeof bytes === "string" ? enc.encode(bytes) : bytes });
export const struct = (name: string, ...fields: DecodedField[]): DecodedField => f(name, "struct", { kind: "struct", fields });
export const union = (name: string, disc: DecodedField, arm: DecodedField | null): DecodedField =>
  f(name, "union", { kind: "union", disc, arm });
export const array = (name: string, ...elements: DecodedField[]): DecodedField =>
  f(name, "array", { kind: "array", count: elements.length, elements });
export const voidv = (name: string): DecodedField => f(name, "void", { kind: "void" });

/** A handle whose bytes spell `label` (distinct labels, distinct handles). */
export const fh = (label: string): Uint8Array => enc.encode(`fh:${label}`);

// ── NFSv3 (RFC 1813) ──

export const fh3 = (name: string, handle: Uint8Array): DecodedField => struct(name, opaque("data", handle));
export const diropargs = (name: string, dir: Uint8Array, entry: string): DecodedField =>
  struct(name, fh3("dir", dir), str("name", entry));
export const postOpFh = (handle: Uint8Array | null): DecodedField =>
  union("obj", bool("handle_follows", handle !== null), handle ? fh3("handle", handle) : null);
const NFS3_NAMES: Record<number, string> = { 0: "NFS3_OK", 2: "NFS3ERR_NOENT", 13: "NFS3ERR_ACCES", 70: "NFS3ERR_STALE" };
/** A result union: status, then resok (status 0) or resfail. */
export const res3 = (status: number, ...fields: DecodedField[]): DecodedField =>
  union("body", enumv("status", status, NFS3_NAMES[status] ?? null), struct(status === 0 ? "resok" : "resfail", ...fields));

export const objArgs = (field: string, handle: Uint8Array, ...more: DecodedField[]): DecodedField =>
  struct("body", fh3(field, handle), ...more);

export const readdirplusRes = (entries: readonly (readonly [string, Uint8Array | null])[]): DecodedField =>
  res3(0,
    union("dir_attributes", bool("attributes_follow", false), null),
    opaque("cookieverf", new Uint8Array(8)),
    struct("reply",
      array("entries", ...entries.map(([n, h], i) =>
        struct(`[${i}]`, hyper("fileid", i), str("name", n), hyper("cookie", i + 1),
          union("name_attributes", bool("attributes_follow", false), null),
          union("name_handle", bool("handle_follows", h !== null), h ? fh3("handle", h) : null)))),
      bool("eof", true)));

// ── MOUNT (RFC 1813 §5, RFC 1094 §A) ──

export const dirpath = (path: string): DecodedField => str("dirpath", path);
export const mountres3 = (status: number, handle: Uint8Array | null): DecodedField =>
  union("body", enumv("fhs_status", status, status === 0 ? "MNT3_OK" : status === 13 ? "MNT3ERR_ACCES" : null),
    handle ? struct("mountinfo", opaque("fhandle", handle), array("auth_flavors", int("[0]", 1))) : null);
export const fhstatus = (status: number, handle: Uint8Array | null): DecodedField =>
  union("body", int("fhs_status", status), handle ? opaque("fhs_fhandle", handle) : null);

// ── NFSv4 COMPOUND (RFC 7530 §16) ──

const OPS: Record<string, number> = {
  ACCESS: 3, CLOSE: 4, COMMIT: 5, CREATE: 6, GETATTR: 9, GETFH: 10, LINK: 11, LOOKUP: 15, LOOKUPP: 16, OPEN: 18,
  PUTFH: 22, PUTPUBFH: 23, PUTROOTFH: 24, READ: 25, READDIR: 26, REMOVE: 28, RENAME: 29, RESTOREFH: 31,
  SAVEFH: 32, SETATTR: 34, WRITE: 38, SEQUENCE: 53,
};

/** One argop: ["PUTFH", handle] / ["LOOKUP", name] / ["OPEN", name, create?] / ["RENAME", old, new] / ["READ", count, offset] / ["WRITE", bytes, offset] / [op]. */
export type ArgOp =
  | readonly ["PUTFH", Uint8Array]
  | readonly ["LOOKUP" | "CREATE" | "REMOVE", string]
  | readonly ["OPEN", string, boolean?]
  | readonly ["RENAME", string, string]
  | readonly ["READ", number, number]
  | readonly ["WRITE", number, number]
  | readonly [string];

function argArm(op: ArgOp): DecodedField | null {
  switch (op[0]) {
    case "PUTFH": return struct("opputfh", opaque("object", op[1] as Uint8Array));
    case "LOOKUP": return struct("oplookup", opaque("objname", op[1] as string));
    case "CREATE": return struct("opcreate", union("objtype", enumv("type", 2, "NF4DIR"), null), opaque("objname", op[1] as string));
    case "REMOVE": return struct("opremove", opaque("target", op[1] as string));
    case "RENAME": return struct("oprename", opaque("oldname", op[1] as string), opaque("newname", op[2] as string));
    case "READ": return struct("opread", struct("stateid"), hyper("offset", op[2] as number), int("count", op[1] as number));
    case "WRITE":
      return struct("opwrite", struct("stateid"), hyper("offset", op[2] as number), enumv("stable", 0, "UNSTABLE4"),
        opaque("data", new Uint8Array(op[1] as number)));
    case "OPEN":
      return struct("opopen", int("seqid", 1), int("share_access", 1), int("share_deny", 0), struct("owner"),
        union("openhow", enumv("opentype", op[2] ? 1 : 0, op[2] ? "OPEN4_CREATE" : "OPEN4_NOCREATE"), null),
        union("claim", enumv("claim", 0, "CLAIM_NULL"), opaque("file", op[1] as string)));
    default: return null;
  }
}

export function compoundArgs(...ops: ArgOp[]): DecodedField {
  return struct("body", opaque("tag", ""), int("minorversion", 0),
    array("argarray", ...ops.map((op, i) => union(`[${i}]`, enumv("argop", OPS[op[0]] ?? 999, OPS[op[0]] ? `OP_${op[0]}` : null), argArm(op)))));
}

/** One resop: [op, status] or ["GETFH", 0, handle]. */
export type ResOp = readonly [string, number] | readonly ["GETFH", number, Uint8Array];
const NFS4_NAMES: Record<number, string> = { 0: "NFS4_OK", 2: "NFS4ERR_NOENT", 10001: "NFS4ERR_BADHANDLE" };

export function compoundRes(...ops: ResOp[]): DecodedField {
  const last = ops[ops.length - 1];
  const status = last ? last[1] : 0;
  return struct("body", enumv("status", status, NFS4_NAMES[status] ?? null), opaque("tag", ""),
    array("resarray", ...ops.map((op, i) => {
      const disc = enumv("resop", OPS[op[0]] ?? 999, OPS[op[0]] ? `OP_${op[0]}` : null);
      const st = enumv("status", op[1], NFS4_NAMES[op[1]] ?? null);
      // GETFH4res is a union on its status; LOOKUP4res a struct of one status (both shapes occur).
      const arm = op[0] === "GETFH"
        ? union("opgetfh", st, op[1] === 0 && op[2] ? struct("resok4", opaque("object", op[2])) : null)
        : struct(`op${op[0].toLowerCase()}`, st);
      return union(`[${i}]`, disc, arm);
    })));
}
