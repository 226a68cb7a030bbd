/**
 * ui/spec-loader: built-in specs, RPCSCOPE_SPEC_PATH directories, --spec files,
 * `#include` following, and errors located as file:line:col.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { RpcCall, RpcReply } from "../../dissect/rpc-types.js";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import { SchemaError } from "../../dissect/xdr/schema-error.js";
import { builtinSpecDir, loadRegistry, programNumbersIn } from "../../ui/spec-loader.js";
import { ProgramRegistry } from "../../dissect/registry.js";
import { LIBVIRT_DEFINES, addSchemaWithLibvirt, registerLibvirtBuiltins } from "../../dissect/libvirt/index.js";
import { hex } from "./hex.js";
import { render } from "./render.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SPECS = join(ROOT, "dissect", "specs");
const tmp = mkdtempSync(join(tmpdir(), "rpcscope-specs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const path = join(tmp, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const NONE = { kind: "none", flavor: 0, offset: 0, length: 0 } as const;
const call = (prog: number, vers: number, proc: number): RpcCall =>
  ({ kind: "call", xid: 1, rpcvers: 2, prog, vers, proc, cred: NONE, verf: NONE, bodyOffset: 0 });
const ok: RpcReply = { kind: "reply", xid: 1, replyStat: "accepted", status: "SUCCESS", verf: NONE, bodyOffset: 0 };

describe("built-in specs (dissect/specs/*.x)", () => {
  const files = readdirSync(SPECS).filter((f) => f.endsWith(".x")).sort();
  it("are found from the module's location", () => {
    expect(builtinSpecDir()).toBe(SPECS);
    expect(files).toContain("rpcbind.x");
  });
  for (const f of files) {
    it(`${f} loads without errors`, () => {
      const r = compileSchema([{ path: join(SPECS, f), text: readFileSync(join(SPECS, f), "utf8") }]);
      expect(r.errors.map((e) => e.located)).toEqual([]);
      expect(r.schema!.programs.length).toBeGreaterThan(0);
    });
  }
  for (const f of files) {
    it(`${f}: the numbers read without compiling cover every program it defines`, () => {
      const text = readFileSync(join(SPECS, f), "utf8");
      const numbers = programNumbersIn(text);
      expect(numbers, "a built-in spec numbers its programs with literals").not.toBeNull();
      for (const p of compileSchema([{ path: f, text }]).schema!.programs) expect([...numbers!]).toContain(p.number);
    });
  }

  it("programNumbersIn: octal and hex literals, a name gives null", () => {
    expect([...programNumbersIn("program P { version V { void X(void) = 1; } = 010; } = 0x20000001; /* } = 7; */")!].sort())
      .toEqual([7, 8, 0x20000001].sort());
    expect(programNumbersIn("program P { version V { void X(void) = 1; } = 1; } = MY_PROG;")).toBeNull();
    expect(programNumbersIn("struct s { int a; };")).toEqual(new Set());
  });

  it("are compiled when a program they define is first asked about, with the same answers as all at once", async () => {
    const lazy = await loadRegistry({ userSpecs: [], defines: new Map() });
    const compiled: string[] = [];
    const eager = new ProgramRegistry();
    // What loadRegistry held before: libvirt's program and each built-in, compiled now.
    registerLibvirtBuiltins(eager);
    for (const f of files) {
      const schema = compileSchema([{ path: join(SPECS, f), text: readFileSync(join(SPECS, f), "utf8") }], { defines: new Map(), headerConstants: LIBVIRT_DEFINES }).schema!;
      addSchemaWithLibvirt(eager, schema, { source: "builtin" });
    }
    // Watch the deferred loads: a lookup of NFSv3 compiles nfs3.x, not nfs4.x (also 100003) nor the others.
    const deferred = (lazy as unknown as { deferred: { programs: ReadonlySet<number> | null; load: () => void }[] }).deferred;
    expect(deferred.length).toBe(files.length);
    for (const d of deferred) {
      const load = d.load;
      (d as { load: () => void }).load = () => {
        compiled.push([...(d.programs ?? [])].join(","));
        load();
      };
    }
    expect(lazy.procedureName(100003, 3, 6)).toBe("READ");
    expect(compiled).toEqual(["3,100003,100227"]);
    expect(lazy.procedureName(100003, 4, 1)).toBe("COMPOUND");
    expect(compiled).toEqual(["3,100003,100227", "4,100003"]);
    expect(lazy.knownPrograms()).toEqual(eager.knownPrograms());
    expect(compiled.length).toBe(files.length);
    for (const prog of eager.knownPrograms()) {
      expect(lazy.versionsOf(prog)).toEqual(eager.versionsOf(prog));
      expect(lazy.programName(prog)).toBe(eager.programName(prog));
      for (const vers of eager.versionsOf(prog)) {
        expect(lazy.proceduresOf(prog, vers).map((p) => [p.proc, p.name, p.specName])).toEqual(
          eager.proceduresOf(prog, vers).map((p) => [p.proc, p.name, p.specName]));
      }
    }
  });

  it("a built-in compiled after a user's spec of the same version does not replace it", async () => {
    const spec = write("late/portmap.x", "program MYPMAP { version V2 { hyper PMAPPROC_NULL(void) = 0; } = 2; } = 100000;\n");
    const r = await loadRegistry({ userSpecs: [spec], defines: new Map() });
    // rpcbind.x (100000) is still deferred here: the lookup compiles it after the user's spec.
    expect(r.lookup(100000, 2, 0)?.result).toEqual({ kind: "hyper" });
    expect(r.lookup(100000, 2, 0)?.specSource).toBe("user");
    expect(r.lookup(100000, 4, 3)?.specSource).toBe("builtin");
  });

  it("compiled code (dist/ui) finds the same directory", async () => {
    const compiled = join(ROOT, "dist", "ui", "spec-loader.js");
    if (!existsSync(compiled)) {
      console.log("spec-loader: dist/ui/spec-loader.js not built (npm run build); checked from sources only");
      return;
    }
    const mod = (await import(pathToFileURL(compiled).href)) as { builtinSpecDir?: () => string };
    if (typeof mod.builtinSpecDir !== "function") {
      console.log("spec-loader: dist is older than the sources (npm run build); skipped");
      return;
    }
    expect(mod.builtinSpecDir()).toBe(SPECS);
  });

  it("register the well-known programs and versions", async () => {
    const r = await loadRegistry({ userSpecs: [], defines: new Map() });
    const has = (prog: number, vers: number): boolean => r.versionsOf(prog).includes(vers);
    const present: [string, number, number][] = [["portmap v2", 100000, 2], ["rpcbind v3", 100000, 3],
      ["rpcbind v4", 100000, 4], ["nfs v3", 100003, 3], ["mount v3", 100005, 3]];
    for (const [what, prog, vers] of present) expect(has(prog, vers), what).toBe(true);
    expect(r.procedureName(100000, 2, 3)).toBe("GETPORT");
    expect(r.procedureName(100003, 3, 1)).toBe("GETATTR");
    expect(r.procedureName(100005, 3, 1)).toBe("MNT");
    const optional: [number, number, string][] = [[100003, 4, "nfs4.x"], [100021, 4, "nlm4.x"], [100024, 1, "nsm.x"]];
    for (const [prog, vers, file] of optional) {
      if (files.includes(file)) expect(has(prog, vers)).toBe(true);
    }
  });

  it("decode a portmapper GETPORT call and a DUMP reply", async () => {
    const r = await loadRegistry({ userSpecs: [], defines: new Map() });
    const args = r.decodeCall(call(100000, 2, 3), hex(`
      0x000186A3 // prog 100003
      0x00000003 // vers 3
      0x00000006 // prot TCP
      0x00000000 // port
    `), DEFAULT_LIMITS);
    expect(args.issues).toEqual([]);
    expect(render(args.args!)).toEqual([
      "args: mapping @0+16 = {",
      "  prog: unsigned int @0+4 = 100003",
      "  vers: unsigned int @4+4 = 3",
      "  prot: unsigned int @8+4 = 6",
      "  port: unsigned int @12+4 = 0",
    ]);
    const dump = r.decodeReply(call(100000, 2, 4), ok, hex(`
      0x00000001 // value follows
      0x000186A0 0x00000002 0x00000006 0x0000006F // portmapper v2 tcp 111
      0x00000000 // end
    `), DEFAULT_LIMITS);
    expect(dump.issues).toEqual([]);
    const v = dump.res!.value;
    expect(v.kind === "array" && v.count).toBe(1);
  });

  it("decode an NFSv3 READ reply", async () => {
    const r = await loadRegistry({ userSpecs: [], defines: new Map() });
    const reply = hex(`
      0x00000000 // NFS3_OK
      0x00000000 // file_attributes: attributes_follow FALSE
      0x00000005 // count
      0x00000001 // eof TRUE
      0x00000005 // data length
      68 65 6c 6c 6f 00 00 00 // "hello" + padding
    `);
    const out = r.decodeReply(call(100003, 3, 6), ok, reply, DEFAULT_LIMITS);
    expect(out.issues).toEqual([]);
    expect(out.end).toBe(reply.length);
    expect(render(out.res!)).toEqual([
      "res: READ3res @0+28 = union",
      "  status: nfsstat3 @0+4 = NFS3_OK(0)",
      "  resok: READ3resok @4+24 = {",
      "    file_attributes: post_op_attr @4+4 = union",
      "      attributes_follow: bool @4+4 = false",
      "    count: count3 @8+4 = 5",
      "    eof: bool @12+4 = true",
      "    data: opaque<> @16+12 = 0x68656c6c6f",
    ]);
  });
});

