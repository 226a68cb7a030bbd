/**
 * The built-in specifications compiled at build time (dissect/xdr/schema-cache.ts,
 * ui/build-spec-cache.ts): what a run reads back must be the schema the front end
 * makes of the same text, node for node, and it is used only for exactly that text,
 * the same header constants and no --define.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { XdrType } from "../../dissect/xdr-types.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import { decodeSchema, encodeSchema, type SchemaCacheFile } from "../../dissect/xdr/schema-cache.js";
import { analyzeCapture, detachAnalyzed, type AnalyzedMessage } from "../../ui/analyze.js";
import {
  builtinCachePath, builtinSpecDir, compileBuiltin, loadRegistry, makeBuiltinSchemaCache, makeBuiltinSpecIndex, specIndexPathFor,
} from "../../ui/spec-loader.js";
import { BodyStatusReader } from "../../ui/body-status.js";
import { DEMO_SPEC, ROOT, bodySampleCaptures } from "../sample-files.js";

const SPECS = builtinSpecDir();
const FILES = readdirSync(SPECS).filter((f) => f.endsWith(".x")).sort();
const tmp = mkdtempSync(join(tmpdir(), "rpcscope-schema-cache-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * Walks two graphs side by side: the same keys in the same order (so that the
 * objects take the same shapes in V8), the same values, a `ref`'s target followed
 * (a cycle is walked once), Maps entry by entry. A type node (an object with a
 * `kind`) met again must be paired with the same node as before (what the decoder
 * and the caches keyed by type rely on); other objects (fields, positions) are only
 * compared by value: the resolver may share one field between union arms where the
 * cache has one per arm. The first difference is thrown with its path.
 */
function assertSameGraph(a: unknown, b: unknown, path = "$", seen = new Map<object, unknown>()): void {
  if (typeof a !== typeof b) throw new Error(`${path}: ${typeof a} against ${typeof b}`);
  if (typeof a === "function") {
    assertSameGraph((a as () => unknown)(), (b as () => unknown)(), `${path}()`, seen);
    return;
  }
  if (typeof a !== "object" || a === null || b === null) {
    if (a !== b) throw new Error(`${path}: ${String(a)} against ${String(b)}`);
    return;
  }
  const typeNode = "kind" in a;
  if (typeNode && seen.has(a)) {
    if (seen.get(a) !== b) throw new Error(`${path}: a type node met again is paired with another object`);
    return;
  }
  if (typeNode) seen.set(a, b);
  if (a instanceof Map) {
    if (!(b instanceof Map)) throw new Error(`${path}: a Map against something else`);
    expect([...a.keys()], path).toEqual([...b.keys()]);
    for (const [k, v] of a) assertSameGraph(v, b.get(k), `${path}.get(${String(k)})`, seen);
    return;
  }
  if (Array.isArray(a) !== Array.isArray(b)) throw new Error(`${path}: an array against something else`);
  const keysA = Object.keys(a);
  const keysB = Object.keys(b as object);
  if (keysA.join() !== keysB.join()) throw new Error(`${path}: keys ${keysA.join()} against ${keysB.join()}`);
  for (const k of keysA) assertSameGraph((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, seen);
}

/** A fresh directory `name` holding copies of the built-in files, to change. */
function copyOfBuiltins(name: string): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const f of FILES) copyFileSync(join(SPECS, f), join(dir, f));
  return dir;
}

function writeCache(name: string, cache: SchemaCacheFile | string): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof cache === "string" ? cache : JSON.stringify(cache));
  return path;
}

/** The cache with one procedure's name changed in its data (not in its text): shows whether a run read it. */
function doctored(cache: SchemaCacheFile, file: string, procName: string, newName: string): SchemaCacheFile {
  const copy = JSON.parse(JSON.stringify(cache)) as { specs: Record<string, { programs: { versions: { procedures: { name: string }[] }[] }[] }> };
  let changed = 0;
  for (const p of copy.specs[file]!.programs) {
    for (const v of p.versions) {
      for (const q of v.procedures) {
        if (q.name === procName) {
          q.name = newName;
          changed++;
        }
      }
    }
  }
  expect(changed, `${procName} in ${file}`).toBeGreaterThan(0);
  return copy as unknown as SchemaCacheFile;
}

