/**
 * Precedence of constants when loading `.x` files, highest first: the user's
 * `--define` (rpcgen -D), what the `.x` files define themselves (const, enum
 * members, #define, %#define), libvirt's shipped C-header constants
 * (LIBVIRT_DEFINES), then TRUE/FALSE.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { libvirtBodyType } from "../../dissect/libvirt/binding.js";
import { LIBVIRT_DEFINES } from "../../dissect/libvirt/constants.js";
import { lex } from "../../dissect/xdr/lexer.js";
import { compileSchema } from "../../dissect/xdr/load-schema.js";
import type { Field, XdrType } from "../../dissect/xdr-types.js";
import { loadRegistry, loadSpecFiles } from "../../ui/spec-loader.js";

const tmp = mkdtempSync(join(tmpdir(), "rpcscope-header-constants-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A libvirt-style program with one procedure whose argument holds a uuid sized by VIR_UUID_BUFLEN. */
function spec(prelude: string): string {
  return `${prelude}
struct hc_get_args { opaque uuid[VIR_UUID_BUFLEN]; };
const HC_PROGRAM = 0x20004321;
const HC_PROTOCOL_VERSION = 1;
enum hc_procedure { HC_PROC_GET = 1 };
`;
}

let fileNo = 0;
function write(text: string): string {
  const path = join(tmp, `hc${fileNo++}.x`);
  writeFileSync(path, text);
  return path;
}

function deref(t: XdrType | undefined): XdrType | undefined {
  for (let i = 0; i < 8 && t?.kind === "ref"; i++) t = t.target();
  return t;
}

/** The uuid field's fixed size, as loaded through the spec loader (the --spec path). */
async function uuidSize(prelude: string, defines: ReadonlyMap<string, number> = new Map()): Promise<number | undefined> {
  const registry = await loadRegistry({ userSpecs: [write(spec(prelude))], defines, builtinDir: join(tmp, "none") });
  const def = registry.lookup(0x20004321, 1, 1);
  const args = deref(def && libvirtBodyType(def, "args"));
  const field: Field | undefined = args?.kind === "struct" ? args.fields[0] : undefined;
  return field?.type.kind === "opaque" ? field.type.fixed : undefined;
}

describe("constants: --define, then the .x, then libvirt's shipped header constants", () => {
  it("a %#define in the .x wins over the shipped value", async () => {
    expect(LIBVIRT_DEFINES.get("VIR_UUID_BUFLEN")).toBe(16);
    expect(await uuidSize("%#define VIR_UUID_BUFLEN 20")).toBe(20);
  });

  it("a const or #define in the .x wins over the shipped value too", async () => {
    expect(await uuidSize("const VIR_UUID_BUFLEN = 24;")).toBe(24);
    expect(await uuidSize("#define VIR_UUID_BUFLEN 28")).toBe(28);
  });

  it("a --define wins over the file's %#define", async () => {
    expect(await uuidSize("%#define VIR_UUID_BUFLEN 20", new Map([["VIR_UUID_BUFLEN", 32]]))).toBe(32);
  });

  it("a file that does not define the name gets the shipped value", async () => {
    expect(await uuidSize("")).toBe(16);
    expect(await uuidSize("", new Map([["VIR_UUID_BUFLEN", 32]]))).toBe(32);
  });

  it("loadSpecFiles applies the same order", () => {
    const text = "%#define VIR_UUID_BUFLEN 20\ntypedef opaque a[VIR_UUID_BUFLEN];\ntypedef opaque b[VIR_SECURITY_DOI_BUFLEN];";
    const schema = loadSpecFiles([write(text)], new Map());
    expect(schema.types.get("a")).toEqual({ kind: "opaque", fixed: 20, max: 20 });
    expect(schema.types.get("b")).toEqual({ kind: "opaque", fixed: 257, max: 257 });
  });

  it("header constants are the last resort before TRUE/FALSE, and an undefined name reads as before", () => {
    const headers = new Map([["TRUE", 5], ["HDR", 9]]);
    const r = compileSchema([{ path: "t.x", text: "typedef opaque a[HDR];\nconst T = TRUE;\ntypedef opaque c[MISSING];" }],
      { headerConstants: headers });
    expect(r.errors.map((e) => e.located)).toEqual([
      "t.x:3:18: undefined constant 'MISSING' (if a C header defines it, pass --define MISSING=VALUE)",
    ]);
    const ok = compileSchema([{ path: "t.x", text: "typedef opaque a[HDR];\nconst T = TRUE;" }], { headerConstants: headers });
    expect(ok.schema!.types.get("a")).toEqual({ kind: "opaque", fixed: 9, max: 9 });
    // The table ranks above the built-in TRUE/FALSE, as a C header's #define would.
    expect(ok.schema!.constants.get("T")).toBe(5);
  });

  it("#if sees --define, then the file's own definitions, then the header constants", () => {
    const text = [
      "%#define VIR_UUID_BUFLEN 20",
      "#if VIR_UUID_BUFLEN == 20", "const FILE_WINS = 1;", "#endif",
      "#if VIR_SECURITY_DOI_BUFLEN == 257", "const HEADER_SEEN = 1;", "#endif",
      "#define VIR_TYPED_PARAM_STRING 70", "#if VIR_TYPED_PARAM_STRING == 70", "const DEFINE_WINS = 1;", "#endif",
      "#undef VIR_TYPED_PARAM_INT", "#ifndef VIR_TYPED_PARAM_INT", "const UNDEF_HIDES = 1;", "#endif",
    ].join("\n");
    const names = (defines: [string, number][]): string[] =>
      lex("f.x", text, new Map(defines), [], LIBVIRT_DEFINES).tokens.filter((t) => t.kind === "identifier").map((t) => t.text);
    expect(names([])).toEqual(["FILE_WINS", "HEADER_SEEN", "DEFINE_WINS", "UNDEF_HIDES"]);
    expect(names([["VIR_UUID_BUFLEN", 32]])).toEqual(["HEADER_SEEN", "DEFINE_WINS", "UNDEF_HIDES"]);
  });
});
