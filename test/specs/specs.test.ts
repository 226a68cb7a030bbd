/**
 * The built-in protocol specifications in dissect/specs/*.x:
 * - each is valid rpcgen input (rpcgen -h and -c succeed; the generated C compiles
 *   against libtirpc where the names do not clash with libtirpc's own headers);
 * - all of them load together, and each alone, through the project's `.x` loader;
 * - procedure numbers, argument and result types and display names are the ones
 *   the RFCs define and tshark prints.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { displayProcedureName } from "../../dissect/registry.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import type { ProcedureInfo, Schema } from "../../dissect/xdr/schema.js";
import type { XdrType } from "../../dissect/xdr-types.js";

const SPEC_DIR = fileURLToPath(new URL("../../dissect/specs/", import.meta.url));
const SPEC_FILES = readdirSync(SPEC_DIR).filter((f) => f.endsWith(".x")).sort();

/** The files this suite knows about; a new file must be added here (and to the README). */
const EXPECTED_FILES = ["mount3.x", "nfs3.x", "nfs4.x", "nlm4.x", "nsm.x", "rpcbind.x", "rquota.x"];

function readSpec(file: string): { path: string; text: string } {
  return { path: `dissect/specs/${file}`, text: readFileSync(join(SPEC_DIR, file), "utf8") };
}

function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).status === 0;
}

/** The display name the registry derives from a procedure name (NFSPROC3_READ → READ). */
function displayName(procName: string, programName = ""): string {
  return displayProcedureName(procName, programName);
}

/** Follows typedef references down to the descriptor that says what is on the wire. */
function deref(t: XdrType): XdrType {
  let cur = t;
  for (let i = 0; i < 64 && cur.kind === "ref"; i++) cur = cur.target();
  return cur;
}

/** The name a type is known by in the schema ("READ3args"), or its kind for a primitive. */
function typeLabel(t: XdrType | undefined): string {
  if (!t) return "(none)";
  if (t.kind === "ref" || t.kind === "struct" || t.kind === "union" || t.kind === "enum") return t.name;
  return t.kind;
}

describe("spec files", () => {
  it("are the expected set, each opening with a comment that cites its source", () => {
    expect(SPEC_FILES).toEqual(EXPECTED_FILES);
    for (const file of SPEC_FILES) {
      const head = readSpec(file).text.slice(0, 1200);
      expect(head.startsWith("/*"), `${file} starts with a comment`).toBe(true);
      expect(head, `${file} cites an RFC, XNFS or the Sun protocol`).toMatch(/RFC \d+|XNFS|Sun/);
    }
  });

  it("are listed one per line in the README", () => {
    const readme = readFileSync(join(SPEC_DIR, "README.md"), "utf8");
    for (const file of SPEC_FILES) expect(readme).toContain(`\`${file}\``);
  });
});

// ---------------------------------------------------------------------------
// rpcgen: the reference tool must accept every file.

const RPCGEN = hasTool("rpcgen");
const TIRPC_HEADER = "/usr/include/tirpc/rpc/rpc.h";
const CC = hasTool("gcc") && existsSync(TIRPC_HEADER);
if (!RPCGEN) console.warn("[specs] rpcgen is not installed: the rpcgen checks are skipped (apt-get install rpcgen)");
if (RPCGEN && !CC) console.warn("[specs] gcc or libtirpc-dev is missing: the compile check of rpcgen's output is skipped");

/**
 * Files whose rpcgen output cannot be compiled against libtirpc because
 * <rpc/rpc.h> already declares the same names (as the system's own rpcb_prot.x
 * and nlm_prot.x output guards against with #ifdefs): netbuf, rpcb, rp__list,
 * pmaplist in rpcbind.x; netobj in nlm4.x.
 */
const CC_CLASHES_WITH_LIBTIRPC = new Set(["rpcbind.x", "nlm4.x"]);
/** auth_unix.h #defines authsys_parms, which nfs4.x declares (RFC 5662 uses it); skip that header. */
const CC_EXTRA_FLAGS: Readonly<Record<string, readonly string[]>> = { "nfs4.x": ["-D_TIRPC_AUTH_UNIX_H"] };