describe("user specs", () => {
  const DEMO = "struct pt { int x; int y; };\nprogram DEMO_PROG { version V1 { pt DEMOPROC_GET(int) = 1; } = 1; } = 0x20000777;\n";

  it("--spec files load and override a built-in program version", async () => {
    const spec = write("override/portmap.x", "program MYPMAP { version V2 { hyper PMAPPROC_NULL(void) = 0; } = 2; } = 100000;\n");
    const r = await loadRegistry({ userSpecs: [spec], defines: new Map() });
    expect(r.lookup(100000, 2, 0)?.result).toEqual({ kind: "hyper" });
    expect(r.lookup(100000, 2, 3)).toBeUndefined();
    expect(r.lookup(100000, 3, 3)?.name).toBe("GETADDR"); // other versions keep the built-in
  });

  it("RPCSCOPE_SPEC_PATH directories load every *.x, together; missing ones are ignored", async () => {
    write("dir1/types.x", "struct pt { int x; int y; };\n");
    write("dir1/prog.x", "program DEMO_PROG { version V1 { pt DEMOPROC_GET(int) = 1; } = 1; } = 0x20000777;\n");
    write("dir1/notes.txt", "not a spec");
    const r = await loadRegistry({
      userSpecs: [], defines: new Map(), specPathEnv: `${join(tmp, "nowhere")}::${join(tmp, "dir1")}`,
    });
    expect(r.procedureName(0x20000777, 1, 1)).toBe("GET");
    expect(r.programName(0x20000777)).toBe("demo");
  });

  it("--spec wins over RPCSCOPE_SPEC_PATH for the same version", async () => {
    write("dir2/a.x", DEMO);
    const spec = write("later.x", "program P { version V1 { void LATER(void) = 1; } = 1; } = 0x20000777;\n");
    const r = await loadRegistry({ userSpecs: [spec], defines: new Map(), specPathEnv: join(tmp, "dir2") });
    expect(r.lookup(0x20000777, 1, 1)?.specName).toBe("LATER");
  });

  it("follows #include \"file\" relative to the including file", async () => {
    write("inc/sub/types.x", "const N = 3;\nstruct trio { int v[N]; };\n");
    const main = write("inc/main.x", '#include "sub/types.x"\nprogram T { version V { trio TPROC_GET(void) = 1; } = 1; } = 0x20000888;\n');
    const r = await loadRegistry({ userSpecs: [main], defines: new Map() });
    expect(r.lookup(0x20000888, 1, 1)?.result).toMatchObject({ kind: "ref", name: "trio" });
  });

  it("passes --define values", async () => {
    const spec = write("def.x", "typedef string name<MAXNAMELEN>;\nprogram D { version V { name DPROC_N(void) = 1; } = 1; } = 0x20000999;\n");
    await expect(loadRegistry({ userSpecs: [spec], defines: new Map() })).rejects.toThrow(/MAXNAMELEN/);
    const r = await loadRegistry({ userSpecs: [spec], defines: new Map([["MAXNAMELEN", 255]]) });
    expect(r.lookup(0x20000999, 1, 1)?.result).toMatchObject({ kind: "ref", name: "name" });
  });

  it("errors are SchemaErrors with file:line:col", async () => {
    const bad = write("bad.x", "struct s {\n  int a\n};\n");
    const err = await loadRegistry({ userSpecs: [bad], defines: new Map() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as SchemaError).message).toBe(`${bad}:3:1: expected ';', found '}'`);
    const missing = join(tmp, "missing.x");
    const err2 = await loadRegistry({ userSpecs: [missing], defines: new Map() }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(SchemaError);
    expect((err2 as SchemaError).message).toMatch(new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:1:1: cannot read specification: ENOENT`));
  });
});