describe("a built-in specification through the cache", () => {
  for (const f of FILES) {
    it(`${f}: read back (through JSON) as the graph the front end makes, node for node`, () => {
      const path = join(SPECS, f);
      const text = readFileSync(path, "utf8");
      const compiled = compileBuiltin(path, text);
      const back = decodeSchema(JSON.parse(JSON.stringify(encodeSchema(compiled, path, text))), path);
      assertSameGraph(compiled, back);
    });
  }

  it("keeps a recursive type one object (nfs3's entry3 points back at itself)", () => {
    const path = join(SPECS, "nfs3.x");
    const text = readFileSync(path, "utf8");
    const back = decodeSchema(JSON.parse(JSON.stringify(encodeSchema(compileBuiltin(path, text), path, text))), path);
    const entry = back.types.get("entry3");
    if (entry?.kind !== "struct") throw new Error("entry3 is not a struct");
    const next = entry.fields.find((x) => x.name === "nextentry")?.type;
    if (next?.kind !== "optional") throw new Error("nextentry is not optional");
    let t: XdrType = next.of;
    while (t.kind === "ref") t = t.target();
    expect(t).toBe(entry);
  });

  it("refuses a schema holding positions of another file", () => {
    const path = join(SPECS, "rpcbind.x");
    const text = readFileSync(path, "utf8");
    expect(() => encodeSchema(compileBuiltin(path, text), join(tmp, "elsewhere.x"), text)).toThrow(/not that of/);
  });

  it("the build's file is the one the current sources make (npm test builds it first)", () => {
    // Run from source, builtinCachePath() is beside ui/, where nothing is written: the tests compile unless told.
    expect(builtinCachePath()).toBe(join(ROOT, "builtin-specs.json"));
    const distFile = join(ROOT, "dist", "builtin-specs.json");
    const onDisk = JSON.parse(readFileSync(distFile, "utf8")) as unknown;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(makeBuiltinSchemaCache())));
  });
});

describe("loadRegistry and the cache", () => {
  const cache = makeBuiltinSchemaCache();
  const cacheFile = writeCache("good.json", cache);

  async function registries(): Promise<[ProgramRegistry, ProgramRegistry]> {
    return [
      await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: cacheFile }),
      await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: null }),
    ];
  }

  it("gives every built-in program, version and procedure as compiling does", async () => {
    const [cached, compiled] = await registries();
    expect(cached.knownPrograms()).toEqual(compiled.knownPrograms());
    let procedures = 0;
    for (const prog of compiled.knownPrograms()) {
      expect(cached.versionsOf(prog), `program ${prog}`).toEqual(compiled.versionsOf(prog));
      for (const vers of compiled.versionsOf(prog)) {
        const a = cached.proceduresOf(prog, vers);
        const b = compiled.proceduresOf(prog, vers);
        expect(a.length).toBe(b.length);
        for (let i = 0; i < a.length; i++) {
          assertSameGraph(a[i], b[i], `${prog}/${vers}/${b[i]!.proc}`);
          procedures++;
        }
      }
    }
    expect(procedures).toBeGreaterThan(60);
  });

  it("decodes every body of every sample as compiling does", async () => {
    const decodeAll = async (builtinCache: string | null): Promise<AnalyzedMessage[]> => {
      const registry = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map(), builtinCache });
      const out: AnalyzedMessage[] = [];
      for (const file of bodySampleCaptures()) {
        await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: true }, {
          message(m) {
            out.push(detachAnalyzed(m));
          },
        });
      }
      return out;
    };
    const cached = await decodeAll(cacheFile);
    const compiled = await decodeAll(null);
    expect(cached.length).toBe(compiled.length);
    expect(cached.filter((m) => m.args || m.res).length).toBeGreaterThan(300);
    for (let i = 0; i < compiled.length; i++) {
      const a = cached[i]!;
      const b = compiled[i]!;
      expect({ frame: a.msg.frame, args: a.args, res: a.res, issues: a.bodyIssues }, `message ${i}`)
        .toEqual({ frame: b.msg.frame, args: b.args, res: b.res, issues: b.bodyIssues });
    }
  });

  it("is what a run reads (a doctored entry shows through)", async () => {
    const file = writeCache("doctored.json", doctored(cache, "rpcbind.x", "RPCBPROC_GETADDR", "RPCBPROC_CACHED"));
    const registry = await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: file });
    expect(registry.procedureName(100000, 3, 3)).toBe("CACHED");
  });

  it("is not used for a file whose text changed: that file is compiled", async () => {
    const dir = copyOfBuiltins("specs-changed");
    const text = readFileSync(join(dir, "rpcbind.x"), "utf8");
    expect(text).toContain("RPCBPROC_GETADDR");
    writeFileSync(join(dir, "rpcbind.x"), text.replace(/RPCBPROC_GETADDR\b/g, "RPCBPROC_LOOKUPADDR"));
    const file = writeCache("doctored-nfs.json", doctored(cache, "nfs3.x", "NFSPROC3_GETATTR", "NFSPROC3_CACHED"));
    const registry = await loadRegistry({ userSpecs: [], defines: new Map(), builtinDir: dir, builtinCache: file });
    expect(registry.procedureName(100000, 3, 3)).toBe("LOOKUPADDR");
    // The files whose text is unchanged still come from the cache.
    expect(registry.procedureName(100003, 3, 1)).toBe("CACHED");
  });

  it("is not read with a --define (it may change what a built-in file means)", async () => {
    const file = writeCache("doctored-define.json", doctored(cache, "rpcbind.x", "RPCBPROC_GETADDR", "RPCBPROC_CACHED"));
    const registry = await loadRegistry({ userSpecs: [], defines: new Map([["UNRELATED_NAME", 1]]), builtinCache: file });
    expect(registry.procedureName(100000, 3, 3)).toBe("GETADDR");
  });

  it("is not read when made with other header constants", async () => {
    const other = doctored(cache, "rpcbind.x", "RPCBPROC_GETADDR", "RPCBPROC_CACHED");
    const [name, value] = other.headerConstants[0]!;
    const file = writeCache("other-constants.json", { ...other, headerConstants: [[name, value + 1], ...other.headerConstants.slice(1)] });
    const registry = await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: file });
    expect(registry.procedureName(100000, 3, 3)).toBe("GETADDR");
  });

  it("a missing, corrupt or foreign file leaves the files to be compiled", async () => {
    const broken = JSON.parse(JSON.stringify(cache)) as { specs: Record<string, { types: [string, number][]; nodes: unknown[] }> };
    // A type pointing at a node the file does not hold.
    broken.specs["rpcbind.x"]!.types[0]![1] = 1_000_000;
    const cases = {
      missing: join(tmp, "no-such-file.json"),
      notJson: writeCache("not-json.json", "{\"format\": 1, \"specs\": {"),
      otherFormat: writeCache("format-2.json", { ...cache, format: 2 } as unknown as SchemaCacheFile),
      noSpecs: writeCache("no-specs.json", "{\"format\":1,\"headerConstants\":[]}"),
      badNode: writeCache("bad-node.json", JSON.stringify(broken)),
      array: writeCache("array.json", "[]"),
    };
    for (const [what, file] of Object.entries(cases)) {
      const registry = await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: file });
      expect(registry.procedureName(100000, 3, 3), what).toBe("GETADDR");
      expect(registry.procedureName(100003, 3, 1), what).toBe("GETATTR");
    }
  });
});