describe.skipIf(!RPCGEN)("rpcgen accepts each file", () => {
  let work = "";
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "rpcscope-specs-"));
  });
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each(SPEC_FILES)("%s", (file) => {
    const stem = basename(file, ".x");
    const dir = mkdtempSync(join(work, `${stem}-`));
    const spec = readSpec(file);
    // rpcgen writes its output beside the input; work on a copy.
    copyFileSync(join(SPEC_DIR, file), join(dir, file));
    for (const [flag, out] of [["-h", `${stem}.h`], ["-c", `${stem}_xdr.c`]] as const) {
      const r = spawnSync("rpcgen", [flag, file, "-o", out], { cwd: dir, encoding: "utf8" });
      expect(r.stderr, `rpcgen ${flag} ${spec.path}`).toBe("");
      expect(r.status, `rpcgen ${flag} ${spec.path}`).toBe(0);
      expect(readFileSync(join(dir, out), "utf8").length).toBeGreaterThan(100);
    }
    if (!CC || CC_CLASHES_WITH_LIBTIRPC.has(file)) return;
    // Catches what rpcgen lets through: undefined types, bad constants, clashes between names.
    const cc = spawnSync(
      "gcc",
      ["-fsyntax-only", "-Wall", "-Wno-unused-variable", "-Werror", ...(CC_EXTRA_FLAGS[file] ?? []), "-I/usr/include/tirpc", `${stem}_xdr.c`],
      { cwd: dir, encoding: "utf8" },
    );
    expect(cc.stderr, `gcc on rpcgen -c ${file}`).toBe("");
    expect(cc.status).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// The project's loader: all files together (one namespace), and each alone.

describe("project loader", () => {
  let schema: Schema;
  beforeAll(() => {
    const result = compileSchema(SPEC_FILES.map(readSpec));
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.schema).toBeDefined();
    schema = result.schema!;
  });

  function procedure(prog: number, vers: number, proc: number): ProcedureInfo | undefined {
    for (const p of schema.programs) {
      if (p.number !== prog) continue;
      const v = p.versions.find((x) => x.number === vers);
      const found = v?.procedures.find((x) => x.number === proc);
      if (found) return found;
    }
    return undefined;
  }

  function namedType(name: string): XdrType {
    const t = schema.types.get(name);
    if (!t) throw new Error(`type ${name} is not defined`);
    return deref(t);
  }

  it.each(SPEC_FILES)("loads %s on its own", (file) => {
    const result = compileSchema([readSpec(file)]);
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.schema?.programs.length).toBeGreaterThan(0);
  });

  it("resolves the key procedures", () => {
    const getport = procedure(100000, 2, 3);
    expect(getport?.name).toBe("PMAPPROC_GETPORT");
    expect(displayName(getport!.name)).toBe("GETPORT");
    expect(getport!.args.map(typeLabel)).toEqual(["mapping"]);
    expect(getport!.result.kind).toBe("uint");

    const getaddr = procedure(100000, 4, 3);
    expect(displayName(getaddr!.name)).toBe("GETADDR");
    expect(getaddr!.args.map(typeLabel)).toEqual(["rpcb"]);
    expect(deref(getaddr!.result).kind).toBe("string");

    const read = procedure(100003, 3, 6);
    expect(read?.name).toBe("NFSPROC3_READ");
    expect(displayName(read!.name)).toBe("READ");
    expect(read!.args.map(typeLabel)).toEqual(["READ3args"]);
    expect(typeLabel(read!.result)).toBe("READ3res");

    const mnt = procedure(100005, 3, 1);
    expect(displayName(mnt!.name)).toBe("MNT");
    expect(mnt!.args.map(typeLabel)).toEqual(["dirpath"]);
    expect(typeLabel(mnt!.result)).toBe("mountres3");

    const compound = procedure(100003, 4, 1);
    expect(displayName(compound!.name)).toBe("COMPOUND");
    expect(compound!.args.map(typeLabel)).toEqual(["COMPOUND4args"]);
    expect(typeLabel(compound!.result)).toBe("COMPOUND4res");

    expect(displayName(procedure(100021, 4, 2)!.name)).toBe("LOCK");
    expect(displayName(procedure(100024, 1, 1)!.name)).toBe("STAT");
  });

  /** Procedure names per program/version as tshark 4.x prints them (tshark -G values). */
  const TSHARK_PROCEDURES: readonly [prog: number, vers: number, names: string][] = [
    [100000, 2, "NULL SET UNSET GETPORT DUMP CALLIT"],
    [100000, 3, "NULL SET UNSET GETADDR DUMP CALLIT GETTIME UADDR2TADDR TADDR2UADDR"],
    [100000, 4, "NULL SET UNSET GETADDR DUMP BCAST GETTIME UADDR2TADDR TADDR2UADDR GETVERSADDR INDIRECT GETADDRLIST GETSTAT"],
    [100003, 3, "NULL GETATTR SETATTR LOOKUP ACCESS READLINK READ WRITE CREATE MKDIR SYMLINK MKNOD REMOVE RMDIR RENAME LINK READDIR READDIRPLUS FSSTAT FSINFO PATHCONF COMMIT"],
    [100003, 4, "NULL COMPOUND"],
    [100005, 1, "NULL MNT DUMP UMNT UMNTALL EXPORT EXPORTALL"],
    [100005, 2, "NULL MNT DUMP UMNT UMNTALL EXPORT EXPORTALL PATHCONF"],
    [100005, 3, "NULL MNT DUMP UMNT UMNTALL EXPORT"],
    [100021, 1, "NULL TEST LOCK CANCEL UNLOCK GRANTED TEST_MSG LOCK_MSG CANCEL_MSG UNLOCK_MSG GRANTED_MSG TEST_RES LOCK_RES CANCEL_RES UNLOCK_RES GRANTED_RES"],
    [100021, 3, "NULL TEST LOCK CANCEL UNLOCK GRANTED TEST_MSG LOCK_MSG CANCEL_MSG UNLOCK_MSG GRANTED_MSG TEST_RES LOCK_RES CANCEL_RES UNLOCK_RES GRANTED_RES 20:SHARE UNSHARE NM_LOCK FREE_ALL"],
    [100021, 4, "NULL TEST LOCK CANCEL UNLOCK GRANTED TEST_MSG LOCK_MSG CANCEL_MSG UNLOCK_MSG GRANTED_MSG TEST_RES LOCK_RES CANCEL_RES UNLOCK_RES GRANTED_RES 20:SHARE UNSHARE NM_LOCK FREE_ALL"],
    [100024, 1, "NULL STAT MON UNMON UNMON_ALL SIMU_CRASH NOTIFY"],
    [100227, 3, "NULL GETACL SETACL"],
    [100011, 1, "NULL GETQUOTA GETACTIVEQUOTA SETQUOTA SETACTIVEQUOTA"],
    [100011, 2, "NULL GETQUOTA GETACTIVEQUOTA SETQUOTA SETACTIVEQUOTA"],
  ];

  it.each(TSHARK_PROCEDURES)("program %i version %i: numbers and display names match tshark", (prog, vers, names) => {
    const expected: [number, string][] = [];
    let next = 0;
    for (const word of names.split(" ")) {
      const m = /^(\d+):(.*)$/.exec(word);
      if (m) next = Number(m[1]);
      expected.push([next++, m ? m[2]! : word]);
    }
    const version = schema.programs.filter((p) => p.number === prog).flatMap((p) => p.versions).find((v) => v.number === vers);
    expect(version, `program ${prog} version ${vers}`).toBeDefined();
    const actual = version!.procedures.map((p): [number, string] => [p.number, displayName(p.name)]);
    expect(actual).toEqual(expected);
  });

  it("gives every NFSv3 procedure but NULL a result union on nfsstat3 with an NFS3_OK arm", () => {
    const nfs3 = schema.programs.filter((p) => p.number === 100003).flatMap((p) => p.versions).find((v) => v.number === 3)!;
    expect(nfs3.procedures).toHaveLength(22);
    for (const proc of nfs3.procedures.filter((p) => p.number !== 0)) {
      const op = displayName(proc.name);
      expect(proc.args.map(typeLabel)).toEqual([`${op}3args`]);
      const res = deref(proc.result);
      expect(res.kind, proc.name).toBe("union");
      if (res.kind !== "union") continue;
      expect(res.name).toBe(`${op}3res`);
      expect(typeLabel(res.disc.type)).toBe("nfsstat3");
      expect(typeLabel(res.arms.get(0)?.type)).toBe(`${op}3resok`);
      // Errors carry the resfail body where RFC 1813 has one (GETATTR has none).
      if (op === "GETATTR") expect(res.fallback?.type.kind).toBe("void");
      else expect(typeLabel(res.fallback?.type)).toBe(`${op}3resfail`);
    }
  });

  it("links READDIR and READDIRPLUS entries through an optional nextentry", () => {
    for (const name of ["entry3", "entryplus3", "entry4"]) {
      const entry = namedType(name);
      expect(entry.kind).toBe("struct");
      if (entry.kind !== "struct") continue;
      const next = entry.fields.at(-1)!;
      expect(next.name).toBe("nextentry");
      expect(next.type.kind).toBe("optional");
      if (next.type.kind === "optional") expect(typeLabel(next.type.of)).toBe(name);
    }
  });

  it("uses the sizes of the RFCs", () => {
    const sizes: Record<string, number> = {
      NFS3_FHSIZE: 64, NFS3_COOKIEVERFSIZE: 8, NFS3_CREATEVERFSIZE: 8, NFS3_WRITEVERFSIZE: 8,
      FHSIZE3: 64, FHSIZE: 32, MNTPATHLEN: 1024, MNTNAMLEN: 255,
      NFS4_FHSIZE: 128, NFS4_VERIFIER_SIZE: 8, NFS4_OPAQUE_LIMIT: 1024, NFS4_SESSIONID_SIZE: 16,
      LM_MAXSTRLEN: 1024, MAXNETOBJ_SZ: 1024, SM_MAXSTRLEN: 1024,
    };
    for (const [name, value] of Object.entries(sizes)) expect(schema.constants.get(name), name).toBe(value);
    const fh3 = namedType("nfs_fh3");
    expect(fh3.kind === "struct" && fh3.fields[0]?.type).toMatchObject({ kind: "opaque", max: 64 });
    expect(namedType("nfs_fh4")).toMatchObject({ kind: "opaque", max: 128 });
    expect(namedType("fhandle")).toMatchObject({ kind: "opaque", fixed: 32 });
    expect(namedType("sessionid4")).toMatchObject({ kind: "opaque", fixed: 16 });
    expect(namedType("verifier4")).toMatchObject({ kind: "opaque", fixed: 8 });
  });

  /** NFSv4 operations of minor versions 0 and 1 (RFC 7531, RFC 5662) by number. */
  const NFS4_OPS_V40_V41: readonly (readonly [number, string])[] = [
    [3, "ACCESS"], [4, "CLOSE"], [5, "COMMIT"], [6, "CREATE"], [7, "DELEGPURGE"], [8, "DELEGRETURN"],
    [9, "GETATTR"], [10, "GETFH"], [11, "LINK"], [12, "LOCK"], [13, "LOCKT"], [14, "LOCKU"],
    [15, "LOOKUP"], [16, "LOOKUPP"], [17, "NVERIFY"], [18, "OPEN"], [19, "OPENATTR"],
    [20, "OPEN_CONFIRM"], [21, "OPEN_DOWNGRADE"], [22, "PUTFH"], [23, "PUTPUBFH"], [24, "PUTROOTFH"],
    [25, "READ"], [26, "READDIR"], [27, "READLINK"], [28, "REMOVE"], [29, "RENAME"], [30, "RENEW"],
    [31, "RESTOREFH"], [32, "SAVEFH"], [33, "SECINFO"], [34, "SETATTR"], [35, "SETCLIENTID"],
    [36, "SETCLIENTID_CONFIRM"], [37, "VERIFY"], [38, "WRITE"], [39, "RELEASE_LOCKOWNER"],
    [40, "BACKCHANNEL_CTL"], [41, "BIND_CONN_TO_SESSION"], [42, "EXCHANGE_ID"], [43, "CREATE_SESSION"],
    [44, "DESTROY_SESSION"], [45, "FREE_STATEID"], [46, "GET_DIR_DELEGATION"], [47, "GETDEVICEINFO"],
    [48, "GETDEVICELIST"], [49, "LAYOUTCOMMIT"], [50, "LAYOUTGET"], [51, "LAYOUTRETURN"],
    [52, "SECINFO_NO_NAME"], [53, "SEQUENCE"], [54, "SET_SSV"], [55, "TEST_STATEID"],
    [56, "WANT_DELEGATION"], [57, "DESTROY_CLIENTID"], [58, "RECLAIM_COMPLETE"], [10044, "ILLEGAL"],
  ];
  /** Minor version 2 (RFC 7863) and extended attributes (RFC 8276). */
  const NFS4_OPS_V42: readonly (readonly [number, string])[] = [
    [59, "ALLOCATE"], [60, "COPY"], [61, "COPY_NOTIFY"], [62, "DEALLOCATE"], [63, "IO_ADVISE"],
    [64, "LAYOUTERROR"], [65, "LAYOUTSTATS"], [66, "OFFLOAD_CANCEL"], [67, "OFFLOAD_STATUS"],
    [68, "READ_PLUS"], [69, "SEEK"], [70, "WRITE_SAME"], [71, "CLONE"],
    [72, "GETXATTR"], [73, "SETXATTR"], [74, "LISTXATTRS"], [75, "REMOVEXATTR"],
  ];
  /** Operations with no arguments: their nfs_argop4 arm is void. */
  const NFS4_VOID_ARGS = new Set(["GETFH", "LOOKUPP", "PUTPUBFH", "PUTROOTFH", "READLINK", "RESTOREFH", "SAVEFH", "ILLEGAL"]);

  it("names every NFSv4 operation as the RFCs do, 74 in all", () => {
    expect(NFS4_OPS_V40_V41).toHaveLength(57);
    const opnum = namedType("nfs_opnum4");
    expect(opnum.kind).toBe("enum");
    if (opnum.kind !== "enum") return;
    const expected = [...NFS4_OPS_V40_V41, ...NFS4_OPS_V42].sort((a, b) => a[0] - b[0]);
    expect([...opnum.names].sort((a, b) => a[0] - b[0])).toEqual(expected.map(([n, op]) => [n, `OP_${op}`]));
    expect(opnum.names.size).toBe(74);
  });

  it.each(["nfs_argop4", "nfs_resop4"])("%s has an arm for every operation and no default", (unionName) => {
    const u = namedType(unionName);
    expect(u.kind).toBe("union");
    if (u.kind !== "union") return;
    expect(typeLabel(u.disc.type)).toBe("nfs_opnum4");
    expect(u.fallback).toBeUndefined();
    expect(u.arms.size).toBe(74);
    const isArgs = unionName === "nfs_argop4";
    for (const [num, op] of [...NFS4_OPS_V40_V41, ...NFS4_OPS_V42]) {
      const arm = u.arms.get(num);
      expect(arm, `${unionName} OP_${op}`).toBeDefined();
      if (isArgs && NFS4_VOID_ARGS.has(op)) {
        expect(arm!.type.kind, `OP_${op} takes no arguments`).toBe("void");
      } else {
        // RFC naming: OP_SET_SSV → SET_SSV4args / SET_SSV4res, arm "opset_ssv".
        expect(typeLabel(arm!.type)).toBe(`${op}4${isArgs ? "args" : "res"}`);
        expect(arm!.name).toBe(`op${op.toLowerCase()}`);
      }
    }
  });

  it("carries the operations in COMPOUND as arrays of those unions", () => {
    const args = namedType("COMPOUND4args");
    const res = namedType("COMPOUND4res");
    expect(args.kind === "struct" && args.fields.map((f) => f.name)).toEqual(["tag", "minorversion", "argarray"]);
    expect(res.kind === "struct" && res.fields.map((f) => f.name)).toEqual(["status", "tag", "resarray"]);
    const argarray = args.kind === "struct" ? args.fields[2]!.type : undefined;
    expect(argarray?.kind).toBe("array");
    if (argarray?.kind === "array") expect(typeLabel(argarray.of)).toBe("nfs_argop4");
  });

  it("numbers nfsstat4 as the RFCs do", () => {
    const stat = namedType("nfsstat4");
    expect(stat.kind).toBe("enum");
    if (stat.kind !== "enum") return;
    const spot: [number, string][] = [
      [0, "NFS4_OK"], [13, "NFS4ERR_ACCESS"], [70, "NFS4ERR_STALE"], [10008, "NFS4ERR_DELAY"],
      [10020, "NFS4ERR_NOFILEHANDLE"], [10030, "NFS4ERR_RESTOREFH"], [10044, "NFS4ERR_OP_ILLEGAL"],
      [10048, "NFS4ERR_CB_PATH_DOWN"], [10052, "NFS4ERR_BADSESSION"], [10057, "NFS4ERR_BACK_CHAN_BUSY"],
      [10071, "NFS4ERR_OP_NOT_IN_SESSION"], [10087, "NFS4ERR_DELEG_REVOKED"], [10094, "NFS4ERR_OFFLOAD_NO_REQS"],
      [10096, "NFS4ERR_XATTR2BIG"],
    ];
    for (const [n, name] of spot) expect(stat.names.get(n)).toBe(name);
    // 19 from v4.0 (NFS4_OK + 18 errno-like) + 48 in 10001..10048 less 10002 + 39 of v4.1 + 7 of v4.2 + 2 xattr.
    expect(stat.names.size).toBe(19 + 47 + 38 + 7 + 2);
    expect(stat.names.has(10073)).toBe(false);
  });

  it("keeps NFSv3, NLM and MOUNT status numbers", () => {
    const nfsstat3 = namedType("nfsstat3");
    expect(nfsstat3.kind === "enum" && nfsstat3.names.get(10008)).toBe("NFS3ERR_JUKEBOX");
    expect(nfsstat3.kind === "enum" && nfsstat3.names.size).toBe(29);
    const nlm4 = namedType("nlm4_stats");
    expect(nlm4.kind === "enum" && [...nlm4.names.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const mnt = namedType("mountstat3");
    expect(mnt.kind === "enum" && mnt.names.get(10006)).toBe("MNT3ERR_SERVERFAULT");
  });
});

// ---------------------------------------------------------------------------
// The registry, filled the way the application fills it (ui/spec-loader.ts).

describe("program registry with the built-in specs", () => {
  let registry: ProgramRegistry;
  beforeAll(async () => {
    registry = await loadRegistry({ userSpecs: [], defines: new Map(), builtinDir: SPEC_DIR });
  });

  it("names the key procedures as tshark does", () => {
    expect(registry.procedureName(100000, 2, 3)).toBe("GETPORT");
    expect(registry.procedureName(100000, 3, 3)).toBe("GETADDR");
    expect(registry.procedureName(100003, 3, 6)).toBe("READ");
    expect(registry.procedureName(100005, 3, 1)).toBe("MNT");
    expect(registry.procedureName(100003, 4, 1)).toBe("COMPOUND");
    expect(registry.procedureName(100021, 4, 22)).toBe("NM_LOCK");
    expect(registry.procedureName(100024, 1, 5)).toBe("SIMU_CRASH");
    expect(registry.procedureName(100227, 3, 1)).toBe("GETACL");
    expect(registry.procedureName(100011, 2, 1)).toBe("GETQUOTA");
  });

  it("resolves READ's argument and result types", () => {
    const read = registry.lookup(100003, 3, 6);
    expect(read?.specName).toBe("NFSPROC3_READ");
    expect(read?.args.map(typeLabel)).toEqual(["READ3args"]);
    expect(typeLabel(read?.result)).toBe("READ3res");
  });

  it("has every program version of the specs", () => {
    expect(registry.versionsOf(100000)).toEqual([2, 3, 4]);
    expect(registry.versionsOf(100003)).toEqual([3, 4]);
    expect(registry.versionsOf(100005)).toEqual([1, 2, 3]);
    expect(registry.versionsOf(100021)).toEqual([1, 3, 4]);
    expect(registry.versionsOf(100024)).toEqual([1]);
    expect(registry.versionsOf(100011)).toEqual([1, 2]);
    expect(registry.versionsOf(100227)).toEqual([3]);
    expect(registry.proceduresOf(100003, 3)).toHaveLength(22);
    expect(registry.proceduresOf(100021, 4)).toHaveLength(20);
  });
});
