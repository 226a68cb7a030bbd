/**
 * The parser against real rpcgen input: every `.x` Debian ships in
 * /usr/include/rpcsvc (libc6-dev) and /usr/include/tirpc/rpcsvc (libtirpc-dev).
 *
 * What some of them need besides themselves:
 * - key_prot.x uses MAXNETNAMELEN from <rpc/auth.h>: --define MAXNETNAMELEN=255.
 * - nis.x `#include`s nis_object.x; nis_callback.x uses nis.x's types: they load together.
 * - nlm_prot.x takes LM_MAXSTRLEN and MAXNAMELEN from its own `%#define` lines.
 * - key_prot.x, klm_prot.x and nis.x use netobj/des_block from the C XDR library.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { XdrType } from "../../dissect/xdr-types.js";
import { derefType, minWireSize } from "../../dissect/xdr/decoder.js";
import { compileSchema, loadSchema } from "../../dissect/xdr/load-schema.js";
import type { Schema } from "../../dissect/xdr/schema.js";

const DIRS = ["/usr/include/rpcsvc", "/usr/include/tirpc/rpcsvc"];
const RPCSVC = "/usr/include/rpcsvc";

/** Files that need company or defines to load. */
const GROUPS: Record<string, { with?: string[]; defines?: [string, number][] }> = {
  "key_prot.x": { defines: [["MAXNETNAMELEN", 255]] },
  "nis.x": { with: ["nis_object.x"] },
  "nis_callback.x": { with: ["nis.x", "nis_object.x"] },
};

function allSystemSpecs(): string[] {
  const out: string[] = [];
  for (const dir of DIRS) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith(".x")) out.push(`${dir}/${f}`);
  }
  return out;
}

function loadSystem(file: string, defines: [string, number][] = []): Schema {
  const base = file.split("/").pop()!;
  const group = GROUPS[base];
  const dir = file.slice(0, file.lastIndexOf("/"));
  const paths = [file, ...(group?.with ?? []).map((f) => `${dir}/${f}`)];
  return loadSchema(paths.map((path) => ({ path, text: readFileSync(path, "utf8") })), {
    defines: new Map([...(group?.defines ?? []), ...defines]),
  });
}

const files = allSystemSpecs();
const have = files.length > 0;
if (!have) console.log("system-specs: no .x files under /usr/include/rpcsvc (install libc6-dev and libtirpc-dev); skipping");

function struct(s: Schema, name: string): Extract<XdrType, { kind: "struct" }> {
  const t = derefType(s.types.get(name) ?? { kind: "void" });
  if (t.kind !== "struct") throw new Error(`${name} is not a struct`);
  return t;
}
function fieldsOf(s: Schema, name: string): [string, string][] {
  return struct(s, name).fields.map((f) => [f.name, f.type.kind === "ref" ? f.type.name : f.type.kind]);
}
function proc(s: Schema, prog: number, vers: number, num: number): { name: string; args: readonly XdrType[]; result: XdrType } {
  const p = s.programs.find((x) => x.number === prog)?.versions.find((v) => v.number === vers)?.procedures.find((x) => x.number === num);
  if (!p) throw new Error(`no procedure ${prog}/${vers}/${num}`);
  return p;
}