describe("the build's index of the built-in files", () => {
  const index = makeBuiltinSpecIndex();
  const cacheFile = writeCache("indexed.json", makeBuiltinSchemaCache());
  writeFileSync(specIndexPathFor(cacheFile), JSON.stringify(index));

  it("is the one the current sources make (npm test builds it first)", () => {
    const onDisk = JSON.parse(readFileSync(specIndexPathFor(join(ROOT, "dist", "builtin-specs.json")), "utf8")) as unknown;
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(index)));
    expect(Object.keys(index.specs).sort()).toEqual(FILES);
  });

  it("gives the furthest status end without loading a built-in file, the same as loading them all", async () => {
    const indexed = await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: cacheFile });
    const loaded = await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: null });
    expect(loaded.deferredFacts()).toBeNull();
    const expected = new BodyStatusReader(loaded).furthestStatusEnd();
    expect(expected).toBeGreaterThanOrEqual(4);
    expect(new BodyStatusReader(indexed).furthestStatusEnd()).toBe(expected);
    // Nothing was loaded to find it.
    expect(indexed.deferredFacts()?.length).toBe(FILES.length);
  });

  it("counts a user's specification, loaded, with the built-ins' facts", async () => {
    const withUser = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map(), builtinCache: cacheFile });
    const loaded = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map(), builtinCache: null });
    expect(new BodyStatusReader(withUser).furthestStatusEnd()).toBe(new BodyStatusReader(loaded).furthestStatusEnd());
  });

  it("is not used for a file whose text changed, nor for a damaged entry, nor with a --define", async () => {
    const dir = copyOfBuiltins("specs-index-changed");
    // A status word moved 8 bytes into NFSv3 READ's results: the index still says otherwise.
    const nfs3 = readFileSync(join(dir, "nfs3.x"), "utf8");
    expect(nfs3).toMatch(/union READ3res switch \(nfsstat3 status\)/);
    writeFileSync(join(dir, "nfs3.x"), nfs3.replace(/union READ3res switch \(nfsstat3 status\)/, "struct READ3res_head { hyper pad; nfsstat3 status; };\nunion READ3res switch (nfsstat3 status)")
      .replace(/READ3res\s+NFSPROC3_READ\(READ3args\)/, "READ3res_head NFSPROC3_READ(READ3args)"));
    const changed = await loadRegistry({ userSpecs: [], defines: new Map(), builtinDir: dir, builtinCache: cacheFile });
    expect(changed.deferredFacts()).toBeNull();
    expect(new BodyStatusReader(changed).furthestStatusEnd()).toBe(12);

    const damaged = JSON.parse(JSON.stringify(index)) as { specs: Record<string, { resultStatusEnd: unknown }> };
    damaged.specs["nfs3.x"]!.resultStatusEnd = -4;
    const damagedCache = writeCache("indexed-damaged.json", makeBuiltinSchemaCache());
    writeFileSync(specIndexPathFor(damagedCache), JSON.stringify(damaged));
    const fromDamaged = await loadRegistry({ userSpecs: [], defines: new Map(), builtinCache: damagedCache });
    expect(fromDamaged.deferredFacts()).toBeNull();

    const withDefine = await loadRegistry({ userSpecs: [], defines: new Map([["UNRELATED_NAME", 1]]), builtinCache: cacheFile });
    expect(withDefine.deferredFacts()).toBeNull();
  });
});
