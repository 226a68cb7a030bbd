/**
 * Fuzzing the `.x` loader: tokens of the built-in specifications (and the demo
 * service's) deleted, duplicated, swapped and replaced, plus raw character damage.
 * The loader must answer every input with either a schema or located SchemaErrors
 * (file:line:col inside the text), never another exception, and in bounded time.
 * When a damaged spec still loads, its procedures decode random bytes safely.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { ProgramRegistry } from "../../dissect/registry.js";
import { decodeRpcHeader } from "../../dissect/rpc-header.js";
import type { RpcCall } from "../../dissect/rpc-types.js";
import { compileSchema, loadSchema } from "../../dissect/xdr/load-schema.js";
import { SchemaError } from "../../dissect/xdr/schema-error.js";
import { treeLines } from "../../ui/body-format.js";
import { DEMO_SPEC, endSuite, fuzzOne, ROOT, Rng, startSuite, tally, unsafeIndex } from "./harness.js";
import { rpcCall } from "./rpc-build.js";

const SEED = 0x0dd5eed5;

interface SpecText {
  readonly path: string;
  readonly text: string;
}

function specs(): SpecText[] {
  const dir = join(ROOT, "dissect", "specs");
  const out = readdirSync(dir).filter((f) => f.endsWith(".x")).sort()
    .map((f) => ({ path: `dissect/specs/${f}`, text: readFileSync(join(dir, f), "utf8") }));
  out.push({ path: "samples/demo-service/demo.x", text: readFileSync(DEMO_SPEC, "utf8") });
  return out;
}

/** Tokens with their positions: identifiers, numbers, punctuation, comments and whitespace kept apart. */
function tokens(text: string): { text: string; significant: boolean }[] {
  const re = /(\/\*[\s\S]*?\*\/|\/\/[^\n]*|%[^\n]*|#[^\n]*|\s+)|([A-Za-z_][A-Za-z0-9_]*|0x[0-9a-fA-F]+|-?[0-9]+|"[^"\n]*"|[^\sA-Za-z0-9_])/g;
  const out: { text: string; significant: boolean }[] = [];
  for (const m of text.matchAll(re)) out.push({ text: m[0], significant: m[2] !== undefined });
  return out;
}

const REPLACEMENTS = [
  "*", "<>", "<", ">", "[", "]", "{", "}", ";", "=", "0", "-1", "0xffffffff", "4294967296", "99999999999999999999",
  "void", "opaque", "string", "struct", "union", "switch", "case", "default", "typedef", "enum", "const",
  "program", "version", "unsigned", "hyper", "int", "bool", "x", "#include \"nowhere.x\"", "\u0000", "\u001b]0;pwn\u0007",
];

function mutateSpec(rng: Rng, spec: SpecText): { text: string; what: string } {
  const toks = tokens(spec.text);
  const significant = toks.map((t, i) => (t.significant ? i : -1)).filter((i) => i >= 0);
  const what: string[] = [];
  for (let k = 1 + rng.int(3); k > 0; k--) {
    const i = rng.pick(significant);
    const t = toks[i];
    if (!t) continue; // cut away by an earlier mutation
    switch (rng.int(5)) {
      case 0:
        what.push(`delete '${t.text}'`);
        toks[i] = { text: "", significant: true };
        break;
      case 1:
        what.push(`duplicate '${t.text}'`);
        toks[i] = { text: `${t.text} ${t.text}`, significant: true };
        break;
      case 2: {
        const j = rng.pick(significant);
        if (!toks[j]) break;
        what.push(`swap '${t.text}' and '${toks[j]!.text}'`);
        toks[i] = toks[j]!;
        toks[j] = t;
        break;
      }
      case 3: {
        const r = rng.pick(REPLACEMENTS);
        what.push(`replace '${t.text}' by ${JSON.stringify(r)}`);
        toks[i] = { text: r, significant: true };
        break;
      }
      default: {
        // Cut the file after this token.
        what.push(`cut after token ${i}`);
        toks.length = i + 1;
        break;
      }
    }
  }
  return { text: toks.map((t) => t.text).join(""), what: what.join(", ") };
}

function checkErrors(errors: readonly SchemaError[], path: string, text: string): void {
  const lines = text.split("\n").length;
  for (const e of errors) {
    expect(e).toBeInstanceOf(SchemaError);
    expect(e.file).toBe(path);
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.line).toBeLessThanOrEqual(lines + 1);
    expect(e.col).toBeGreaterThanOrEqual(1);
    expect(e.detail.length).toBeGreaterThan(0);
  }
}