describe.skipIf(!have)("Debian's rpcsvc .x files", () => {
  it("finds the expected files", () => {
    const names = files.map((f) => f.split("/").pop());
    for (const n of ["mount.x", "nfs_prot.x", "nlm_prot.x", "rquota.x", "sm_inter.x", "yp.x", "rstat.x", "key_prot.x", "crypt.x"]) {
      expect(names).toContain(n);
    }
  });

  for (const file of files) {
    it(`loads ${file}`, () => {
      const s = loadSystem(file);
      expect(s.types.size + s.programs.length).toBeGreaterThan(0);
    });
  }

  it("key_prot.x without --define names MAXNETNAMELEN, where it is used", () => {
    const path = `${RPCSVC}/key_prot.x`;
    const r = compileSchema([{ path, text: readFileSync(path, "utf8") }]);
    expect(r.errors.map((e) => e.located)).toEqual([
      `${path}:94:27: undefined constant 'MAXNETNAMELEN' (if a C header defines it, pass --define MAXNETNAMELEN=VALUE)`,
    ]);
  });

  it("nis.x alone reports the types nis_object.x would have given it", () => {
    const path = `${RPCSVC}/nis.x`;
    const r = compileSchema([{ path, text: readFileSync(path, "utf8") }]);
    expect(r.errors[0]?.detail).toBe("undefined type 'nis_object'");
  });

  it("mount.x: file handles, linked lists and MOUNTPROC signatures", () => {
    const s = loadSystem(`${RPCSVC}/mount.x`);
    expect(s.types.get("fhandle")).toEqual({ kind: "opaque", fixed: 32, max: 32 });
    expect(s.types.get("mountlist")).toMatchObject({ kind: "optional", of: { kind: "ref", name: "mountbody" } });
    expect(fieldsOf(s, "exportnode")).toEqual([["ex_dir", "dirpath"], ["ex_groups", "groups"], ["ex_next", "exports"]]);
    const fhstatus = s.types.get("fhstatus");
    expect(fhstatus?.kind === "union" && fhstatus.disc.type.kind).toBe("uint");
    expect(proc(s, 100005, 1, 1)).toMatchObject({ name: "MOUNTPROC_MNT", args: [{ kind: "ref", name: "dirpath" }], result: { kind: "ref", name: "fhstatus" } });
    expect(s.programs.find((p) => p.number === 100005)?.versions.map((v) => v.number)).toEqual([1]);
  });

  it("nlm_prot.x: sizes from its own %#define lines", () => {
    const s = loadSystem(`${RPCSVC}/nlm_prot.x`);
    const lock = struct(s, "nlm_lock");
    expect(lock.fields[0]).toEqual({ name: "caller_name", type: { kind: "string", max: 1024 } });
    expect(fieldsOf(s, "nlm_lock").map((f) => f[0])).toEqual(["caller_name", "fh", "oh", "svid", "l_offset", "l_len"]);
    expect(struct(s, "nlm_share").fields[0]).toEqual({ name: "caller_name", type: { kind: "string", max: 1024 } });
    const shareName = [...s.types.values()].flatMap((t) => (t.kind === "struct" ? t.fields : [])).find((f) => f.name === "name");
    expect(shareName?.type).toEqual({ kind: "string", max: 1025 });
    expect(s.programs[0]?.number).toBe(100021);
  });

  it("rquota.x: getquota_rslt switches on an enum", () => {
    const s = loadSystem(`${RPCSVC}/rquota.x`);
    const u = s.types.get("getquota_rslt");
    if (u?.kind !== "union") throw new Error("not a union");
    expect(u.disc).toMatchObject({ name: "status", type: { kind: "ref", name: "gqr_status" } });
    expect(u.arms.get(1)).toMatchObject({ name: "gqr_rquota", type: { kind: "ref", name: "rquota" } });
    expect(u.arms.get(2)?.type.kind).toBe("void");
    expect(fieldsOf(s, "rquota")[1]).toEqual(["rq_active", "bool"]);
    expect(minWireSize(s.types.get("rquota")!)).toBe(40);
  });

  it("sm_inter.x: program before its types, struct-tagged arguments", () => {
    const s = loadSystem(`${RPCSVC}/sm_inter.x`);
    expect(fieldsOf(s, "mon")).toEqual([["mon_id", "mon_id"], ["priv", "opaque"]]);
    expect(struct(s, "mon").fields[1]!.type).toEqual({ kind: "opaque", fixed: 16, max: 16 });
    expect(proc(s, 100024, 1, 2)).toMatchObject({ name: "SM_MON", args: [{ kind: "ref", name: "mon" }], result: { kind: "ref", name: "sm_stat_res" } });
  });

  it("nfs_prot.x: NFSv2 attributes and the READDIR list", () => {
    const s = loadSystem(`${RPCSVC}/nfs_prot.x`);
    expect(s.constants.get("NFSMODE_CHR")).toBe(0o20000);
    expect(minWireSize(s.types.get("fattr")!)).toBe(68);
    expect(fieldsOf(s, "entry")).toEqual([["fileid", "uint"], ["name", "filename"], ["cookie", "nfscookie"], ["nextentry", "optional"]]);
    expect(s.programs[0]?.versions[0]?.procedures).toHaveLength(18);
  });

  it("yp.x: the field order depends on #ifdef STUPID_SUN_BUG", () => {
    const s = loadSystem(`${RPCSVC}/yp.x`);
    expect(fieldsOf(s, "ypresp_key_val")).toEqual([["stat", "ypstat"], ["val", "valdat"], ["key", "keydat"]]);
    const sun = loadSystem(`${RPCSVC}/yp.x`, [["STUPID_SUN_BUG", 1]]);
    expect(fieldsOf(sun, "ypresp_key_val")).toEqual([["stat", "ypstat"], ["key", "keydat"], ["val", "valdat"]]);
    expect(s.programs.map((p) => p.number)).toEqual([100004, 0x40000000, 100007]);
    expect(s.constants.get("YPXFR_REFUSED")).toBe(-14);
    const all = s.types.get("ypresp_all");
    expect(all?.kind === "union" && [...all.arms.keys()].sort()).toEqual([0, 1]);
  });

  it("rstat.x: fixed arrays sized by constants", () => {
    const s = loadSystem(`${RPCSVC}/rstat.x`);
    expect(struct(s, "statstime").fields[0]).toEqual({ name: "cp_time", type: { kind: "array", of: { kind: "int" }, fixed: 4, max: 4 } });
    expect(s.programs[0]?.versions.map((v) => v.number)).toEqual([3, 2, 1]);
  });

  it("key_prot.x: library types netobj and des_block, a string constant", () => {
    const s = loadSystem(`${RPCSVC}/key_prot.x`);
    expect(derefType(struct(s, "cryptkeyarg").fields[1]!.type)).toEqual({ kind: "opaque", fixed: 8, max: 8 });
    expect(derefType(struct(s, "cryptkeyarg2").fields[1]!.type)).toEqual({ kind: "opaque", max: 1024 });
    expect(s.types.get("netnamestr")).toEqual({ kind: "string", max: 255 });
    expect(s.constants.get("HEXKEYBYTES")).toBe(48);
  });

  it("bootparam_prot.x and crypt.x: char and u_char are 4 bytes each", () => {
    const b = loadSystem(`${RPCSVC}/bootparam_prot.x`);
    expect(minWireSize(b.types.get("ip_addr_t")!)).toBe(16);
    const cryptPath = "/usr/include/tirpc/rpcsvc/crypt.x";
    if (!existsSync(cryptPath)) return;
    const c = loadSystem(cryptPath);
    expect(struct(c, "desargs").fields[0]!.type).toMatchObject({ kind: "array", fixed: 8, of: { kind: "ref", name: "u_char" } });
    expect(Object.fromEntries([...c.constants].filter(([k]) => k.endsWith("_DES")))).toEqual({
      ENCRYPT_DES: 0, DECRYPT_DES: 1, CBC_DES: 0, ECB_DES: 1,
    });
  });

  it("rex.x: 0x80000000 as a constant", () => {
    expect(loadSystem(`${RPCSVC}/rex.x`).constants.get("NOFLSH")).toBe(0x80000000);
  });

  it("nis_object.x: a union over an enum with duplicate values", () => {
    const s = loadSystem(`${RPCSVC}/nis_object.x`);
    const z = s.types.get("zotypes");
    expect(z?.kind === "enum" && z.names.get(2)).toBe("DIRECTORY_OBJ");
    const objdata = s.types.get("objdata");
    expect(objdata?.kind === "union" && objdata.arms.get(7)).toEqual({ name: "po_data", type: { kind: "opaque", max: 0xffffffff } });
  });
});
