/**
 * Decode throughput of the XDR decoder (not a test: prints bodies/second).
 *
 *   npx tsc --module nodenext --moduleResolution nodenext --target es2022 --skipLibCheck \
 *     --outDir /tmp/rpcscope-bench test/xdr/bench-decoder.ts && node /tmp/rpcscope-bench/test/xdr/bench-decoder.js
 *
 * Bodies: an NFSv3 READ reply (attributes + 32 KiB of data), a GETATTR reply,
 * a READDIRPLUS reply with 50 entries (a linked list), and a 200-field struct; each with
 * decodeXdr (field tree) and validateXdr (the fast path, no tree).
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { XdrType } from "../../dissect/xdr-types.js";
import { decodeXdr, derefType, validateXdr } from "../../dissect/xdr/decoder.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { encodeXdr, type XdrValue } from "./xdr-encoder.js";

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      readFileSync(join(dir, "dissect", "specs", "nfs3.x"));
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  return process.cwd();
}

/** A plausible value: first union arm, optional data present while `budget` lasts. */
function sample(type: XdrType, opts: { opaqueBytes: number; budget: { n: number } }): XdrValue {
  const t = derefType(type);
  switch (t.kind) {
    case "int": case "uint": return 7;
    case "enum": return [...t.names.keys()][0] ?? 0;
    case "hyper": case "uhyper": return 7n;
    case "bool": return true;
    case "float": case "double": return 1.5;
    case "quadruple": return new Uint8Array(16);
    case "void": return null;
    case "opaque": case "string": {
      const n = t.fixed ?? Math.min(t.max, t.max === 0xffffffff ? opts.opaqueBytes : 32);
      return new Uint8Array(n).fill(0x61);
    }
    case "array": return Array.from({ length: t.fixed ?? Math.min(t.max, 3) }, () => sample(t.of, opts));
    case "optional": return opts.budget.n-- > 0 ? sample(t.of, opts) : null;
    case "struct": {
      const out: Record<string, XdrValue> = {};
      for (const f of t.fields) out[f.name] = sample(f.type, opts);
      return out;
    }
    case "union": {
      const [key, arm] = [...t.arms][0]!;
      return { disc: key, arm: sample(arm.type, opts) };
    }
    case "ref": throw new Error("unreachable");
  }
}

function rate(run: () => void): number {
  for (let i = 0; i < 2000; i++) run(); // warm up
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < 1000) {
    for (let i = 0; i < 500; i++) run();
    n += 500;
    elapsed = performance.now() - t0;
  }
  return (n / elapsed) * 1000;
}

function bench(label: string, type: XdrType, bytes: Uint8Array): void {
  const limits = DEFAULT_LIMITS;
  const check = decodeXdr(type, bytes, 0, bytes.length, limits);
  if (check.malformed || check.end !== bytes.length) throw new Error(`${label}: ${check.malformed?.message ?? "did not consume the body"}`);
  if (!validateXdr(type, bytes, 0, bytes.length, limits).ok) throw new Error(`${label}: validate disagrees`);
  const decode = rate(() => decodeXdr(type, bytes, 0, bytes.length, limits));
  const validate = rate(() => validateXdr(type, bytes, 0, bytes.length, limits));
  const fmt = (x: number): string => Math.round(x).toLocaleString("en-US").padStart(10);
  console.log(`${label.padEnd(30)} ${String(bytes.length).padStart(6)} B  decode ${fmt(decode)}/s  validate ${fmt(validate)}/s`);
}

const root = findRoot();
const nfs = loadSchema([{ path: "nfs3.x", text: readFileSync(join(root, "dissect", "specs", "nfs3.x"), "utf8") }]);
const type = (name: string): XdrType => {
  const t = nfs.types.get(name);
  if (!t) throw new Error(`no ${name}`);
  return t;
};

const read = type("READ3res");
bench("NFSv3 READ reply (32 KiB)", read, encodeXdr(read, sample(read, { opaqueBytes: 32768, budget: { n: 0 } })).bytes);
const getattr = type("GETATTR3res");
bench("NFSv3 GETATTR reply", getattr, encodeXdr(getattr, sample(getattr, { opaqueBytes: 0, budget: { n: 0 } })).bytes);
const rdp = type("READDIRPLUS3res");
bench("NFSv3 READDIRPLUS reply (50)", rdp, encodeXdr(rdp, sample(rdp, { opaqueBytes: 8, budget: { n: 50 } })).bytes);

const kinds = ["int", "unsigned int", "hyper", "bool", "string s<64>", "opaque o[8]"];
const fields = Array.from({ length: 200 }, (_, i) => {
  const k = kinds[i % kinds.length]!;
  return k.includes(" ") && !k.startsWith("unsigned") ? `${k.split(" ")[0]} f${i}${k.slice(k.indexOf(" ") + 2)};` : `${k} f${i};`;
});
const big = loadSchema([{ path: "big.x", text: `struct big {\n${fields.join("\n")}\n};` }]).types.get("big")!;
bench("struct with 200 fields", big, encodeXdr(big, sample(big, { opaqueBytes: 0, budget: { n: 0 } })).bytes);