/** A schema that loaded: each of its procedures decodes junk without an exception. */
function exerciseSchema(rng: Rng, registry: ProgramRegistry, schemaPrograms: readonly { number: number; versions: readonly { number: number; procedures: readonly { number: number }[] }[] }[]): void {
  for (const p of schemaPrograms.slice(0, 4)) {
    for (const v of p.versions.slice(0, 2)) {
      for (const proc of v.procedures.slice(0, 12)) {
        const junk = new Uint8Array(rng.int(96)).map(() => (rng.chance(0.5) ? 0 : rng.int(256)));
        const record = rpcCall(1, p.number, v.number, proc.number, junk);
        const call = decodeRpcHeader(record).header as RpcCall;
        const out = registry.decodeCall(call, record, DEFAULT_LIMITS);
        if (out.args) for (const l of treeLines(out.args, "")) if (unsafeIndex(l) >= 0) throw new Error(`unsafe line ${JSON.stringify(l)}`);
      }
    }
  }
}

describe("fuzz: .x specifications", () => {
  it("token deletions, duplications, swaps and replacements give a schema or located SchemaErrors, never another exception", () => {
    const stats = startSuite(".x token mutations");
    const rng = new Rng(SEED);
    for (const spec of specs()) {
      // The originals load.
      expect(compileSchema([spec]).errors).toEqual([]);
      const rounds = spec.text.length > 30_000 ? 40 : 90;
      for (let i = 0; i < rounds; i++) {
        const m = mutateSpec(rng, spec);
        const bytes = new TextEncoder().encode(m.text);
        fuzzOne(stats, `${spec.path}: ${m.what}`, bytes, () => {
          const result = compileSchema([{ path: spec.path, text: m.text }]);
          checkErrors(result.errors, spec.path, m.text);
          if (result.schema) {
            const registry = new ProgramRegistry();
            registry.addSchema(result.schema, { source: "user" });
            exerciseSchema(rng, registry, result.schema.programs);
            tally(stats, "still loads");
          } else {
            expect(result.errors.length).toBeGreaterThan(0);
            tally(stats, "SchemaError");
          }
          // loadSchema: the same answer as one thrown SchemaError.
          try {
            loadSchema([{ path: spec.path, text: m.text }]);
            expect(result.schema).toBeDefined();
          } catch (err) {
            if (!(err instanceof SchemaError)) throw err;
            expect(result.schema).toBeUndefined();
          }
        });
      }
    }
    endSuite(stats);
  });

  it("raw character damage (control bytes, unterminated comments, deep nesting) is a located SchemaError", () => {
    const stats = startSuite(".x character damage");
    const rng = new Rng(SEED + 1);
    const all = specs();
    const extra: string[] = [
      "struct a { " + "struct { ".repeat(5000) + "int x; " + "} y; ".repeat(5000) + "};",
      "const A = " + "(".repeat(10000) + "1;",
      "typedef int t" + "[1]".repeat(10000) + ";",
      "/* never closed",
      "struct s { int a; } ".repeat(2000),
      "enum e { " + Array.from({ length: 5000 }, (_, i) => `E${i} = ${i}`).join(", ") + " };",
      Array.from({ length: 300 }, (_, i) => `typedef t${i + 1} t${i};`).join("\n") + "\ntypedef int t300;",
      Array.from({ length: 300 }, (_, i) => `const C${i} = C${i + 1};`).join("\n") + "\nconst C300 = 1;",
      "struct self { self s; };",
      "union u switch (int d) { case 1: u inner; };",
      "\u001b]0;owned\u0007 struct x { int \u009b2J; };",
    ];
    for (const [i, text] of extra.entries()) {
      fuzzOne(stats, `constructed .x #${i}`, new TextEncoder().encode(text), () => {
        const result = compileSchema([{ path: `constructed-${i}.x`, text }]);
        checkErrors(result.errors, `constructed-${i}.x`, text);
        tally(stats, result.schema ? "loads" : "SchemaError");
      });
    }
    for (let i = 0; i < 300; i++) {
      const spec = rng.pick(all);
      const chars = [...spec.text];
      for (let k = 1 + rng.int(6); k > 0; k--) {
        const at = rng.int(chars.length);
        chars[at] = rng.pick(["\u0000", "\u001b", "\u0007", "\u009b", "{", "}", "/*", "\"", "'", "\\", "<", "*", "\ud800", "é", String.fromCharCode(rng.int(128))]);
      }
      const text = chars.join("");
      fuzzOne(stats, `${spec.path} character damage #${i}`, new TextEncoder().encode(text), () => {
        const result = compileSchema([{ path: spec.path, text }]);
        checkErrors(result.errors, spec.path, text);
        for (const e of result.errors) {
          // The message reaches the terminal through the CLI's escaping; it must at least be one error per line.
          expect(e.located.startsWith(`${spec.path}:`)).toBe(true);
        }
        tally(stats, result.schema ? "loads" : "SchemaError");
      });
    }
    endSuite(stats);
  });
});
